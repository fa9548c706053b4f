/**
 * A workflow: steps wired by the events they accept and emit, validated as a graph, run by a
 * broker of queues and fibers.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import type * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import type * as Types from "effect/Types"
import * as Event from "./Event.js"
import * as Graph from "./Graph.js"
import * as runtime from "./internal/runtime.js"
import type * as StateStore from "./StateStore.js"
import type * as Step from "./Step.js"
import type * as WorkflowError from "./WorkflowError.js"
import type * as WorkflowHandler from "./WorkflowHandler.js"

/**
 * @example
 * ```ts
 * import { Workflow } from "effect-workflows"
 *
 * const wf = Workflow.make({ name: "empty", steps: [] })
 * Workflow.TypeId in wf // true
 * Workflow.isWorkflow(wf) // true: isWorkflow checks for TypeId
 * ```
 *
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: unique symbol = Symbol.for("effect-workflows/Workflow")

/**
 * @example
 * ```ts
 * import type { Workflow } from "effect-workflows"
 *
 * type Marker = Workflow.Any[Workflow.TypeId] // Workflow.Variance<any, any, any, any, any, any>
 * ```
 *
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * The variance of a workflow's type parameters (`Published`, the events of `handler.events`,
 * defaults to `Event.AnyEvent`).
 *
 * @example
 * ```ts
 * import { Workflow } from "effect-workflows"
 *
 * const wf = Workflow.make({ name: "empty", steps: [] })
 * type V = (typeof wf)[Workflow.TypeId]
 * // Workflow.Variance<Event.StartEvent, unknown, never, never, StateStore.DictState,
 * //   Event.StopEvent | Event.EndingEvent>
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Variance<Start, Result, E, R, S, Published = Event.AnyEvent> {
  readonly _Start: Types.Invariant<Start>
  readonly _Result: Types.Covariant<Result>
  readonly _E: Types.Covariant<E>
  readonly _R: Types.Covariant<R>
  readonly _S: Types.Invariant<S>
  readonly _Published: Types.Covariant<Published>
}

/**
 * `true` (default: validate before the first run), `false` (skip validation at run time;
 * `Workflow.validate` still checks), or options that skip named graph checks.
 *
 * @example
 * ```ts
 * import type { Workflow } from "effect-workflows"
 *
 * const strict: Workflow.ValidationOptions = true
 * const lenient: Workflow.ValidationOptions = { skipGraphChecks: ["dead_end"] }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type ValidationOptions =
  | boolean
  | { readonly skipGraphChecks?: ReadonlyArray<Graph.CheckName> | undefined }

/**
 * A workflow definition (a value; nothing runs until `run` / `start`). `R` is the union of its
 * steps' requirements: the caller provides them as Layers. `Published` is the union of the
 * events its runs publish on `handler.events` (see `Events`); it defaults to `Event.AnyEvent`,
 * which every workflow is assignable to.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event, Step, Workflow } from "effect-workflows"
 * import type { StateStore } from "effect-workflows"
 *
 * const echo = Step.make("echo", { on: Event.StartEvent, emits: [Event.StopEvent] }, (ev) =>
 *   Effect.succeed(new Event.StopEvent({ result: ev.input })))
 * const wf: Workflow.Workflow<Event.StartEvent, unknown, never, never, StateStore.DictState> =
 *   Workflow.make({ name: "echo", steps: [echo] })
 * const precise: Workflow.Workflow<
 *   Event.StartEvent, unknown, never, never, StateStore.DictState, Event.StopEvent | Event.EndingEvent
 * > = Workflow.make({ name: "echo", steps: [echo] })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Workflow<Start, Result, E, R, S, Published = Event.AnyEvent> extends Pipeable {
  readonly [TypeId]: Variance<Start, Result, E, R, S, Published>
  readonly name: string
  readonly start: Event.Any
  readonly stop: Event.Any
  readonly steps: ReadonlyArray<Step.Any>
  /** `None`: dict state. */
  readonly state: Option.Option<Schema.Schema<S, any, never>>
  /** `None`: no run timeout. */
  readonly timeout: Option.Option<Duration.Duration>
  readonly numConcurrentRuns: Option.Option<number>
  readonly validation: ValidationOptions
  /** Event classes known to its snapshots besides those of its steps (see `MakeOptions`). */
  readonly events: ReadonlyArray<Event.Any>
}

/**
 * Any workflow.
 *
 * @example
 * ```ts
 * import type { Workflow } from "effect-workflows"
 *
 * const stepNames = (wf: Workflow.Any) => wf.steps.map((step) => step.name)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Any = Workflow<any, any, any, any, any, any>

/**
 * The handler of a run of the workflow type `W`: what `Workflow.start(w)` and
 * `Workflow.resume(w, snapshot)` give, to name it in a type (a field, a map of runs, a
 * function's parameter).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event, Step, Workflow } from "effect-workflows"
 *
 * const echo = Step.make("echo", { on: Event.StartEvent, emits: [Event.StopEvent] }, (ev) =>
 *   Effect.succeed(new Event.StopEvent({ result: ev.input })))
 * const wf = Workflow.make({ name: "echo", steps: [echo] })
 *
 * const runs = new Map<string, Workflow.Handler<typeof wf>>()
 * const program = Effect.scoped(Effect.gen(function* () {
 *   const handler = yield* Workflow.start(wf, new Event.StartEvent({ input: 1 }))
 *   runs.set(handler.runId, handler)
 * }))
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type Handler<W extends Any> = W extends Workflow<any, infer Result, infer E, any, infer S, infer Published>
  ? WorkflowHandler.WorkflowHandler<Result, E, S, Published>
  : never

/**
 * The result of a run of the workflow type `W` (what `Workflow.run` and `handler.result` succeed
 * with). Not to be confused with `ResultOf`, which takes a stop class.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Event, Step, Workflow } from "effect-workflows"
 *
 * class Done extends Schema.TaggedClass<Done>()("Done", { verdict: Schema.String }) {}
 * const judge = Step.make("judge", { on: Event.StartEvent, emits: [Done] }, () =>
 *   Effect.succeed(new Done({ verdict: "ok" })))
 * const wf = Workflow.make({ name: "judge", stop: Done, steps: [judge] })
 * type R = Workflow.Result<typeof wf> // Done
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type Result<W extends Any> = W extends Workflow<any, infer Result, any, any, any, any> ? Result : never

/**
 * The error type of the steps of the workflow type `W` (its `E`). `Workflow.run` and
 * `handler.result` fail with `WorkflowError.WorkflowError | Workflow.Error<W>`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event, Step, Workflow } from "effect-workflows"
 *
 * const risky = Step.make("risky", { on: Event.StartEvent, emits: [Event.StopEvent] }, () =>
 *   Effect.fail("boom" as const))
 * const wf = Workflow.make({ name: "risky", steps: [risky] })
 * type E = Workflow.Error<typeof wf> // "boom"
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type Error<W extends Any> = W extends Workflow<any, any, infer E, any, any, any> ? E : never

/**
 * The events a run of the workflow type `W` publishes on `handler.events` (and `handler.stream()`):
 *
 * - the events its steps write with `ctx.writeEventToStream` and publish as a waiter's
 *   `waiterEvent` (see `WorkflowContext.Publishes`), and `InputRequiredEvent` when a step may
 *   return one;
 * - its stop event (the instance of its stop class);
 * - `Event.EndingEvent`: `WorkflowFailedEvent`, `WorkflowTimedOutEvent`, `WorkflowCancelledEvent`.
 *
 * The start event and the other events steps return or send are routed, not published, so they
 * are not in it. `handler.stream({ internal: true })` adds `Event.InternalEvent`.
 *
 * @example
 * ```ts
 * import { Effect, Match, Schema, Stream } from "effect"
 * import { Event, Step, Workflow } from "effect-workflows"
 *
 * class Progress extends Schema.TaggedClass<Progress>()("Progress", { percent: Schema.Number }) {}
 * const work = Step.make("work", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
 *   Effect.as(ctx.writeEventToStream(new Progress({ percent: 100 })), new Event.StopEvent({ result: "ok" })))
 * const wf = Workflow.make({ name: "work", steps: [work] })
 *
 * // Progress | Event.StopEvent | Event.WorkflowFailedEvent | Event.WorkflowTimedOutEvent | Event.WorkflowCancelledEvent
 * const describe = Match.type<Workflow.Events<typeof wf>>().pipe(
 *   Match.tag("Progress", (ev) => `${ev.percent}%`),
 *   Match.tag("StopEvent", () => "done"),
 *   Match.tag("WorkflowFailedEvent", "WorkflowTimedOutEvent", "WorkflowCancelledEvent", (ev) => ev._tag),
 *   Match.exhaustive
 * )
 * const program = Effect.scoped(Effect.gen(function* () {
 *   const handler = yield* Workflow.start(wf)
 *   return yield* Stream.runCollect(Stream.map(handler.events, describe))
 * }))
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type Events<W extends Any> = W extends Workflow<any, any, any, any, any, infer Published> ? Published : never

/**
 * The result of a run: `result` for the built-in `StopEvent`, else the stop event itself.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import type { Event, Workflow } from "effect-workflows"
 *
 * class Done extends Schema.TaggedClass<Done>()("Done", { verdict: Schema.String }) {}
 * type FromStopEvent = Workflow.ResultOf<typeof Event.StopEvent> // unknown (its `result`)
 * type FromDone = Workflow.ResultOf<typeof Done> // Done
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type ResultOf<StopC> = Event.Instance<StopC> extends { readonly _tag: "StopEvent" } ? unknown
  : Event.Instance<StopC>

/**
 * The options of `Workflow.make`.
 *
 * @example
 * ```ts
 * import type { Event, StateStore, Step, Workflow } from "effect-workflows"
 *
 * declare const steps: ReadonlyArray<Step.Any>
 * const options: Workflow.MakeOptions<
 *   typeof steps, typeof Event.StartEvent, typeof Event.StopEvent, StateStore.DictState
 * > = { name: "pipeline", steps, timeout: "2 minutes", numConcurrentRuns: 4 }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface MakeOptions<Steps extends ReadonlyArray<Step.Any>, StartC, StopC, S> {
  readonly name: string
  /** Default `Event.StartEvent`. */
  readonly start?: StartC | undefined
  /** Default `Event.StopEvent`. */
  readonly stop?: StopC | undefined
  readonly steps: Steps
  /** A Schema whose fields all have defaults (typed state); absent: dict state. */
  readonly state?: Schema.Schema<S, any, never> | undefined
  /** Run timeout; default 45 seconds; `null` disables it. */
  readonly timeout?: Duration.DurationInput | null | undefined
  /** At most this many runs of this workflow value at once (others wait); default unbounded. */
  readonly numConcurrentRuns?: number | undefined
  readonly validation?: ValidationOptions | undefined
  /**
   * More event classes the workflow's snapshots may hold: the classes awaited with
   * `ctx.waitForEvent` that no step accepts or emits (`HumanResponseEvent` and the other
   * built-in events are known already). A snapshot decodes events only through the classes
   * the workflow knows.
   */
  readonly events?: ReadonlyArray<Event.Any> | undefined
}

/**
 * Whether a value is a `Workflow`.
 *
 * @example
 * ```ts
 * import { Workflow } from "effect-workflows"
 *
 * Workflow.isWorkflow({}) // false
 * ```
 *
 * @since 0.1.0
 * @category refinements
 */
export const isWorkflow = (u: unknown): u is Any => Predicate.hasProperty(u, TypeId)

const Proto = {
  [TypeId]: {
    _Start: (_: never) => _,
    _Result: (_: never) => _,
    _E: (_: never) => _,
    _R: (_: never) => _,
    _S: (_: never) => _,
    _Published: (_: never) => _
  },
  pipe() {
    return pipeArguments(this, arguments)
  },
  toJSON(this: Any) {
    return { _id: "Workflow", name: this.name, steps: this.steps.map((step) => step.name) }
  }
}

/**
 * Defines a workflow.
 *
 * **Details**
 * - `start` defaults to `Event.StartEvent`, `stop` to `Event.StopEvent`.
 * - `timeout` defaults to 45 seconds; `null` disables it.
 * - `state` is a Schema whose fields all have defaults (typed state); absent: dict state.
 * - `numConcurrentRuns` bounds the concurrent runs of this workflow value.
 * - `events` lists event classes awaited with `ctx.waitForEvent` that no step accepts or emits,
 *   so that snapshots holding them can be decoded (see `resume`).
 * - The workflow's type has the union of its steps' errors (`E`) and requirements (`R`), and
 *   the union of the events its runs publish (`Published`, see `Events`): what its steps
 *   publish (`Step.PublishedOf`), its stop event and `Event.EndingEvent`.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Event, Step, Workflow } from "effect-workflows"
 *
 * class Done extends Schema.TaggedClass<Done>()("Done", { verdict: Schema.String }) {}
 *
 * const judge = Step.make("judge", { on: Event.StartEvent, emits: [Done] }, () =>
 *   Effect.succeed(new Done({ verdict: "ok" })))
 *
 * const wf = Workflow.make({ name: "judge", stop: Done, steps: [judge] })
 * // Workflow<Event.StartEvent, Done, never, never, StateStore.DictState, Done | Event.EndingEvent>
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <
  const Steps extends ReadonlyArray<Step.Any>,
  StartC extends Event.Any = typeof Event.StartEvent,
  StopC extends Event.Any = typeof Event.StopEvent,
  S = StateStore.DictState
>(
  options: MakeOptions<Steps, StartC, StopC, S>
): Workflow<
  Event.Instance<StartC>,
  ResultOf<StopC>,
  Step.ErrorOf<Steps[number]>,
  Step.RequirementsOf<Steps[number]>,
  S,
  Event.Instance<StopC> | Step.PublishedOf<Steps[number]> | Event.EndingEvent
> => {
  const self = Object.create(Proto)
  self.name = options.name
  self.start = options.start ?? Event.StartEvent
  self.stop = options.stop ?? Event.StopEvent
  self.steps = options.steps
  self.state = Option.fromNullable(options.state)
  self.timeout = options.timeout === null
    ? Option.none()
    : Option.some(Duration.decode(options.timeout ?? Duration.seconds(45)))
  self.numConcurrentRuns = Option.fromNullable(options.numConcurrentRuns)
  self.validation = options.validation ?? true
  self.events = options.events ?? []
  return self
}

/**
 * The options of `run` and `start`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { StateStore } from "effect-workflows"
 * import type { Workflow } from "effect-workflows"
 *
 * const options = Effect.map(StateStore.make(), (store): Workflow.RunOptions<StateStore.DictState> => ({
 *   runId: "run-1",
 *   store
 * }))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions<S> {
  /** Default: a fresh random id. */
  readonly runId?: string | undefined
  /**
   * An existing state store to run with, e.g. `StateStore.make()` or a previous
   * `handler.store`. Consecutive runs given the same store see each other's state.
   */
  readonly store?: StateStore.StateStore<S> | undefined
  /**
   * Continue from a snapshot (a `Snapshot.Snapshot`, any JSON value holding one, or its JSON
   * text), as `resume` does, except that a finished snapshot starts its new run with the start
   * event given (when given); for an unfinished one the start event is ignored.
   */
  readonly snapshot?: unknown
}

/**
 * Validates, runs to the end and returns the result (see `ResultOf`). The run's fibers live in
 * a scope that closes when the run ends.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event, Step, Workflow } from "effect-workflows"
 *
 * const echo = Step.make("echo", { on: Event.StartEvent, emits: [Event.StopEvent] }, (ev) =>
 *   Effect.succeed(new Event.StopEvent({ result: ev.input })))
 * const wf = Workflow.make({ name: "echo", steps: [echo] })
 *
 * const result = Workflow.run(wf, new Event.StartEvent({ input: "hi" })) // Effect<unknown, ...>: "hi"
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const run: <Start, Result, E, R, S, Published>(
  self: Workflow<Start, Result, E, R, S, Published>,
  startEvent?: NoInfer<Start>,
  options?: RunOptions<NoInfer<S>>
) => Effect.Effect<Result, WorkflowError.WorkflowError | E, R> = runtime.run as any

/**
 * Validates and starts a run; the handler lives in the current Scope (closing it interrupts the
 * run). The run's first steps start at once, on fibers of their own, and run until they wait
 * or yield: a run whose steps never wait may have ended when `start` returns. Its events stay
 * readable from `handler.events` either way. (In a scope that has closed already, a run is
 * interrupted once its first steps wait.) The handler's type is `Workflow.Handler<typeof wf>`:
 * its `events` carry `Workflow.Events<typeof wf>`.
 *
 * @example
 * ```ts
 * import { Console, Effect, Stream } from "effect"
 * import { Event, Step, Workflow } from "effect-workflows"
 *
 * const echo = Step.make("echo", { on: Event.StartEvent, emits: [Event.StopEvent] }, (ev) =>
 *   Effect.succeed(new Event.StopEvent({ result: ev.input })))
 * const wf = Workflow.make({ name: "echo", steps: [echo] })
 *
 * const program = Effect.scoped(Effect.gen(function* () {
 *   const handler = yield* Workflow.start(wf, new Event.StartEvent({ input: "hi" }))
 *   // Stream<Event.StopEvent | Event.EndingEvent>
 *   yield* handler.events.pipe(Stream.runForEach(Console.log))
 *   return yield* handler.result
 * }))
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const start: <Start, Result, E, R, S, Published>(
  self: Workflow<Start, Result, E, R, S, Published>,
  startEvent?: NoInfer<Start>,
  options?: RunOptions<NoInfer<S>>
) => Effect.Effect<
  WorkflowHandler.WorkflowHandler<Result, E, S, Published>,
  | WorkflowError.WorkflowValidationError
  | WorkflowError.WorkflowConfigurationError
  | WorkflowError.ContextSerdeError,
  R | Scope.Scope
> = runtime.start as any

/**
 * Continues a run from its snapshot (`handler.snapshot`, a JSON value holding one, or its JSON
 * text), in the current Scope, as `start` does.
 *
 * The snapshot is decoded against the workflow first: a malformed document, another version,
 * another workflow's snapshot, an unknown step, an event the workflow's own registry of event
 * classes does not decode, or a state its schema rejects fails with `ContextSerdeError` naming
 * the path. Nothing in a payload is ever imported, evaluated or instantiated outside that
 * registry.
 *
 * - An unfinished snapshot (`isRunning: true`, also after a cancel) continues the same run: the
 *   same `runId`, no new start event. Events whose execution was in progress re-execute **at
 *   least once**, ahead of what was queued, in their original order; queued events keep their
 *   retry bookkeeping (a retry waiting out its delay is due when it was); collect buffers are
 *   as they were; waiters are armed at once (an event sent as soon as `resume` returns resolves
 *   them) and their `waiterEvent` is not published again; the stream's sequence goes on. The run
 *   timeout starts afresh.
 * - A finished snapshot starts a new run (a new `runId`, the default start event; for another
 *   start event use `start(wf, event, { snapshot })`) whose state is the snapshot's state.
 *
 * A dict state is decoded with the `Serializer` in context (`Serializer.json` when none). The
 * handler has the same type as `start`'s: `Workflow.Handler<typeof wf>`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event, Step, Workflow } from "effect-workflows"
 *
 * const ask = Step.make("ask", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
 *   Effect.map(ctx.waitForEvent(Event.HumanResponseEvent), (answer) =>
 *     new Event.StopEvent({ result: answer.response })))
 * const wf = Workflow.make({ name: "ask", steps: [ask] })
 *
 * const program = Effect.gen(function* () {
 *   // pause: snapshot while waiting, then cancel
 *   const saved = yield* Effect.scoped(Effect.gen(function* () {
 *     const handler = yield* Workflow.start(wf)
 *     const snapshot = yield* handler.snapshot
 *     yield* handler.cancel
 *     return snapshot
 *   }))
 *   // later, maybe in another process: resume and answer
 *   return yield* Effect.scoped(Effect.gen(function* () {
 *     const handler = yield* Workflow.resume(wf, saved)
 *     yield* handler.sendEvent(new Event.HumanResponseEvent({ response: "yes" }))
 *     return yield* handler.result // "yes"
 *   }))
 * })
 * ```
 *
 * @since 0.1.0
 * @category running
 */
export const resume: <Start, Result, E, R, S, Published>(
  self: Workflow<Start, Result, E, R, S, Published>,
  snapshot: unknown
) => Effect.Effect<
  WorkflowHandler.WorkflowHandler<Result, E, S, Published>,
  | WorkflowError.ContextSerdeError
  | WorkflowError.WorkflowValidationError
  | WorkflowError.WorkflowConfigurationError,
  R | Scope.Scope
> = runtime.resume as any

/**
 * Structural validation, first failure wins except the error handlers' checks and the graph
 * checks, each of which accumulate into one error (see SEMANTICS "Workflow validation rules"):
 * - no steps: WorkflowConfigurationError "Workflow '{name}' has no configured steps."
 * - the start class accepted by no step / the stop class emitted by no step:
 *   WorkflowConfigurationError
 * - "Step '{a}' cannot accept StopEvent. ..." (the stop class's tag in place of StopEvent)
 * - "The following events are consumed but never produced: A, B"
 * - "The following events are produced but never consumed: A"
 * - the `Step.catchError` handlers, joined by "\n" (see `Graph.validate`), e.g.
 *   "Only one wildcard Step.catchError handler is allowed per workflow, found 2: a, b"
 * - "Graph validation failed:\n  - [reachability] Unreachable steps: a, b\n    ..."
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Workflow } from "effect-workflows"
 *
 * const empty = Workflow.make({ name: "empty", steps: [] })
 * const check = Workflow.validate(empty) // fails: "Workflow 'empty' has no configured steps."
 * ```
 *
 * @since 0.1.0
 * @category validation
 */
export const validate: (
  self: Any
) => Effect.Effect<void, WorkflowError.WorkflowValidationError | WorkflowError.WorkflowConfigurationError> =
  Graph.validate

/**
 * JSON graph of steps and events.
 *
 * @example
 * ```ts
 * import { Workflow } from "effect-workflows"
 *
 * declare const wf: Workflow.Any
 * const graph = Workflow.representation(wf) // { nodes: [...], edges: [...] }
 * ```
 *
 * @since 0.1.0
 * @category graph
 */
export const representation: (self: Any) => Graph.WorkflowGraph = Graph.representation

/**
 * The workflow as a Mermaid flowchart.
 *
 * @example
 * ```ts
 * import { Workflow } from "effect-workflows"
 *
 * declare const wf: Workflow.Any
 * console.log(Workflow.toMermaid(wf)) // "flowchart TD ..."
 * ```
 *
 * @since 0.1.0
 * @category graph
 */
export const toMermaid: (self: Any) => string = Graph.toMermaid

/**
 * The workflow as a Graphviz DOT digraph.
 *
 * @example
 * ```ts
 * import { Workflow } from "effect-workflows"
 *
 * declare const wf: Workflow.Any
 * console.log(Workflow.toDot(wf)) // "digraph ..."
 * ```
 *
 * @since 0.1.0
 * @category graph
 */
export const toDot: (self: Any) => string = Graph.toDot
