/**
 * The tagged errors of effect-workflows. They are `Schema.TaggedError`s, so they encode to JSON
 * and can cross the server's wire.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * The workflow's graph or declarations are invalid (see `Workflow.validate`).
 *
 * @example
 * ```ts
 * import { WorkflowError } from "effect-workflows"
 *
 * const error = new WorkflowError.WorkflowValidationError({ message: "..." })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class WorkflowValidationError extends Schema.TaggedError<WorkflowValidationError>()(
  "WorkflowValidationError",
  { message: Schema.String }
) {}

/**
 * The workflow's configuration is unusable (no steps, no start or stop step, state without
 * defaults, ...).
 *
 * @example
 * ```ts
 * import { WorkflowError } from "effect-workflows"
 *
 * const error = new WorkflowError.WorkflowConfigurationError({ message: "..." })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class WorkflowConfigurationError extends Schema.TaggedError<WorkflowConfigurationError>()(
  "WorkflowConfigurationError",
  { message: Schema.String }
) {}

/**
 * The run timeout fired. The message reads "Operation timed out after {seconds} seconds.
 * Currently active steps: a, b" (or "... No steps active").
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { WorkflowError } from "effect-workflows"
 *
 * const error = new WorkflowError.WorkflowTimeoutError({ timeout: Duration.seconds(10), activeSteps: ["draft"] })
 * error.message // "Operation timed out after 10 seconds. Currently active steps: draft"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class WorkflowTimeoutError extends Schema.TaggedError<WorkflowTimeoutError>()("WorkflowTimeoutError", {
  timeout: Schema.Duration,
  activeSteps: Schema.Array(Schema.String)
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    const seconds = Duration.toMillis(this.timeout) / 1000
    const active = this.activeSteps.length > 0
      ? `Currently active steps: ${this.activeSteps.join(", ")}`
      : "No steps active"
    return `Operation timed out after ${seconds} seconds. ${active}`
  }
}

/**
 * A run-time misuse: an event sent to a step that does not accept it, a step returning a value
 * it does not declare, ...
 *
 * @example
 * ```ts
 * import { WorkflowError } from "effect-workflows"
 *
 * const error = new WorkflowError.WorkflowRuntimeError({ message: "Step a does not accept event of type B" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class WorkflowRuntimeError extends Schema.TaggedError<WorkflowRuntimeError>()("WorkflowRuntimeError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * The run was cancelled with `handler.cancel`.
 *
 * @example
 * ```ts
 * import { WorkflowError } from "effect-workflows"
 *
 * const error = new WorkflowError.WorkflowCancelledByUser()
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class WorkflowCancelledByUser extends Schema.TaggedError<WorkflowCancelledByUser>()(
  "WorkflowCancelledByUser",
  {}
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return "Workflow run cancelled by user"
  }
}

/**
 * An event was sent to a step name that the workflow does not have. Message: "Step {step} does
 * not exist".
 *
 * @example
 * ```ts
 * import { WorkflowError } from "effect-workflows"
 *
 * new WorkflowError.WorkflowStepDoesNotExistError({ step: "nope" }).message // "Step nope does not exist"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class WorkflowStepDoesNotExistError extends Schema.TaggedError<WorkflowStepDoesNotExistError>()(
  "WorkflowStepDoesNotExistError",
  { step: Schema.String }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Step ${this.step} does not exist`
  }
}

/**
 * A snapshot or an encoded event could not be decoded (malformed, another version, another
 * workflow, an event the workflow does not know).
 *
 * @example
 * ```ts
 * import { WorkflowError } from "effect-workflows"
 *
 * const error = new WorkflowError.ContextSerdeError({ message: "Unknown event type: Foo" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ContextSerdeError extends Schema.TaggedError<ContextSerdeError>()("ContextSerdeError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * `ctx.waitForEvent(..., { timeout })` elapsed before a matching event arrived. Message:
 * "Timed out waiting for {eventTag}".
 *
 * @example
 * ```ts
 * import { Duration } from "effect"
 * import { WorkflowError } from "effect-workflows"
 *
 * const error = new WorkflowError.WaitForEventTimeout({
 *   waiterId: "w",
 *   eventTag: "HumanResponseEvent",
 *   timeout: Duration.seconds(5)
 * })
 * error.message // "Timed out waiting for HumanResponseEvent"
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class WaitForEventTimeout extends Schema.TaggedError<WaitForEventTimeout>()("WaitForEventTimeout", {
  waiterId: Schema.String,
  eventTag: Schema.String,
  timeout: Schema.Duration
}) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `Timed out waiting for ${this.eventTag}`
  }
}

/**
 * Any error of this module.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { WorkflowError } from "effect-workflows"
 *
 * declare const run: Effect.Effect<unknown, WorkflowError.WorkflowError>
 * const recovered = run.pipe(Effect.catchTag("WorkflowTimeoutError", (e) => Effect.succeed(e.activeSteps)))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type WorkflowError =
  | WorkflowValidationError
  | WorkflowConfigurationError
  | WorkflowTimeoutError
  | WorkflowRuntimeError
  | WorkflowCancelledByUser
  | WorkflowStepDoesNotExistError
  | ContextSerdeError
  | WaitForEventTimeout

const tags: ReadonlySet<string> = new Set([
  "WorkflowValidationError",
  "WorkflowConfigurationError",
  "WorkflowTimeoutError",
  "WorkflowRuntimeError",
  "WorkflowCancelledByUser",
  "WorkflowStepDoesNotExistError",
  "ContextSerdeError",
  "WaitForEventTimeout"
])

/**
 * Whether a value is one of this module's errors.
 *
 * @example
 * ```ts
 * import { WorkflowError } from "effect-workflows"
 *
 * WorkflowError.isWorkflowError(new WorkflowError.WorkflowCancelledByUser()) // true
 * WorkflowError.isWorkflowError(new Error("x")) // false
 * ```
 *
 * @since 0.1.0
 * @category refinements
 */
export const isWorkflowError = (u: unknown): u is WorkflowError =>
  u instanceof Error && Predicate.hasProperty(u, "_tag") && typeof u._tag === "string" && tags.has(u._tag)
