/**
 * `WorkflowClient` against a real `WorkflowServer` on loopback (real sockets, real clock).
 */
import { FetchHttpClient } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { assert, describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Exit, Layer, Schedule, Stream } from "effect"
import { Event } from "effect-workflows"
import { WorkflowClient } from "effect-workflows/client"
import { WorkflowApi } from "effect-workflows/server"
import * as http from "node:http"
import type * as net from "node:net"
import { GreetingResult, GreetStart, Progress, serve, slow, Tick, workflows } from "../server/fixtures.js"

// -------------------------------------------------------------------------------------------------
// helpers
// -------------------------------------------------------------------------------------------------

/** The recordings' workflows, plus a short slow one (3 ticks a second apart). */
const served = { ...workflows, slow3: slow(3) }

/** A served server and a client of it (fetch). */
const setup = Effect.gen(function*() {
  const baseUrl = yield* serve(served)
  const client = yield* WorkflowClient.make({ baseUrl }).pipe(Effect.provide(FetchHttpClient.layer))
  return { baseUrl, client }
})

const clientOf = (baseUrl: string) => WorkflowClient.make({ baseUrl }).pipe(Effect.provide(FetchHttpClient.layer))

const collect = <A, E, R>(stream: Stream.Stream<A, E, R>) => Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

const isIncreasing = (sequences: ReadonlyArray<number>) => sequences.every((n, i) => i === 0 || n > sequences[i - 1]!)

interface ProxyRequest {
  readonly url: string
  readonly lastEventId: string | undefined
}

/**
 * A reverse proxy on loopback in front of `target` that misbehaves on `GET /events/...`:
 * - `"cut-first"`: the first event stream is cut (socket destroyed) right after its first event;
 * - `"end-empty"`: every event stream ends cleanly right after its headers, with no event.
 * Everything else is passed through. `requests` records the event stream requests.
 */
const proxy = (target: string, mode: "cut-first" | "end-empty") =>
  Effect.acquireRelease(
    Effect.async<{ readonly url: string; readonly requests: Array<ProxyRequest>; readonly server: http.Server }>(
      (resume) => {
        const requests: Array<ProxyRequest> = []
        let cut = false
        const server = http.createServer((req, res) => {
          const url = req.url ?? "/"
          const isStream = req.method === "GET" && url.startsWith("/events/")
          if (isStream) {
            const lastEventId = req.headers["last-event-id"]
            requests.push({ url, lastEventId: Array.isArray(lastEventId) ? lastEventId[0] : lastEventId })
          }
          const upstream = http.request(`${target}${url}`, { method: req.method, headers: req.headers }, (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers)
            if (isStream && up.statusCode === 200 && mode === "end-empty") {
              up.destroy()
              res.end()
              return
            }
            const cutThis = isStream && up.statusCode === 200 && mode === "cut-first" && !cut
            if (cutThis) cut = true
            let pending = ""
            let done = false
            up.on("data", (chunk: Buffer) => {
              if (done) return
              if (!cutThis) {
                res.write(chunk)
                return
              }
              pending += chunk.toString("utf8")
              const end = pending.indexOf("\n\n")
              if (end >= 0) {
                done = true
                up.destroy()
                // the first event reaches the client, then the connection dies mid-stream
                res.write(pending.slice(0, end + 2), () => res.socket?.destroy())
              }
            })
            up.on("end", () => res.end())
            up.on("error", () => res.destroy())
          })
          upstream.on("error", () => res.destroy())
          req.pipe(upstream)
        })
        const sockets = new Set<net.Socket>()
        server.on("connection", (socket) => {
          sockets.add(socket)
          socket.on("close", () => sockets.delete(socket))
        })
        server.listen(0, "127.0.0.1", () => {
          const address = server.address() as net.AddressInfo
          resume(Effect.succeed({ url: `http://127.0.0.1:${address.port}`, requests, server }))
        })
      }
    ),
    ({ server }) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

// -------------------------------------------------------------------------------------------------
// JSON routes
// -------------------------------------------------------------------------------------------------

describe("WorkflowClient", () => {
  it.live("health and listWorkflows", () =>
    Effect.scoped(Effect.gen(function*() {
      const { client } = yield* setup
      expect(yield* client.health).toEqual({ status: "healthy" })
      expect(yield* client.listWorkflows).toEqual(["greet", "typed", "hitl", "waiter", "fails", "slow", "slow3"])
    })))

  it.live("layer builds the service over any HttpClient (undici)", () =>
    Effect.scoped(Effect.gen(function*() {
      const baseUrl = yield* serve(served)
      const names = yield* Effect.flatMap(WorkflowClient.WorkflowClient, (client) => client.listWorkflows).pipe(
        Effect.provide(WorkflowClient.layer({ baseUrl }).pipe(Layer.provide(NodeHttpClient.layerUndici)))
      )
      expect(names).toContain("greet")
    })))

  it.live("run: fields, kwargs, envelopes and typed start events", () =>
    Effect.scoped(Effect.gen(function*() {
      const { client } = yield* setup
      const byFields = yield* client.run("greet", { startEvent: { name: "Ada" } })
      expect(byFields).toBeInstanceOf(WorkflowApi.HandlerData)
      expect(byFields.status).toBe("completed")
      expect(byFields.workflow_name).toBe("greet")
      expect(byFields.result).toEqual({
        value: { result: "hello Ada" },
        qualified_name: "workflows.events.StopEvent",
        type: "StopEvent",
        types: null
      })
      const byKwargs = yield* client.run("greet", { kwargs: { name: "Bob" } })
      expect(byKwargs.result).toMatchObject({ value: { result: "hello Bob" } })
      const byEnvelope = yield* client.run("greet", { startEvent: { type: "GreetStart", value: { name: "Cy" } } })
      expect(byEnvelope.result).toMatchObject({ value: { result: "hello Cy" } })
      const defaults = yield* client.run("greet")
      expect(defaults.result).toMatchObject({ value: { result: "hello world" } })

      const typed = yield* client.run(served.typed, "typed", new GreetStart({ name: "Dee" }))
      expect(typed.result).toEqual({
        value: { greeting: "hello Dee", length: 9 },
        qualified_name: "TypedWorkflow.GreetingResult",
        type: "GreetingResult",
        types: ["StopEvent"]
      })
      const decoded = WorkflowClient.decodeEnvelope(served.typed, typed.result as WorkflowApi.EventEnvelope)
      expect(decoded).toEqual(Either.right(new GreetingResult({ greeting: "hello Dee", length: 9 })))
    })))

  it.live("run: typed errors (FailedHandler, NotFound, BadRequest, Conflict)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { client } = yield* setup
      const failed = yield* Effect.flip(client.run("fails"))
      assert(failed instanceof WorkflowApi.FailedHandler)
      expect(failed.status).toBe("failed")
      expect(failed.error).toBe("boom")

      const notFound = yield* Effect.flip(client.run("nope"))
      expect(notFound).toEqual(new WorkflowApi.NotFound({ detail: "Workflow not found" }))

      const badStart = yield* Effect.flip(client.run("greet", { startEvent: { type: "Nope", value: {} } }))
      assert(badStart instanceof WorkflowApi.BadRequest)
      expect(badStart.detail).toMatch(/^Validation error for 'start_event': Invalid event type: Nope\. Expected one of/)

      const running = yield* client.runNowait("slow3", { handlerId: "busy-handler" })
      expect(running.handler_id).toBe("busy-handler")
      const conflict = yield* Effect.flip(client.runNowait("slow3", { handlerId: "busy-handler" }))
      expect(conflict).toEqual(new WorkflowApi.Conflict({ detail: "Handler 'busy-handler' is already running" }))
      expect(yield* client.cancel("busy-handler")).toBe("cancelled")
    })))

  it.live("schema, representation and workflowEvents (NotFound for an unknown workflow)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { client } = yield* setup
      const schema = yield* client.schema("greet")
      expect(schema.start).toMatchObject({ title: "GreetStart", type: "object" })
      expect(schema.stop).toMatchObject({ title: "StopEvent", type: "object" })
      const graph = yield* client.representation("greet")
      expect(graph).toMatchObject({ name: expect.any(String), nodes: expect.any(Array), edges: expect.any(Array) })
      const nodes = (graph as { readonly nodes: ReadonlyArray<{ readonly id: string }> }).nodes
      expect(nodes.map((node) => node.id)).toEqual(expect.arrayContaining(["first", "second", "GreetStart", "Middle"]))
      const events = yield* client.workflowEvents("greet")
      expect(events.map((schema) => (schema as { title: string }).title)).toContain("Progress")

      expect(yield* Effect.flip(client.schema("nope"))).toBeInstanceOf(WorkflowApi.NotFound)
      expect(yield* Effect.flip(client.representation("nope"))).toBeInstanceOf(WorkflowApi.NotFound)
      expect(yield* Effect.flip(client.workflowEvents("nope"))).toEqual(
        new WorkflowApi.NotFound({ detail: "Workflow 'nope' not found" })
      )
    })))

  it.live("handlers, handler, result and cancel (with purge)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { client } = yield* setup
      const done = yield* client.run("greet", { startEvent: { name: "Ada" } })
      yield* Effect.flip(client.run("fails"))
      const waiting = yield* client.runNowait("hitl")
      expect(waiting.status).toBe("running")
      expect(waiting.handler_id).toHaveLength(10)

      const all = yield* client.handlers()
      expect(all.map((handler) => handler.handler_id)).toEqual(
        expect.arrayContaining([done.handler_id, waiting.handler_id])
      )
      expect(all).toHaveLength(3)
      const completed = yield* client.handlers({ status: ["completed"] })
      expect(completed.map((handler) => handler.handler_id)).toEqual([done.handler_id])
      const failedOrRunning = yield* client.handlers({ status: ["failed", "running"] })
      expect(failedOrRunning).toHaveLength(2)
      const greets = yield* client.handlers({ workflowName: ["greet"] })
      expect(greets.map((handler) => handler.handler_id)).toEqual([done.handler_id])
      expect(yield* client.handlers({ workflowName: ["greet"], status: ["running"] })).toEqual([])

      const one = yield* client.handler(done.handler_id)
      expect(one).toBeInstanceOf(WorkflowApi.HandlerData)
      expect(one.result).toMatchObject({ type: "StopEvent", value: { result: "hello Ada" } })
      const bare = yield* client.result(done.handler_id)
      expect(bare.result).toBe("hello Ada")

      const stillRunning = yield* client.handler(waiting.handler_id)
      expect(stillRunning).toBeInstanceOf(WorkflowApi.RunningHandler)
      expect(stillRunning.status).toBe("running")

      expect(yield* Effect.flip(client.handler("unknown-id"))).toEqual(new WorkflowApi.NotFound({ detail: "Handler not found" }))
      expect(yield* Effect.flip(client.result("unknown-id"))).toBeInstanceOf(WorkflowApi.NotFound)

      expect(yield* client.cancel(waiting.handler_id)).toBe("cancelled")
      const cancelled = yield* Effect.flip(client.handler(waiting.handler_id))
      assert(cancelled instanceof WorkflowApi.FailedHandler)
      expect(cancelled.status).toBe("cancelled")
      // a finished handler: only purge removes it
      expect(yield* Effect.flip(client.cancel(done.handler_id))).toEqual(
        new WorkflowApi.Conflict({ detail: `Handler '${done.handler_id}' is already completed` })
      )
      expect(yield* client.cancel(done.handler_id, { purge: true })).toBe("deleted")
      expect(yield* Effect.flip(client.handler(done.handler_id))).toBeInstanceOf(WorkflowApi.NotFound)
      expect(yield* Effect.flip(client.cancel("unknown-id", { purge: true }))).toBeInstanceOf(WorkflowApi.NotFound)
    })))

  it.live("sendEvent: typed errors (BadRequest, NotFound, Conflict)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { client } = yield* setup
      const waiting = yield* client.runNowait("hitl")
      const badType = yield* Effect.flip(client.sendEvent(waiting.handler_id, { type: "Nope", value: {} }))
      assert(badType instanceof WorkflowApi.BadRequest)
      expect(badType.detail).toMatch(/^Invalid event type: Nope\. Expected one of /)
      const badValue = yield* Effect.flip(
        client.sendEvent(waiting.handler_id, { type: "HumanResponseEvent", value: { response: 42 } })
      )
      assert(badValue instanceof WorkflowApi.BadRequest)
      expect(badValue.detail).toMatch(/^Failed to deserialize event: /)
      // an event instance the workflow does not know is encoded as is, and refused by the server
      const unknownClass = yield* Effect.flip(client.sendEvent(served.hitl, waiting.handler_id, new Tick({ n: 1 })))
      assert(unknownClass instanceof WorkflowApi.BadRequest)
      expect(unknownClass.detail).toMatch(/^Invalid event type: Tick\./)

      expect(yield* Effect.flip(client.sendEvent("unknown-id", { type: "HumanResponseEvent", value: { response: "x" } })))
        .toEqual(new WorkflowApi.NotFound({ detail: "Handler not found" }))

      const done = yield* client.run("greet")
      expect(yield* Effect.flip(client.sendEvent(done.handler_id, { type: "HumanResponseEvent", value: { response: "x" } })))
        .toEqual(new WorkflowApi.Conflict({ detail: "Workflow already completed" }))
      yield* client.cancel(waiting.handler_id)
    })))

  // -----------------------------------------------------------------------------------------------
  // event streams
  // -----------------------------------------------------------------------------------------------

  it.live("events: envelopes with their sequence, ending after the terminal event", () =>
    Effect.scoped(Effect.gen(function*() {
      const { client } = yield* setup
      const done = yield* client.run("greet", { startEvent: { name: "Ada" } })
      const events = yield* collect(client.events(done.handler_id))
      expect(events.map((event) => event.type)).toEqual(["Progress", "StopEvent"])
      expect(events[0]).toMatchObject({
        type: "Progress",
        value: { message: "greeting Ada" },
        qualified_name: "GreetWorkflow.Progress",
        types: null
      })
      expect(isIncreasing(events.map((event) => event.sequence))).toBe(true)
      expect(WorkflowClient.isTerminal(events[1]!)).toBe(true)

      // internal events too: the sequences fill the gaps
      const all = yield* collect(client.events(done.handler_id, { includeInternal: true }))
      expect(all.map((event) => event.type)).toContain("StepStateChanged")
      expect(all.map((event) => event.sequence)).toEqual(all.map((_, i) => all[0]!.sequence + i))
      expect(all.filter((event) => event.type === "Progress" || event.type === "StopEvent")).toEqual(events)
      expect(all.at(-1)?.type).toBe("StopEvent")

      // from a cursor, without qualified names
      const after = yield* collect(
        client.events(done.handler_id, { afterSequence: events[0]!.sequence, includeQualifiedName: false })
      )
      expect(after).toEqual([{ ...events[1]!, qualified_name: null }])

      // 204: the run has ended and nothing is left after the cursor
      expect(yield* collect(client.events(done.handler_id, { afterSequence: "now" }))).toEqual([])
      expect(yield* collect(client.events(done.handler_id, { afterSequence: events[1]!.sequence }))).toEqual([])
    })))

  it.live("events: typed errors (NotFound, BadRequest)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { client } = yield* setup
      expect(yield* Effect.flip(collect(client.events("unknown-id")))).toEqual(
        new WorkflowApi.NotFound({ detail: "Handler not found" })
      )
      const done = yield* client.run("greet")
      expect(yield* Effect.flip(collect(client.events(done.handler_id, { afterSequence: -5 })))).toEqual(
        new WorkflowApi.BadRequest({ detail: "Invalid after_sequence: '-5'" })
      )
    })))

  it.live("events of a live run: streamed as they come, until the stop event", () =>
    Effect.scoped(Effect.gen(function*() {
      const { client } = yield* setup
      const started = yield* client.runNowait("slow3")
      const events = yield* collect(client.events(started.handler_id))
      expect(events.map((event) => [event.type, event.value])).toEqual([
        ["Tick", { n: 0 }],
        ["Tick", { n: 1 }],
        ["Tick", { n: 2 }],
        ["StopEvent", { result: "slept" }]
      ])
      expect(isIncreasing(events.map((event) => event.sequence))).toBe(true)
    })))

  it.live("eventsOf: the events of greet as instances of its classes", () =>
    Effect.scoped(Effect.gen(function*() {
      const { client } = yield* setup
      const done = yield* client.run(served.greet, "greet", new GreetStart({ name: "Ada" }))
      const events = yield* collect(client.eventsOf(served.greet, done.handler_id))
      expect(events).toEqual([
        new Progress({ message: "greeting Ada" }),
        new Event.StopEvent({ result: "hello Ada" })
      ])
      expect(events[0]).toBeInstanceOf(Progress)
      expect(events[1]).toBeInstanceOf(Event.StopEvent)

      // lifecycle events decode too
      const all = yield* collect(client.eventsOf(served.greet, done.handler_id, { includeInternal: true }))
      const steps = all.filter(Event.is(Event.StepStateChanged))
      expect(steps.length).toBeGreaterThan(0)
      expect(steps[0]).toBeInstanceOf(Event.StepStateChanged)
      expect(steps.map((step) => step.name)).toEqual(expect.arrayContaining(["first", "second"]))
      expect(steps.find((step) => step.stepState === "not_running" && step.name === "first")?.outputEventName).toBe(
        "Middle"
      )
      expect(all.filter((event) => !Event.internalTags.has(event._tag))).toEqual(events)
    })))

  it.live("eventsOf: a failed run ends with a WorkflowFailedEvent", () =>
    Effect.scoped(Effect.gen(function*() {
      const { client } = yield* setup
      const failed = yield* Effect.flip(client.run("fails"))
      assert(failed instanceof WorkflowApi.FailedHandler)
      const events = yield* collect(client.eventsOf(served.fails, failed.handler_id))
      expect(events).toHaveLength(1)
      const ending = events[0]!
      assert(Event.is(ending, Event.WorkflowFailedEvent))
      expect(ending.stepName).toBe("explode")
      expect(ending.error).toEqual({ _tag: "ValueError", message: "boom" })
      expect(ending.attempts).toBe(1)
    })))

  it.live("eventsOf: an envelope the workflow cannot decode fails with EventDecodeError", () =>
    Effect.scoped(Effect.gen(function*() {
      const { client } = yield* setup
      const done = yield* client.run("greet")
      // the greet run's events read as those of another workflow, which has no Progress class
      const error = yield* Effect.flip(collect(client.eventsOf(served.hitl, done.handler_id)))
      assert(error._tag === "EventDecodeError")
      expect(error.envelope.type).toBe("Progress")
      expect(typeof error.sequence).toBe("number")
      expect(error.message).toMatch(/^Invalid event type: Progress\./)
    })))

  it.live("human in the loop: hitl answered through the client", () =>
    Effect.scoped(Effect.gen(function*() {
      const { client } = yield* setup
      const started = yield* client.runNowait(served.hitl, "hitl")
      const events = yield* collect(
        client.eventsOf(served.hitl, started.handler_id).pipe(
          Stream.tap((event) =>
            Event.is(event, Event.InputRequiredEvent)
              ? client.sendEvent(served.hitl, started.handler_id, new Event.HumanResponseEvent({ response: "Ada" }), {
                step: "answer"
              })
              : Effect.void
          )
        )
      )
      expect(events).toEqual([
        new Event.InputRequiredEvent({ prefix: "What is your name?" }),
        new Event.StopEvent({ result: "hello Ada" })
      ])
      const handler = yield* client.handler(started.handler_id)
      expect(handler).toBeInstanceOf(WorkflowApi.HandlerData)
      expect(handler.status).toBe("completed")
      expect(handler.result).toMatchObject({ value: { result: "hello Ada" } })
    })))

  it.live("human in the loop: waiter answered with a wire event (a JSON string)", () =>
    Effect.scoped(Effect.gen(function*() {
      const { client } = yield* setup
      const started = yield* client.runNowait("waiter")
      const events = yield* collect(
        client.events(started.handler_id).pipe(
          Stream.tap((event) =>
            event.type === "InputRequiredEvent"
              ? client.sendEvent(
                started.handler_id,
                JSON.stringify({ type: "HumanResponseEvent", value: { response: "Bob" } })
              )
              : Effect.void
          )
        )
      )
      expect(events.map((event) => event.type)).toEqual(["InputRequiredEvent", "StopEvent"])
      expect(events[0]!.value).toEqual({ _data: { prefix: "Your name?" } })
      expect(events[1]!.value).toEqual({ result: "hello Bob" })
    })))

  // -----------------------------------------------------------------------------------------------
  // reconnection
  // -----------------------------------------------------------------------------------------------

  for (
    const [clientName, clientLayer] of [
      ["fetch", FetchHttpClient.layer],
      ["undici", NodeHttpClient.layerUndici]
    ] as const
  ) {
    it.live(`events resume with Last-Event-ID after the connection is cut mid-run (${clientName})`, () =>
      Effect.scoped(Effect.gen(function*() {
        const baseUrl = yield* serve(served)
        const front = yield* proxy(baseUrl, "cut-first")
        // the HttpClient lives as long as the test (undici's dispatcher is scoped)
        const client = yield* WorkflowClient.make({ baseUrl: front.url }).pipe(
          Effect.provide(yield* Layer.build(clientLayer))
        )
        const started = yield* client.runNowait("slow3")
        const events = yield* collect(client.events(started.handler_id))

        // two connections: the second resumed after the one event the first delivered
        expect(front.requests).toHaveLength(2)
        expect(front.requests[0]!.lastEventId).toBeUndefined()
        expect(front.requests[1]!.lastEventId).toBe(String(events[0]!.sequence))

        // every event exactly once, in sequence order, as a direct read of the finished run gives
        expect(events.map((event) => [event.type, event.value])).toEqual([
          ["Tick", { n: 0 }],
          ["Tick", { n: 1 }],
          ["Tick", { n: 2 }],
          ["StopEvent", { result: "slept" }]
        ])
        expect(isIncreasing(events.map((event) => event.sequence))).toBe(true)
        const direct = yield* collect((yield* clientOf(baseUrl)).events(started.handler_id))
        expect(events).toEqual(direct)
      })))
  }

  it.live("eventsOf resumes too, and the typed events come once each", () =>
    Effect.scoped(Effect.gen(function*() {
      const baseUrl = yield* serve(served)
      const front = yield* proxy(baseUrl, "cut-first")
      const client = yield* clientOf(front.url)
      const started = yield* client.runNowait("slow3")
      const events = yield* collect(client.eventsOf(served.slow3, started.handler_id))
      expect(front.requests).toHaveLength(2)
      expect(front.requests[1]!.lastEventId).toBeDefined()
      expect(events).toEqual([
        new Tick({ n: 0 }),
        new Tick({ n: 1 }),
        new Tick({ n: 2 }),
        new Event.StopEvent({ result: "slept" })
      ])
    })))

  it.live("events fail with StreamDisconnected once the retry schedule gives up", () =>
    Effect.scoped(Effect.gen(function*() {
      const baseUrl = yield* serve(served)
      const front = yield* proxy(baseUrl, "end-empty")
      const client = yield* clientOf(front.url)
      const done = yield* client.run("greet")
      const exit = yield* Effect.exit(
        collect(client.events(done.handler_id, { retry: Schedule.recurs(2) }))
      )
      assert(Exit.isFailure(exit))
      const error = yield* Effect.flip(exit)
      assert(error._tag === "StreamDisconnected")
      expect(error.handlerId).toBe(done.handler_id)
      expect(error.lastSequence).toBeUndefined()
      // the first connection and two retries, none with a Last-Event-ID (no event came)
      expect(front.requests).toHaveLength(3)
      expect(front.requests.every((request) => request.lastEventId === undefined)).toBe(true)
    })))
})
