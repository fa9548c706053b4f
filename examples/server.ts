/**
 * Every example's workflows behind one `WorkflowServer`, under their names, on `PORT` (default
 * 8080), with its handlers in the embedded SQLite store (`WORKFLOWS_DB`, default
 * `data/workflows.db`; a restart resumes the runs that were going): start runs, watch their events and answer the human-in-the-loop prompts from the
 * LlamaIndex Workflow Debugger at `/`; the API is documented at `/docs`. The `writer` workflow's
 * steps need an `Llm`: its Layer is provided to the server, so one client serves every run.
 * Stop with Ctrl-C.
 *
 * Run with: npm start (or npx tsx examples/server.ts; PORT=3000 npm start for another port)
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, Console, Effect, Layer } from "effect"
import { WorkflowServer } from "effect-workflows/server"
import * as SqliteHandlerStore from "effect-workflows/server/SqliteHandlerStore"
import { wordCount } from "./fan-out-fan-in.js"
import { askingWorkflow, pausableWorkflow, waitingWorkflow } from "./human-in-the-loop.js"
import { jokes } from "./quickstart.js"
import { LlmLive, queries, writer } from "./resources-as-layers.js"
import { approvalWorkflow, flakyWorkflow, slowWorkflow } from "./retries-and-timeouts.js"
import { research } from "./tracing.js"
import { greeter } from "./typed-state.js"

/** Served under their own names: `/workflows/jokes`, `/workflows/word-count`, ... */
const workflows = {
  [jokes.name]: jokes,
  [wordCount.name]: wordCount,
  [waitingWorkflow.name]: waitingWorkflow,
  [askingWorkflow.name]: askingWorkflow,
  [pausableWorkflow.name]: pausableWorkflow,
  [flakyWorkflow.name]: flakyWorkflow,
  [slowWorkflow.name]: slowWorkflow,
  [approvalWorkflow.name]: approvalWorkflow,
  [writer.name]: writer,
  [queries.name]: queries,
  [greeter.name]: greeter,
  [research.name]: research
}

const program = Effect.gen(function*() {
  const port = yield* Config.integer("PORT").pipe(Config.withDefault(8080))
  // the embedded SQLite store: a restarted server resumes the runs that were going
  const database = yield* Config.string("WORKFLOWS_DB").pipe(Config.withDefault("data/workflows.db"))
  const store = Layer.orDie(SqliteHandlerStore.layer({ filename: database }))
  // built: the server is listening and answering
  yield* Layer.build(WorkflowServer.layerNode({ workflows, port, store }).pipe(Layer.provide(LlmLive)))
  const names = Object.keys(workflows)
  yield* Console.log(`Serving ${names.length} example workflows on http://localhost:${port}`)
  yield* Console.log(`  handlers:  ${database} (SQLite)`)
  yield* Console.log(`  workflows: ${names.join(", ")}`)
  yield* Console.log(`  debugger:  http://localhost:${port}/`)
  yield* Console.log(`  docs:      http://localhost:${port}/docs`)
  return yield* Effect.never
})

NodeRuntime.runMain(Effect.scoped(program))
