/**
 * The `server` shape: runs through HTTP on each handler store (memory, SQLite, PostgreSQL). Ours
 * only (the peer has no server).
 *
 * The server (WorkflowServer.layer on a Node HTTP server, loopback, a free port) and the clients
 * (the global `fetch`, keep-alive) share this process, so the figures include both sides on one
 * event loop. The workflow is the 3-step chain of `concurrent`. One run, as a client does it:
 * `POST /workflows/chain/run-nowait` (`{}`), then `GET /events/{handler_id}?sse=false&after_sequence=-1`
 * read to its end (NDJSON: the stream ends after the stop event), and the stop event checked.
 *
 * - `sequential`: `runs` runs one after another: median and p95 latency of one run (ms);
 * - `concurrent16`, `concurrent64`: `runs` runs by 16 (64) clients each doing runs one after
 *   another: runs per second, and the median latency of one run.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Exit, Layer, Redacted, Scope } from "effect"
import * as fs from "node:fs"
import { createServer } from "node:http"
import * as os from "node:os"
import * as path from "node:path"
// Imported by path, not by package name: the benchmark runs the compiled output (see run.ts).
import { Event, Step, Workflow } from "../src/index.js"
import { HandlerStore, WorkflowServer } from "../src/server/index.js"
import * as PgHandlerStore from "../src/server/PgHandlerStore.js"
import * as SqliteHandlerStore from "../src/server/SqliteHandlerStore.js"
import { startPostgres } from "../test/utils/postgres.js"
import { Link, Link2 } from "./events.js"
import { machine } from "./harness.js"

const chain = Workflow.make({
  name: "chain",
  steps: [
    Step.make("a", { on: Event.StartEvent, emits: [Link] }, () => Effect.succeed(new Link({ hop: 1 }))),
    Step.make("b", { on: Link, emits: [Link2] }, (ev) => Effect.succeed(new Link2({ hop: ev.hop + 1 }))),
    Step.make("c", { on: Link2, emits: [Event.StopEvent] }, (ev) => Effect.succeed(new Event.StopEvent({ result: ev.hop })))
  ]
})

type Store = Layer.Layer<HandlerStore.HandlerStore, unknown>

const start = async (store: Store): Promise<{ readonly base: string; readonly close: () => Promise<void> }> => {
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(
    Layer.buildWithScope(
      WorkflowServer.layer({ workflows: { chain } }).pipe(
        Layer.provideMerge(store),
        Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
      ),
      scope
    )
  )
  const server = Effect.runSync(Effect.provide(HttpServer.HttpServer, context))
  if (server.address._tag !== "TcpAddress") throw new Error("not a TCP server")
  return {
    base: `http://127.0.0.1:${server.address.port}`,
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** One run through HTTP; its latency in ms. */
const oneRun = async (base: string): Promise<number> => {
  const began = performance.now()
  const started = await fetch(`${base}/workflows/chain/run-nowait`, { method: "POST", body: "{}" })
  const { handler_id } = await started.json() as { handler_id: string }
  const events = await fetch(`${base}/events/${handler_id}?sse=false&after_sequence=-1`)
  const lines = (await events.text()).trim().split("\n")
  const last = JSON.parse(lines[lines.length - 1]!) as { type: string; value: { result: unknown } }
  if (last.type !== "StopEvent" || last.value.result !== 2) throw new Error(`unexpected end: ${lines.join("|")}`)
  return performance.now() - began
}

const quantile = (sorted: ReadonlyArray<number>, q: number): number =>
  Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 1000) / 1000

const byClients = async (base: string, runs: number, clients: number) => {
  const latencies: Array<number> = []
  let next = 0
  const began = performance.now()
  await Promise.all(Array.from({ length: clients }, async () => {
    while (next < runs) {
      next++
      latencies.push(await oneRun(base))
    }
  }))
  const seconds = (performance.now() - began) / 1000
  latencies.sort((a, b) => a - b)
  return { clients, runs, runsPerSecond: Math.round(runs / seconds), medianLatencyMs: quantile(latencies, 0.5) }
}

const measureStore = async (name: string, store: Store, runs: number) => {
  const server = await start(store)
  try {
    for (let i = 0; i < 200; i++) await oneRun(server.base) // warm-up
    const latencies: Array<number> = []
    for (let i = 0; i < runs; i++) latencies.push(await oneRun(server.base))
    latencies.sort((a, b) => a - b)
    const concurrent16 = await byClients(server.base, runs * 2, 16)
    const concurrent64 = await byClients(server.base, runs * 2, 64)
    return {
      store: name,
      sequential: { runs, medianLatencyMs: quantile(latencies, 0.5), p95LatencyMs: quantile(latencies, 0.95) },
      concurrent16,
      concurrent64
    }
  } finally {
    await server.close()
  }
}

/**
 * The memory store, SQLite (a temp file) and PostgreSQL (a temporary server started as the
 * tests do, where its binaries exist). `persistencePerStepMs`: the median latency of one run on
 * the store minus on memory, over the 3 steps of a run.
 *
 * @internal
 */
export const serverShape = async (runs: number) => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), "effect-workflows-bench-"))
  const postgres = await startPostgres()
  try {
    const stores: Array<[string, Store]> = [
      ["memory", HandlerStore.layerMemory()],
      ["sqlite", SqliteHandlerStore.layer({ filename: path.join(folder, "bench.db") })]
    ]
    if (postgres.available) stores.push(["postgres", PgHandlerStore.layer({ url: Redacted.make(postgres.url) })])
    const results = []
    for (const [name, store] of stores) results.push(await measureStore(name, store, runs))
    const memory = results[0]!
    return {
      shape: "server",
      description: "runs of a 3-step workflow through HTTP: run-nowait, then the run's NDJSON event stream to its end",
      machine: machine(),
      stores: results.map((result) => ({
        ...result,
        persistencePerStepMs: Math.round(
          ((result.sequential.medianLatencyMs - memory.sequential.medianLatencyMs) / 3) * 1000
        ) / 1000,
        throughput64OverMemory: Math.round((result.concurrent64.runsPerSecond / memory.concurrent64.runsPerSecond) * 100) /
          100
      }))
    }
  } finally {
    await postgres.stop()
    fs.rmSync(folder, { recursive: true, force: true })
  }
}
