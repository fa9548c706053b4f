/**
 * The handlers of the `WorkflowApi` routes.
 *
 * @internal
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Chunk from "effect/Chunk"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import type * as HandlerStore from "../../server/HandlerStore.js"
import * as Api from "../../server/WorkflowApi.js"
import type * as Workflow from "../../Workflow.js"
import * as WorkflowError from "../../WorkflowError.js"
import { registryOf } from "../snapshotCodec.js"
import * as envelope from "./envelope.js"
import * as protocol from "./protocol.js"
import type * as runs_ from "./runs.js"

/** What the handlers need. @internal */
export interface Served {
  readonly workflows: ReadonlyMap<string, Workflow.Any>
  readonly store: HandlerStore.HandlerStoreService
  readonly runs: runs_.Runs
  /** Largest request body accepted, in bytes. */
  readonly maxBodySize: number
  /** Silence after which an SSE stream gets a `: heartbeat` comment. */
  readonly heartbeat: Option.Option<Duration.Duration>
}

// -------------------------------------------------------------------------------------------------
// bodies
// -------------------------------------------------------------------------------------------------

const decoder = new TextDecoder()

/**
 * How much of a body past the limit is still read (and dropped) before giving up on it: to stop
 * reading a request is to destroy it, and its socket with it, so its client would get no 413.
 */
const drainLimit = 1024 * 1024

/** The request body as JSON, refused past the size limit even when it comes chunked. */
const readJson = (served: Served, invalid: (message: string) => string) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const tooLarge = new Api.PayloadTooLarge({ detail: `Request body exceeds ${served.maxBodySize} bytes` })
    const badRequest = (error: { readonly message: string }) => new Api.BadRequest({ detail: invalid(error.message) })
    const declared = request.headers["content-length"]
    if (declared !== undefined) {
      // Node ends a body at its declared length: one within the limit is read whole, at once
      if (Number(declared) > served.maxBodySize) return yield* Effect.fail(tooLarge)
      const bytes = yield* Effect.catchTag(request.arrayBuffer, "RequestError", (error) => Effect.fail(badRequest(error)))
      return yield* parseJson(bytes, invalid)
    }
    // a chunked body: read up to the limit, then drained a little so that the 413 can be sent
    const chunks: Array<Uint8Array> = []
    let size = 0
    yield* Stream.runForEach(request.stream, (chunk) => {
      size += chunk.length
      if (size <= served.maxBodySize) {
        chunks.push(chunk)
        return Effect.void
      }
      return size > served.maxBodySize + drainLimit ? Effect.fail(tooLarge) : Effect.void
    }).pipe(Effect.catchTag("RequestError", (error) => Effect.fail(badRequest(error))))
    if (size > served.maxBodySize) return yield* Effect.fail(tooLarge)
    const bytes = new Uint8Array(size)
    let offset = 0
    for (const chunk of chunks) {
      bytes.set(chunk, offset)
      offset += chunk.length
    }
    return yield* parseJson(bytes, invalid)
  })

const parseJson = (bytes: ArrayBuffer | Uint8Array, invalid: (message: string) => string) =>
  Effect.try({
    try: (): unknown => JSON.parse(decoder.decode(bytes)),
    catch: (error) => new Api.BadRequest({ detail: invalid(error instanceof Error ? error.message : String(error)) })
  })

const isRecord = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

// -------------------------------------------------------------------------------------------------
// handlers as the protocol shows them
// -------------------------------------------------------------------------------------------------

const fields = (record: HandlerStore.HandlerRecord, result: unknown) => ({
  handler_id: record.handlerId,
  workflow_name: record.workflowName,
  run_id: record.runId,
  status: record.status,
  started_at: record.startedAt,
  updated_at: record.updatedAt,
  completed_at: record.completedAt,
  error: record.error,
  result
})

/** The deprecated `/results` shows the bare result: a plain StopEvent's `result`, else the fields. */
const bareResult = (record: HandlerStore.HandlerRecord): unknown => {
  const result = record.result
  if (result === null) return null
  if (result.type === "StopEvent" && isRecord(result.value)) return result.value.result ?? null
  return result.value
}

const answer = (
  record: HandlerStore.HandlerRecord,
  bare: boolean
): Effect.Effect<Api.HandlerData | Api.RunningHandler, Api.FailedHandler> => {
  const data = fields(record, bare ? bareResult(record) : record.result)
  switch (record.status) {
    case "running":
      return Effect.succeed(new Api.RunningHandler(data))
    case "completed":
      return Effect.succeed(new Api.HandlerData(data))
    default:
      return Effect.fail(new Api.FailedHandler(data))
  }
}

const findHandler = (served: Served, handlerId: string) =>
  served.store.get(handlerId).pipe(
    Effect.orDie,
    Effect.flatMap(Option.match({
      onNone: () => Effect.fail(new Api.NotFound({ detail: "Handler not found" })),
      onSome: Effect.succeed
    }))
  )

const findWorkflow = (served: Served, name: string, detail = "Workflow not found") => {
  const workflow = served.workflows.get(name)
  return workflow === undefined ? Effect.fail(new Api.NotFound({ detail })) : Effect.succeed(workflow)
}

// -------------------------------------------------------------------------------------------------
// the graph as the original's representation (`WorkflowGraph`), which the debugger draws
// -------------------------------------------------------------------------------------------------

const graphOf = (workflow: Workflow.Any) => {
  const registry = registryOf(workflow)
  const producers = new Map<string, Array<string>>()
  const edges: Array<{ source: string; target: string; label: null }> = []
  const eventTags: Array<string> = []
  const addEvent = (tag: string) => {
    if (!producers.has(tag)) {
      producers.set(tag, [])
      eventTags.push(tag)
    }
  }
  const steps = workflow.steps.map((step) => {
    for (const on of step.on) {
      addEvent(on._tag)
      edges.push({ source: on._tag, target: step.name, label: null })
    }
    for (const emitted of step.emits) {
      addEvent(emitted._tag)
      producers.get(emitted._tag)!.push(step.name)
      edges.push({ source: step.name, target: emitted._tag, label: null })
    }
    return { id: step.name, label: step.name, node_type: "step", description: null }
  })
  const events = eventTags.map((tag) => {
    const eventClass = registry.get(tag)
    const types = eventClass === undefined ? null : envelope.typesOf(workflow, eventClass)
    return {
      id: tag,
      label: tag,
      node_type: "event",
      event_type: tag,
      event_types: [tag, ...(types ?? [])],
      event_schema: eventClass === undefined ? {} : envelope.jsonSchemaOf(eventClass),
      produced_by: producers.get(tag) ?? []
    }
  })
  return { name: workflow.name, nodes: [...steps, ...events], edges, description: null }
}

// -------------------------------------------------------------------------------------------------
// runs
// -------------------------------------------------------------------------------------------------

const startRun = (served: Served, name: string) =>
  Effect.gen(function*() {
    const workflow = yield* findWorkflow(served, name)
    const body = yield* readJson(served, (message) => `Invalid JSON body: ${message}`)
    if (!isRecord(body)) {
      return yield* Effect.fail(new Api.BadRequest({ detail: "Error processing request body: expected a JSON object" }))
    }
    if (body.context !== undefined && body.context !== null) {
      return yield* Effect.fail(
        new Api.BadRequest({
          detail: "Context API is disabled. Set accept_context_api=True on WorkflowServer to enable it."
        })
      )
    }
    const handlerId = body.handler_id
    if (handlerId !== undefined && handlerId !== null && typeof handlerId !== "string") {
      return yield* Effect.fail(new Api.BadRequest({ detail: "Error processing request body: handler_id must be a string" }))
    }
    const input = body.start_event ?? body.kwargs ?? {}
    const decoded = envelope.decodeEvent(workflow, input, { start: true })
    if (Either.isLeft(decoded)) {
      return yield* Effect.fail(new Api.BadRequest({ detail: envelope.startEventDetail(decoded.left) }))
    }
    return yield* served.runs.start({
      workflowName: name,
      workflow,
      event: decoded.right,
      handlerId: handlerId ?? undefined
    }).pipe(
      Effect.mapError((refusal) =>
        refusal._tag === "Running"
          ? new Api.Conflict({ detail: `Handler '${refusal.handlerId}' is already running` })
          : new Api.ServerError({ detail: `Error running workflow: ${refusal.message}` })
      )
    )
  })

// -------------------------------------------------------------------------------------------------
// event streams
// -------------------------------------------------------------------------------------------------

const flag = (value: string | undefined, fallback: boolean): boolean =>
  value === undefined ? fallback : !["false", "0", "no", "off"].includes(value.toLowerCase())

const cursorOf = (value: string): Option.Option<number | "now"> => {
  if (value === "now") return Option.some("now")
  return /^-?\d+$/.test(value) && Number(value) >= -1 ? Option.some(Number(value)) : Option.none()
}

const encoder = new TextEncoder()

/** Up to how many events the stream of a finished run is sent as one body. */
const wholeBodyEvents = 1000

const streamEvents = (
  served: Served,
  handlerId: string,
  params: {
    readonly sse?: string | undefined
    readonly include_internal?: string | undefined
    readonly after_sequence?: string | undefined
    readonly include_qualified_name?: string | undefined
  }
) =>
  Effect.gen(function*() {
    const request = yield* HttpServerRequest.HttpServerRequest
    const sse = flag(params.sse, true)
    const internal = flag(params.include_internal, false)
    const qualified = flag(params.include_qualified_name, true)
    const given = params.after_sequence ?? "now"
    const parsed = cursorOf(given)
    if (Option.isNone(parsed)) {
      return yield* Effect.fail(new Api.BadRequest({ detail: `Invalid after_sequence: '${given}'` }))
    }
    const record = yield* findHandler(served, handlerId)
    const lastEventId = request.headers["last-event-id"]
    let cursor = parsed.value
    if (sse && lastEventId !== undefined && /^\d+$/.test(lastEventId.trim())) cursor = Number(lastEventId.trim())
    const last = yield* Effect.orDie(served.store.lastSequence(record.runId))
    const after = cursor === "now" ? last : cursor
    const finished = record.status !== "running"
    if (finished && after >= last) return HttpServerResponse.empty({ status: 204 })
    const events = served.store.events(record.runId, after).pipe(
      Stream.orDie,
      // a finished run's stored events are all it has: they end it, with a terminal event or
      // without one (a handler that could not resume has none)
      Stream.takeUntil((stored) => envelope.isTerminalEnvelope(stored.envelope) || (finished && stored.sequence >= last)),
      Stream.filter((stored) => internal || !envelope.isInternal(stored.envelope)),
      Stream.map((stored) => {
        const shown = qualified ? stored.envelope : { ...stored.envelope, qualified_name: null }
        return sse ? `id: ${stored.sequence}\ndata: ${JSON.stringify(shown)}\n\n` : `${JSON.stringify(shown)}\n`
      })
    )
    const contentType = sse ? "text/event-stream; charset=utf-8" : "application/x-ndjson"
    const headers = { "cache-control": "no-cache", "x-accel-buffering": "no" }
    if (finished && last - after <= wholeBodyEvents) {
      // A finished run has all its events stored (its last ones in the commit that settled its
      // row): a few go out as one body, without streaming a response (which costs ~0.6 ms).
      const texts = yield* Stream.runCollect(events)
      return HttpServerResponse.text(Chunk.join(texts, ""), { contentType, headers })
    }
    const body = sse && Option.isSome(served.heartbeat)
      ? withHeartbeat(events, served.heartbeat.value)
      : events
    // An empty first chunk: Node sends a response's head with its first write, and a client
    // waiting for a quiet run must see the 200 at once, not at the first event.
    const bytes = Stream.concat(Stream.make(new Uint8Array(0)), Stream.map(body, (text) => encoder.encode(text)))
    return HttpServerResponse.stream(bytes, { contentType, headers })
  })

/** `: heartbeat` after every `interval` of silence, until the events end. */
const withHeartbeat = (events: Stream.Stream<string>, interval: Duration.Duration): Stream.Stream<string> =>
  Stream.merge(
    events.pipe(Stream.map(Option.some)),
    Stream.fromSchedule(Schedule.spaced(interval)).pipe(Stream.as(Option.none<string>())),
    { haltStrategy: "left" }
  ).pipe(
    // a tick right after an event is not silence: only ticks with no event since the last tick count
    Stream.mapAccum(false, (sawEvent, item) =>
      Option.isSome(item) ? [true, Option.some(item.value)] : [false, sawEvent ? Option.none() : Option.some(": heartbeat\n\n")]
    ),
    Stream.filterMap((item) => item)
  )

const sendEvent = (served: Served, handlerId: string) =>
  Effect.gen(function*() {
    const body = yield* readJson(served, (message) => `Error processing request: ${message}`)
    const record = yield* findHandler(served, handlerId)
    if (!isRecord(body) || body.event === undefined || body.event === null || body.event === "") {
      return yield* Effect.fail(new Api.BadRequest({ detail: "Event data is required" }))
    }
    if (body.step !== undefined && body.step !== null && typeof body.step !== "string") {
      return yield* Effect.fail(new Api.BadRequest({ detail: "Error processing request: step must be a string" }))
    }
    const live = served.runs.live(handlerId)
    if (record.status !== "running" || live === undefined || live.handler === undefined) {
      return yield* Effect.fail(new Api.Conflict({ detail: "Workflow already completed" }))
    }
    const workflow = live.workflow
    const decoded = envelope.decodeEvent(workflow, body.event, { start: false })
    if (Either.isLeft(decoded)) return yield* Effect.fail(new Api.BadRequest({ detail: decoded.left.message }))
    const step = body.step ?? undefined
    yield* live.handler.sendEvent(decoded.right as never, step === undefined ? undefined : { step }).pipe(
      Effect.catchAll((error) =>
        Effect.fail(
          error instanceof WorkflowError.WorkflowStepDoesNotExistError
            ? new Api.BadRequest({ detail: `Failed to send event: ${error.message}` })
            : new Api.ServerError({ detail: `Failed to send event: ${String((error as { message?: unknown }).message)}` })
        )
      )
    )
    return { status: "sent" as const }
  })

const cancel = (served: Served, handlerId: string, purge: boolean) =>
  Effect.gen(function*() {
    const record = yield* findHandler(served, handlerId)
    const live = served.runs.live(handlerId)
    if (live !== undefined && live.handler !== undefined) {
      yield* live.handler.cancel
      yield* served.runs.settled(live)
    } else if (!purge) {
      // the original answers 404 "Handler not found" for a finished handler, which GET still
      // shows: a conflict with its state is what it is
      return yield* Effect.fail(
        record.status === "running"
          ? new Api.NotFound({ detail: "Handler not found" })
          : new Api.Conflict({ detail: `Handler '${record.handlerId}' is already ${record.status}` })
      )
    }
    if (purge) {
      yield* Effect.orDie(served.store.remove(record.handlerId))
      return { status: "deleted" as const }
    }
    return { status: "cancelled" as const }
  })

const parseStatuses = (values: ReadonlyArray<string> | undefined) =>
  values?.filter((value): value is Api.HandlerStatus => Api.HandlerStatus.literals.includes(value as Api.HandlerStatus))

// -------------------------------------------------------------------------------------------------
// groups
// -------------------------------------------------------------------------------------------------

/** @internal */
export const layer = (served: Served) => {
  const health = HttpApiBuilder.group(
    Api.WorkflowApi,
    "health",
    (handlers) => handlers.handle("health", () => Effect.succeed({ status: "healthy" as const }))
  )

  const workflows = HttpApiBuilder.group(Api.WorkflowApi, "workflows", (handlers) =>
    handlers
      .handle("list", () => Effect.succeed({ workflows: Array.from(served.workflows.keys()) }))
      .handleRaw("run", ({ path }) =>
        Effect.gen(function*() {
          const live = yield* startRun(served, path.name)
          const record = yield* served.runs.settled(live)
          const data = fields(record, record.result)
          return yield* (record.status === "completed"
            ? HttpServerResponse.json(data)
            : HttpServerResponse.json(data, { status: 500 })).pipe(Effect.orDie)
        }))
      .handleRaw("runNowait", ({ path }) =>
        Effect.gen(function*() {
          const live = yield* startRun(served, path.name)
          const record = yield* findHandler(served, live.handlerId).pipe(Effect.orDie)
          return yield* HttpServerResponse.json(fields(record, null)).pipe(Effect.orDie)
        }))
      .handle("schema", ({ path }) =>
        Effect.map(findWorkflow(served, path.name), (workflow) => ({
          start: envelope.jsonSchemaOf(workflow.start),
          stop: envelope.jsonSchemaOf(workflow.stop)
        })))
      .handle("representation", ({ path }) =>
        Effect.map(findWorkflow(served, path.name), (workflow) => ({ graph: graphOf(workflow) })))
      .handle("events", ({ path }) =>
        Effect.map(
          findWorkflow(served, path.name, `Workflow '${path.name}' not found`),
          (workflow) => ({ events: envelope.publicClasses(workflow).map(envelope.jsonSchemaOf) })
        ))
  )

  const handlers = HttpApiBuilder.group(Api.WorkflowApi, "handlers", (handlers) =>
    handlers
      .handle("list", ({ urlParams }) =>
        served.store.list({ status: parseStatuses(urlParams.status), workflowName: urlParams.workflow_name }).pipe(
          Effect.orDie,
          Effect.map((records) => ({
            handlers: records.map((record) => new Api.HandlerData(fields(record, record.result)))
          }))
        ))
      .handle("get", ({ path }) => Effect.flatMap(findHandler(served, path.handler_id), (record) => answer(record, false)))
      .handle("result", ({ path }) => Effect.flatMap(findHandler(served, path.handler_id), (record) => answer(record, true)))
      .handle("cancel", ({ path, urlParams }) => cancel(served, path.handler_id, flag(urlParams.purge, false)))
  )

  const events = HttpApiBuilder.group(Api.WorkflowApi, "events", (handlers) =>
    handlers
      .handleRaw("stream", ({ path, urlParams }) => streamEvents(served, path.handler_id, urlParams))
      .handleRaw("send", ({ path }) =>
        Effect.flatMap(sendEvent(served, path.handler_id), (sent) => Effect.orDie(HttpServerResponse.json(sent))))
  )

  return [health, workflows, handlers, events, protocol.layer] as const
}
