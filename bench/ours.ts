/**
 * The benchmark shapes written with effect-workflows.
 */
import { Effect, Exit, Option, Scope } from "effect"
// Imported by path, not by package name: the benchmark runs the compiled output (see run.ts).
import { Event, Step, Workflow } from "../src/index.js"
import { Answer, hops, Item, Link, Link2, Reply } from "./events.js"
import type { Sample } from "./harness.js"
import { heapPerUnit, time } from "./harness.js"
import { ioBoundary } from "./io.js"

// Every workflow has the default settings: validated once, a 45 s run timeout.
const settings = {} as const

// chain: Start → E1 … E9 → Stop
const chainSteps = [
  Step.make("s0", { on: Event.StartEvent, emits: [hops[0]] }, () => Effect.succeed(new hops[0]({ hop: 1 }))),
  ...hops.map((cls, i) =>
    i < 8
      ? Step.make(`s${i + 1}`, { on: cls, emits: [hops[i + 1]] }, (ev) => Effect.succeed(new hops[i + 1]({ hop: ev.hop + 1 })))
      : Step.make(`s${i + 1}`, { on: cls, emits: [Event.StopEvent] }, (ev) =>
        Effect.succeed(new Event.StopEvent({ result: ev.hop })))
  )
]
const chain = Workflow.make({ name: "chain", steps: chainSteps, ...settings })

export const chainRuns = (runs: number) => (): Promise<Sample> =>
  time(() =>
    Effect.runPromise(Effect.gen(function*() {
      for (let i = 0; i < runs; i++) yield* Workflow.run(chain)
    }))
  )

// fanout: the start step sends N items; a 4-worker step answers each; a collector gathers all N.
const fanoutWorkflow = (n: number) => {
  const expected = Array.from({ length: n }, () => Answer)
  const start = Step.make("start", { on: Event.StartEvent, emits: [Item] }, (_, ctx) =>
    Effect.gen(function*() {
      for (let i = 0; i < n; i++) yield* ctx.sendEvent(new Item({ n: i }))
    }))
  const work = Step.make("work", { on: Item, emits: [Answer] }, (ev) => Effect.succeed(new Answer({ n: ev.n })))
  const gather = Step.make("gather", { on: Answer, emits: [Event.StopEvent], workers: 1 }, (ev, ctx) =>
    Effect.map(ctx.collectEvents(ev, expected), Option.match({
      onNone: () => undefined,
      onSome: (all) => new Event.StopEvent({ result: all.length })
    })))
  return Workflow.make({ name: "fanout", steps: [start, work, gather], ...settings })
}

export const fanout = (n: number) => {
  const wf = fanoutWorkflow(n)
  return (): Promise<Sample> => time(() => Effect.runPromise(Effect.asVoid(Workflow.run(wf))))
}

// concurrent: N runs of Start → Link → Link2 → Stop (3 steps) started at once.
const small = Workflow.make({
  name: "small",
  steps: [
    Step.make("a", { on: Event.StartEvent, emits: [Link] }, () => Effect.succeed(new Link({ hop: 1 }))),
    Step.make("b", { on: Link, emits: [Link2] }, (ev) => Effect.succeed(new Link2({ hop: ev.hop + 1 }))),
    Step.make("c", { on: Link2, emits: [Event.StopEvent] }, (ev) =>
      Effect.succeed(new Event.StopEvent({ result: ev.hop })))
  ],
  ...settings
})

// Started from one fiber with `Workflow.start`, then all awaited: runs, not callers, are measured.
export const concurrent = (runs: number) => (): Promise<Sample> =>
  time(() =>
    Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const handlers = []
      for (let i = 0; i < runs; i++) handlers.push(yield* Workflow.start(small))
      for (const handler of handlers) yield* handler.result
    })))
  )

// concurrent-io: the same 3 steps, every one of which goes through the I/O boundary (bench/io.ts)
// once before it returns its event: no run can end inside `Workflow.start`, the runs overlap.
const smallIo = Workflow.make({
  name: "small-io",
  steps: [
    Step.make("a", { on: Event.StartEvent, emits: [Link] }, () => Effect.map(ioBoundary, () => new Link({ hop: 1 }))),
    Step.make("b", { on: Link, emits: [Link2] }, (ev) => Effect.map(ioBoundary, () => new Link2({ hop: ev.hop + 1 }))),
    Step.make("c", { on: Link2, emits: [Event.StopEvent] }, (ev) =>
      Effect.map(ioBoundary, () => new Event.StopEvent({ result: ev.hop })))
  ],
  ...settings
})

export const concurrentIo = (runs: number) => (): Promise<Sample> =>
  time(() =>
    Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const handlers = []
      for (let i = 0; i < runs; i++) handlers.push(yield* Workflow.start(smallIo))
      for (const handler of handlers) yield* handler.result
    })))
  )

// waiting: N runs parked in waitForEvent, then each answered.
export const waiting = (runs: number) => {
  const parkedCount = { value: 0 }
  const ask = Step.make("ask", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
    Effect.gen(function*() {
      parkedCount.value++
      const reply = yield* ctx.waitForEvent(Reply)
      return new Event.StopEvent({ result: reply.n })
    }))
  const wf = Workflow.make({ name: "waiting", steps: [ask], ...settings })
  return (): Promise<Sample> =>
    heapPerUnit(runs, async () => {
      parkedCount.value = 0
      const scope = Effect.runSync(Scope.make())
      const all = await Effect.runPromise(Effect.gen(function*() {
        const handlers = []
        for (let i = 0; i < runs; i++) handlers.push(yield* Workflow.start(wf))
        while (parkedCount.value < runs) yield* Effect.yieldNow()
        return handlers
      }).pipe(Scope.extend(scope)))
      return {
        release: () =>
          Effect.runPromise(Effect.gen(function*() {
            for (const handler of all) yield* handler.sendEvent(new Reply({ n: 1 }))
            for (const handler of all) yield* handler.result
            yield* Scope.close(scope, Exit.void)
          }))
      }
    })
}
