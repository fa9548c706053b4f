/**
 * Every route and status code of the protocol over real loopback HTTP, with the requests of the
 * recordings in `../shared/protocol/NN-*.txt` (the real Python server's answers) as the cases,
 * in the recordings' order. Bodies are compared exactly where they are deterministic; what
 * legitimately differs is replaced: handler and run ids, timestamps (ISO-8601 either way), and
 * the module part of a user event's `qualified_name` (ours is `<workflow.name>.<Tag>`).
 *
 * Differences from the recordings kept on purpose are named where they are asserted: Python
 * internals (`<class 'mod.Cls'>`, pydantic and `json` messages), bugs of the original
 * (PROTOCOL.md, differences #8), and one ordering of this engine (the waiter event, 58).
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, type Duration, Effect, Layer, Logger, LogLevel, TestClock } from "effect"
import { Event, Step, Workflow } from "effect-workflows"
import { HandlerStore } from "effect-workflows/server"
import * as http from "node:http"
import { serve, slow, workflows } from "./fixtures.js"

// -------------------------------------------------------------------------------------------------
// the served workflows
// -------------------------------------------------------------------------------------------------

/** Counts its runs in its state: a continuation (82) starts from the previous run's state. */
const counter = Workflow.make({
  name: "CounterWorkflow",
  timeout: "60 seconds",
  steps: [
    Step.make("count", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
      Effect.gen(function*() {
        const count = Number(yield* ctx.store.get("count", 0)) + 1
        yield* ctx.store.set("count", count)
        return new Event.StopEvent({ result: count })
      }))
  ]
})

/** The recordings' server, with a `slow` of 3 seconds (the recordings' one ticks for 30). */
const served = { ...workflows, slow: slow(3), counter }

/** Runs `body` against a server on a free loopback port, closed afterwards. */
const withServer = (
  body: (base: string) => Promise<void>,
  options?: {
    readonly heartbeat?: Duration.DurationInput
    readonly maxBodySize?: number
    readonly store?: Layer.Layer<HandlerStore.HandlerStore>
  }
) => Effect.scoped(Effect.flatMap(serve(served, options), (base) => Effect.promise(() => body(base))))

/** The in-memory store, but listing handlers fails. */
const storeFailingToList = Layer.effect(
  HandlerStore.HandlerStore,
  Effect.map(HandlerStore.HandlerStore, (store) => ({
    ...store,
    list: () => Effect.fail(new HandlerStore.HandlerStoreError({ message: "database is locked" }))
  }))
).pipe(Layer.provide(HandlerStore.layerMemory()))

// -------------------------------------------------------------------------------------------------
// HTTP
// -------------------------------------------------------------------------------------------------

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly body: any
}

const call = async (
  base: string,
  method: string,
  path: string,
  init?: { readonly headers?: Record<string, string>; readonly body?: string }
): Promise<Reply> => {
  const response = await fetch(`${base}${path}`, {
    method,
    ...(init?.headers === undefined ? {} : { headers: init.headers }),
    ...(init?.body === undefined ? {} : { body: init.body })
  })
  const text = await response.text()
  return {
    status: response.status,
    headers: response.headers,
    text,
    get body() {
      return JSON.parse(text)
    }
  }
}

const jsonHeaders = { "content-type": "application/json" }

/** A POST with a JSON body: a string is sent as it is (malformed bodies), anything else encoded. */
const post = (base: string, path: string, body?: unknown) =>
  call(base, "POST", path, {
    headers: jsonHeaders,
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) })
  })

const get = (base: string, path: string, headers?: Record<string, string>) =>
  call(base, "GET", path, headers === undefined ? undefined : { headers })

/** The status, a JSON content type and the exact body. */
const expectJson = (reply: Reply, status: number, body: unknown) => {
  expect({ status: reply.status, body: reply.body }).toStrictEqual({ status, body })
  expect(reply.headers.get("content-type")).toBe("application/json")
}

/** A `{"detail": ...}` error. */
const expectDetail = (reply: Reply, status: number, detail: string) => expectJson(reply, status, { detail })

/** A 204 without a body (31, 32, 66; the original also sends `content-type: application/json`). */
const expectNoContent = (reply: Reply) => {
  expect(reply.status).toBe(204)
  expect(reply.text).toBe("")
}

/**
 * An open stream read until `done` holds for what arrived, then closed by the client. On its
 * own connection (`node:http`, no agent), which closing it closes: fetch's pool would keep a
 * spare connection open that the server then waits for when it shuts down.
 */
const readUntil = (
  base: string,
  path: string,
  done: (text: string) => boolean,
  headers?: Record<string, string>
): Promise<{ readonly status: number; readonly headers: http.IncomingHttpHeaders; readonly text: string }> =>
  new Promise((resolve, reject) => {
    let text = ""
    let finished = false
    const finish = (outcome: () => void) => {
      if (finished) return
      finished = true
      clearTimeout(timer)
      request.destroy()
      outcome()
    }
    const request = http.get(new URL(path, base), { agent: false, ...(headers === undefined ? {} : { headers }) }, (response) => {
      response.setEncoding("utf8")
      const check = () => {
        if (done(text)) {
          finish(() => resolve({ status: response.statusCode!, headers: response.headers, text }))
        }
      }
      response.on("data", (chunk: string) => {
        text += chunk
        check()
      })
      response.on("end", () => finish(() => reject(new Error(`stream ended early: ${JSON.stringify(text)}`))))
      check()
    })
    request.on("error", (error) => finish(() => reject(error)))
    const timer = setTimeout(
      () => finish(() => reject(new Error(`stream stalled after ${JSON.stringify(text)}`))),
      10_000
    )
  })

/**
 * GET /handlers/{id} once the run has ended: its event stream is read to its end first (it ends
 * after the terminal event, which the store commits together with the handler's final row).
 */
const settled = async (base: string, handlerId: string): Promise<Reply> => {
  const stream = await fetch(`${base}/events/${handlerId}?sse=false&after_sequence=-1`)
  await stream.text()
  return get(base, `/handlers/${handlerId}`)
}

// -------------------------------------------------------------------------------------------------
// bodies
// -------------------------------------------------------------------------------------------------

interface Frame {
  readonly id: number
  readonly data: unknown
}

/** The frames of an SSE body; each block must be exactly `id: N` and `data: <JSON>`. */
const sseFrames = (text: string): Array<Frame> => {
  expect(text.endsWith("\n\n")).toBe(true)
  return text.slice(0, -2).split("\n\n").map((block) => {
    const match = /^id: (\d+)\ndata: (.+)$/.exec(block)
    if (match === null) throw new Error(`not an SSE event frame: ${JSON.stringify(block)}`)
    return { id: Number(match[1]), data: JSON.parse(match[2]!) }
  })
}

/** The lines of an NDJSON body, each one JSON value. */
const ndjsonLines = (text: string): Array<unknown> => {
  expect(text.endsWith("\n")).toBe(true)
  return text.slice(0, -1).split("\n").map((line) => JSON.parse(line))
}

const sseContentType = "text/event-stream; charset=utf-8"
const ndjsonContentType = "application/x-ndjson"

/** A finished stream: 200, its content type, and its frames. */
const expectSse = (reply: Reply, frames: ReadonlyArray<Frame>) => {
  expect(reply.status).toBe(200)
  expect(reply.headers.get("content-type")).toBe(sseContentType)
  expect(sseFrames(reply.text)).toStrictEqual(frames)
}

const expectNdjson = (reply: Reply, lines: ReadonlyArray<unknown>) => {
  expect(reply.status).toBe(200)
  expect(reply.headers.get("content-type")).toBe(ndjsonContentType)
  expect(ndjsonLines(reply.text)).toStrictEqual(lines)
}

const iso = expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/)
/** A generated handler id: 10 characters of nanoid's alphabet, as the original's. */
const generatedId = expect.stringMatching(/^[A-Za-z0-9_-]{10}$/)
const anyRunId = expect.stringMatching(/^\S+$/)

/** A handler as the protocol shows it (`HandlerData`), ids and timestamps given or matched. */
const handlerData = (fields: {
  readonly handler_id?: unknown
  readonly workflow_name: string
  readonly run_id?: unknown
  readonly status: "running" | "completed" | "failed" | "cancelled"
  readonly error?: string | null
  readonly result?: unknown
  readonly started_at?: unknown
}) => ({
  handler_id: fields.handler_id ?? generatedId,
  workflow_name: fields.workflow_name,
  run_id: fields.run_id ?? anyRunId,
  error: fields.error ?? null,
  result: fields.result ?? null,
  status: fields.status,
  started_at: fields.started_at ?? iso,
  updated_at: iso,
  completed_at: fields.status === "running" ? null : iso
})

const builtIn = (type: string, value: unknown, types: ReadonlyArray<string> | null = null) => ({
  value,
  qualified_name: `workflows.events.${type}`,
  type,
  types
})

const stopEvent = (result: unknown) => builtIn("StopEvent", { result })

/** A user event: `<workflow.name>.<Tag>` where the original has `server_app.<Class>`. */
const userEvent = (workflowName: string, type: string, value: unknown, types: ReadonlyArray<string> | null = null) => ({
  value,
  qualified_name: `${workflowName}.${type}`,
  type,
  types
})

/**
 * Difference kept: NOT_RUNNING names the events by tag, where the original prints Python's
 * `<class 'server_app.GreetStart'>` (a Python internal; RUNNING already uses the bare name).
 */
const stepState = (name: string, state: "running" | "not_running", input: string, output: string | null) =>
  builtIn("StepStateChanged", {
    name,
    step_state: state,
    worker_id: "0",
    input_event_name: input,
    output_event_name: output
  }, ["InternalDispatchEvent"])

const idle = builtIn("WorkflowIdleEvent", {}, ["InternalDispatchEvent"])

/** `InputRequiredEvent` keeps the original's `_data` wrapping (44). */
const inputRequired = (prefix: string) => builtIn("InputRequiredEvent", { _data: { prefix } })

const progress = (name: string) => userEvent("GreetWorkflow", "Progress", { message: `greeting ${name}` })

/** A greet run's events, all of them (24): the sequence counts the internal ones. */
const greetFrames = (name: string): Array<Frame> => [
  { id: 0, data: stepState("first", "running", "GreetStart", null) },
  { id: 1, data: progress(name) },
  { id: 2, data: stepState("first", "not_running", "GreetStart", "Middle") },
  { id: 3, data: stepState("second", "running", "Middle", null) },
  { id: 4, data: stepState("second", "not_running", "Middle", "StopEvent") },
  { id: 5, data: stopEvent(`hello ${name}`) }
]

/**
 * The events a client may send to hitl, in the registry's stable order (the original's changes
 * from one start to the next): no runtime-only event (lifecycle events, `StepFailedEvent`).
 */
const hitlInbound = "StartEvent, StopEvent, InputRequiredEvent, HumanResponseEvent"

const isPublic = (frame: Frame) =>
  !((frame.data as { readonly types: ReadonlyArray<string> | null }).types?.includes("InternalDispatchEvent") ?? false)

// -------------------------------------------------------------------------------------------------
// cases
// -------------------------------------------------------------------------------------------------

describe("routes", () => {
  it.live("health and workflows (01, 02)", () =>
    withServer(async (base) => {
      expectJson(await get(base, "/health"), 200, { status: "healthy" })
      expectJson(await get(base, "/workflows"), 200, {
        workflows: ["greet", "typed", "hitl", "waiter", "fails", "slow", "counter"]
      })
    }))

  it.live("run: start event forms, failures and refusals (03–17)", () =>
    withServer(async (base) => {
      const greeted = (name: string) =>
        handlerData({ workflow_name: "greet", status: "completed", result: stopEvent(`hello ${name}`) })

      // 03
      const first = await post(base, "/workflows/greet/run", { start_event: { name: "ada" } })
      expectJson(first, 200, greeted("ada"))
      expect(first.body.updated_at).toBe(first.body.completed_at)
      // 04
      expectJson(await post(base, "/workflows/greet/run", { kwargs: { name: "kw" } }), 200, greeted("kw"))
      // 05
      expectJson(await post(base, "/workflows/greet/run", {}), 200, greeted("world"))
      // 06: no body. Difference kept: the message is JavaScript's JSON.parse one, not Python's
      expectDetail(await post(base, "/workflows/greet/run"), 400, "Invalid JSON body: Unexpected end of JSON input")
      // 07
      expectJson(
        await post(base, "/workflows/greet/run", { start_event: { type: "GreetStart", value: { name: "env" } } }),
        200,
        greeted("env")
      )
      // 08
      expectJson(
        await post(base, "/workflows/greet/run", { start_event: JSON.stringify({ name: "str" }) }),
        200,
        greeted("str")
      )
      // 09
      expectJson(
        await post(base, "/workflows/typed/run", { start_event: { name: "ty" } }),
        200,
        handlerData({
          workflow_name: "typed",
          status: "completed",
          result: userEvent("TypedWorkflow", "GreetingResult", { greeting: "hello ty", length: 8 }, ["StopEvent"])
        })
      )
      // 10
      expectJson(
        await post(base, "/workflows/fails/run", {}),
        500,
        handlerData({ workflow_name: "fails", status: "failed", error: "boom" })
      )
      // 11
      expectDetail(await post(base, "/workflows/nope/run", {}), 404, "Workflow not found")
      // 12
      expectDetail(
        await post(base, "/workflows/greet/run", "{\"start_event\": "),
        400,
        "Invalid JSON body: Unexpected end of JSON input"
      )
      // 13. Difference kept: Effect Schema's message where the original has pydantic's
      expectDetail(
        await post(base, "/workflows/greet/run", { start_event: { name: 123 } }),
        400,
        "Validation error for 'start_event': Failed to deserialize event: 1 validation error for GreetStart\n" +
          "name\n  Expected string, actual 123"
      )
      // 14. Difference kept: the class by tag, not as Python's `<class 'server_app.GreetStart'>`
      expectDetail(
        await post(base, "/workflows/greet/run", { start_event: { type: "Middle", value: { name: "x" } } }),
        400,
        "Start event must be an instance of GreetStart"
      )
      // 15. The list in a stable order (the original's changes from one start to the next)
      expectDetail(
        await post(base, "/workflows/greet/run", { start_event: { type: "Nope", value: {} } }),
        400,
        "Validation error for 'start_event': Invalid event type: Nope. Expected one of GreetStart, StopEvent, " +
          "Middle, Progress, StartEvent, InputRequiredEvent, HumanResponseEvent"
      )
      // 16
      expectDetail(
        await post(base, "/workflows/greet/run", { context: { state: {} } }),
        400,
        "Context API is disabled. Set accept_context_api=True on WorkflowServer to enable it."
      )
      // 17. Difference kept: no Python internals (`'list' object has no attribute 'get'`)
      expectDetail(
        await post(base, "/workflows/greet/run", "[1, 2]"),
        400,
        "Error processing request body: expected a JSON object"
      )
      // none of the refused requests made a handler
      expect((await get(base, "/handlers")).body.handlers.length).toBe(7)
    }))

  it.live("greet: run-nowait, handler, results, event streams and cursors, continuation (20–35, 82, 83)", () =>
    withServer(async (base) => {
      // 20
      const started = await post(base, "/workflows/greet/run-nowait", { start_event: { name: "bob" } })
      expectJson(started, 200, handlerData({ workflow_name: "greet", status: "running" }))
      expect(started.body.updated_at).toBe(started.body.started_at)
      const id: string = started.body.handler_id
      const runId: string = started.body.run_id
      const startedAt: string = started.body.started_at
      // 21
      const done = await settled(base, id)
      expectJson(
        done,
        200,
        handlerData({
          handler_id: id,
          run_id: runId,
          started_at: startedAt,
          workflow_name: "greet",
          status: "completed",
          result: stopEvent("hello bob")
        })
      )
      expect(done.body.updated_at).toBe(done.body.completed_at)
      // 22: the deprecated /results shows a plain StopEvent's bare result
      expectJson(await get(base, `/results/${id}`), 200, { ...done.body, result: "hello bob" })
      const all = greetFrames("bob")
      // 23: sequence gaps where the internal events are left out
      expectSse(await get(base, `/events/${id}?after_sequence=-1`), all.filter(isPublic))
      expect(all.filter(isPublic).map((frame) => frame.id)).toStrictEqual([1, 5])
      // 24
      expectSse(await get(base, `/events/${id}?after_sequence=-1&include_internal=true`), all)
      // 25: NDJSON lines carry no sequence
      expectNdjson(
        await get(base, `/events/${id}?sse=false&after_sequence=-1`),
        all.filter(isPublic).map((frame) => frame.data)
      )
      // 26
      expectNdjson(
        await get(base, `/events/${id}?sse=false&after_sequence=-1&include_internal=true`),
        all.map((frame) => frame.data)
      )
      // 27
      expectSse(await get(base, `/events/${id}?after_sequence=2&include_internal=true`), all.slice(3))
      // 28: Last-Event-ID resumes after that sequence
      expectSse(await get(base, `/events/${id}?include_internal=true`, { "Last-Event-ID": "3" }), all.slice(4))
      // 29: Last-Event-ID beats after_sequence
      expectSse(
        await get(base, `/events/${id}?after_sequence=-1&include_internal=true`, { "Last-Event-ID": "4" }),
        all.slice(5)
      )
      // 30: NDJSON ignores Last-Event-ID
      expectNdjson(
        await get(base, `/events/${id}?sse=false&after_sequence=3&include_internal=true`, { "Last-Event-ID": "0" }),
        all.slice(4).map((frame) => frame.data)
      )
      // 31: after_sequence defaults to now: nothing after it on a finished run
      expectNoContent(await get(base, `/events/${id}`))
      expectNoContent(await get(base, `/events/${id}?sse=false`))
      // 32: an explicit cursor at the last sequence
      expectNoContent(await get(base, `/events/${id}?after_sequence=5&include_internal=true`))
      expectNoContent(await get(base, `/events/${id}?after_sequence=9`))
      // 33
      expectSse(
        await get(base, `/events/${id}?after_sequence=-1&include_qualified_name=false`),
        all.filter(isPublic).map((frame) => ({ ...frame, data: { ...(frame.data as object), qualified_name: null } }))
      )
      // 34
      expectDetail(await get(base, `/events/${id}?after_sequence=abc`), 400, "Invalid after_sequence: 'abc'")
      expectDetail(await get(base, `/events/${id}?after_sequence=-2`), 400, "Invalid after_sequence: '-2'")
      expectDetail(await get(base, `/events/${id}?after_sequence=1.5`), 400, "Invalid after_sequence: '1.5'")
      // 35, 36, 37
      expectDetail(await get(base, "/events/nope"), 404, "Handler not found")
      expectDetail(await get(base, "/handlers/nope"), 404, "Handler not found")
      expectDetail(await get(base, "/results/nope"), 404, "Handler not found")

      // 82: a finished handler's id continues it: same handler id, a new run
      const again = await post(base, "/workflows/greet/run", { handler_id: id, start_event: { name: "again" } })
      expectJson(
        again,
        200,
        handlerData({ handler_id: id, workflow_name: "greet", status: "completed", result: stopEvent("hello again") })
      )
      expect(again.body.run_id).not.toBe(runId)
      // the handler's stream is now its new run's
      expectSse(await get(base, `/events/${id}?after_sequence=-1`), greetFrames("again").filter(isPublic))
      // 83: an unknown id becomes the new handler's id
      const own = await post(base, "/workflows/greet/run-nowait", { handler_id: "my-own-id", start_event: { name: "own" } })
      expectJson(own, 200, handlerData({ handler_id: "my-own-id", workflow_name: "greet", status: "running" }))
      expect((await settled(base, "my-own-id")).body.result).toStrictEqual(stopEvent("hello own"))
    }))

  it.live("continuation carries the state over (82)", () =>
    withServer(async (base) => {
      const counted = (count: number, handlerId?: string) =>
        handlerData({
          workflow_name: "counter",
          status: "completed",
          result: stopEvent(count),
          ...(handlerId === undefined ? {} : { handler_id: handlerId })
        })
      const first = await post(base, "/workflows/counter/run", {})
      expectJson(first, 200, counted(1))
      const id: string = first.body.handler_id
      const second = await post(base, "/workflows/counter/run", { handler_id: id })
      expectJson(second, 200, counted(2, id))
      expect(second.body.run_id).not.toBe(first.body.run_id)
      // run-nowait continues the same way
      const third = await post(base, "/workflows/counter/run-nowait", { handler_id: id })
      expectJson(third, 200, handlerData({ handler_id: id, workflow_name: "counter", status: "running" }))
      expect(new Set([first.body.run_id, second.body.run_id, third.body.run_id]).size).toBe(3)
      expectJson(await settled(base, id), 200, counted(3, id))
      // a new handler starts from nothing
      expectJson(await post(base, "/workflows/counter/run", {}), 200, counted(1))
      // one handler row per handler id
      expect((await get(base, "/handlers?workflow_name=counter")).body.handlers.length).toBe(2)
    }))

  it.live("typed stop event: /results shows its fields, /handlers its envelope (38–40)", () =>
    withServer(async (base) => {
      // 38
      const started = await post(base, "/workflows/typed/run-nowait", { start_event: { name: "ty" } })
      expectJson(started, 200, handlerData({ workflow_name: "typed", status: "running" }))
      const id: string = started.body.handler_id
      // 40
      const done = await settled(base, id)
      expectJson(
        done,
        200,
        handlerData({
          handler_id: id,
          run_id: started.body.run_id,
          workflow_name: "typed",
          status: "completed",
          result: userEvent("TypedWorkflow", "GreetingResult", { greeting: "hello ty", length: 8 }, ["StopEvent"])
        })
      )
      // 39
      expectJson(await get(base, `/results/${id}`), 200, { ...done.body, result: { greeting: "hello ty", length: 8 } })
    }))

  it.live("human in the loop: open streams, sending events, 409s (41–56)", () =>
    withServer(async (base) => {
      // 41
      const started = await post(base, "/workflows/hitl/run-nowait", {})
      expectJson(started, 200, handlerData({ workflow_name: "hitl", status: "running" }))
      const id: string = started.body.handler_id
      const running = handlerData({ handler_id: id, run_id: started.body.run_id, workflow_name: "hitl", status: "running" })
      // 42, 43: 202 while running
      expectJson(await get(base, `/handlers/${id}`), 202, running)
      expectJson(await get(base, `/results/${id}`), 202, running)
      // 44: the stream stays open; the client leaves after the first event
      const open = await readUntil(base, `/events/${id}?after_sequence=-1`, (text) => text.includes("\n\n"))
      expect(open.status).toBe(200)
      expect(open.headers["content-type"]).toBe(sseContentType)
      expect(sseFrames(open.text)).toStrictEqual([{ id: 2, data: inputRequired("What is your name?") }])
      // 45: NDJSON, with the internal events: the run waits (idle)
      const lines = await readUntil(
        base,
        `/events/${id}?sse=false&after_sequence=-1&include_internal=true`,
        (text) => text.split("\n").length > 4
      )
      expect(lines.headers["content-type"]).toBe(ndjsonContentType)
      expect(ndjsonLines(lines.text)).toStrictEqual([
        stepState("ask", "running", "StartEvent", null),
        stepState("ask", "not_running", "StartEvent", "InputRequiredEvent"),
        inputRequired("What is your name?"),
        idle
      ])
      // 46
      expectDetail(
        await post(base, `/events/${id}`, "{\"event\": "),
        400,
        "Error processing request: Unexpected end of JSON input"
      )
      // 47
      expectDetail(await post(base, `/events/${id}`, {}), 400, "Event data is required")
      // 48: the registry in a stable order
      expectDetail(
        await post(base, `/events/${id}`, { event: { type: "Nope", value: {} } }),
        400,
        `Invalid event type: Nope. Expected one of ${hitlInbound}`
      )
      // 49. Difference kept: a qualified name is looked up in the workflow's registry only; the
      // original imports the module the client names (`os.path`) and fails on what it gets
      expectDetail(
        await post(base, `/events/${id}`, { event: { qualified_name: "os.path", value: {} } }),
        400,
        `Invalid event type: os.path. Expected one of ${hitlInbound}`
      )
      // 50
      expectDetail(
        await post(base, "/events/nope", { event: { type: "HumanResponseEvent", value: { response: "x" } } }),
        404,
        "Handler not found"
      )
      // 51. Difference kept: an unknown step is the client's mistake, 400 (the original's 500 is a bug)
      expectDetail(
        await post(base, `/events/${id}`, { event: { type: "HumanResponseEvent", value: { response: "x" } }, step: "nope" }),
        400,
        "Failed to send event: Step nope does not exist"
      )
      // 52: a running handler's id cannot start another run
      expectDetail(
        await post(base, "/workflows/hitl/run-nowait", { handler_id: id }),
        409,
        `Handler '${id}' is already running`
      )
      expectDetail(await post(base, "/workflows/hitl/run", { handler_id: id }), 409, `Handler '${id}' is already running`)
      // nothing refused reached the run
      expectJson(await get(base, `/handlers/${id}`), 202, running)
      // 53
      expectJson(
        await post(base, `/events/${id}`, { event: { type: "HumanResponseEvent", value: { response: "ada" } } }),
        200,
        { status: "sent" }
      )
      // 54
      expectJson(
        await settled(base, id),
        200,
        handlerData({
          handler_id: id,
          run_id: started.body.run_id,
          workflow_name: "hitl",
          status: "completed",
          result: stopEvent("hello ada")
        })
      )
      // 55. Difference kept: HumanResponseEvent is consumed by a step here and not streamed, as
      // in the original; the NOT_RUNNING names are tags
      expectSse(await get(base, `/events/${id}?after_sequence=-1&include_internal=true`), [
        { id: 0, data: stepState("ask", "running", "StartEvent", null) },
        { id: 1, data: stepState("ask", "not_running", "StartEvent", "InputRequiredEvent") },
        { id: 2, data: inputRequired("What is your name?") },
        { id: 3, data: idle },
        { id: 4, data: stepState("answer", "running", "HumanResponseEvent", null) },
        { id: 5, data: stepState("answer", "not_running", "HumanResponseEvent", "StopEvent") },
        { id: 6, data: stopEvent("hello ada") }
      ])
      // 56
      expectDetail(
        await post(base, `/events/${id}`, { event: { type: "HumanResponseEvent", value: { response: "again" } } }),
        409,
        "Workflow already completed"
      )
    }))

  it.live("waiter: the legacy JSON-string event form (57–61)", () =>
    withServer(async (base) => {
      // 57
      const started = await post(base, "/workflows/waiter/run-nowait", {})
      expectJson(started, 200, handlerData({ workflow_name: "waiter", status: "running" }))
      const id: string = started.body.handler_id
      // 58. Difference kept: the waiter event is published when the step calls `waitForEvent`,
      // so before the step's NOT_RUNNING (the original publishes it with the step's result,
      // after NOT_RUNNING: ids 1 and 2 swapped)
      const open = await readUntil(
        base,
        `/events/${id}?after_sequence=-1&include_internal=true`,
        (text) => text.includes("WorkflowIdleEvent")
      )
      expect(open.headers["content-type"]).toBe(sseContentType)
      expect(sseFrames(open.text)).toStrictEqual([
        { id: 0, data: stepState("ask", "running", "StartEvent", null) },
        { id: 1, data: inputRequired("Your name?") },
        { id: 2, data: stepState("ask", "not_running", "StartEvent", null) },
        { id: 3, data: idle }
      ])
      // 59: the event as a JSON string, with `data` for `value` (what the debugger sends)
      expectJson(
        await post(base, `/events/${id}`, {
          event: JSON.stringify({ type: "HumanResponseEvent", data: { response: "via-string" } })
        }),
        200,
        { status: "sent" }
      )
      // 60
      expectJson(
        await settled(base, id),
        200,
        handlerData({
          handler_id: id,
          run_id: started.body.run_id,
          workflow_name: "waiter",
          status: "completed",
          result: stopEvent("hello via-string")
        })
      )
      // 61 (the waiter event at 1, see 58)
      expectSse(await get(base, `/events/${id}?after_sequence=-1`), [
        { id: 1, data: inputRequired("Your name?") },
        { id: 6, data: stopEvent("hello via-string") }
      ])
    }))

  it.live("a failing run (62–67)", () =>
    withServer(async (base) => {
      // 62
      const started = await post(base, "/workflows/fails/run-nowait", {})
      expectJson(started, 200, handlerData({ workflow_name: "fails", status: "running" }))
      const id: string = started.body.handler_id
      // 63, 64: 500 with the handler; `error` is the message only, `result` null
      const failed = handlerData({
        handler_id: id,
        run_id: started.body.run_id,
        workflow_name: "fails",
        status: "failed",
        error: "boom"
      })
      expectJson(await settled(base, id), 500, failed)
      expectJson(await get(base, `/results/${id}`), 500, failed)
      // 65. Difference kept: `exception_type` is the error's tag (`ValueError`), not a Python
      // path (`builtins.ValueError`); `elapsed_seconds` is whatever it took
      expectSse(await get(base, `/events/${id}?after_sequence=-1&include_internal=true`), [
        { id: 0, data: stepState("explode", "running", "StartEvent", null) },
        { id: 1, data: stepState("explode", "not_running", "StartEvent", null) },
        {
          id: 2,
          data: builtIn("WorkflowFailedEvent", {
            step_name: "explode",
            exception: { exception_type: "ValueError", exception_message: "boom" },
            attempts: 1,
            elapsed_seconds: expect.any(Number)
          }, ["StopEvent"])
        }
      ])
      // 66
      expectNoContent(await get(base, `/events/${id}`))
      // 67. Difference kept: the original answers 404 "Handler not found" for a handler that GET
      // still returns (a bug); a finished handler cannot be cancelled: 409
      expectDetail(await post(base, `/handlers/${id}/cancel`), 409, `Handler '${id}' is already failed`)
    }))

  it.live("cancel, with and without purge (68–81)", () =>
    withServer(async (base) => {
      // 68
      const started = await post(base, "/workflows/slow/run-nowait", {})
      expectJson(started, 200, handlerData({ workflow_name: "slow", status: "running" }))
      const id: string = started.body.handler_id
      const tick = (n: number) => userEvent("SlowWorkflow", "Tick", { n })
      // 69: live; the client leaves after the first tick
      const live = await readUntil(base, `/events/${id}?after_sequence=-1`, (text) => text.includes("\n\n"))
      expect(live.headers["content-type"]).toBe(sseContentType)
      expect(sseFrames(live.text)).toStrictEqual([{ id: 1, data: tick(0) }])
      // 70
      expectJson(await post(base, `/handlers/${id}/cancel`), 200, { status: "cancelled" })
      // 71, 72: settled when cancel answers
      const cancelled = handlerData({ handler_id: id, run_id: started.body.run_id, workflow_name: "slow", status: "cancelled" })
      expectJson(await get(base, `/handlers/${id}`), 500, cancelled)
      expectJson(await get(base, `/results/${id}`), 500, cancelled)
      // 73: the ticks until the cancel, then the cancel; the cancelled step has no NOT_RUNNING
      const full = await get(base, `/events/${id}?after_sequence=-1&include_internal=true`)
      expect(full.status).toBe(200)
      const frames = sseFrames(full.text)
      const ticks = frames.length - 2
      expect(ticks).toBeGreaterThanOrEqual(1)
      expect(ticks).toBeLessThan(3)
      expect(frames).toStrictEqual([
        { id: 0, data: stepState("sleepy", "running", "StartEvent", null) },
        ...Array.from({ length: ticks }, (_, n) => ({ id: n + 1, data: tick(n) })),
        { id: ticks + 1, data: builtIn("WorkflowCancelledEvent", {}, ["StopEvent"]) }
      ])
      // 74. Difference kept: 409 for a finished handler where the original says 404 (see 67)
      expectDetail(await post(base, `/handlers/${id}/cancel`), 409, `Handler '${id}' is already cancelled`)
      expectDetail(await post(base, `/handlers/${id}/cancel?purge=false`), 409, `Handler '${id}' is already cancelled`)
      // 75, 76, 77: purge deletes a finished handler and its events
      expectJson(await post(base, `/handlers/${id}/cancel?purge=true`), 200, { status: "deleted" })
      expectDetail(await get(base, `/handlers/${id}`), 404, "Handler not found")
      expectDetail(await get(base, `/events/${id}?after_sequence=-1`), 404, "Handler not found")
      expectDetail(await get(base, `/results/${id}`), 404, "Handler not found")
      expectDetail(await post(base, `/handlers/${id}/cancel?purge=true`), 404, "Handler not found")
      // 78
      expectDetail(await post(base, "/handlers/nope/cancel"), 404, "Handler not found")
      // 79, 80, 81: purge stops a running one and deletes it
      const second = await post(base, "/workflows/slow/run-nowait", {})
      expectJson(second, 200, handlerData({ workflow_name: "slow", status: "running" }))
      const secondId: string = second.body.handler_id
      expectJson(await post(base, `/handlers/${secondId}/cancel?purge=true`), 200, { status: "deleted" })
      expectDetail(await get(base, `/handlers/${secondId}`), 404, "Handler not found")
      expectJson(await get(base, "/handlers"), 200, { handlers: [] })
      // its id is free again
      const reused = await post(base, "/workflows/greet/run", { handler_id: secondId })
      expectJson(
        reused,
        200,
        handlerData({ handler_id: secondId, workflow_name: "greet", status: "completed", result: stopEvent("hello world") })
      )
    }))

  it.live("handler list and its filters (84–87)", () =>
    withServer(async (base) => {
      const waiting = (await post(base, "/workflows/hitl/run-nowait", {})).body
      const greeted = (await post(base, "/workflows/greet/run", { start_event: { name: "ada" } })).body
      const failed = (await post(base, "/workflows/fails/run", {})).body
      const answered = (await post(base, "/workflows/hitl/run-nowait", {})).body
      expectJson(
        await post(base, `/events/${answered.handler_id}`, {
          event: { type: "HumanResponseEvent", value: { response: "ada" } }
        }),
        200,
        { status: "sent" }
      )
      const answeredDone = (await settled(base, answered.handler_id)).body
      const waitingNow = (await get(base, `/handlers/${waiting.handler_id}`)).body
      expect(waitingNow.status).toBe("running")
      expect(greeted.status).toBe("completed")
      expect(failed.status).toBe("failed")
      expect(answeredDone.status).toBe("completed")
      // 84: all, in the order they were started
      expectJson(await get(base, "/handlers"), 200, { handlers: [waitingNow, greeted, failed, answeredDone] })
      // 85: repeated parameters, statuses or'ed, names or'ed, the two and'ed
      expectJson(
        await get(base, "/handlers?status=completed&status=failed&workflow_name=hitl&workflow_name=fails"),
        200,
        { handlers: [failed, answeredDone] }
      )
      expectJson(await get(base, "/handlers?workflow_name=greet"), 200, { handlers: [greeted] })
      // 86: unknown statuses are dropped; none left matches nothing
      expectJson(await get(base, "/handlers?status=bogus"), 200, { handlers: [] })
      expectJson(await get(base, "/handlers?status=bogus&status=failed"), 200, { handlers: [failed] })
      // 87
      expectJson(await get(base, "/handlers?status=running"), 200, { handlers: [waitingNow] })
      expectJson(await get(base, "/handlers?workflow_name=nope"), 200, { handlers: [] })
    }))

  it.scoped("SSE heartbeat while a run waits (90), its interval on the TestClock", () =>
    Effect.gen(function*() {
      // built on this fiber: the server's heartbeats sleep on the TestClock
      const base = yield* serve(served, { heartbeat: "200 millis" })
      const id: string = (yield* Effect.promise(() => post(base, "/workflows/hitl/run-nowait", {}))).body.handler_id
      // once the run waits, nothing comes after `now`
      yield* Effect.promise(() =>
        readUntil(base, `/events/${id}?after_sequence=-1&include_internal=true`, (text) => text.includes("WorkflowIdleEvent"))
      )
      const response = yield* Effect.promise(() => fetch(`${base}/events/${id}`))
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toBe(sseContentType)
      const reader = response.body!.getReader()
      yield* Effect.addFinalizer(() => Effect.promise(() => reader.cancel()))
      const decoder = new TextDecoder()
      const beat = Effect.gen(function*() {
        // the stream's next heartbeat is due in 200 ms of TestClock time once its sleep is set
        const due = (yield* TestClock.currentTimeMillis) + 200
        yield* TestClock.sleeps().pipe(
          Effect.zipLeft(Effect.yieldNow()),
          Effect.repeat({ until: (sleeps) => Chunk.toReadonlyArray(sleeps).includes(due) })
        )
        yield* TestClock.adjust("200 millis")
        let text = ""
        while (text === "") {
          const chunk = yield* Effect.promise(() => reader.read())
          if (chunk.value !== undefined) text += decoder.decode(chunk.value)
        }
        return text
      })
      expect(yield* beat).toBe(": heartbeat\n\n")
      expect(yield* beat).toBe(": heartbeat\n\n")
    }))

  it.live("schema, representation and event classes of a workflow (91–98)", () =>
    withServer(async (base) => {
      const greetStart = {
        properties: { name: { default: "world", title: "Name", type: "string" } },
        title: "GreetStart",
        type: "object"
      }
      // 91. Difference kept: our StopEvent declares its `result` field (the original's is private,
      // `properties: {}`) and carries no Python docstring
      const greet = await get(base, "/workflows/greet/schema")
      expect(greet.status).toBe(200)
      expect(greet.body.start).toStrictEqual(greetStart)
      expect(greet.body.stop).toMatchObject({ title: "StopEvent", type: "object" })
      expect(greet.body.stop.required).toBeUndefined()
      // 92. Difference kept: Schema.Number is a JSON "number" (pydantic's int is "integer")
      expectJson(await get(base, "/workflows/typed/schema"), 200, {
        start: greetStart,
        stop: {
          properties: {
            greeting: { title: "Greeting", type: "string" },
            length: { title: "Length", type: "number" }
          },
          required: ["greeting", "length"],
          title: "GreetingResult",
          type: "object"
        }
      })
      // 93: the same nodes and edges; node order and descriptions may differ
      const representation = await get(base, "/workflows/greet/representation")
      expect(representation.status).toBe(200)
      const graph = representation.body.graph
      expect(graph.name).toBe("GreetWorkflow")
      const byId = new Map<string, any>(graph.nodes.map((node: any) => [node.id, node]))
      expect([...byId.keys()].sort()).toStrictEqual(["GreetStart", "Middle", "StopEvent", "first", "second"])
      expect(byId.get("first")).toStrictEqual({ id: "first", label: "first", node_type: "step", description: null })
      expect(byId.get("second")).toStrictEqual({ id: "second", label: "second", node_type: "step", description: null })
      expect(byId.get("GreetStart")).toStrictEqual({
        id: "GreetStart",
        label: "GreetStart",
        node_type: "event",
        event_type: "GreetStart",
        event_types: ["GreetStart", "StartEvent"],
        event_schema: greetStart,
        produced_by: []
      })
      expect(byId.get("Middle")).toStrictEqual({
        id: "Middle",
        label: "Middle",
        node_type: "event",
        event_type: "Middle",
        event_types: ["Middle"],
        event_schema: {
          properties: { name: { title: "Name", type: "string" } },
          required: ["name"],
          title: "Middle",
          type: "object"
        },
        produced_by: ["first"]
      })
      expect(byId.get("StopEvent")).toMatchObject({
        node_type: "event",
        event_type: "StopEvent",
        event_types: ["StopEvent"],
        event_schema: { title: "StopEvent", type: "object" },
        produced_by: ["second"]
      })
      const edge = (edge: { readonly source: string; readonly target: string }) => `${edge.source} -> ${edge.target}`
      expect(graph.edges.map(edge).sort()).toStrictEqual(
        ["first -> Middle", "GreetStart -> first", "second -> StopEvent", "Middle -> second"].sort()
      )
      expect(graph.edges.every((e: { readonly label: unknown }) => e.label === null)).toBe(true)
      // 94, 95: the classes a client may send or see, the waiter's additional one included
      const titles = (reply: Reply) => {
        expect(reply.status).toBe(200)
        return reply.body.events.map((schema: { readonly title: string }) => schema.title).sort()
      }
      const hitlEvents = await get(base, "/workflows/hitl/events")
      expect(titles(hitlEvents)).toStrictEqual(["HumanResponseEvent", "InputRequiredEvent", "StartEvent", "StopEvent"])
      const human = hitlEvents.body.events.find((schema: { readonly title: string }) => schema.title === "HumanResponseEvent")
      expect(human).toMatchObject({ properties: { response: { title: "Response", type: "string" } }, type: "object" })
      expect(titles(await get(base, "/workflows/waiter/events"))).toStrictEqual(
        ["HumanResponseEvent", "InputRequiredEvent", "StartEvent", "StopEvent"]
      )
      expect(titles(await get(base, "/workflows/greet/events"))).toContain("Progress")
      // 96, 97, 98
      expectDetail(await get(base, "/workflows/nope/schema"), 404, "Workflow not found")
      expectDetail(await get(base, "/workflows/nope/representation"), 404, "Workflow not found")
      expectDetail(await get(base, "/workflows/nope/events"), 404, "Workflow 'nope' not found")
    }))

  it.live("outside the routes: debugger page, 404, 405, CORS (A0–A4)", () =>
    withServer(async (base) => {
      // A0. Difference kept: the debugger's script and styles come from the installed package,
      // not from jsDelivr
      const page = await get(base, "/")
      expect(page.status).toBe(200)
      expect(page.headers.get("content-type")).toMatch(/^text\/html/)
      expect(page.text).toContain("<title>workflow-debugger</title>")
      expect(page.text).toContain("<div id=\"root\"></div>")
      expect(page.text).toContain("src=\"/debugger/app.js\"")
      const script = await get(base, "/debugger/app.js")
      expect(script.status).toBe(200)
      expect(script.headers.get("content-type")).toMatch(/javascript/)
      expect(script.text.length).toBeGreaterThan(1000)
      // A1
      expectDetail(await get(base, "/nope/nothing"), 404, "Not Found")
      expectDetail(await post(base, "/nope", {}), 404, "Not Found")
      // A2: a route that exists with another method
      expectDetail(await call(base, "DELETE", "/handlers/x"), 405, "Method Not Allowed")
      expectDetail(await get(base, "/workflows/greet/run"), 405, "Method Not Allowed")
      expectDetail(await call(base, "PUT", "/health"), 405, "Method Not Allowed")
      // A3. Difference kept: the preflight answers 204 without a body (the original: 200 `OK`)
      const preflight = await call(base, "OPTIONS", "/workflows/greet/run", {
        headers: {
          Origin: "http://example.test",
          "Access-Control-Request-Method": "POST",
          "Access-Control-Request-Headers": "content-type"
        }
      })
      expect(preflight.status).toBe(204)
      expect(preflight.text).toBe("")
      expect(preflight.headers.get("access-control-allow-origin")).toBe("http://example.test")
      expect(preflight.headers.get("access-control-allow-credentials")).toBe("true")
      expect(preflight.headers.get("access-control-max-age")).toBe("600")
      expect(preflight.headers.get("access-control-allow-headers")).toBe("content-type")
      expect(preflight.headers.get("access-control-allow-methods")?.split(", ")).toEqual(
        expect.arrayContaining(["DELETE", "GET", "OPTIONS", "POST"])
      )
      // A4
      const simple = await get(base, "/health", { Origin: "http://example.test" })
      expectJson(simple, 200, { status: "healthy" })
      expect(simple.headers.get("access-control-allow-origin")).toBe("http://example.test")
      expect(simple.headers.get("access-control-allow-credentials")).toBe("true")
      // errors carry the CORS headers too (a browser could not read them otherwise)
      const missing = await get(base, "/handlers/nope", { Origin: "http://example.test" })
      expectDetail(missing, 404, "Handler not found")
      expect(missing.headers.get("access-control-allow-origin")).toBe("http://example.test")
      const unknown = await get(base, "/nope", { Origin: "http://example.test" })
      expectDetail(unknown, 404, "Not Found")
      expect(unknown.headers.get("access-control-allow-origin")).toBe("http://example.test")
    }))
})

describe("unexpected failures", () => {
  it.live("a failure the routes do not expect: 500 with a detail", () =>
    withServer(async (base) => {
      expectDetail(await get(base, "/handlers"), 500, "Internal server error: database is locked")
      // the rest still works
      expectJson(await get(base, "/health"), 200, { status: "healthy" })
    }, { store: storeFailingToList }).pipe(Logger.withMinimumLogLevel(LogLevel.None)))
})

// -------------------------------------------------------------------------------------------------
// bad input: always a 4xx with a `detail`, never a 500
// -------------------------------------------------------------------------------------------------

/** A POST whose body goes out with `transfer-encoding: chunked` (no content-length). */
const postChunked = (base: string, path: string, chunks: ReadonlyArray<string>) =>
  new Promise<{ readonly status: number; readonly headers: http.IncomingHttpHeaders; readonly text: string }>(
    (resolve, reject) => {
      const request = http.request(new URL(path, base), {
        method: "POST",
        headers: { "content-type": "application/json", "transfer-encoding": "chunked" }
      }, (response) => {
        let text = ""
        response.setEncoding("utf8")
        response.on("data", (chunk: string) => text += chunk)
        response.on("end", () => resolve({ status: response.statusCode!, headers: response.headers, text }))
        response.on("error", reject)
      })
      request.on("error", reject)
      for (const chunk of chunks) request.write(chunk)
      request.end()
    }
  )

describe("bad input", () => {
  it.live("malformed bodies, unknown names, invalid events: 4xx with a detail", () =>
    withServer(async (base) => {
      const invalidJson = /^Invalid JSON body: .+/
      for (const body of ["{bad", "{\"start_event\": {\"name\": \"x\"}", "nul", "\"unterminated", "{}{}"]) {
        const reply = await post(base, "/workflows/greet/run-nowait", body)
        expect(reply.status).toBe(400)
        expect(reply.body.detail).toMatch(invalidJson)
      }
      // JSON that is not an object
      for (const body of ["[1, 2]", "[]", "null", "42", "\"text\"", "true"]) {
        expectDetail(
          await post(base, "/workflows/greet/run-nowait", body),
          400,
          "Error processing request body: expected a JSON object"
        )
      }
      // fields of the wrong kind
      expectDetail(
        await post(base, "/workflows/greet/run", { handler_id: 7 }),
        400,
        "Error processing request body: handler_id must be a string"
      )
      expectDetail(
        await post(base, "/workflows/greet/run", { start_event: "not json" }),
        400,
        "Validation error for 'start_event': Failed to deserialize event. Must be a json object, or stringified json object"
      )
      expectDetail(
        await post(base, "/workflows/greet/run", { start_event: [1] }),
        400,
        "Validation error for 'start_event': Failed to deserialize event. Must be a json object, or stringified json object"
      )
      expectDetail(
        await post(base, "/workflows/greet/run", { start_event: { type: "GreetStart", value: "x" } }),
        400,
        "Validation error for 'start_event': Failed to deserialize event: 1 validation error for GreetStart\n" +
          "  Expected an object"
      )
      // unknown workflow, whatever the body
      expectDetail(await post(base, "/workflows/nope/run-nowait", "{bad"), 404, "Workflow not found")
      expectDetail(await post(base, "/workflows/nope/run", { start_event: { name: "x" } }), 404, "Workflow not found")

      // a waiting run to send events to
      const id: string = (await post(base, "/workflows/hitl/run-nowait", {})).body.handler_id
      for (const body of ["{bad", "{\"event\": {\"type\": ", "nul"]) {
        const reply = await post(base, `/events/${id}`, body)
        expect(reply.status).toBe(400)
        expect(reply.body.detail).toMatch(/^Error processing request: .+/)
      }
      for (const body of ["[1, 2]", "null", "42", "{\"event\": null}", "{\"event\": \"\"}", "{\"event\": {}}"]) {
        expectDetail(await post(base, `/events/${id}`, body), 400, "Event data is required")
      }
      expectDetail(
        await post(base, `/events/${id}`, { event: "not json" }),
        400,
        "Failed to deserialize event. Must be a json object, or stringified json object"
      )
      expectDetail(
        await post(base, `/events/${id}`, { event: { value: { response: "x" } } }),
        400,
        "Invalid client data. Must have a type or a qualified name"
      )
      // an event failing its Schema
      expectDetail(
        await post(base, `/events/${id}`, { event: { type: "HumanResponseEvent", value: { response: 5 } } }),
        400,
        "Failed to deserialize event: 1 validation error for HumanResponseEvent\nresponse\n  Expected string, actual 5"
      )
      expectDetail(
        await post(base, `/events/${id}`, { event: { type: "HumanResponseEvent", value: {} } }),
        400,
        "Failed to deserialize event: 1 validation error for HumanResponseEvent\nresponse\n  is missing"
      )
      // the runtime's own events cannot be sent in
      expectDetail(
        await post(base, `/events/${id}`, { event: { type: "WorkflowCancelledEvent", value: {} } }),
        400,
        `Invalid event type: WorkflowCancelledEvent. Expected one of ${hitlInbound}`
      )
      // nor a step failure (it goes to a `Step.catchError` handler, and is never published)
      expectDetail(
        await post(base, `/events/${id}`, {
          event: {
            type: "StepFailedEvent",
            value: { stepName: "ask", inputEvent: { _tag: "StartEvent" }, error: "x", attempts: 1, elapsedSeconds: 0, failedAt: 0 }
          }
        }),
        400,
        `Invalid event type: StepFailedEvent. Expected one of ${hitlInbound}`
      )
      // a qualified name naming a module path is only looked up in the registry: never imported
      for (const name of ["os.path", "node:child_process.exec", "../../../etc/passwd", "fs.readFileSync", "__proto__"]) {
        expectDetail(
          await post(base, `/events/${id}`, { event: { qualified_name: name, value: {} } }),
          400,
          `Invalid event type: ${name}. Expected one of ${hitlInbound}`
        )
      }
      expectDetail(
        await post(base, `/events/${id}`, { event: { type: "HumanResponseEvent", value: { response: "x" } }, step: 3 }),
        400,
        "Error processing request: step must be a string"
      )
      // unknown handler
      expectDetail(
        await post(base, "/events/nope", { event: { type: "HumanResponseEvent", value: { response: "x" } } }),
        404,
        "Handler not found"
      )
      // none of it reached the run, which still answers
      expectJson(
        await post(base, `/events/${id}`, { event: { qualified_name: "workflows.events.HumanResponseEvent", value: { response: "q" } } }),
        200,
        { status: "sent" }
      )
      expect((await settled(base, id)).body.result).toStrictEqual(stopEvent("hello q"))
      // a path segment that is not valid percent-encoding
      const badPath = await get(base, "/handlers/%E0%A4%A")
      expect(badPath.status).toBeGreaterThanOrEqual(400)
      expect(badPath.status).toBeLessThan(500)
      // nothing above was a server error
      const list = (await get(base, "/handlers")).body.handlers
      expect(list.map((handler: { readonly workflow_name: string }) => handler.workflow_name)).toStrictEqual(["hitl"])
    }))

  it.live("a body over the limit: 413, declared or chunked", () =>
    withServer(async (base) => {
      const big = JSON.stringify({ start_event: { name: "x".repeat(2000) } })
      const tooLarge = "Request body exceeds 1024 bytes"
      // with content-length
      expectDetail(await post(base, "/workflows/greet/run", big), 413, tooLarge)
      expectDetail(await post(base, "/workflows/greet/run-nowait", big), 413, tooLarge)
      // chunked: no content-length to refuse it by, the limit is counted while reading
      const chunked = await postChunked(base, "/workflows/greet/run", [big.slice(0, 700), big.slice(700, 1400), big.slice(1400)])
      expect(chunked.status).toBe(413)
      expect(chunked.headers["content-type"]).toBe("application/json")
      expect(JSON.parse(chunked.text)).toStrictEqual({ detail: tooLarge })
      // a chunked body under the limit is read whole
      const small = await postChunked(base, "/workflows/greet/run", ["{\"start_event\": ", "{\"name\": \"chunks\"}}"])
      expect(small.status).toBe(200)
      expect(JSON.parse(small.text).result).toStrictEqual(stopEvent("hello chunks"))
      // events too
      const id: string = (await post(base, "/workflows/hitl/run-nowait", {})).body.handler_id
      const bigEvent = JSON.stringify({ event: { type: "HumanResponseEvent", value: { response: "x".repeat(2000) } } })
      expectDetail(await post(base, `/events/${id}`, bigEvent), 413, tooLarge)
      const chunkedEvent = await postChunked(base, `/events/${id}`, [bigEvent.slice(0, 1000), bigEvent.slice(1000)])
      expect(chunkedEvent.status).toBe(413)
      expect(JSON.parse(chunkedEvent.text)).toStrictEqual({ detail: tooLarge })
      // only the two small runs were started
      expect((await get(base, "/handlers")).body.handlers.map((h: { readonly workflow_name: string }) => h.workflow_name))
        .toStrictEqual(["greet", "hitl"])
    }, { maxBodySize: 1024 }))

  it.live("a finished run's events come as one body (with its length); a running run's are streamed", () =>
    withServer(async (base) => {
      const finished = (await post(base, "/workflows/greet/run", { start_event: { name: "ada" } })).body.handler_id
      const whole = await get(base, `/events/${finished}?sse=false&after_sequence=-1`)
      expect(whole.status).toBe(200)
      expect(whole.headers.get("content-type")).toBe("application/x-ndjson")
      expect(whole.headers.get("content-length")).toBe(String(Buffer.byteLength(whole.text)))
      expect(whole.text.trim().split("\n").map((line) => JSON.parse(line).type)).toEqual(["Progress", "StopEvent"])
      const running = (await post(base, "/workflows/hitl/run-nowait", {})).body.handler_id
      const response = await fetch(`${base}/events/${running}?after_sequence=-1`)
      expect([response.status, response.headers.get("content-length"), response.headers.get("transfer-encoding")])
        .toEqual([200, null, "chunked"])
      await response.body?.cancel()
    }))

  it.live("a stream of a quiet run answers its head at once, before any event", () =>
    withServer(async (base) => {
      const id: string = (await post(base, "/workflows/hitl/run-nowait", {})).body.handler_id
      // the run waits for an answer: nothing comes after `now`; without the head sent at once
      // the response would never resolve (the test would time out)
      const controller = new AbortController()
      const response = await fetch(`${base}/events/${id}`, { signal: controller.signal })
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toBe(sseContentType)
      controller.abort()
      await post(base, `/handlers/${id}/cancel`)
    }))

  it.live("the OpenAPI document and its docs page, both from the HttpApi definition", () =>
    withServer(async (base) => {
      const document = await get(base, "/openapi.json")
      expect(document.status).toBe(200)
      expect(document.body.info.title).toBe("Workflows API")
      const operations = Object.entries(document.body.paths as Record<string, Record<string, { summary?: string }>>)
        .flatMap(([route, methods]) => Object.entries(methods).map(([method, operation]) => `${method.toUpperCase()} ${route} ${operation.summary}`))
        .sort()
      expect(operations).toEqual([
        "GET /events/{handler_id} Stream workflow events",
        "GET /handlers Get handlers",
        "GET /handlers/{handler_id} Get workflow handler",
        "GET /health Health check",
        "GET /results/{handler_id} Get workflow result (deprecated)",
        "GET /workflows List workflows",
        "GET /workflows/{name}/events List workflow events",
        "GET /workflows/{name}/representation Get the representation of the workflow",
        "GET /workflows/{name}/schema Get JSON schema for start event",
        "POST /events/{handler_id} Send event to workflow",
        "POST /handlers/{handler_id}/cancel Stop and delete handler",
        "POST /workflows/{name}/run Run workflow (wait)",
        "POST /workflows/{name}/run-nowait Run workflow (no-wait)"
      ])
      // the handler route documents its answers: 200, 202 running, 500 failed, 404 (and the
      // platform's 400 for a path that does not decode)
      expect(Object.keys(document.body.paths["/handlers/{handler_id}"].get.responses).sort()).toEqual(["200", "202", "400", "404", "500"])
      const docs = await fetch(`${base}/docs`)
      expect(docs.status).toBe(200)
      expect(docs.headers.get("content-type")).toContain("text/html")
      const page = await docs.text()
      expect(page).toContain("<title>Workflows API</title>")
      // the page's script is inline, not from a CDN
      expect(page).not.toMatch(/<script[^>]+src="https?:/)
    }))
})
