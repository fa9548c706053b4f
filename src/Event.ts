/**
 * Events are `Schema.TaggedClass`es. The `_tag` is the routing key (exact match, no subtyping)
 * and the wire name. This module holds the built-in events, the lifecycle events a run
 * publishes, and helpers over event values and classes.
 *
 * @since 0.1.0
 */
import { dual } from "effect/Function"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"

/**
 * Any event value: an instance of a Schema tagged class.
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 *
 * const ev: Event.AnyEvent = new Event.StopEvent({ result: "done" })
 * ev._tag // "StopEvent"
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface AnyEvent {
  readonly _tag: string
}

/**
 * An event class: a `Schema.TaggedClass` (a Schema of its instances with a static `_tag`).
 * Its Schema needs no context and encodes to JSON, because snapshots and the server encode
 * events with it.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import type { Event } from "effect-workflows"
 *
 * class Topic extends Schema.TaggedClass<Topic>()("Topic", { topic: Schema.String }) {}
 * const cls: Event.EventClass<Topic> = Topic
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface EventClass<A extends AnyEvent = AnyEvent> extends Schema.Schema<A, any, never> {
  readonly _tag: string
}

/**
 * Constraint for "some event class" in generic positions (Schema is invariant in its type).
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 *
 * const tagsOf = <C extends Event.Any>(classes: ReadonlyArray<C>) => classes.map((c) => Event.tag(c))
 * tagsOf([Event.StartEvent, Event.StopEvent]) // ["StartEvent", "StopEvent"]
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type Any = EventClass<any>

/**
 * The instance type of an event class.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import type { Event } from "effect-workflows"
 *
 * class Topic extends Schema.TaggedClass<Topic>()("Topic", { topic: Schema.String }) {}
 * type T = Event.Instance<typeof Topic> // Topic
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type Instance<C> = Schema.Schema.Type<C>

/**
 * The instance type of one event class or the union over an array of them.
 *
 * @example
 * ```ts
 * import type { Event } from "effect-workflows"
 *
 * type One = Event.InstanceOf<typeof Event.StartEvent> // Event.StartEvent
 * type Many = Event.InstanceOf<readonly [typeof Event.StartEvent, typeof Event.StopEvent]>
 * // Event.StartEvent | Event.StopEvent
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type InstanceOf<T> = T extends ReadonlyArray<infer C> ? Schema.Schema.Type<C> : Schema.Schema.Type<T>

// -------------------------------------------------------------------------------------------------
// built-in events
// -------------------------------------------------------------------------------------------------

/**
 * The default start event. `Workflow.run(wf)` without a start event sends
 * `new StartEvent({ input: undefined })`.
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 *
 * const start = new Event.StartEvent({ input: { query: "pirates" } })
 * ```
 *
 * @since 0.1.0
 * @category built-in events
 */
export class StartEvent extends Schema.TaggedClass<StartEvent>()("StartEvent", {
  input: Schema.Unknown
}) {}

/**
 * The default stop event; a run that stops with it returns its `result`.
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 *
 * const stop = new Event.StopEvent({ result: "done" })
 * ```
 *
 * @since 0.1.0
 * @category built-in events
 */
export class StopEvent extends Schema.TaggedClass<StopEvent>()("StopEvent", {
  result: Schema.Unknown
}) {}

/**
 * Human-in-the-loop request. Returned from a step it is published to the stream (and needs no
 * consumer); it is also the usual `waiterEvent` of `waitForEvent`. `prefix` is the prompt;
 * `payload` is optional JSON for richer requests (or use a custom event).
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 *
 * const ask = new Event.InputRequiredEvent({ prefix: "Approve the draft?" })
 * ```
 *
 * @since 0.1.0
 * @category built-in events
 */
export class InputRequiredEvent extends Schema.TaggedClass<InputRequiredEvent>()("InputRequiredEvent", {
  prefix: Schema.String,
  payload: Schema.optional(Schema.Unknown)
}) {}

/**
 * Human-in-the-loop answer, sent from outside (`handler.sendEvent`). A step may accept it
 * without any step producing it: validation exempts it and treats it as a reachability seed.
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 *
 * const answer = new Event.HumanResponseEvent({ response: "yes" })
 * ```
 *
 * @since 0.1.0
 * @category built-in events
 */
export class HumanResponseEvent extends Schema.TaggedClass<HumanResponseEvent>()("HumanResponseEvent", {
  response: Schema.String,
  payload: Schema.optional(Schema.Unknown)
}) {}

/**
 * What a `Step.catchError` handler receives when a step it covers has failed for good (its
 * retries exhausted): the step's name, the event it failed on, its error, the number of
 * executions, the Clock time from the first attempt's start to the last failure, and the Clock
 * time of the last failure (epoch millis). It is routed to the handler only, never published.
 *
 * `error` is the step's own error, or for a step that died (threw, or returned a value that is
 * not one of its events) a `WorkflowError.WorkflowRuntimeError` naming the step whose `cause`
 * is the defect. In a snapshot it is written as JSON: a JSON value as itself, anything else as
 * `{ _tag?, message, ...its JSON fields }`, so a handler resumed from a snapshot gets that
 * plain object (its `_tag` still matches).
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 *
 * const failed = new Event.StepFailedEvent({
 *   stepName: "fetch",
 *   inputEvent: new Event.StartEvent({ input: "x" }),
 *   error: "unavailable",
 *   attempts: 3,
 *   elapsedSeconds: 7,
 *   failedAt: 1_700_000_007_000
 * })
 * failed.stepName // "fetch"
 * ```
 *
 * @since 0.1.0
 * @category built-in events
 */
export class StepFailedEvent extends Schema.TaggedClass<StepFailedEvent>()("StepFailedEvent", {
  stepName: Schema.String,
  inputEvent: Schema.declare((u: unknown): u is AnyEvent => isEvent(u), {
    identifier: "Event",
    jsonSchema: { type: "object", required: ["_tag"], properties: { _tag: { type: "string" } } }
  }),
  error: Schema.Unknown,
  attempts: Schema.Number,
  elapsedSeconds: Schema.Number,
  failedAt: Schema.Number
}) {}

/**
 * A `StepFailedEvent` whose `error` and `inputEvent` have the types of the steps a handler
 * covers: what the body of `Step.catchError` receives (see `Step.CaughtError` and
 * `Step.CaughtInput`).
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 *
 * const describe = (failed: Event.StepFailed<"boom", Event.StartEvent>) =>
 *   `${failed.stepName} failed with ${failed.error} on ${String(failed.inputEvent.input)}`
 * ```
 *
 * @since 0.1.0
 * @category built-in events
 */
export interface StepFailed<E = unknown, In extends AnyEvent = AnyEvent> extends StepFailedEvent {
  readonly error: E
  readonly inputEvent: In
}

// -------------------------------------------------------------------------------------------------
// lifecycle events
// -------------------------------------------------------------------------------------------------

/**
 * Internal (only on `handler.stream({ internal: true })`). `name` is the step name.
 * `running`: an execution started on worker slot `workerId` ("0" .. String(workers - 1));
 * `preparing`: the event was queued because every slot was busy (`workerId` is "<enqueued>");
 * `not_running`: the execution finished. `inputEventName` and `outputEventName` are tags;
 * `outputEventName` is absent when the step returned nothing.
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 *
 * const isRunning = (ev: Event.AnyEvent) =>
 *   Event.is(ev, Event.StepStateChanged) && ev.stepState === "running"
 * ```
 *
 * @since 0.1.0
 * @category lifecycle events
 */
export class StepStateChanged extends Schema.TaggedClass<StepStateChanged>()("StepStateChanged", {
  name: Schema.String,
  stepState: Schema.Literal("preparing", "running", "not_running"),
  workerId: Schema.String,
  inputEventName: Schema.String,
  outputEventName: Schema.optional(Schema.String)
}) {}

/**
 * Internal: the run has no queued and no running work (for example, it only waits for input).
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 *
 * const idle = (ev: Event.AnyEvent) => Event.is(ev, Event.WorkflowIdleEvent)
 * ```
 *
 * @since 0.1.0
 * @category lifecycle events
 */
export class WorkflowIdleEvent extends Schema.TaggedClass<WorkflowIdleEvent>()("WorkflowIdleEvent", {}) {}

/**
 * Internal: an event matched no waiter and no step. `eventType` is its tag; `stepName` the
 * step it was sent to, if any; `idle` whether the run had no other work at that moment.
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 *
 * const lost = (ev: Event.AnyEvent) => Event.is(ev, Event.UnhandledEvent) && ev.eventType
 * ```
 *
 * @since 0.1.0
 * @category lifecycle events
 */
export class UnhandledEvent extends Schema.TaggedClass<UnhandledEvent>()("UnhandledEvent", {
  eventType: Schema.String,
  stepName: Schema.optional(Schema.String),
  idle: Schema.Boolean
}) {}

/**
 * Published (on the public stream, as its last event) when a step failed for good, before the
 * run fails with that step's error. `error` is the live error value; `attempts` the number of
 * executions; `elapsedSeconds` the Clock time from the first attempt's start to the last failure.
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 *
 * const failedStep = (ev: Event.AnyEvent) => Event.is(ev, Event.WorkflowFailedEvent) ? ev.stepName : undefined
 * ```
 *
 * @since 0.1.0
 * @category lifecycle events
 */
export class WorkflowFailedEvent extends Schema.TaggedClass<WorkflowFailedEvent>()("WorkflowFailedEvent", {
  stepName: Schema.String,
  error: Schema.Unknown,
  attempts: Schema.Number,
  elapsedSeconds: Schema.Number
}) {}

/**
 * Published as the last event when the run timeout fires. `timeout` is in seconds;
 * `activeSteps` are the names of the steps that were running.
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 *
 * const timedOut = (ev: Event.AnyEvent) => Event.is(ev, Event.WorkflowTimedOutEvent)
 * ```
 *
 * @since 0.1.0
 * @category lifecycle events
 */
export class WorkflowTimedOutEvent extends Schema.TaggedClass<WorkflowTimedOutEvent>()("WorkflowTimedOutEvent", {
  timeout: Schema.Number,
  activeSteps: Schema.Array(Schema.String)
}) {}

/**
 * Published as the last event when the run is cancelled (`handler.cancel`).
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 *
 * const cancelled = (ev: Event.AnyEvent) => Event.is(ev, Event.WorkflowCancelledEvent)
 * ```
 *
 * @since 0.1.0
 * @category lifecycle events
 */
export class WorkflowCancelledEvent extends Schema.TaggedClass<WorkflowCancelledEvent>()(
  "WorkflowCancelledEvent",
  {}
) {}

/**
 * The events that end a run other than its stop event: one of them is the last event of
 * `handler.events` when a step fails for good, the run times out, or it is cancelled. Every
 * workflow's `Workflow.Events` has them.
 *
 * @example
 * ```ts
 * import { Match } from "effect"
 * import type { Event } from "effect-workflows"
 *
 * const describe = Match.type<Event.EndingEvent>().pipe(
 *   Match.tag("WorkflowFailedEvent", (ev) => `step ${ev.stepName} failed`),
 *   Match.tag("WorkflowTimedOutEvent", (ev) => `timed out after ${ev.timeout}s`),
 *   Match.tag("WorkflowCancelledEvent", () => "cancelled"),
 *   Match.exhaustive
 * )
 * ```
 *
 * @since 0.1.0
 * @category lifecycle events
 */
export type EndingEvent = WorkflowFailedEvent | WorkflowTimedOutEvent | WorkflowCancelledEvent

/**
 * The internal lifecycle events: only `handler.stream({ internal: true })` carries them (their
 * tags are `internalTags`).
 *
 * @example
 * ```ts
 * import { Stream } from "effect"
 * import type { Event, WorkflowHandler } from "effect-workflows"
 *
 * declare const handler: WorkflowHandler.WorkflowHandler
 * const all: Stream.Stream<Event.AnyEvent | Event.InternalEvent> = handler.stream({ internal: true })
 * ```
 *
 * @since 0.1.0
 * @category lifecycle events
 */
export type InternalEvent = StepStateChanged | WorkflowIdleEvent | UnhandledEvent

// -------------------------------------------------------------------------------------------------
// helpers
// -------------------------------------------------------------------------------------------------

/**
 * The routing tag of an event or of an event class.
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 *
 * Event.tag(Event.StopEvent) // "StopEvent"
 * Event.tag(new Event.StopEvent({ result: 1 })) // "StopEvent"
 * ```
 *
 * @since 0.1.0
 * @category getters
 */
export const tag = (eventOrClass: AnyEvent | Any): string => eventOrClass._tag

/**
 * Refinement by exact tag. Dual: `Event.is(Cls)(u)` or `Event.is(u, Cls)`.
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 *
 * const isStop = Event.is(Event.StopEvent)
 * isStop(new Event.StopEvent({ result: 1 })) // true
 * Event.is({ _tag: "StartEvent" }, Event.StopEvent) // false
 * ```
 *
 * @since 0.1.0
 * @category refinements
 */
export const is: {
  <C extends Any>(eventClass: C): (u: unknown) => u is Instance<C>
  <C extends Any>(u: unknown, eventClass: C): u is Instance<C>
} = dual(
  2,
  <C extends Any>(u: unknown, eventClass: C): u is Instance<C> => Predicate.isTagged(u, eventClass._tag)
)

/**
 * Whether a value is an event (an object with a string `_tag`).
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 *
 * Event.isEvent(new Event.StartEvent({ input: 1 })) // true
 * Event.isEvent("hello") // false
 * ```
 *
 * @since 0.1.0
 * @category refinements
 */
export const isEvent = (u: unknown): u is AnyEvent =>
  Predicate.hasProperty(u, "_tag") && typeof u._tag === "string"

/**
 * Tags of the lifecycle events that only `handler.stream({ internal: true })` carries.
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 *
 * Event.internalTags.has("StepStateChanged") // true
 * ```
 *
 * @since 0.1.0
 * @category lifecycle events
 */
export const internalTags: ReadonlySet<string> = new Set([
  StepStateChanged._tag,
  WorkflowIdleEvent._tag,
  UnhandledEvent._tag
])

/**
 * Tags of the events that end a run's stream: the built-in `StopEvent` and the three abnormal
 * endings. A workflow's custom stop class ends its stream too.
 *
 * @example
 * ```ts
 * import { Event } from "effect-workflows"
 *
 * Event.terminalTags.has("WorkflowFailedEvent") // true
 * ```
 *
 * @since 0.1.0
 * @category lifecycle events
 */
export const terminalTags: ReadonlySet<string> = new Set([
  StopEvent._tag,
  WorkflowFailedEvent._tag,
  WorkflowTimedOutEvent._tag,
  WorkflowCancelledEvent._tag
])
