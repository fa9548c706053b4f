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
import type * as Types from "effect/Types"
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
 * Options of `waitForEvent`. `A` is the awaited event, `W` the type of `waiterEvent` (inferred
 * by `waitForEvent`, which records it as published: see `Publishes`).
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 * import type { WorkflowContext } from "effect-workflows"
 *
 * const options: WorkflowContext.WaitOptions<Event.HumanResponseEvent, Event.InputRequiredEvent> = {
 *   waiterEvent: new Event.InputRequiredEvent({ prefix: "Approve the draft?" }),
 *   requirements: { response: "yes" },
 *   timeout: "5 minutes"
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface WaitOptions<A, W extends Event.AnyEvent = Event.AnyEvent> {
  /** Published once when the waiter is registered (typically an InputRequiredEvent). */
  readonly waiterEvent?: W | undefined
  /** Default: derived from the awaited tag and the requirements. */
  readonly waiterId?: string | undefined
  /** Field values the awaited event must have (compared with `Equal.equals`). */
  readonly requirements?: { readonly [K in Exclude<keyof A, "_tag">]?: A[K] } | undefined
  /** Default none (the run timeout bounds it); `null` also means none. */
  readonly timeout?: Duration.DurationInput | null | undefined
}

/**
 * A requirement that is never provided and never needed at run time: it records, in the `R` of
 * an effect, that running it publishes events of type `A` on the run's stream.
 * `ctx.writeEventToStream(ev)` and `ctx.waitForEvent(C, { waiterEvent })` have it in their `R`;
 * `Step.make` takes it out of the step's requirements and keeps `A` as the step's published
 * events (`Step.PublishedOf`), from which `Workflow.make` types `handler.events`.
 *
 * **Details**
 * - A helper that writes to the stream says so in its type:
 *   `Effect.Effect<void, never, WorkflowContext.WorkflowContext | WorkflowContext.Publishes<Progress>>`.
 * - An effect with `Publishes` in its `R` cannot be run on its own (`Effect.runPromise` rejects
 *   it): it runs inside a step, which is what publishing needs anyway.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { WorkflowContext } from "effect-workflows"
 *
 * class Progress extends Schema.TaggedClass<Progress>()("Progress", { percent: Schema.Number }) {}
 *
 * const report = (percent: number): Effect.Effect<
 *   void,
 *   never,
 *   WorkflowContext.WorkflowContext | WorkflowContext.Publishes<Progress>
 * > => Effect.flatMap(WorkflowContext.WorkflowContext, (ctx) => ctx.writeEventToStream(new Progress({ percent })))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Publishes<out A> {
  readonly "~effect-workflows/WorkflowContext/Publishes": Types.Covariant<A>
}

/**
 * The events that an effect with requirements `R` publishes (the `A` of its `Publishes<A>`).
 *
 * @example
 * ```ts
 * import type { Event, WorkflowContext } from "effect-workflows"
 *
 * type P = WorkflowContext.Published<WorkflowContext.Publishes<Event.InputRequiredEvent> | string>
 * // Event.InputRequiredEvent
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type Published<R> = R extends Publishes<infer A> ? A : never

/**
 * The service a step's body gets as its second argument (and as `WorkflowContext.WorkflowContext`
 * from the environment).
 *
 * **Details**
 * - Each operation fails only with the errors it can raise: an untargeted `sendEvent` and a
 *   `waitForEvent` without `timeout` have the error type `never`, so a step that only uses them
 *   adds no error to its workflow's `E`.
 * - `writeEventToStream` and a `waitForEvent` with a `waiterEvent` record what they publish as
 *   `Publishes<A>` in `R`; `Step.make` turns it into the step's published events, which type
 *   `handler.events`.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Event, Step, WorkflowContext } from "effect-workflows"
 *
 * class Ping extends Schema.TaggedClass<Ping>()("Ping", {}) {}
 * class Progress extends Schema.TaggedClass<Progress>()("Progress", { percent: Schema.Number }) {}
 *
 * const step = Step.make("ping", { on: Event.StartEvent, emits: [Ping] }, () =>
 *   Effect.gen(function* () {
 *     const ctx = yield* WorkflowContext.WorkflowContext
 *     yield* ctx.store.set("pinged", true) // E: Cause.IllegalArgumentException (a bad path)
 *     yield* ctx.sendEvent(new Ping()) // E: never (untargeted)
 *     yield* ctx.writeEventToStream(new Progress({ percent: 50 })) // R: Publishes<Progress>
 *     const answer = yield* ctx.waitForEvent(Event.HumanResponseEvent) // E: never (no timeout)
 *     return new Ping()
 *   }))
 * // Step<"ping", Event.StartEvent, Ping, Cause.IllegalArgumentException, never, Progress>
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
   * Routes an event (untargeted: every step accepting its tag; waiters first). Untargeted, it
   * cannot fail (an event no step accepts is published as `UnhandledEvent` on the internal
   * stream). With `{ step }` it fails with `WorkflowStepDoesNotExistError` ("Step {step} does
   * not exist") or `WorkflowRuntimeError` ("Step {step} does not accept event of type {Tag}").
   */
  readonly sendEvent: {
    (event: Event.AnyEvent, options?: { readonly step?: undefined }): Effect.Effect<void>
    (
      event: Event.AnyEvent,
      options?: SendOptions
    ): Effect.Effect<void, WorkflowError.WorkflowStepDoesNotExistError | WorkflowError.WorkflowRuntimeError>
  }
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
   * a worker slot while waiting and is not re-executed. Without a `timeout` (or with `null`) it
   * cannot fail (the run timeout ends the whole run); with one it fails with
   * `WaitForEventTimeout`. A `waiterEvent` is published, and recorded as `Publishes` in `R`.
   */
  readonly waitForEvent: {
    <C extends Event.Any, W extends Event.AnyEvent = never>(
      eventClass: C,
      options?: WaitOptions<Event.Instance<C>, W> & { readonly timeout?: null | undefined }
    ): Effect.Effect<Event.Instance<C>, never, [W] extends [never] ? never : Publishes<W>>
    <C extends Event.Any, W extends Event.AnyEvent = never>(
      eventClass: C,
      options?: WaitOptions<Event.Instance<C>, W>
    ): Effect.Effect<Event.Instance<C>, WorkflowError.WaitForEventTimeout, [W] extends [never] ? never : Publishes<W>>
  }
  /**
   * Publishes an event on the run's stream (not routed). The event's type is recorded as
   * `Publishes<A>` in `R`, so that `handler.events` of the workflow includes it.
   */
  readonly writeEventToStream: <A extends Event.AnyEvent>(event: A) => Effect.Effect<void, never, Publishes<A>>
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
