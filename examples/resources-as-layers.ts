/**
 * Resources as Layers. An `Llm` service is used by two steps; the caller provides its scoped
 * Layer once around two runs, so the client is acquired once, shared by both steps and both
 * runs, and released at the end. A `Connection` given to one step with `Step.provide` is
 * instead built fresh for each execution of that step and released when the execution ends.
 *
 * Run with: npx tsx examples/resources-as-layers.ts (served with the other examples by
 * examples/server.ts, which provides `LlmLive` to the server)
 */
import { Console, Context, Effect, Layer, Ref, Schema } from "effect"
import { Event, Step, Workflow } from "effect-workflows"
import { isMain } from "./main.js"

// --- a shared resource: one client for every step and every run --------------------------------
export class Llm extends Context.Tag("Llm")<Llm, { readonly complete: (prompt: string) => Effect.Effect<string> }>() {}

export const LlmLive = Layer.scoped(
  Llm,
  Effect.gen(function*() {
    const calls = yield* Ref.make(0)
    yield* Effect.acquireRelease(Console.log("llm: client acquired"), () => Console.log("llm: client released"))
    return {
      complete: (prompt) =>
        Effect.gen(function*() {
          const n = yield* Ref.updateAndGet(calls, (n) => n + 1)
          yield* Console.log(`llm: call ${n}: ${prompt}`)
          return `reply ${n}`
        })
    }
  })
)

class Outline extends Schema.TaggedClass<Outline>()("Outline", { text: Schema.String }) {}

const outline = Step.make("outline", { on: Event.StartEvent, emits: [Outline] }, (ev) =>
  Effect.gen(function*() {
    const llm = yield* Llm
    return new Outline({ text: yield* llm.complete(`outline ${String(ev.input)}`) })
  }))

const write = Step.make("write", { on: Outline, emits: [Event.StopEvent] }, (ev) =>
  Effect.gen(function*() {
    const llm = yield* Llm
    return new Event.StopEvent({ result: yield* llm.complete(`expand the outline in ${ev.text}`) })
  }))

export const writer = Workflow.make({ name: "writer", steps: [outline, write] }) // requires Llm

// --- a per-execution resource: a fresh connection each time the step runs ----------------------
class Connection extends Context.Tag("Connection")<Connection, { readonly id: number }>() {}

let opened = 0
const ConnectionLive = Layer.scoped(
  Connection,
  Effect.acquireRelease(
    Effect.sync(() => ({ id: ++opened })).pipe(Effect.tap((c) => Console.log(`db: connection ${c.id} opened`))),
    (c) => Console.log(`db: connection ${c.id} closed`)
  )
)

class Query extends Schema.TaggedClass<Query>()("Query", { sql: Schema.String }) {}
class Rows extends Schema.TaggedClass<Rows>()("Rows", { sql: Schema.String, connection: Schema.Number }) {}

const plan = Step.make("plan", { on: Event.StartEvent, emits: [Query] }, (_, ctx) =>
  Effect.forEach(["select 1", "select 2", "select 3"], (sql) => ctx.sendEvent(new Query({ sql })), { discard: true }))

const query = Step.make("query", { on: Query, emits: [Rows], workers: 1 }, (ev) =>
  Effect.map(Connection, (c) => new Rows({ sql: ev.sql, connection: c.id }))).pipe(Step.provide(ConnectionLive))

const report = Step.make("report", { on: Rows, emits: [Event.StopEvent] }, (ev, ctx) =>
  Effect.map(ctx.collectEvents(ev, [Rows, Rows, Rows]), (rows) =>
    rows._tag === "None" ? undefined : new Event.StopEvent({
      // rows arrive in whatever order the executions finish: sort them for a stable printout
      result: rows.value.map((r) => `${r.sql} on connection ${r.connection}`).sort().join("; ")
    })))

export const queries = Workflow.make({ name: "queries", steps: [plan, query, report] }) // requires nothing

const program = Effect.gen(function*() {
  yield* Effect.gen(function*() {
    for (const topic of ["a talk", "a blog post"]) {
      const result = yield* Workflow.run(writer, new Event.StartEvent({ input: topic }))
      yield* Console.log(`writer: ${topic} -> ${String(result)}`)
    }
  }).pipe(Effect.provide(LlmLive))

  yield* Console.log(`queries: ${String(yield* Workflow.run(queries))}`)
})

if (isMain(import.meta.url)) Effect.runPromise(program)
