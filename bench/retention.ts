/**
 * Scope retention: what a long-lived scope keeps of the runs that ended in it. Ours only.
 *
 * In ONE open scope (`Scope.make()`, given to every start with `Scope.extend`), `runs` runs of a
 * one-step workflow are started, `batch` at a time; the step waits in
 * `ctx.waitForEvent(HumanResponseEvent)`, so no run ends inside `Workflow.start` (every run
 * registers with the scope). Each batch is answered with `handler.sendEvent`, every
 * `handler.result` awaited, and the handlers dropped; then the heap is collected until stable.
 * `bytesPerEndedRun` is (heap after − heap before) / runs with the scope still open;
 * `bytesPerEndedRunAfterClose` the same once the scope has closed (what stays for another reason,
 * e.g. a pending run timeout, or noise).
 */
import { Effect, Exit, Scope } from "effect"
// Imported by path, not by package name: the benchmark runs the compiled output (see run.ts).
import { Event, Step, Workflow } from "../src/index.js"
import { machine, settle } from "./harness.js"

export interface RetentionResult {
  readonly shape: "retention"
  readonly runs: number
  readonly bytesPerEndedRun: number
  readonly bytesPerEndedRunAfterClose: number
  /** Runs started, answered and awaited per batch (the handlers of a batch are dropped after it). */
  readonly batch: number
  /** Time to start, answer and await all runs (heap collection excluded). */
  readonly ms: number
  readonly node: string
  readonly machine: string
}

export const retention = async (runs: number, batch: number): Promise<RetentionResult> => {
  const parked = { value: 0 }
  const ask = Step.make("ask", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
    Effect.gen(function*() {
      parked.value++
      const answer = yield* ctx.waitForEvent(Event.HumanResponseEvent)
      return new Event.StopEvent({ result: answer.response })
    }))
  // The default settings, as every workflow of the benchmark (validated once, a 45 s run timeout).
  const wf = Workflow.make({ name: "retention", steps: [ask] })

  /** Starts `n` runs, waits until all are parked, answers each, awaits each; keeps no handler. */
  const cycle = (n: number) =>
    Effect.gen(function*() {
      parked.value = 0
      const handlers = []
      for (let i = 0; i < n; i++) handlers.push(yield* Workflow.start(wf))
      while (parked.value < n) yield* Effect.yieldNow()
      for (const handler of handlers) yield* handler.sendEvent(new Event.HumanResponseEvent({ response: "x" }))
      for (const handler of handlers) yield* handler.result
    })

  // warm-up in a scope of its own: one-time costs (validation, JIT, shared structures) are paid
  await Effect.runPromise(Effect.scoped(cycle(Math.min(batch, 1000))))

  const scope = Effect.runSync(Scope.make())
  await settle()
  const before = process.memoryUsage().heapUsed
  const start = performance.now()
  for (let done = 0; done < runs; done += batch) {
    await Effect.runPromise(Scope.extend(cycle(Math.min(batch, runs - done)), scope))
  }
  const ms = performance.now() - start
  await settle()
  const after = process.memoryUsage().heapUsed
  await Effect.runPromise(Scope.close(scope, Exit.void))
  await settle()
  const closed = process.memoryUsage().heapUsed
  return {
    shape: "retention",
    runs,
    bytesPerEndedRun: Math.round((after - before) / runs),
    bytesPerEndedRunAfterClose: Math.round((closed - before) / runs),
    batch,
    ms: Math.round(ms),
    node: process.version,
    machine: machine()
  }
}
