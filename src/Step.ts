/**
 * A step: an `Effect` program that takes an event and returns an event (or nothing).
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { type Pipeable, pipeArguments } from "effect/Pipeable"
import * as Predicate from "effect/Predicate"
import type * as Schedule from "effect/Schedule"
import type * as Schema from "effect/Schema"
import type * as Types from "effect/Types"
import * as Event from "./Event.js"
import type * as StateStore from "./StateStore.js"
import type * as WorkflowContext from "./WorkflowContext.js"
import type * as WorkflowError from "./WorkflowError.js"

/**
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event, Step } from "effect-workflows"
 *
 * const step = Step.make("noop", { on: Event.StartEvent }, () => Effect.void)
 * Step.TypeId in step // true
 * Step.isStep(step) // true: isStep checks for TypeId
 * ```
 *
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: unique symbol = Symbol.for("effect-workflows/Step")

/**
 * @example
 * ```ts
 * import type { Step } from "effect-workflows"
 *
 * type Marker = Step.Any[Step.TypeId] // Step.Variance<any, any, any, any, any>
 * ```
 *
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * `on`: one event class or a non-empty array of them.
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 * import type { Step } from "effect-workflows"
 *
 * const one: Step.On = Event.StartEvent
 * const many: Step.On = [Event.StartEvent, Event.HumanResponseEvent]
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type On = Event.Any | ReadonlyArray<Event.Any>

/**
 * The options of `Step.make`.
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import { Event } from "effect-workflows"
 * import type { StateStore, Step } from "effect-workflows"
 *
 * const options: Step.Options<typeof Event.StartEvent, readonly [], never, StateStore.DictState, "5 seconds"> = {
 *   on: Event.StartEvent,
 *   workers: 2,
 *   retry: Schedule.recurs(3),
 *   timeout: "5 seconds"
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<
  O extends On,
  Emits extends ReadonlyArray<Event.Any>,
  E,
  S,
  T extends Duration.DurationInput | undefined
> {
  /** The event class(es) the step accepts (exact tag match). */
  readonly on: O
  /**
   * Every event class the step may produce, by returning it or with `ctx.sendEvent` (used by
   * validation and the graph). Omitted or `[]`: the step returns nothing.
   */
  readonly emits?: Emits | undefined
  /** Size of the step's worker pool (default 4). */
  readonly workers?: number | undefined
  /**
   * Retry schedule over the step's error (any `Schedule`; see RetryPolicy). The input of the
   * schedule is the failure of an attempt (with `timeout`, possibly `Cause.TimeoutException`).
   * Without it a failure is final.
   */
  readonly retry?: Schedule.Schedule<unknown, NoInfer<E>, never> | undefined
  /** Per-attempt timeout: an attempt that takes longer fails with `Cause.TimeoutException`. */
  readonly timeout?: T
  /**
   * The workflow's state schema, given again so that `ctx.store` is `StateStore<S>`. It must be
   * the same schema as `Workflow.make({ state })` (checked by validation). Omitted: `ctx.store`
   * is the dict store.
   */
  readonly state?: Schema.Schema<S, any, never> | undefined
}

/**
 * The variance of a step's type parameters (`Pub`, the events it publishes, defaults to `never`).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event, Step } from "effect-workflows"
 *
 * const step = Step.make("fails", { on: Event.StartEvent }, () => Effect.fail("boom" as const))
 * type V = (typeof step)[Step.TypeId] // Step.Variance<Event.StartEvent, never, "boom", never, never>
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Variance<In, Out, E, R, Pub = never> {
  readonly _In: Types.Invariant<In>
  readonly _Out: Types.Covariant<Out>
  readonly _E: Types.Covariant<E>
  readonly _R: Types.Covariant<R>
  readonly _Pub: Types.Covariant<Pub>
}

/**
 * A step definition (a value; it runs inside a workflow run). `In` is the event it accepts,
 * `Out` what it returns, `E` and `R` its errors and requirements, and `Pub` the events it
 * publishes on the run's stream: those it writes with `ctx.writeEventToStream`, its waiters'
 * `waiterEvent`s and the `InputRequiredEvent` it returns (default `never`; see
 * `WorkflowContext.Publishes`).
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Event, Step } from "effect-workflows"
 *
 * const echo: Step.Step<"echo", Event.StartEvent, Event.StopEvent, never, never> =
 *   Step.make("echo", { on: Event.StartEvent, emits: [Event.StopEvent] }, (ev) =>
 *     Effect.succeed(new Event.StopEvent({ result: ev.input })))
 * echo.name // "echo"
 *
 * class Progress extends Schema.TaggedClass<Progress>()("Progress", { percent: Schema.Number }) {}
 * const work: Step.Step<"work", Event.StartEvent, Event.StopEvent, never, never, Progress> =
 *   Step.make("work", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
 *     Effect.as(ctx.writeEventToStream(new Progress({ percent: 100 })), new Event.StopEvent({ result: 1 })))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Step<Name extends string, In, Out, E, R, Pub = never> extends Pipeable {
  readonly [TypeId]: Variance<In, Out, E, R, Pub>
  readonly name: Name
  readonly on: ReadonlyArray<Event.Any>
  readonly emits: ReadonlyArray<Event.Any>
  readonly workers: number
  readonly retry: Option.Option<Schedule.Schedule<unknown, any, never>>
  readonly timeout: Option.Option<Duration.Duration>
  /** The state schema the step was declared with, if any. */
  readonly state: Option.Option<Schema.Schema<any, any, never>>
  /** For a handler made with `catchError`: the steps it covers and its `maxRecoveries`. */
  readonly catchError: Option.Option<CatchError>
  /**
   * The step's body, with its per-attempt timeout and provided layers applied. It needs the
   * `WorkflowContext` service, which the run provides.
   */
  readonly body: (
    event: In,
    ctx: WorkflowContext.WorkflowContext<any>
  ) => Effect.Effect<Out | undefined | void, E, R | WorkflowContext.WorkflowContext<any>>
}

/**
 * Any step.
 *
 * @example
 * ```ts
 * import type { Step } from "effect-workflows"
 *
 * const names = (steps: ReadonlyArray<Step.Any>) => steps.map((step) => step.name)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Any = Step<string, any, any, any, any, any>

/**
 * The error type of a step.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event, Step } from "effect-workflows"
 *
 * const risky = Step.make("risky", { on: Event.StartEvent, timeout: "1 second" }, () =>
 *   Effect.fail("boom" as const))
 * type E = Step.ErrorOf<typeof risky> // "boom" | Cause.TimeoutException
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type ErrorOf<S> = S extends Step<any, any, any, infer E, any, any> ? E : never

/**
 * The requirements of a step.
 *
 * @example
 * ```ts
 * import { Context, Effect } from "effect"
 * import { Event, Step } from "effect-workflows"
 *
 * class Db extends Context.Tag("Db")<Db, { readonly url: string }>() {}
 * const load = Step.make("load", { on: Event.StartEvent, emits: [Event.StopEvent] }, () =>
 *   Effect.map(Db, (db) => new Event.StopEvent({ result: db.url })))
 * type R = Step.RequirementsOf<typeof load> // Db
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type RequirementsOf<S> = S extends Step<any, any, any, any, infer R, any> ? R : never

/**
 * The events a step publishes on the run's stream: what it writes with
 * `ctx.writeEventToStream`, its waiters' `waiterEvent`s, and `InputRequiredEvent` when it may
 * return one.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Event, Step } from "effect-workflows"
 *
 * class Progress extends Schema.TaggedClass<Progress>()("Progress", { percent: Schema.Number }) {}
 * const ask = Step.make("ask", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
 *   Effect.gen(function* () {
 *     yield* ctx.writeEventToStream(new Progress({ percent: 10 }))
 *     const answer = yield* ctx.waitForEvent(Event.HumanResponseEvent, {
 *       waiterEvent: new Event.InputRequiredEvent({ prefix: "Go on?" })
 *     })
 *     return new Event.StopEvent({ result: answer.response })
 *   }))
 * type P = Step.PublishedOf<typeof ask> // Progress | Event.InputRequiredEvent
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type PublishedOf<S> = S extends Step<any, any, any, any, any, infer Pub> ? Pub : never

/**
 * Whether a value is a `Step`.
 *
 * @example
 * ```ts
 * import { Step } from "effect-workflows"
 *
 * Step.isStep({}) // false
 * ```
 *
 * @since 0.1.0
 * @category refinements
 */
export const isStep = (u: unknown): u is Any => Predicate.hasProperty(u, TypeId)

const Proto = {
  [TypeId]: {
    _In: (_: never) => _,
    _Out: (_: never) => _,
    _E: (_: never) => _,
    _R: (_: never) => _,
    _Pub: (_: never) => _
  },
  pipe() {
    return pipeArguments(this, arguments)
  },
  toJSON(this: Any) {
    return {
      _id: "Step",
      name: this.name,
      on: this.on.map((c) => c._tag),
      emits: this.emits.map((c) => c._tag),
      workers: this.workers
    }
  }
}

const makeStep = <Name extends string, In, Out, E, R, Pub>(
  fields: Omit<Step<Name, In, Out, E, R, Pub>, TypeId | "pipe">
): Step<Name, In, Out, E, R, Pub> => Object.assign(Object.create(Proto), fields)

/**
 * The success type a step body may have (`Step.make` checks the body's success type `A`
 * against it): `A` when every event it returns is in `emits` (or `undefined` / `void`), otherwise
 * the declared part of `A` and a branded type whose key names the cause and whose value is the
 * undeclared events (its `_tag` is theirs, so that TypeScript's error ends on them), so that the
 * compile error says what is wrong.
 *
 * @example
 * ```ts
 * import type { Step } from "effect-workflows"
 *
 * class A { readonly _tag = "A" }
 * class B { readonly _tag = "B" }
 * type Ok = Step.CheckEmitted<A | undefined, A> // A | undefined
 * type Ko = Step.CheckEmitted<A | B, A>
 * // A | { readonly _tag: "B"; readonly "Step.make: the body returns events missing from `emits`": B }
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type CheckEmitted<A, Emitted, Undeclared = Exclude<A, Emitted | undefined | void>> = [Undeclared] extends
  [never] ? A
  :
    | Exclude<A, Undeclared>
    | {
      readonly _tag: Undeclared extends { readonly _tag: infer Tag } ? Tag : never
      readonly "Step.make: the body returns events missing from `emits`": Undeclared
    }

/**
 * Defines a step. The body gets `(event, ctx)` and returns `Effect<Emitted | undefined | void,
 * E, R>`. `WorkflowContext.WorkflowContext` is provided to the body (so `yield*
 * WorkflowContext.WorkflowContext` works anywhere inside it) and is removed from `R`. With
 * `timeout`, `E` also has `Cause.TimeoutException`. The `WorkflowContext.Publishes<A>` markers
 * in the body's `R` (from `writeEventToStream` and `waiterEvent`) are removed from `R` too and
 * become the step's published events (`Pub`), with `InputRequiredEvent` when `emits` has it.
 *
 * A body that may return an event missing from `emits` does not compile, and the error names
 * the cause: the body's success type is checked with `CheckEmitted`, so the expected type in
 * the message has the key "Step.make: the body returns events missing from `emits`" with the
 * undeclared events as its type, e.g. for a body returning `Draft | Done` with `emits: [Draft]`:
 *
 * ```text
 * Type 'Effect<Draft | Done, never, never>' is not assignable to type 'Effect<Draft | {
 *   readonly _tag: "Done"; readonly "Step.make: the body returns events missing from `emits`": Done;
 * }, never, never>'
 * ```
 *
 * **Details**
 * - `workers` (default 4) bounds the concurrent executions of the step in one run.
 * - `retry` re-runs a failed attempt as the `Schedule` decides (see `RetryPolicy`); the slot is
 *   freed during the delay and the event goes back through the step's queue.
 * - `timeout` bounds each attempt.
 * - Each execution is isolated as if it had a fiber of its own (a worker fiber runs many in
 *   turn): the `FiberRef`s, log annotations and spans it sets are not seen by the next
 *   execution, and the fibers it forks with `Effect.fork` are interrupted when it ends.
 *
 * @example
 * ```ts
 * import { Effect, Schedule, Schema } from "effect"
 * import { Event, Step } from "effect-workflows"
 *
 * class Draft extends Schema.TaggedClass<Draft>()("Draft", { text: Schema.String }) {}
 *
 * const draft = Step.make(
 *   "draft",
 *   { on: Event.StartEvent, emits: [Draft], workers: 2, retry: Schedule.recurs(2), timeout: "10 seconds" },
 *   (ev) => Effect.succeed(new Draft({ text: `a joke about ${String(ev.input)}` }))
 * )
 * // Step<"draft", Event.StartEvent, Draft, Cause.TimeoutException, never, never>
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <
  const Name extends string,
  const O extends On,
  const Emits extends ReadonlyArray<Event.Any> = readonly [],
  E = never,
  R = never,
  S = StateStore.DictState,
  T extends Duration.DurationInput | undefined = undefined,
  A = never
>(
  name: Name,
  options: Options<O, Emits, E, S, T>,
  body: (
    event: Event.InstanceOf<O>,
    ctx: WorkflowContext.WorkflowContext<S>
  ) => Effect.Effect<CheckEmitted<A, Event.InstanceOf<Emits>>, E, R>
): Step<
  Name,
  Event.InstanceOf<O>,
  Event.InstanceOf<Emits>,
  E | (undefined extends T ? never : Cause.TimeoutException),
  Exclude<R, WorkflowContext.WorkflowContext<any> | WorkflowContext.Publishes<any>>,
  WorkflowContext.Published<R> | Extract<Event.InstanceOf<Emits>, { readonly _tag: "InputRequiredEvent" }>
> => {
  const timeout = options.timeout === undefined ? Option.none() : Option.some(Duration.decode(options.timeout))
  const run = Option.match(timeout, {
    onNone: () => body as Step<any, any, any, any, any>["body"],
    onSome: (duration) => (event: any, ctx: any) => Effect.timeout(body(event, ctx), duration)
  })
  return makeStep({
    name,
    on: Array.isArray(options.on) ? options.on : [options.on as Event.Any],
    emits: options.emits ?? [],
    workers: options.workers ?? 4,
    retry: Option.fromNullable(options.retry),
    timeout,
    state: Option.fromNullable(options.state),
    catchError: Option.none(),
    body: run
  })
}

/**
 * `Step.make` with the workflow's state schema given once: every step made with the returned
 * function sees `ctx.store` as `StateStore<S>` without naming `state` itself. A step is made
 * before the workflow that lists it, so its body cannot learn the state type from
 * `Workflow.make`; binding the schema here is how the steps of one workflow share it.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Event, Step, Workflow } from "effect-workflows"
 *
 * class Counter extends Schema.Class<Counter>("Counter")({ count: Schema.optionalWith(Schema.Number, { default: () => 0 }) }) {}
 * const step = Step.withState(Counter)
 *
 * const count = step("count", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
 *   Effect.map(ctx.store.get("count"), (n) => new Event.StopEvent({ result: n + 1 })))
 * const wf = Workflow.make({ name: "counter", state: Counter, steps: [count] })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const withState = <S>(state: Schema.Schema<S, any, never>) =>
<
  const Name extends string,
  const O extends On,
  const Emits extends ReadonlyArray<Event.Any> = readonly [],
  E = never,
  R = never,
  T extends Duration.DurationInput | undefined = undefined,
  A = never
>(
  name: Name,
  options: Omit<Options<O, Emits, E, S, T>, "state">,
  body: (
    event: Event.InstanceOf<O>,
    ctx: WorkflowContext.WorkflowContext<S>
  ) => Effect.Effect<CheckEmitted<A, Event.InstanceOf<Emits>>, E, R>
): Step<
  Name,
  Event.InstanceOf<O>,
  Event.InstanceOf<Emits>,
  E | (undefined extends T ? never : Cause.TimeoutException),
  Exclude<R, WorkflowContext.WorkflowContext<any> | WorkflowContext.Publishes<any>>,
  WorkflowContext.Published<R> | Extract<Event.InstanceOf<Emits>, { readonly _tag: "InputRequiredEvent" }>
> => make(name, { ...options, state }, body)

/**
 * A step whose body gets a fresh instance of `layer` per invocation (built before the body,
 * released when the invocation ends). A Layer provided to the whole run instead is shared by all
 * steps and runs. The step's published events (`Pub`) are kept.
 *
 * @example
 * ```ts
 * import { Context, Effect, Layer } from "effect"
 * import { Event, Step } from "effect-workflows"
 *
 * class Connection extends Context.Tag("Connection")<Connection, { readonly id: number }>() {}
 * let opened = 0
 * const ConnectionLive = Layer.sync(Connection, () => ({ id: ++opened }))
 *
 * const step = Step.make("query", { on: Event.StartEvent, emits: [Event.StopEvent] }, () =>
 *   Effect.map(Connection, (c) => new Event.StopEvent({ result: c.id }))
 * ).pipe(Step.provide(ConnectionLive))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const provide: {
  <ROut, E2, RIn>(
    layer: Layer.Layer<ROut, E2, RIn>
  ): <Name extends string, In, Out, E, R, Pub>(
    self: Step<Name, In, Out, E, R, Pub>
  ) => Step<Name, In, Out, E | E2, Exclude<R, ROut> | RIn, Pub>
  <Name extends string, In, Out, E, R, Pub, ROut, E2, RIn>(
    self: Step<Name, In, Out, E, R, Pub>,
    layer: Layer.Layer<ROut, E2, RIn>
  ): Step<Name, In, Out, E | E2, Exclude<R, ROut> | RIn, Pub>
} = dual(
  2,
  <Name extends string, In, Out, E, R, Pub, ROut, E2, RIn>(
    self: Step<Name, In, Out, E, R, Pub>,
    layer: Layer.Layer<ROut, E2, RIn>
  ): Step<Name, In, Out, E | E2, Exclude<R, ROut> | RIn, Pub> =>
    makeStep({
      ...self,
      // Effect.provide with a Layer builds it in a fresh scope on every execution.
      body: (event, ctx) => Effect.provide(self.body(event, ctx), layer) as any
    })
)

// -------------------------------------------------------------------------------------------------
// error recovery
// -------------------------------------------------------------------------------------------------

/**
 * What makes a step an error handler (`Step.catchError`): the names of the steps it covers
 * (`None`: every step no other handler claims, the single wildcard handler) and how many times
 * it may recover one lineage of events.
 *
 * @example
 * ```ts
 * import { Option } from "effect"
 * import type { Step } from "effect-workflows"
 *
 * const config: Step.CatchError = { forSteps: Option.some(["fetch"]), maxRecoveries: 2 }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface CatchError {
  readonly forSteps: Option.Option<ReadonlyArray<string>>
  readonly maxRecoveries: number
}

/**
 * The steps a handler covers: their names, or the steps themselves (then the handler's event
 * has their error and input types).
 *
 * @example
 * ```ts
 * import type { Step } from "effect-workflows"
 *
 * const covered: Step.Covered = ["fetch", "parse"]
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Covered = ReadonlyArray<string | Any>

/**
 * The options of `Step.catchError`: `Step.make`'s, less `on` (a handler accepts
 * `Event.StepFailedEvent`), plus `forSteps` and `maxRecoveries`.
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 * import type { StateStore, Step } from "effect-workflows"
 *
 * const options: Step.CatchErrorOptions<readonly ["fetch"], readonly [typeof Event.StopEvent], never,
 *   StateStore.DictState, undefined> = { forSteps: ["fetch"], maxRecoveries: 2, emits: [Event.StopEvent] }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface CatchErrorOptions<
  C extends Covered | undefined,
  Emits extends ReadonlyArray<Event.Any>,
  E,
  S,
  T extends Duration.DurationInput | undefined
> extends Omit<Options<typeof Event.StepFailedEvent, Emits, E, S, T>, "on"> {
  /**
   * The steps covered, by name or as step values. Omitted: the wildcard handler, covering
   * every step that no other handler lists (never another handler).
   */
  readonly forSteps?: C
  /**
   * How many times the handler may recover one lineage (default 1): a recovery counts for the
   * events that follow from it (returned or sent by the handler and by the steps after it), so
   * a loop of failure and recovery stops there, and the run fails.
   */
  readonly maxRecoveries?: number | undefined
}

/**
 * The type of `error` a handler covering `C` receives: the union of the covered steps' errors
 * and `WorkflowError.WorkflowRuntimeError` (a covered step that died) when `C` lists steps;
 * `unknown` for the wildcard or when `C` names a step by its name.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event, Step } from "effect-workflows"
 *
 * const fetch = Step.make("fetch", { on: Event.StartEvent }, () => Effect.fail("unavailable" as const))
 * type E = Step.CaughtError<readonly [typeof fetch]> // "unavailable" | WorkflowError.WorkflowRuntimeError
 * type U = Step.CaughtError<readonly ["fetch"]> // unknown
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type CaughtError<C> = [C] extends [ReadonlyArray<infer S>]
  ? [Extract<S, string>] extends [never] ? ErrorOf<S> | WorkflowError.WorkflowRuntimeError : unknown
  : unknown

/**
 * The type of `inputEvent` a handler covering `C` receives: the covered steps' input events
 * when `C` lists steps, any event otherwise.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event, Step } from "effect-workflows"
 *
 * const fetch = Step.make("fetch", { on: Event.StartEvent }, () => Effect.void)
 * type In = Step.CaughtInput<readonly [typeof fetch]> // Event.StartEvent
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type CaughtInput<C> = [C] extends [ReadonlyArray<infer S>]
  ? [Extract<S, string>] extends [never] ? InputOf<S> : Event.AnyEvent
  : Event.AnyEvent

/**
 * The input event type of a step.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event, Step } from "effect-workflows"
 *
 * const echo = Step.make("echo", { on: Event.StartEvent }, () => Effect.void)
 * type In = Step.InputOf<typeof echo> // Event.StartEvent
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type InputOf<S> = S extends Step<any, infer In, any, any, any, any> ? In : never

const normalizeCovered = (forSteps: unknown): Option.Option<ReadonlyArray<string>> => {
  if (forSteps === undefined || forSteps === null) return Option.none()
  // anything else than an array of names and steps is kept as it is, for validation to report
  if (!Array.isArray(forSteps)) return Option.some(forSteps as unknown as ReadonlyArray<string>)
  return Option.some(forSteps.map((covered) => isStep(covered) ? covered.name : covered))
}

/**
 * Defines an error handler: a step that receives an `Event.StepFailedEvent` when a step it
 * covers has failed for good (its retries exhausted), and may return an event that continues
 * the run (the counterpart of the original's `@catch_error`).
 *
 * **Details**
 * - `forSteps` lists the covered steps, by name or as step values (then `failed.error` and
 *   `failed.inputEvent` are typed: the steps' errors and `WorkflowError.WorkflowRuntimeError`
 *   for a step that died, and their input events). Without it the handler is the wildcard: it
 *   covers every step that no other handler lists. A handler never covers a handler: one that
 *   fails fails the run with its own error (`WorkflowFailedEvent.stepName` is the handler's).
 * - `maxRecoveries` (default 1) bounds the recoveries of one lineage: the counts go with the
 *   events that follow a recovery (returned, or sent with `ctx.sendEvent`), so a step that
 *   fails again on an event that follows from the handler's answer is recovered at most
 *   `maxRecoveries` times; after that the run fails as if there were no handler.
 * - A step interrupted, and the run's timeout or cancellation, never reach a handler.
 * - The body is a step body as in `Step.make`: `emits` is checked, `retry`, `timeout`,
 *   `workers` and `state` work the same way. The recovery counts are part of a snapshot.
 * - `Workflow.validate` checks the handlers (all messages in one `WorkflowValidationError`,
 *   joined by "\n"): one wildcard at most, `forSteps` naming known steps that are not
 *   handlers, no step claimed by two handlers, `maxRecoveries` an integer >= 1.
 *
 * @example
 * ```ts
 * import { Data, Effect, Schedule } from "effect"
 * import { Event, Step, Workflow } from "effect-workflows"
 *
 * class Unavailable extends Data.TaggedError("Unavailable")<{}> {}
 *
 * const fetch = Step.make("fetch", { on: Event.StartEvent, emits: [Event.StopEvent], retry: Schedule.recurs(2) },
 *   () => Effect.fail(new Unavailable()))
 * const fallback = Step.catchError("fallback", { forSteps: [fetch], emits: [Event.StopEvent] }, (failed) =>
 *   // failed.error: Unavailable | WorkflowError.WorkflowRuntimeError
 *   Effect.succeed(new Event.StopEvent({ result: `cached (${failed.stepName}: ${failed.error._tag})` })))
 *
 * const wf = Workflow.make({ name: "fetch", steps: [fetch, fallback] })
 * // Workflow.run(wf) succeeds with "cached (fetch: Unavailable)" after 3 attempts
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const catchError = <
  const Name extends string,
  const C extends Covered | undefined = undefined,
  const Emits extends ReadonlyArray<Event.Any> = readonly [],
  E = never,
  R = never,
  S = StateStore.DictState,
  T extends Duration.DurationInput | undefined = undefined,
  A = never
>(
  name: Name,
  options: CatchErrorOptions<C, Emits, E, S, T>,
  body: (
    failed: Event.StepFailed<CaughtError<C>, CaughtInput<C>>,
    ctx: WorkflowContext.WorkflowContext<S>
  ) => Effect.Effect<CheckEmitted<A, Event.InstanceOf<Emits>>, E, R>
): Step<
  Name,
  Event.StepFailedEvent,
  Event.InstanceOf<Emits>,
  E | (undefined extends T ? never : Cause.TimeoutException),
  Exclude<R, WorkflowContext.WorkflowContext<any> | WorkflowContext.Publishes<any>>,
  WorkflowContext.Published<R> | Extract<Event.InstanceOf<Emits>, { readonly _tag: "InputRequiredEvent" }>
> => {
  const { forSteps, maxRecoveries, ...stepOptions } = options
  const step = make(name, { ...stepOptions, on: Event.StepFailedEvent }, body as any)
  return makeStep({
    ...step,
    catchError: Option.some({ forSteps: normalizeCovered(forSteps), maxRecoveries: maxRecoveries ?? 1 })
  }) as any
}

/**
 * Whether a step is an error handler made with `catchError`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event, Step } from "effect-workflows"
 *
 * const handler = Step.catchError("recover", {}, () => Effect.void)
 * Step.isErrorHandler(handler) // true
 * ```
 *
 * @since 0.1.0
 * @category refinements
 */
export const isErrorHandler = (step: Any): boolean => Option.isSome(step.catchError)
