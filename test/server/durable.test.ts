/**
 * A server starting on a durable store resumes the handlers it holds as running; a handler whose
 * run cannot resume (no snapshot, a snapshot of another workflow, a truncated document) ends as
 * failed with a clear error, and the server serves on.
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { Workflow } from "effect-workflows"
import { HandlerStore } from "effect-workflows/server"
import * as SqliteHandlerStore from "effect-workflows/server/SqliteHandlerStore"
import { WorkflowTest } from "effect-workflows/testing"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { greet, hitl, serve } from "./fixtures.js"

const folder = fs.mkdtempSync(path.join(os.tmpdir(), "effect-workflows-durable-"))
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }))

const running = (handlerId: string, workflowName: string, runId: string): HandlerStore.HandlerRecord => ({
  handlerId,
  workflowName,
  runId,
  status: "running",
  startedAt: "2026-01-01T00:00:00.000Z",
  updatedAt: null,
  completedAt: null,
  error: null,
  result: null
})

/** A snapshot of a hitl run waiting for its answer. */
const waitingSnapshot = (runId: string) =>
  Effect.scoped(Effect.gen(function*() {
    const handler = yield* Workflow.start(hitl, undefined, { runId })
    yield* WorkflowTest.untilIdle(handler)
    return yield* handler.snapshot
  }))

describe("a server on a durable store", () => {
  it.live("resumes what it can, ends the rest as failed with a clear error, and serves on", () =>
    Effect.gen(function*() {
      const filename = path.join(folder, "handlers.db")
      const storeLayer = Layer.orDie(SqliteHandlerStore.layer({ filename }))
      // the rows a crashed server left behind
      yield* Effect.gen(function*() {
        const store = yield* HandlerStore.HandlerStore
        const sql = yield* SqlClient.SqlClient
        const waiting = yield* waitingSnapshot("run-ok")
        yield* store.commit({
          // what the handler that never saved a snapshot had published
          events: [{
            runId: "run-none",
            sequence: 0,
            envelope: { type: "InputRequiredEvent", value: { prefix: "name?" }, qualified_name: null, types: null }
          }],
          handlers: [
            running("ok", "hitl", "run-ok"),
            running("none", "hitl", "run-none"),
            running("foreign", "greet", "run-foreign"),
            running("truncated", "hitl", "run-truncated")
          ],
          snapshots: [
            { handlerId: "ok", runId: "run-ok", version: 1, snapshot: waiting },
            // a hitl run's snapshot under a greet handler
            { handlerId: "foreign", runId: "run-foreign", version: 1, snapshot: yield* waitingSnapshot("run-foreign") },
            { handlerId: "truncated", runId: "run-truncated", version: 1, snapshot: yield* waitingSnapshot("run-truncated") }
          ]
        })
        yield* sql`UPDATE wf_snapshots SET snapshot = '{"version":1,"runId":"run-trun' WHERE handler_id = 'truncated'`
      }).pipe(
        Effect.provide(Layer.merge(storeLayer, SqliteClient.layer({ filename }))),
        Effect.scoped
      )

      yield* Effect.scoped(Effect.gen(function*() {
        const base = yield* serve({ greet, hitl }, { store: storeLayer })
        const handlers = yield* Effect.promise(() => fetch(`${base}/handlers`).then((r) => r.json() as Promise<any>))
        const byId = new Map<string, any>(handlers.handlers.map((h: any) => [h.handler_id, h]))
        expect(byId.get("ok")).toMatchObject({ status: "running", run_id: "run-ok", error: null })
        expect(byId.get("none")).toMatchObject({
          status: "failed",
          error: "handler crashed before persisting any state; cannot resume"
        })
        expect(byId.get("foreign").status).toBe("failed")
        expect(byId.get("foreign").error).toMatch(/^cannot resume: .*HitlWorkflow.*GreetWorkflow|^cannot resume: .*GreetWorkflow.*HitlWorkflow/s)
        expect(byId.get("truncated").status).toBe("failed")
        expect(byId.get("truncated").error).toMatch(/^cannot resume: the snapshot of handler truncated is not valid JSON: /)
        // a handler that could not resume has its events read to their end (no terminal event)
        const ended = yield* Effect.promise(() =>
          fetch(`${base}/events/none?after_sequence=-1&sse=false`).then(async (r) => [r.status, await r.text()])
        )
        expect(ended).toEqual([200, `${JSON.stringify({ type: "InputRequiredEvent", value: { prefix: "name?" }, qualified_name: null, types: null })}\n`])
        // the resumed run goes on waiting, without asking again, and takes its answer
        const sent = yield* Effect.promise(() =>
          fetch(`${base}/events/ok`, {
            method: "POST",
            body: JSON.stringify({ event: { type: "HumanResponseEvent", value: { response: "ada" } } })
          }).then((r) => r.json())
        )
        expect(sent).toEqual({ status: "sent" })
        const events = yield* Effect.promise(() =>
          fetch(`${base}/events/ok?after_sequence=-1&sse=false`).then((r) => r.text())
        )
        const types = events.trim().split("\n").map((line) => JSON.parse(line).type)
        expect(types).toEqual(["StopEvent"])
        const done = yield* Effect.promise(() => fetch(`${base}/handlers/ok`).then((r) => r.json() as Promise<any>))
        expect([done.status, done.result.value]).toEqual(["completed", { result: "hello ada" }])
      }))
      // nothing is left running
      const left = yield* Effect.flatMap(HandlerStore.HandlerStore, (store) => store.list({ status: ["running"] })).pipe(
        Effect.provide(storeLayer)
      )
      expect(left).toEqual([])
    }))
})
