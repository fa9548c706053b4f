/**
 * Typed state: the workflow declares a `Schema.Class` whose fields all have defaults, its steps
 * are made with `Step.withState(RunState)` to get a typed `ctx.store`, and they read and write it with
 * `ctx.store.edit` (atomic read-modify-write), `ctx.store.get(path)` and `ctx.store.set(path, v)`.
 * Two runs share one store (`StateStore.make(RunState)`), so the visit count carries over.
 *
 * Run with: npx tsx examples/typed-state.ts (served with the other examples by examples/server.ts)
 */
import { Console, Effect, Schema } from "effect"
import { Event, StateStore, Step, Workflow } from "effect-workflows"
import { isMain } from "./main.js"

class RunState extends Schema.Class<RunState>("RunState")({
  count: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  log: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
}) {}

class Greeted extends Schema.TaggedClass<Greeted>()("Greeted", { name: Schema.String }) {}

const step = Step.withState(RunState)

const greet = step("greet", { on: Event.StartEvent, emits: [Greeted] }, (ev, ctx) =>
  Effect.gen(function*() {
    const name = String(ev.input)
    // atomic read-modify-write: the new state is a RunState again
    const state = yield* ctx.store.edit((s) => new RunState({ ...s, count: s.count + 1 }))
    yield* ctx.store.set("log", [...state.log, `greeted ${name}`])
    return new Greeted({ name })
  }))

const finish = step("finish", { on: Greeted, emits: [Event.StopEvent] }, (ev, ctx) =>
  Effect.gen(function*() {
    const count = yield* ctx.store.get("count") // read by dot path
    const log = (yield* ctx.store.getState).log
    yield* ctx.store.set("log", [...log, `visit ${String(count)} done`])
    return new Event.StopEvent({ result: `Hello ${ev.name}, visit #${String(count)}` })
  }))

export const greeter = Workflow.make({ name: "greeter", state: RunState, steps: [greet, finish] })

const program = Effect.gen(function*() {
  const store = yield* StateStore.make(RunState)
  for (const name of ["Ada", "Grace"]) {
    const result = yield* Workflow.run(greeter, new Event.StartEvent({ input: name }), { store })
    yield* Console.log(`result: ${String(result)}`)
  }
  const final = yield* store.getState
  yield* Console.log(`final state: count ${final.count}, ${final.log.length} log lines`)
  for (const line of final.log) yield* Console.log(`log: ${line}`)

  // a run without a shared store starts from the schema defaults
  const fresh = yield* Workflow.run(greeter, new Event.StartEvent({ input: "Linus" }))
  yield* Console.log(`fresh store: ${String(fresh)}`)
})

if (isMain(import.meta.url)) Effect.runPromise(program)
