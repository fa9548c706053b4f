/**
 * The handle on a running workflow: its stream of events, its result, and the ways to talk to
 * it while it runs.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import type * as Stream from "effect/Stream"
import type * as Event from "./Event.js"
import type * as Snapshot from "./Snapshot.js"
import type * as StateStore from "./StateStore.js"
import type * as WorkflowContext from "./WorkflowContext.js"
import type * as WorkflowError from "./WorkflowError.js"

/**
 * Options of `handler.stream`.
 *
 * @example
 * ```ts
 * import { Stream } from "effect"
 * import type { WorkflowHandler } from "effect-workflows"
 *
 * declare const handler: WorkflowHandler.WorkflowHandler
 * const options: WorkflowHandler.StreamOptions = { internal: true }
 * const everything = Stream.runCollect(handler.stream(options)) // lifecycle events included
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface StreamOptions {
  /** Also the internal lifecycle events (StepStateChanged, WorkflowIdleEvent, UnhandledEvent). */
  readonly internal?: boolean | undefined
}

/**
 * A running workflow (see `Workflow.start`; `Workflow.Handler<typeof wf>` names the type of a
 * workflow's handler). `Published` is the union of the events `events` carries (see
 * `Workflow.Events`); `Event.AnyEvent` by default.
 *
 * @example
 * ```ts
 * import { Effect, Match, Stream } from "effect"
 * import { Event, Step, Workflow } from "effect-workflows"
 *
 * const echo = Step.make("echo", { on: Event.StartEvent, emits: [Event.StopEvent] }, (ev) =>
 *   Effect.succeed(new Event.StopEvent({ result: ev.input })))
 * const wf = Workflow.make({ name: "echo", steps: [echo] })
 *
 * const program = Effect.scoped(Effect.gen(function* () {
 *   // WorkflowHandler<unknown, never, StateStore.DictState, Event.StopEvent | Event.EndingEvent>
 *   const handler = yield* Workflow.start(wf, new Event.StartEvent({ input: 1 }))
 *   const events = yield* Stream.runCollect(handler.events) // [StopEvent { result: 1 }]
 *   const endings = yield* Stream.runCollect(Stream.map(handler.events, Match.type<Workflow.Events<typeof wf>>().pipe(
 *     Match.tag("StopEvent", () => "completed"),
 *     Match.tag("WorkflowFailedEvent", "WorkflowTimedOutEvent", "WorkflowCancelledEvent", (ev) => ev._tag),
 *     Match.exhaustive
 *   ))) // ["completed"]
 *   return yield* handler.result // 1
 * }))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface WorkflowHandler<Result = unknown, E = never, S = StateStore.DictState, Published = Event.AnyEvent> {
  readonly runId: string
  /**
   * Published events: `writeEventToStream` events, waiter and returned InputRequiredEvents,
   * then the stop event (or WorkflowFailedEvent / WorkflowTimedOutEvent /
   * WorkflowCancelledEvent), after which the stream ends. Every subscriber, whenever it
   * subscribes, gets the whole run. Typed as the union the workflow can publish
   * (`Workflow.Events`).
   */
  readonly events: Stream.Stream<Published>
  /**
   * `events`, or with `{ internal: true }` also the internal lifecycle events
   * (`Event.InternalEvent`).
   */
  readonly stream: {
    (options?: { readonly internal?: false | undefined }): Stream.Stream<Published>
    (options: StreamOptions): Stream.Stream<Published | Event.InternalEvent>
  }
  /** Waits for the end of the run (can be awaited many times). */
  readonly result: Effect.Effect<Result, WorkflowError.WorkflowError | E>
  /**
   * Routes an event into the run, as `ctx.sendEvent` does. Errors: `WorkflowRuntimeError` for a
   * run that has ended ("Workflow already completed: ..."); with `{ step }` also
   * `WorkflowStepDoesNotExistError`, and `WorkflowRuntimeError` for a step that does not accept
   * the event.
   */
  readonly sendEvent: {
    (event: Event.AnyEvent, options?: { readonly step?: undefined }): Effect.Effect<void, WorkflowError.WorkflowRuntimeError>
    (
      event: Event.AnyEvent,
      options?: WorkflowContext.SendOptions
    ): Effect.Effect<void, WorkflowError.WorkflowStepDoesNotExistError | WorkflowError.WorkflowRuntimeError>
  }
  /**
   * Cancels the run: running steps are interrupted, WorkflowCancelledEvent is published and
   * `result` fails with WorkflowCancelledByUser. Returns once the run has ended; a no-op on a
   * finished run.
   */
  readonly cancel: Effect.Effect<void>
  /**
   * The run as a snapshot, readable at any moment: mid-step, while waiting, during a retry
   * delay, after the end (`isRunning: false` once completed, failed or timed out; `true` after a
   * cancel, which keeps the run resumable). Fails with `ContextSerdeError` naming the state key
   * when a dict state value cannot be encoded by the `Serializer` the run was started with.
   */
  readonly snapshot: Effect.Effect<Snapshot.Snapshot, WorkflowError.ContextSerdeError>
  /** Names of the steps with an execution in progress (waiting steps excluded). */
  readonly runningSteps: Effect.Effect<ReadonlyArray<string>>
  /** Whether the run has ended. */
  readonly isDone: Effect.Effect<boolean>
  /** The run's state store. */
  readonly store: StateStore.StateStore<S>
}
