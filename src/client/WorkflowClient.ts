/**
 * A client of the LlamaIndex workflow server protocol (`WorkflowApi`), for a `WorkflowServer` or
 * the original Python server. Its JSON routes are derived from the `HttpApi` definition (typed
 * errors: `WorkflowApi.NotFound`, `WorkflowApi.BadRequest`, ...); a handler's event stream is
 * read as server-sent events, resumed with `Last-Event-ID` when the connection drops, and can be
 * decoded into a workflow's own event classes.
 *
 * @since 0.1.0
 */
import type * as Sse from "@effect/experimental/Sse"
import type * as HttpApiError from "@effect/platform/HttpApiError"
import type * as HttpClient from "@effect/platform/HttpClient"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import type * as Effect from "effect/Effect"
import type * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as ParseResult from "effect/ParseResult"
import * as Schedule from "effect/Schedule"
import type * as Stream from "effect/Stream"
import type * as Event from "../Event.js"
import * as internal from "../internal/client/client.js"
import type * as WorkflowApi from "../server/WorkflowApi.js"
import type * as Workflow from "../Workflow.js"

// -------------------------------------------------------------------------------------------------
// models
// -------------------------------------------------------------------------------------------------

/**
 * Where the server is and how to reach it.
 *
 * @example
 * ```ts
 * import { WorkflowClient } from "effect-workflows/client"
 *
 * const options: WorkflowClient.Options = { baseUrl: "http://localhost:8080" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** The server's base URL, e.g. `http://localhost:8080` (a path prefix is kept). */
  readonly baseUrl: string | URL
  /** Applied to the `HttpClient` of every request (headers, tracing, retries of JSON calls). */
  readonly transformClient?: ((client: HttpClient.HttpClient) => HttpClient.HttpClient) | undefined
}

/**
 * What any call can fail with besides the protocol's errors: the request could not be made or
 * the response could not be read (`HttpClientError`), a body did not match the protocol
 * (`ParseError`), or an Effect server refused the request's encoding (`HttpApiDecodeError`,
 * the definition's default 400).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { WorkflowClient } from "effect-workflows/client"
 *
 * const recover = <A>(effect: Effect.Effect<A, WorkflowClient.ClientError>) =>
 *   Effect.catchTags(effect, { RequestError: () => Effect.die("server unreachable") })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export type ClientError = HttpClientError.HttpClientError | ParseResult.ParseError | HttpApiError.HttpApiDecodeError

/**
 * The errors of the run routes (`run` adds `FailedHandler`: the run failed or was cancelled).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { WorkflowClient } from "effect-workflows/client"
 *
 * const orNull = <A>(effect: Effect.Effect<A, WorkflowClient.RunError>) =>
 *   Effect.catchTag(effect, "NotFound", () => Effect.succeed(null))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export type RunError =
  | WorkflowApi.BadRequest
  | WorkflowApi.NotFound
  | WorkflowApi.Conflict
  | WorkflowApi.PayloadTooLarge
  | WorkflowApi.ServerError
  | ClientError

/**
 * The errors of `sendEvent`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { WorkflowClient } from "effect-workflows/client"
 *
 * const ignoreFinished = (effect: Effect.Effect<void, WorkflowClient.SendEventError>) =>
 *   Effect.catchTag(effect, "Conflict", () => Effect.void)
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export type SendEventError =
  | WorkflowApi.BadRequest
  | WorkflowApi.NotFound
  | WorkflowApi.Conflict
  | WorkflowApi.PayloadTooLarge
  | WorkflowApi.ServerError
  | ClientError

/**
 * The errors of `events`: a refused request (`BadRequest`, `NotFound`), a connection that kept
 * dropping (`StreamDisconnected`, once the retry schedule gives up), an event larger than the
 * SSE parser accepts (`SseError`), an unexpected status (`HttpClientError`) or an event that is
 * not an envelope with a numeric `id` (`ParseError`).
 *
 * @example
 * ```ts
 * import { Stream } from "effect"
 * import { WorkflowClient } from "effect-workflows/client"
 *
 * const quiet = <A>(stream: Stream.Stream<A, WorkflowClient.EventsError>) =>
 *   Stream.catchTag(stream, "StreamDisconnected", () => Stream.empty)
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export type EventsError =
  | WorkflowApi.BadRequest
  | WorkflowApi.NotFound
  | StreamDisconnected
  | Sse.SseError
  | ClientError

/**
 * An envelope of a handler's event stream with its sequence (the SSE `id`: the event's
 * position among all the events of the run, internal ones included, so there are gaps when
 * `includeInternal` is off).
 *
 * @example
 * ```ts
 * import type { WorkflowClient } from "effect-workflows/client"
 *
 * const describe = (ev: WorkflowClient.SequencedEnvelope) => `#${ev.sequence} ${ev.type}`
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface SequencedEnvelope extends WorkflowApi.EventEnvelope {
  readonly sequence: number
}

/**
 * Options of `events` and `eventsOf`.
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import type { WorkflowClient } from "effect-workflows/client"
 *
 * const options: WorkflowClient.EventsOptions = {
 *   includeInternal: true,
 *   retry: Schedule.spaced("1 second").pipe(Schedule.intersect(Schedule.recurs(10)))
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface EventsOptions {
  /** Also the internal events (`StepStateChanged`, `WorkflowIdleEvent`, ...). Default `false`. */
  readonly includeInternal?: boolean | undefined
  /**
   * Events after this sequence: `-1` (default) from the start, `"now"` only events to come.
   * A reconnection resumes after the last event received (`Last-Event-ID`); before any event,
   * from this cursor again (with `"now"`, events published in between are missed).
   */
  readonly afterSequence?: number | "now" | undefined
  /** `false` asks for `qualified_name: null`. Default `true`. */
  readonly includeQualifiedName?: boolean | undefined
  /**
   * When to reconnect after the connection dropped (a transport error, a body cut short, or a
   * body that ended before the terminal event). It starts over after every event received.
   * Default `defaultRetry`.
   */
  readonly retry?: Schedule.Schedule<unknown, StreamDisconnected> | undefined
  /** Largest SSE event accepted, in string code units. Default 10 MiB. */
  readonly maxEventSize?: number | undefined
}

/**
 * Options of `run` and `runNowait` given a served workflow's name.
 *
 * @example
 * ```ts
 * import type { WorkflowClient } from "effect-workflows/client"
 *
 * const options: WorkflowClient.RunOptions = { startEvent: { name: "Ada" } }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface RunOptions {
  /**
   * The start event in any form the protocol accepts: its fields, an envelope
   * `{type, value}`, or a JSON string of one. Absent: the start class's defaults.
   */
  readonly startEvent?: unknown
  /** The start event's fields, used when `startEvent` is absent. */
  readonly kwargs?: Readonly<Record<string, unknown>> | undefined
  /** A handler id: a new one for the run, or a finished handler's to continue it. */
  readonly handlerId?: string | undefined
}

/**
 * Options of `sendEvent`.
 *
 * @example
 * ```ts
 * import type { WorkflowClient } from "effect-workflows/client"
 *
 * const options: WorkflowClient.SendEventOptions = { step: "answer" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface SendEventOptions {
  /** Deliver the event to this step only. */
  readonly step?: string | undefined
}

/**
 * Filters of `handlers` (each list matches any of its values; absent or empty: no filter).
 *
 * @example
 * ```ts
 * import type { WorkflowClient } from "effect-workflows/client"
 *
 * const running: WorkflowClient.HandlersFilter = { status: ["running"], workflowName: ["greet"] }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface HandlersFilter {
  /** Handlers in any of these states. */
  readonly status?: ReadonlyArray<WorkflowApi.HandlerStatus> | undefined
  /** Handlers of any of these served workflows. */
  readonly workflowName?: ReadonlyArray<string> | undefined
}

/**
 * The start event type of a workflow type.
 *
 * @example
 * ```ts
 * import type { Event, Workflow } from "effect-workflows"
 * import type { WorkflowClient } from "effect-workflows/client"
 *
 * declare const wf: Workflow.Workflow<Event.StartEvent, unknown, never, never, unknown>
 * type S = WorkflowClient.StartOf<typeof wf> // Event.StartEvent
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type StartOf<W extends Workflow.Any> = W extends Workflow.Workflow<infer Start, any, any, any, any, any> ? Start
  : never

/**
 * The events `eventsOf` gives for a workflow type: what its runs publish (`Workflow.Events`),
 * plus `Event.InternalEvent` when the options have `includeInternal: true`.
 *
 * @example
 * ```ts
 * import type { Workflow } from "effect-workflows"
 * import type { WorkflowClient } from "effect-workflows/client"
 *
 * declare const wf: Workflow.Any
 * type All = WorkflowClient.EventsOf<typeof wf, { readonly includeInternal: true }>
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type EventsOf<W extends Workflow.Any, O> =
  | Workflow.Events<W>
  | (O extends { readonly includeInternal: true } ? Event.InternalEvent : never)

// -------------------------------------------------------------------------------------------------
// errors
// -------------------------------------------------------------------------------------------------

/**
 * The event stream's connection dropped before the terminal event and the retry schedule gave
 * up. `lastSequence` is the sequence of the last event received (`undefined`: none), to resume
 * from with `afterSequence`; `cause` is why the last connection ended.
 *
 * @example
 * ```ts
 * import { Stream } from "effect"
 * import { WorkflowClient } from "effect-workflows/client"
 *
 * const resumeOnce = (client: WorkflowClient.Service, handlerId: string) =>
 *   client.events(handlerId).pipe(
 *     Stream.catchTag("StreamDisconnected", (error) =>
 *       client.events(handlerId, { afterSequence: error.lastSequence ?? -1 }))
 *   )
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class StreamDisconnected extends Data.TaggedError("StreamDisconnected")<{
  readonly handlerId: string
  readonly lastSequence: number | undefined
  readonly cause: unknown
}> {
  override get message(): string {
    return `The event stream of handler '${this.handlerId}' disconnected` +
      (this.lastSequence === undefined ? " before any event" : ` after sequence ${this.lastSequence}`)
  }
}

/**
 * An envelope that the workflow's event classes could not decode (an event type the workflow
 * does not know, or a value its class's Schema refuses). `sequence` is absent when the
 * envelope did not come from a stream.
 *
 * @example
 * ```ts
 * import { Stream } from "effect"
 * import { WorkflowClient } from "effect-workflows/client"
 *
 * const orDie = <A>(stream: Stream.Stream<A, WorkflowClient.EventsError | WorkflowClient.EventDecodeError>) =>
 *   Stream.catchTag(stream, "EventDecodeError", (error) => Stream.dieMessage(error.message))
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class EventDecodeError extends Data.TaggedError("EventDecodeError")<{
  readonly envelope: WorkflowApi.EventEnvelope
  readonly sequence: number | undefined
  readonly message: string
}> {}

// -------------------------------------------------------------------------------------------------
// service
// -------------------------------------------------------------------------------------------------

/**
 * The client's operations, one per route of the protocol.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { WorkflowClient } from "effect-workflows/client"
 *
 * const names = Effect.flatMap(WorkflowClient.WorkflowClient, (client: WorkflowClient.Service) =>
 *   client.listWorkflows)
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Service {
  /** `GET /health`. */
  readonly health: Effect.Effect<{ readonly status: "healthy" }, ClientError>
  /** `GET /workflows`: the names of the served workflows. */
  readonly listWorkflows: Effect.Effect<ReadonlyArray<string>, ClientError>
  /**
   * `POST /workflows/{name}/run`: runs a workflow and waits for its end. A run that failed or
   * was cancelled fails with `FailedHandler` (its `HandlerData`). With a workflow first, the
   * start event is an instance of its start class, encoded with its Schema.
   */
  readonly run: {
    <W extends Workflow.Any>(
      workflow: W,
      name: string,
      startEvent?: StartOf<W> | undefined,
      options?: { readonly handlerId?: string | undefined }
    ): Effect.Effect<WorkflowApi.HandlerData, WorkflowApi.FailedHandler | RunError>
    (name: string, options?: RunOptions): Effect.Effect<WorkflowApi.HandlerData, WorkflowApi.FailedHandler | RunError>
  }
  /** `POST /workflows/{name}/run-nowait`: starts a run; `handler_id` names it. Forms as `run`. */
  readonly runNowait: {
    <W extends Workflow.Any>(
      workflow: W,
      name: string,
      startEvent?: StartOf<W> | undefined,
      options?: { readonly handlerId?: string | undefined }
    ): Effect.Effect<WorkflowApi.HandlerData, RunError>
    (name: string, options?: RunOptions): Effect.Effect<WorkflowApi.HandlerData, RunError>
  }
  /** `GET /workflows/{name}/schema`: the JSON Schemas of the start and stop events. */
  readonly schema: (
    name: string
  ) => Effect.Effect<{ readonly start: unknown; readonly stop: unknown }, WorkflowApi.NotFound | ClientError>
  /** `GET /workflows/{name}/representation`: the workflow's graph. */
  readonly representation: (name: string) => Effect.Effect<unknown, WorkflowApi.NotFound | ClientError>
  /** `GET /workflows/{name}/events`: the JSON Schemas of the events a client may send or see. */
  readonly workflowEvents: (
    name: string
  ) => Effect.Effect<ReadonlyArray<unknown>, WorkflowApi.NotFound | ClientError>
  /** `GET /handlers`: the handlers the server keeps, filtered. */
  readonly handlers: (filter?: HandlersFilter) => Effect.Effect<ReadonlyArray<WorkflowApi.HandlerData>, ClientError>
  /**
   * `GET /handlers/{handler_id}`: `RunningHandler` (202) while it runs, `HandlerData` once
   * completed; fails with `FailedHandler` when it failed or was cancelled.
   */
  readonly handler: (
    handlerId: string
  ) => Effect.Effect<
    WorkflowApi.HandlerData | WorkflowApi.RunningHandler,
    WorkflowApi.FailedHandler | WorkflowApi.NotFound | ClientError
  >
  /** `GET /results/{handler_id}` (deprecated route): as `handler`, `result` the bare value. */
  readonly result: (
    handlerId: string
  ) => Effect.Effect<
    WorkflowApi.HandlerData | WorkflowApi.RunningHandler,
    WorkflowApi.FailedHandler | WorkflowApi.NotFound | ClientError
  >
  /**
   * `POST /handlers/{handler_id}/cancel`: cancels a run; `purge` also forgets the handler (a
   * finished one too). Without `purge`, a finished handler is a `Conflict`.
   */
  readonly cancel: (
    handlerId: string,
    options?: { readonly purge?: boolean | undefined }
  ) => Effect.Effect<
    "cancelled" | "deleted",
    WorkflowApi.BadRequest | WorkflowApi.NotFound | WorkflowApi.Conflict | ClientError
  >
  /**
   * `POST /events/{handler_id}`: sends an event to a run. With a workflow first, the event is
   * an instance of one of its classes, sent as `{type, value}` (value encoded with the class's
   * Schema); else any form the protocol accepts (an envelope, a JSON string of one).
   */
  readonly sendEvent: {
    (
      workflow: Workflow.Any,
      handlerId: string,
      event: Event.AnyEvent,
      options?: SendEventOptions
    ): Effect.Effect<void, SendEventError>
    (handlerId: string, event: unknown, options?: SendEventOptions): Effect.Effect<void, SendEventError>
  }
  /**
   * `GET /events/{handler_id}` as server-sent events: the run's envelopes with their sequence,
   * ending after the terminal one (a stop event, a failure, a cancellation), or at once on 204
   * (the run has ended and nothing remains after the cursor). A dropped connection is resumed
   * with `Last-Event-ID` (see `EventsOptions.retry`); every event comes once, in order.
   */
  readonly events: (handlerId: string, options?: EventsOptions) => Stream.Stream<SequencedEnvelope, EventsError>
  /**
   * `events` decoded into instances of the workflow's event classes (through its registry),
   * lifecycle events included (`WorkflowFailedEvent`'s `error` is `{ _tag, message }`). An
   * envelope the workflow cannot decode fails the stream with `EventDecodeError`.
   */
  readonly eventsOf: <W extends Workflow.Any, const O extends EventsOptions = {}>(
    workflow: W,
    handlerId: string,
    options?: O
  ) => Stream.Stream<EventsOf<W, O>, EventsError | EventDecodeError>
}

/**
 * The client, as a service.
 *
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Effect, Layer } from "effect"
 * import { WorkflowClient } from "effect-workflows/client"
 *
 * const program = Effect.gen(function*() {
 *   const client = yield* WorkflowClient.WorkflowClient
 *   const handler = yield* client.run("greet", { startEvent: { name: "Ada" } })
 *   return handler.result
 * }).pipe(
 *   Effect.provide(WorkflowClient.layer({ baseUrl: "http://localhost:8080" }).pipe(
 *     Layer.provide(FetchHttpClient.layer)
 *   ))
 * )
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class WorkflowClient extends Context.Tag("effect-workflows/WorkflowClient")<WorkflowClient, Service>() {}

// -------------------------------------------------------------------------------------------------
// constructors
// -------------------------------------------------------------------------------------------------

/**
 * The reconnection schedule of `events` when none is given: up to 3 retries in a row, 200 ms,
 * 400 ms then 800 ms apart (it starts over after every event received).
 *
 * @example
 * ```ts
 * import { Schedule } from "effect"
 * import { WorkflowClient } from "effect-workflows/client"
 *
 * // more patient: up to 10 retries, at most 5 seconds apart
 * const options: WorkflowClient.EventsOptions = {
 *   retry: Schedule.exponential("200 millis").pipe(
 *     Schedule.either(Schedule.spaced("5 seconds")),
 *     Schedule.intersect(Schedule.recurs(10))
 *   )
 * }
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const defaultRetry: Schedule.Schedule<unknown, unknown> = Schedule.exponential("200 millis").pipe(
  Schedule.intersect(Schedule.recurs(3))
)

/**
 * A client of the server at `options.baseUrl`, over the provided `HttpClient`.
 *
 * @example
 * ```ts
 * import { FetchHttpClient } from "@effect/platform"
 * import { Effect } from "effect"
 * import { WorkflowClient } from "effect-workflows/client"
 *
 * const healthy = WorkflowClient.make({ baseUrl: "http://localhost:8080" }).pipe(
 *   Effect.flatMap((client) => client.health),
 *   Effect.provide(FetchHttpClient.layer)
 * )
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options): Effect.Effect<Service, never, HttpClient.HttpClient> => internal.make(options)

/**
 * The `WorkflowClient` service for the server at `options.baseUrl`; needs an `HttpClient`
 * (`FetchHttpClient.layer`, `NodeHttpClient.layerUndici`, ...).
 *
 * @example
 * ```ts
 * import { NodeHttpClient } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { WorkflowClient } from "effect-workflows/client"
 *
 * const ClientLive = WorkflowClient.layer({ baseUrl: "http://localhost:8080" }).pipe(
 *   Layer.provide(NodeHttpClient.layerUndici)
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<WorkflowClient, never, HttpClient.HttpClient> =>
  Layer.effect(WorkflowClient, make(options))

// -------------------------------------------------------------------------------------------------
// envelopes
// -------------------------------------------------------------------------------------------------

/**
 * Whether an envelope ends its stream: one whose `type` is `StopEvent` or whose `types`
 * include `StopEvent` (a custom stop event, a failure, a timeout, a cancellation).
 *
 * @example
 * ```ts
 * import { WorkflowClient } from "effect-workflows/client"
 *
 * WorkflowClient.isTerminal({ type: "WorkflowCancelledEvent", value: {}, qualified_name: null, types: ["StopEvent"] })
 * // true
 * ```
 *
 * @since 0.1.0
 * @category envelopes
 */
export const isTerminal = (envelope: WorkflowApi.EventEnvelope): boolean => internal.isTerminal(envelope)

/**
 * An envelope (a streamed event, a `HandlerData.result`) decoded into an instance of one of the
 * workflow's event classes, lifecycle events included; what `eventsOf` does to each event.
 *
 * @example
 * ```ts
 * import { Either } from "effect"
 * import { Workflow } from "effect-workflows"
 * import { WorkflowClient } from "effect-workflows/client"
 *
 * const wf = Workflow.make({ name: "empty", steps: [] })
 * const stop = WorkflowClient.decodeEnvelope(wf, {
 *   type: "StopEvent", value: { result: "done" }, qualified_name: null, types: null
 * })
 * Either.getOrThrow(stop) // StopEvent { result: "done" }
 * ```
 *
 * @since 0.1.0
 * @category envelopes
 */
export const decodeEnvelope = <W extends Workflow.Any>(
  workflow: W,
  envelope: WorkflowApi.EventEnvelope
): Either.Either<Workflow.Events<W> | Event.InternalEvent, EventDecodeError> =>
  internal.decodeEnvelope(workflow, envelope)
