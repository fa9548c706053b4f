/**
 * The LlamaIndex workflow server protocol as an `HttpApi` definition: routes, bodies, status codes
 * and error bodies (`{"detail": ...}`) of llama-agents-server 0.7.1. The server
 * (`WorkflowServer`) implements it, the client (`WorkflowClient`) is derived from it, and the
 * OpenAPI document comes from it.
 *
 * @since 0.1.0
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"

// -------------------------------------------------------------------------------------------------
// bodies
// -------------------------------------------------------------------------------------------------

/**
 * An event on the wire: its class name, its fields encoded as JSON, the qualified name and the
 * built-in parent classes (`["StopEvent"]` for a stop event, `["InternalDispatchEvent"]` for an
 * internal one).
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { WorkflowApi } from "effect-workflows/server"
 *
 * const envelope = Schema.decodeUnknownSync(WorkflowApi.EventEnvelope)({
 *   type: "StopEvent", value: { result: "done" }, qualified_name: "workflows.events.StopEvent", types: null
 * })
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const EventEnvelope = Schema.Struct({
  type: Schema.String,
  value: Schema.Unknown,
  qualified_name: Schema.NullOr(Schema.String),
  types: Schema.NullOr(Schema.Array(Schema.String))
}).annotations({ identifier: "EventEnvelope" })

/**
 * @since 0.1.0
 * @category schemas
 */
export type EventEnvelope = typeof EventEnvelope.Type

/**
 * The status of a handler (a run the server keeps).
 *
 * @example
 * ```ts
 * import { WorkflowApi } from "effect-workflows/server"
 *
 * const done: WorkflowApi.HandlerStatus = "completed"
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const HandlerStatus = Schema.Literal("running", "completed", "failed", "cancelled")

/**
 * @since 0.1.0
 * @category schemas
 */
export type HandlerStatus = typeof HandlerStatus.Type

/**
 * A `_tag` that exists only on the decoded side: never sent, filled in when decoding.
 *
 * Bodies of the same shape (every `{detail}` error, the three handler answers) must still be
 * told apart when a response is encoded: `HttpApiBuilder` encodes a value with the first schema
 * of the endpoint's union that accepts it, and a `Schema.Class` accepts any value that has its
 * fields, so without this a `NotFound` went out as the first `{detail}` class (400) and a
 * `RunningHandler` as a `HandlerData` (200 instead of 202).
 */
const typeOnlyTag = <const Tag extends string>(tag: Tag) =>
  Schema.optionalToRequired(Schema.Literal(tag), Schema.Literal(tag), {
    decode: () => tag,
    encode: () => Option.none()
  }).pipe(Schema.withConstructorDefault(() => tag))

const handlerFields = {
  handler_id: Schema.String,
  workflow_name: Schema.String,
  run_id: Schema.NullOr(Schema.String),
  status: HandlerStatus,
  started_at: Schema.String,
  updated_at: Schema.NullOr(Schema.String),
  completed_at: Schema.NullOr(Schema.String),
  error: Schema.NullOr(Schema.String),
  result: Schema.NullOr(Schema.Unknown)
}

/**
 * A handler as the protocol shows it (`HandlerData`). `result` is the stop event's envelope on
 * `/handlers` and its bare value on the deprecated `/results`.
 *
 * @example
 * ```ts
 * import { WorkflowApi } from "effect-workflows/server"
 *
 * const data = new WorkflowApi.HandlerData({
 *   handler_id: "abcdefghij", workflow_name: "greet", run_id: "r1", status: "completed",
 *   started_at: "2026-01-01T00:00:00.000Z", updated_at: null, completed_at: null, error: null, result: null
 * })
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export class HandlerData extends Schema.Class<HandlerData>("HandlerData")({
  _tag: typeOnlyTag("HandlerData"),
  ...handlerFields
}) {}

/**
 * A handler whose run is still going: `HandlerData` answered with 202.
 *
 * @example
 * ```ts
 * import { WorkflowApi } from "effect-workflows/server"
 *
 * const isRunning = (u: unknown) => u instanceof WorkflowApi.RunningHandler
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export class RunningHandler extends Schema.Class<RunningHandler>("RunningHandler")(
  { _tag: typeOnlyTag("RunningHandler"), ...handlerFields },
  HttpApiSchema.annotations({ status: 202 })
) {}

/**
 * A handler whose run failed or was cancelled: `HandlerData` answered with 500.
 *
 * @example
 * ```ts
 * import { WorkflowApi } from "effect-workflows/server"
 *
 * const failed = (u: unknown) => u instanceof WorkflowApi.FailedHandler
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class FailedHandler extends Schema.Class<FailedHandler>("FailedHandler")(
  { _tag: typeOnlyTag("FailedHandler"), ...handlerFields },
  HttpApiSchema.annotations({ status: 500 })
) {}

/**
 * The body of a run request. `start_event` is the start event in any form the protocol accepts
 * (fields of the start class, an envelope `{type, value}`, a JSON string of one); without it,
 * `kwargs` are the start event's fields. A `handler_id` of a finished handler continues it: a
 * new run seeded with that handler's final state.
 *
 * @example
 * ```ts
 * import { WorkflowApi } from "effect-workflows/server"
 *
 * const body: typeof WorkflowApi.RunRequest.Type = { start_event: { name: "Ada" } }
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const RunRequest = Schema.Struct({
  start_event: Schema.optional(Schema.Unknown),
  kwargs: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown })),
  handler_id: Schema.optional(Schema.String),
  context: Schema.optional(Schema.Unknown)
}).annotations({ identifier: "RunRequest" })

/**
 * The body of `POST /events/{handler_id}`: an event in any accepted form, optionally for one step.
 *
 * @example
 * ```ts
 * import { WorkflowApi } from "effect-workflows/server"
 *
 * const body: typeof WorkflowApi.SendEventRequest.Type = {
 *   event: { type: "HumanResponseEvent", value: { response: "yes" } }
 * }
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const SendEventRequest = Schema.Struct({
  event: Schema.Unknown,
  step: Schema.optional(Schema.String)
}).annotations({ identifier: "SendEventRequest" })

// -------------------------------------------------------------------------------------------------
// errors: `{"detail": ...}` bodies, one class per status so that each decodes by its status
// -------------------------------------------------------------------------------------------------

const detail = <const Tag extends string>(tag: Tag) => ({ _tag: typeOnlyTag(tag), detail: Schema.String })

/**
 * 400: a malformed body, event or query parameter.
 *
 * @example
 * ```ts
 * import { WorkflowApi } from "effect-workflows/server"
 *
 * const error = new WorkflowApi.BadRequest({ detail: "Invalid after_sequence: 'abc'" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class BadRequest extends Schema.Class<BadRequest>("BadRequest")(
  detail("BadRequest"),
  HttpApiSchema.annotations({ status: 400 })
) {}

/**
 * 404: no such workflow or handler.
 *
 * @example
 * ```ts
 * import { WorkflowApi } from "effect-workflows/server"
 *
 * const error = new WorkflowApi.NotFound({ detail: "Handler not found" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class NotFound extends Schema.Class<NotFound>("NotFound")(
  detail("NotFound"),
  HttpApiSchema.annotations({ status: 404 })
) {}

/**
 * 409: the handler is still running (run request reusing its id) or already finished (event,
 * cancel without purge).
 *
 * @example
 * ```ts
 * import { WorkflowApi } from "effect-workflows/server"
 *
 * const error = new WorkflowApi.Conflict({ detail: "Workflow already completed" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class Conflict extends Schema.Class<Conflict>("Conflict")(
  detail("Conflict"),
  HttpApiSchema.annotations({ status: 409 })
) {}

/**
 * 413: the request body is larger than the server's limit.
 *
 * @example
 * ```ts
 * import { WorkflowApi } from "effect-workflows/server"
 *
 * const error = new WorkflowApi.PayloadTooLarge({ detail: "Request body exceeds 1048576 bytes" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class PayloadTooLarge extends Schema.Class<PayloadTooLarge>("PayloadTooLarge")(
  detail("PayloadTooLarge"),
  HttpApiSchema.annotations({ status: 413 })
) {}

/**
 * 500: the server could not do what was asked (a run that could not start, a store failure).
 *
 * @example
 * ```ts
 * import { WorkflowApi } from "effect-workflows/server"
 *
 * const error = new WorkflowApi.ServerError({ detail: "Error running workflow: ..." })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerError extends Schema.Class<ServerError>("ServerError")(
  detail("ServerError"),
  HttpApiSchema.annotations({ status: 500 })
) {}

// -------------------------------------------------------------------------------------------------
// parameters: strings, parsed by the handlers, so that a bad value gets the protocol's message
// -------------------------------------------------------------------------------------------------

const WorkflowName = Schema.Struct({ name: Schema.String })
const HandlerId = Schema.Struct({ handler_id: Schema.String })
const TextStream = Schema.String.pipe(
  HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/event-stream" })
)

// -------------------------------------------------------------------------------------------------
// groups
// -------------------------------------------------------------------------------------------------

/**
 * `GET /health`.
 *
 * @since 0.1.0
 * @category groups
 */
export class HealthGroup extends HttpApiGroup.make("health", { topLevel: true })
  .add(
    HttpApiEndpoint.get("health", "/health")
      .addSuccess(Schema.Struct({ status: Schema.Literal("healthy") }))
      .annotate(OpenApi.Summary, "Health check")
  )
{}

/**
 * The workflows the server serves: list, run (waiting or not), schemas, graph, event classes.
 *
 * @since 0.1.0
 * @category groups
 */
export class WorkflowsGroup extends HttpApiGroup.make("workflows")
  .add(
    HttpApiEndpoint.get("list", "/workflows")
      .addSuccess(Schema.Struct({ workflows: Schema.Array(Schema.String) }))
      .annotate(OpenApi.Summary, "List workflows")
  )
  .add(
    HttpApiEndpoint.post("run", "/workflows/:name/run")
      .setPath(WorkflowName)
      .setPayload(RunRequest)
      .addSuccess(HandlerData)
      .addError(FailedHandler)
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Conflict)
      .addError(PayloadTooLarge)
      .addError(ServerError)
      .annotate(OpenApi.Summary, "Run workflow (wait)")
  )
  .add(
    HttpApiEndpoint.post("runNowait", "/workflows/:name/run-nowait")
      .setPath(WorkflowName)
      .setPayload(RunRequest)
      .addSuccess(HandlerData)
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Conflict)
      .addError(PayloadTooLarge)
      .addError(ServerError)
      .annotate(OpenApi.Summary, "Run workflow (no-wait)")
  )
  .add(
    HttpApiEndpoint.get("schema", "/workflows/:name/schema")
      .setPath(WorkflowName)
      .addSuccess(Schema.Struct({ start: Schema.Unknown, stop: Schema.Unknown }))
      .addError(NotFound)
      .annotate(OpenApi.Summary, "Get JSON schema for start event")
  )
  .add(
    HttpApiEndpoint.get("representation", "/workflows/:name/representation")
      .setPath(WorkflowName)
      .addSuccess(Schema.Struct({ graph: Schema.Unknown }))
      .addError(NotFound)
      .annotate(OpenApi.Summary, "Get the representation of the workflow")
  )
  .add(
    HttpApiEndpoint.get("events", "/workflows/:name/events")
      .setPath(WorkflowName)
      .addSuccess(Schema.Struct({ events: Schema.Array(Schema.Unknown) }))
      .addError(NotFound)
      .annotate(OpenApi.Summary, "List workflow events")
  )
{}

/**
 * The handlers the server keeps: list, one, its result, cancel.
 *
 * @since 0.1.0
 * @category groups
 */
export class HandlersGroup extends HttpApiGroup.make("handlers")
  .add(
    HttpApiEndpoint.get("list", "/handlers")
      .setUrlParams(Schema.Struct({
        status: Schema.optional(Schema.Array(Schema.String)),
        workflow_name: Schema.optional(Schema.Array(Schema.String))
      }))
      .addSuccess(Schema.Struct({ handlers: Schema.Array(HandlerData) }))
      .annotate(OpenApi.Summary, "Get handlers")
  )
  .add(
    HttpApiEndpoint.get("get", "/handlers/:handler_id")
      .setPath(HandlerId)
      .addSuccess(HandlerData)
      .addSuccess(RunningHandler)
      .addError(FailedHandler)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "Get workflow handler")
  )
  .add(
    HttpApiEndpoint.get("result", "/results/:handler_id")
      .setPath(HandlerId)
      .addSuccess(HandlerData)
      .addSuccess(RunningHandler)
      .addError(FailedHandler)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "Get workflow result (deprecated)")
  )
  .add(
    HttpApiEndpoint.post("cancel", "/handlers/:handler_id/cancel")
      .setPath(HandlerId)
      .setUrlParams(Schema.Struct({ purge: Schema.optional(Schema.String) }))
      .addSuccess(Schema.Struct({ status: Schema.Literal("cancelled", "deleted") }))
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Conflict)
      .annotate(OpenApi.Summary, "Stop and delete handler")
  )
{}

/**
 * A handler's event stream (SSE by default, NDJSON with `sse=false`) and sending it an event.
 *
 * @since 0.1.0
 * @category groups
 */
export class EventsGroup extends HttpApiGroup.make("events")
  .add(
    HttpApiEndpoint.get("stream", "/events/:handler_id")
      .setPath(HandlerId)
      .setUrlParams(Schema.Struct({
        sse: Schema.optional(Schema.String),
        include_internal: Schema.optional(Schema.String),
        after_sequence: Schema.optional(Schema.String),
        include_qualified_name: Schema.optional(Schema.String)
      }))
      .addSuccess(TextStream)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(BadRequest)
      .addError(NotFound)
      .annotate(OpenApi.Summary, "Stream workflow events")
      .annotate(
        OpenApi.Description,
        "Server-sent events (`id:` is the event's sequence; `Last-Event-ID` resumes after it), or NDJSON with " +
          "`sse=false`. `after_sequence`: `now` (default), `-1` (from the start) or a sequence. 204 when the run " +
          "has ended and nothing remains after the cursor."
      )
  )
  .add(
    HttpApiEndpoint.post("send", "/events/:handler_id")
      .setPath(HandlerId)
      .setPayload(SendEventRequest)
      .addSuccess(Schema.Struct({ status: Schema.Literal("sent") }))
      .addError(BadRequest)
      .addError(NotFound)
      .addError(Conflict)
      .addError(PayloadTooLarge)
      .addError(ServerError)
      .annotate(OpenApi.Summary, "Send event to workflow")
  )
{}

/**
 * The whole protocol.
 *
 * @example
 * ```ts
 * import { OpenApi } from "@effect/platform"
 * import { WorkflowApi } from "effect-workflows/server"
 *
 * const document = OpenApi.fromApi(WorkflowApi.WorkflowApi)
 * ```
 *
 * @since 0.1.0
 * @category api
 */
export class WorkflowApi extends HttpApi.make("workflows")
  .add(HealthGroup)
  .add(WorkflowsGroup)
  .add(HandlersGroup)
  .add(EventsGroup)
  .annotate(OpenApi.Title, "Workflows API")
{}
