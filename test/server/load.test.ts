/**
 * 1,000 concurrent runs through HTTP: each one started with `run-nowait` and its whole event
 * stream read over SSE from the start. Every stream must end with its stop event and carry each
 * of its run's events exactly once, in sequence order; every handler must end `completed`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as http from "node:http"
import { serve, workflows } from "./fixtures.js"

const runs = 1000

interface Reply {
  readonly status: number
  readonly contentType: string | undefined
  readonly text: string
}

/** One request on the shared keep-alive agent; the body read to its end. */
const send = (agent: http.Agent, base: string, method: string, path: string, body?: unknown) =>
  new Promise<Reply>((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    const request = http.request(new URL(path, base), {
      agent,
      method,
      headers: payload === undefined
        ? {}
        : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }
    }, (response) => {
      let text = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => text += chunk)
      response.on("end", () => resolve({ status: response.statusCode!, contentType: response.headers["content-type"], text }))
      response.on("error", reject)
    })
    request.on("error", reject)
    request.end(payload)
  })

/** The frames of an SSE body (`id: N`, `data: <JSON>`), nothing else allowed. */
const frames = (text: string): Array<{ readonly id: number; readonly data: any }> => {
  if (!text.endsWith("\n\n")) throw new Error(`unterminated SSE body: ${JSON.stringify(text.slice(-200))}`)
  return text.slice(0, -2).split("\n\n").map((block) => {
    const match = /^id: (\d+)\ndata: (.+)$/.exec(block)
    if (match === null) throw new Error(`not an SSE event frame: ${JSON.stringify(block)}`)
    return { id: Number(match[1]), data: JSON.parse(match[2]!) }
  })
}

/** What each greet run publishes, by sequence (its internal events included). */
const expectedTypes = [
  "StepStateChanged",
  "Progress",
  "StepStateChanged",
  "StepStateChanged",
  "StepStateChanged",
  "StopEvent"
]

describe("load", () => {
  it.live(`${runs} concurrent runs with their SSE streams`, () =>
    Effect.scoped(Effect.gen(function*() {
      const base = yield* serve({ greet: workflows.greet })
      const agent = new http.Agent({ keepAlive: true, maxSockets: 128 })
      yield* Effect.addFinalizer(() => Effect.sync(() => agent.destroy()))

      const outcomes = yield* Effect.promise(() =>
        Promise.all(Array.from({ length: runs }, async (_, i) => {
          const name = `run-${i}`
          const started = await send(agent, base, "POST", "/workflows/greet/run-nowait", { start_event: { name } })
          expect(started.status).toBe(200)
          const handler = JSON.parse(started.text)
          expect(handler.status).toBe("running")
          const stream = await send(agent, base, "GET", `/events/${handler.handler_id}?after_sequence=-1&include_internal=true`)
          return { name, handlerId: handler.handler_id as string, runId: handler.run_id as string, stream }
        }))
      )

      const handlerIds = new Set(outcomes.map((outcome) => outcome.handlerId))
      expect(handlerIds.size).toBe(runs)
      for (const { name, stream } of outcomes) {
        expect(stream.status).toBe(200)
        expect(stream.contentType).toBe("text/event-stream; charset=utf-8")
        const received = frames(stream.text)
        // each event once, in sequence order, none missing, and only this run's
        expect(received.map((frame) => frame.id)).toStrictEqual([0, 1, 2, 3, 4, 5])
        expect(received.map((frame) => frame.data.type)).toStrictEqual(expectedTypes)
        expect(received[1]!.data.value).toStrictEqual({ message: `greeting ${name}` })
        // the stream ends with the stop event
        expect(received[5]!.data).toStrictEqual({
          value: { result: `hello ${name}` },
          qualified_name: "workflows.events.StopEvent",
          type: "StopEvent",
          types: null
        })
      }

      const completed = yield* Effect.promise(() => send(agent, base, "GET", "/handlers?status=completed"))
      expect(completed.status).toBe(200)
      const handlers: Array<{ readonly handler_id: string; readonly run_id: string; readonly result: unknown }> =
        JSON.parse(completed.text).handlers
      expect(handlers.length).toBe(runs)
      expect(new Set(handlers.map((handler) => handler.handler_id))).toStrictEqual(handlerIds)
      const byId = new Map(handlers.map((handler) => [handler.handler_id, handler]))
      for (const { handlerId, name, runId } of outcomes) {
        const handler = byId.get(handlerId)!
        expect(handler.run_id).toBe(runId)
        expect(handler.result).toStrictEqual({
          value: { result: `hello ${name}` },
          qualified_name: "workflows.events.StopEvent",
          type: "StopEvent",
          types: null
        })
      }
      const running = yield* Effect.promise(() => send(agent, base, "GET", "/handlers?status=running"))
      expect(JSON.parse(running.text)).toStrictEqual({ handlers: [] })
    })), 120_000)
})
