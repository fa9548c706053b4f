/**
 * Helpers for testing workflows: wait until a run is idle, answer its prompts from a function,
 * collect its stream, or run it once and get its result and events. Nothing here sleeps or reads
 * the wall clock, so every helper works under `TestClock` (`it.effect` / `it.scoped` of
 * `@effect/vitest`): the only way time passes is `TestClock.adjust`.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import type * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"
import * as Event from "../Event.js"
import * as run_ from "../internal/run.js"
import * as runtime from "../internal/runtime.js"
import * as Workflow from "../Workflow.js"
import * as WorkflowError from "../WorkflowError.js"
import type * as WorkflowHandler from "../WorkflowHandler.js"

type AnyHandler = WorkflowHandler.WorkflowHandler<any, any, any>

// -------------------------------------------------------------------------------------------------
// untilIdle
// -------------------------------------------------------------------------------------------------

/**
 * Whether the run is idle or has ended, read from the run's state: no execution running,
 * nothing queued, no retry waiting out its delay, and every execution in flight suspended on a
 * waiter that no event has resolved yet. (An execution whose awaited event has just been sent
 * has a resolved waiter and resumes on its own fiber a moment later: that is not idle.)
 */
const idleOrEnded = (handler: AnyHandler): Effect.Effect<boolean> =>
  Effect.suspend(() => {
    const run = runtime.runOf(handler)
    return run === undefined ? handler.isDone : Effect.succeed(run.completed !== undefined || run_.isQuiescent(run.state))
  })

/**
 * Completes when the run is idle — it waits only for input: no step running, nothing queued,
 * no retry waiting out its delay — or has ended.
 *
 * **Details**
 * - At once if the run is idle (or has ended) when `untilIdle` is called; otherwise at the next
 *   `WorkflowIdleEvent` (on `handler.stream({ internal: true })`) after which the run is still
 *   idle, or at the end of the run (its stream ends).
 * - The stream replays the whole run to every subscriber; the idle events of the past are not
 *   taken for the present: each one is checked against the run as it is now. So
 *   `sendEvent(answer)` then `untilIdle` waits for the idle point that comes after the answer
 *   has been handled: an answer that resolves a waiting step counts as work from the moment it
 *   is sent (the step resumes on its own fiber a moment later) until the step has finished or
 *   waits again.
 * - A retry waiting out its delay is not idle: under `TestClock`, adjust the clock (fork
 *   `untilIdle` first, or adjust and then call it). Nothing here sleeps.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event, Step, Workflow } from "effect-workflows"
 * import { WorkflowTest } from "effect-workflows/testing"
 *
 * const ask = Step.make("ask", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
 *   Effect.map(ctx.waitForEvent(Event.HumanResponseEvent), (answer) =>
 *     new Event.StopEvent({ result: answer.response })))
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const handler = yield* Workflow.start(Workflow.make({ name: "ask", steps: [ask] }))
 *   yield* WorkflowTest.untilIdle(handler) // the step waits for the answer
 *   yield* handler.sendEvent(new Event.HumanResponseEvent({ response: "yes" }))
 *   yield* WorkflowTest.untilIdle(handler) // the next idle point, or here the end of the run
 *   return yield* handler.result // "yes"
 * }))
 * ```
 *
 * @since 0.1.0
 * @category waiting
 */
export const untilIdle = <A, E, S>(
  handler: WorkflowHandler.WorkflowHandler<A, E, S>
): Effect.Effect<void> =>
  Effect.flatMap(idleOrEnded(handler), (now) =>
    now
      ? Effect.void
      // Subscribed after the check: the replay holds every idle event published since.
      : handler.stream({ internal: true }).pipe(
        Stream.filter(Event.is(Event.WorkflowIdleEvent)),
        Stream.filterEffect(() => idleOrEnded(handler)),
        Stream.runHead,
        Effect.asVoid
      ))

// -------------------------------------------------------------------------------------------------
// answerWith
// -------------------------------------------------------------------------------------------------

/**
 * An answer to a prompt: an event to send, or a string, sent as
 * `new Event.HumanResponseEvent({ response })`.
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 * import type { WorkflowTest } from "effect-workflows/testing"
 *
 * const short: WorkflowTest.Answer = "yes"
 * const full: WorkflowTest.Answer = new Event.HumanResponseEvent({ response: "yes", payload: { by: "qa" } })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Answer = Event.AnyEvent | string

/**
 * The function that answers prompts: given the prompt and its index (0 for the first prompt of
 * the run), an answer or an Effect of one.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import type { WorkflowTest } from "effect-workflows/testing"
 *
 * const scripted: WorkflowTest.Answerer = (_, index) => ["Typed errors", "yes"][index] ?? "no"
 * const logged: WorkflowTest.Answerer<never, never> = (prompt) =>
 *   Effect.as(Effect.log(`asked: ${prompt.prefix}`), "yes")
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Answerer<E = never, R = never> = (
  prompt: Event.InputRequiredEvent,
  index: number
) => Answer | Effect.Effect<Answer, E, R>

const toEvent = (answer: Answer): Event.AnyEvent =>
  typeof answer === "string" ? new Event.HumanResponseEvent({ response: answer }) : answer

/**
 * Answers every `InputRequiredEvent` of the run, in turn, with `answer`, until the run ends.
 * Returns the prompts it answered, in order.
 *
 * **Details**
 * - Reads `handler.events` from the start of the run (prompts published before it was called
 *   are answered too) and sends each answer with `handler.sendEvent` as soon as the prompt is
 *   read; one prompt at a time.
 * - Completes when the run ends. Fork it (`Effect.fork`) to do something else meanwhile, e.g.
 *   adjust the `TestClock`; or run it and then read `handler.result`.
 * - Fails with the error of `answer`, or with `WorkflowRuntimeError` when the run rejects an
 *   answer (an answer sent after the run has ended is dropped).
 * - A prompt is answered the moment it is read: the waiter must be armed by then. Publish it
 *   as the `waiterEvent` of `ctx.waitForEvent` (published once the waiter is armed) or return it
 *   from a step whose answer another step accepts.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event, Step, Workflow } from "effect-workflows"
 * import { WorkflowTest } from "effect-workflows/testing"
 *
 * const ask = Step.make("ask", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
 *   Effect.map(
 *     ctx.waitForEvent(Event.HumanResponseEvent, { waiterEvent: new Event.InputRequiredEvent({ prefix: "Ship it?" }) }),
 *     (answer) => new Event.StopEvent({ result: answer.response })))
 *
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const handler = yield* Workflow.start(Workflow.make({ name: "ask", steps: [ask] }))
 *   const prompts = yield* WorkflowTest.answerWith(handler, (prompt) => prompt.prefix === "Ship it?" ? "yes" : "no")
 *   return [prompts.length, yield* handler.result] // [1, "yes"]
 * }))
 * ```
 *
 * @since 0.1.0
 * @category answering
 */
export const answerWith = <A, E0, S, E = never, R = never>(
  handler: WorkflowHandler.WorkflowHandler<A, E0, S>,
  answer: Answerer<E, R>
): Effect.Effect<ReadonlyArray<Event.InputRequiredEvent>, E | WorkflowError.WorkflowRuntimeError, R> =>
  Effect.suspend(() => {
    const prompts: Array<Event.InputRequiredEvent> = []
    return handler.events.pipe(
      Stream.filter(Event.is(Event.InputRequiredEvent)),
      Stream.runForEach((prompt) =>
        Effect.gen(function*() {
          const given = answer(prompt, prompts.length)
          const event = toEvent(Effect.isEffect(given) ? yield* given : given)
          prompts.push(prompt)
          yield* handler.sendEvent(event).pipe(Effect.catchAll((error) =>
            // sent without a target step, it can only fail with WorkflowRuntimeError
            !(error instanceof WorkflowError.WorkflowRuntimeError)
              ? Effect.die(error)
              // the run ended between the prompt and its answer: nothing waits for it any more
              : Effect.flatMap(handler.isDone, (done) => done ? Effect.void : Effect.fail(error))
          ))
        })
      ),
      Effect.as(prompts)
    )
  })

// -------------------------------------------------------------------------------------------------
// collect, runAndCollect
// -------------------------------------------------------------------------------------------------

/**
 * Options of `collect`: the lifecycle events too (`StepStateChanged`, `WorkflowIdleEvent`,
 * `UnhandledEvent`) with `{ internal: true }`.
 *
 * @example
 * ```ts
 * import type { WorkflowTest } from "effect-workflows/testing"
 *
 * const everything: WorkflowTest.CollectOptions = { internal: true }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface CollectOptions {
  /** Also the internal lifecycle events (as `handler.stream({ internal: true })`). */
  readonly internal?: boolean | undefined
}

/**
 * The whole stream of a run, from its start to its last event: `handler.events`, or with
 * `{ internal: true }` `handler.stream({ internal: true })`. Completes when the run ends (under
 * `TestClock`, a run with delays needs the clock adjusted meanwhile: fork `collect`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event, Step, Workflow } from "effect-workflows"
 * import { WorkflowTest } from "effect-workflows/testing"
 *
 * const echo = Step.make("echo", { on: Event.StartEvent, emits: [Event.StopEvent] }, (ev) =>
 *   Effect.succeed(new Event.StopEvent({ result: ev.input })))
 *
 * const tags = Effect.scoped(Effect.gen(function*() {
 *   const handler = yield* Workflow.start(Workflow.make({ name: "echo", steps: [echo] }), new Event.StartEvent({ input: 1 }))
 *   const events = yield* WorkflowTest.collect(handler, { internal: true })
 *   return events.map(Event.tag) // ["StepStateChanged", "StepStateChanged", "StopEvent"]
 * }))
 * ```
 *
 * @since 0.1.0
 * @category collecting
 */
export const collect = <A, E, S>(
  handler: WorkflowHandler.WorkflowHandler<A, E, S>,
  options?: CollectOptions
): Effect.Effect<ReadonlyArray<Event.AnyEvent>> =>
  Effect.map(Stream.runCollect(handler.stream({ internal: options?.internal === true })), Chunk.toReadonlyArray)

/**
 * Options of `runAndCollect`: those of `Workflow.start`, `internal` as in `collect`, and an
 * `answer` for the run's prompts (as `answerWith`).
 *
 * @example
 * ```ts
 * import type { StateStore } from "effect-workflows"
 * import type { WorkflowTest } from "effect-workflows/testing"
 *
 * const options: WorkflowTest.RunAndCollectOptions<StateStore.DictState> = {
 *   runId: "test-run",
 *   internal: true,
 *   answer: () => "yes"
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RunAndCollectOptions<S, E = never, R = never> extends Workflow.RunOptions<S>, CollectOptions {
  /** Answers the run's `InputRequiredEvent`s, as `answerWith` does. */
  readonly answer?: Answerer<E, R> | undefined
}

/**
 * What `runAndCollect` gives: how the run ended and everything it published.
 *
 * @example
 * ```ts
 * import { Exit } from "effect"
 * import type { Event, WorkflowError } from "effect-workflows"
 * import type { WorkflowTest } from "effect-workflows/testing"
 *
 * declare const collected: WorkflowTest.Collected<string, WorkflowError.WorkflowError>
 * const succeeded = Exit.isSuccess(collected.result)
 * const last: Event.AnyEvent | undefined = collected.events.at(-1)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Collected<A, E> {
  /** The run's result: its success, or its failure (a step's error, a timeout, a cancel...). */
  readonly result: Exit.Exit<A, E>
  /** The whole stream of the run (with the lifecycle events if `internal` was given). */
  readonly events: ReadonlyArray<Event.AnyEvent>
}

/**
 * Runs a workflow to its end in a scope of its own and returns how it ended (an `Exit`: a
 * failed run is a value to assert on, not a failure) with its whole stream, answering its
 * prompts with `options.answer` if given.
 *
 * **Details**
 * - Fails only when the run cannot start (validation, configuration, a bad snapshot) or when
 *   `answer` fails (the run is then cancelled).
 * - Completes when the run ends: under `TestClock`, a run that waits out delays needs the clock
 *   adjusted meanwhile (fork `runAndCollect`, adjust, join). A run waiting for an answer that
 *   never comes ends at its run timeout, once the clock passes it.
 *
 * @example
 * ```ts
 * import { Effect, Exit } from "effect"
 * import { Event, Step, Workflow } from "effect-workflows"
 * import { WorkflowTest } from "effect-workflows/testing"
 *
 * const ask = Step.make("ask", { on: Event.StartEvent, emits: [Event.InputRequiredEvent] }, () =>
 *   Effect.succeed(new Event.InputRequiredEvent({ prefix: "Title?" })))
 * const title = Step.make("title", { on: Event.HumanResponseEvent, emits: [Event.StopEvent] }, (answer) =>
 *   Effect.succeed(new Event.StopEvent({ result: answer.response })))
 * const wf = Workflow.make({ name: "title", steps: [ask, title] })
 *
 * const program = Effect.gen(function*() {
 *   const { events, result } = yield* WorkflowTest.runAndCollect(wf, undefined, { answer: () => "Effect" })
 *   return [events.map(Event.tag), Exit.isSuccess(result)] // [["InputRequiredEvent", "StopEvent"], true]
 * })
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const runAndCollect = <Start, A, E, R, S, E2 = never, R2 = never>(
  self: Workflow.Workflow<Start, A, E, R, S>,
  startEvent?: NoInfer<Start>,
  options?: RunAndCollectOptions<NoInfer<S>, E2, R2>
): Effect.Effect<
  Collected<A, WorkflowError.WorkflowError | E>,
  | WorkflowError.WorkflowValidationError
  | WorkflowError.WorkflowConfigurationError
  | WorkflowError.ContextSerdeError
  | WorkflowError.WorkflowRuntimeError
  | E2,
  R | R2
> =>
  Effect.scoped(Effect.gen(function*() {
    const { answer, internal, ...runOptions } = options ?? {}
    const handler = yield* Workflow.start(self, startEvent, runOptions)
    const run = Effect.all({
      events: collect(handler, { internal }),
      result: Effect.exit(handler.result)
    })
    if (answer === undefined) return yield* run
    // The answers end with the run; a failed answer fails this at once (with its error alone)
    // and the run is cancelled when the scope closes.
    return yield* Effect.raceFirst(run, Effect.zipRight(answerWith(handler, answer), Effect.never))
  }))
