/**
 * The in-step service: what a step's body can do with its run (send events, collect them, wait
 * for them, write to the stream, use the state store).
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Event from "./Event.js"
import type * as StateStore from "./StateStore.js"
import type * as WorkflowError from "./WorkflowError.js"

/**
 * Where a step's current input event is in its retries. `attempt` is 1 on the first execution,
 * 2 on the first retry...; `elapsed` is Clock time from the start of the first attempt to the
 * start of this one (zero on the first attempt); `lastError` is the previous attempt's failure.
 *
 * @example
 * ```ts
 * import { Duration, Effect, Option } from "effect"
 * import { WorkflowContext } from "effect-workflows"
 *
 * const first: WorkflowContext.RetryInfo = { attempt: 1, elapsed: Duration.zero, lastError: Option.none() }
 * const isRetry = Effect.map(WorkflowContext.WorkflowContext, (ctx) => ctx.retryInfo.attempt > 1)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RetryInfo {
  readonly attempt: number
  readonly elapsed: Duration.Duration
  readonly lastError: Option.Option<unknown>
}

/**
 * Options of `sendEvent`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event, WorkflowContext } from "effect-workflows"
 *
 * const options: WorkflowContext.SendOptions = { step: "review" }
 * const send = Effect.flatMap(WorkflowContext.WorkflowContext, (ctx) =>
 *   ctx.sendEvent(new Event.HumanResponseEvent({ response: "yes" }), options))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface SendOptions {
  /** Deliver only to this step (it must exist and accept the event's tag). */
  readonly step?: string | undefined
}

/**
 * Options of `waitForEvent`.
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 * import type { WorkflowContext } from "effect-workflows"
 *
 * const options: WorkflowContext.WaitOptions<Event.HumanResponseEvent> = {
 *   waiterEvent: new Event.InputRequiredEvent({ prefix: "Approve the draft?" }),
 *   requirements: { response: "yes" },
 *   timeout: "5 minutes"
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface WaitOptions<A> {
  /** Published once when the waiter is registered (typically an InputRequiredEvent). */
  readonly waiterEvent?: Event.AnyEvent | undefined
  /** Default: derived from the awaited tag and the requirements. */
  readonly waiterId?: string | undefined
  /** Field values the awaited event must have (compared with `Equal.equals`). */
  readonly requirements?: { readonly [K in Exclude<keyof A, "_tag">]?: A[K] } | undefined
  /** Default none (the run timeout bounds it); `null` also means none. */
  readonly timeout?: Duration.DurationInput | null | undefined
}

/**
 * The service a step's body gets as its second argument (and as `WorkflowContext.WorkflowContext`
 * from the environment).
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Event, Step, WorkflowContext } from "effect-workflows"
 *
 * class Ping extends Schema.TaggedClass<Ping>()("Ping", {}) {}
 *
 * const step = Step.make("ping", { on: Event.StartEvent, emits: [Ping] }, () =>
 *   Effect.gen(function* () {
 *     const ctx = yield* WorkflowContext.WorkflowContext
 *     yield* ctx.store.set("pinged", true)
 *     return new Ping()
 *   }))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface WorkflowContext<S = StateStore.DictState> {
  readonly runId: string
  /** The run's state store (shared by all steps of the run and by `handler.store`). */
  readonly store: StateStore.StateStore<S>
  /**
   * Routes an event (untargeted: every step accepting its tag; waiters first). Errors:
   * `WorkflowStepDoesNotExistError` ("Step {step} does not exist") and `WorkflowRuntimeError`
   * ("Step {step} does not accept event of type {Tag}").
   */
  readonly sendEvent: (
    event: Event.AnyEvent,
    options?: SendOptions
  ) => Effect.Effect<void, WorkflowError.WorkflowStepDoesNotExistError | WorkflowError.WorkflowRuntimeError>
  /**
   * Buffers `event` (per step and `bufferId`, default "default") until one event of each
   * entry of `expected` (a multiset) has arrived, then returns them ordered as `expected`
   * (same-tag events in arrival order) and clears the buffer. Events whose tag is not expected
   * or already satisfied are ignored. `expected = []` returns `Some([])`. Atomic: each
   * delivered event runs the body once.
   */
  readonly collectEvents: <const Types extends ReadonlyArray<Event.Any>>(
    event: Event.AnyEvent,
    expected: Types,
    options?: { readonly bufferId?: string | undefined }
  ) => Effect.Effect<Option.Option<{ readonly [K in keyof Types]: Event.Instance<Types[K]> }>>
  /**
   * Suspends this fiber until an event with the tag of `eventClass` (and the `requirements`)
   * is sent; the event is consumed by the waiter (not routed to steps). The step does not hold
   * a worker slot while waiting and is not re-executed.
   */
  readonly waitForEvent: <C extends Event.Any>(
    eventClass: C,
    options?: WaitOptions<Event.Instance<C>>
  ) => Effect.Effect<Event.Instance<C>, WorkflowError.WaitForEventTimeout>
  /** Publishes an event on the run's stream (not routed). */
  readonly writeEventToStream: (event: Event.AnyEvent) => Effect.Effect<void>
  /** Names of the steps with an execution in progress (waiting steps excluded). */
  readonly runningSteps: Effect.Effect<ReadonlyArray<string>>
  /** Where the current input event is in its retries. */
  readonly retryInfo: RetryInfo
}

/**
 * The Tag of the in-step service: `const ctx = yield* WorkflowContext.WorkflowContext`.
 *
 * **Details**
 * - Inside a step body (and the fibers it forks) the service gives the members of the
 *   execution that the step's fiber is running: the same functions and values as the body's
 *   second argument.
 * - It is a view of the fiber's current execution, not a snapshot: keep the body's `ctx`
 *   argument for code that outlives the execution (a fiber left running after the body
 *   returned).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { WorkflowContext } from "effect-workflows"
 *
 * const attempt = Effect.map(WorkflowContext.WorkflowContext, (ctx) => ctx.retryInfo.attempt)
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export const WorkflowContext: Context.Tag<WorkflowContext<any>, WorkflowContext<any>> = Context.GenericTag<
  WorkflowContext<any>
>("effect-workflows/WorkflowContext")
