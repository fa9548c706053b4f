/**
 * Snapshots of a run holding many queued events. Ours only: the peer has no snapshots and the
 * floor has nothing to compare.
 *
 * The workflow: the start step sends `n` `Item` events with `ctx.sendEvent` to `work` (1 worker),
 * which returns the stop event on the last item and nothing on the others. While the gate below
 * is closed, `work` blocks on a `Deferred` in its first execution (item 0), so that item 0 is in
 * progress and items 1 … n−1 stay queued. (`ctx.waitForEvent` would not do: a waiting execution
 * gives its worker slot to the next queued event.) Every round, for each size:
 *
 * 1. (not timed) gate closed; `Workflow.start` in a scope of its own; wait until `work` has
 *    blocked and the start step has sent all `n` items (checked on the first snapshot of each
 *    size: 1 in progress, n − 1 queued, none processed);
 * 2. `takeMs`: `handler.snapshot` (the whole document as plain JSON values, events encoded with
 *    their Schema);
 * 3. `encodeMs`: `Snapshot.toJson` of it (`JSON.stringify`); `jsonBytes`: its UTF-8 length;
 * 4. the scope closed (the run interrupted), not timed;
 * 5. `decodeResumeMs`: `Workflow.resume(wf, json)` in a fresh scope, until it returns the handler:
 *    JSON parsing, the document's checks and Schema, every event decoded against the workflow's
 *    registry, the state restored, the run begun (item 0, in progress when the snapshot was taken,
 *    re-executes, at least once, and blocks again on the still-closed gate; no item is processed
 *    during the resume: checked);
 * 6. `runMs`: the gate opened (`Deferred.succeed`), then `handler.result` awaited: item 0's
 *    execution finishes and the n − 1 queued items run through `work` until the stop event
 *    (checked: the resumed run processed all n); the scope closed after the clock stops;
 * 7. `freshRunMs`: for comparison, `Workflow.run(wf)` with the gate open: the start step sends
 *    the `n` items and `work` answers each at once (sending included).
 *
 * The heap is collected (`settle`) once, before the first warm-up; then the phases follow one
 * another with one turn of the event loop between them and no forced collection (see `pause`):
 * a collection that the garbage of a phase (or of the phases before) calls for is part of its
 * time. Medians over the rounds; the per-1,000-event figures divide each median by n / 1,000.
 * Sizes: 1,000 and 10,000 events (ROUNDS rounds after WARMUP rounds, as every shape), then
 * 100,000 events in one round with no warm-up of its own (about 4 s of the shape's 8 s).
 */
import { Deferred, Effect, Exit, Scope } from "effect"
// Imported by path, not by package name: the benchmark runs the compiled output (see run.ts).
import { Event, Snapshot, Step, Workflow } from "../src/index.js"
import { Item } from "./events.js"
import { machine, settle } from "./harness.js"

/** While `closed`, `work` blocks its first execution on `released`. */
interface Gate {
  closed: boolean
  released: Deferred.Deferred<void>
  /** Executions of `work` that found the gate closed. */
  blocked: number
  /** Items `work` has finished. */
  processed: number
  /** Items the start step has sent. */
  sent: number
}

const makeWorkflow = (n: number, gate: Gate) => {
  const start = Step.make("start", { on: Event.StartEvent, emits: [Item] }, (_, ctx) =>
    Effect.gen(function*() {
      for (let i = 0; i < n; i++) yield* ctx.sendEvent(new Item({ n: i }))
      gate.sent = n
    }))
  const finish = (ev: Item) => {
    gate.processed++
    return ev.n === n - 1 ? new Event.StopEvent({ result: gate.processed }) : undefined
  }
  const work = Step.make(
    "work",
    { on: Item, emits: [Event.StopEvent], workers: 1 },
    (ev) =>
      gate.closed
        ? Effect.suspend(() => {
          gate.blocked++
          return Effect.map(Deferred.await(gate.released), () => finish(ev))
        })
        : Effect.sync(() => finish(ev))
  )
  // The default settings, as every workflow of the benchmark (validated once, a 45 s run timeout).
  return Workflow.make({ name: "snapshot", steps: [start, work] })
}

interface Samples {
  take: Array<number>
  encode: Array<number>
  decodeResume: Array<number>
  run: Array<number>
  freshRun: Array<number>
  jsonBytes: number
}

const closeGate = (gate: Gate): void => {
  gate.closed = true
  gate.released = Effect.runSync(Deferred.make<void>())
  gate.blocked = 0
  gate.processed = 0
  gate.sent = 0
}

/**
 * Between phases: one turn of the event loop, so that what the previous phase left scheduled has
 * run, but no forced collection. A forced full collection (`settle`) while no run is alive lets
 * the hidden classes of a run's objects die, and V8 throws away the optimized code that embeds
 * them: with `settle` before every round, the following phases ran 2 to 10 times slower (1,000
 * events: take 1.5 → 18 ms, run 0.7 → 14 ms; 10,000 events: run 12 → 70 ms) with about 6 times
 * as many deoptimizations (`--trace-deopt`). The steady state of a warm process is what is
 * measured here.
 */
const pause = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

const fail = (message: string): never => {
  throw new Error(`snapshot shape: ${message}`)
}

/** One round for one size: every phase once, appended to `samples`. */
const round = async (n: number, gate: Gate, wf: ReturnType<typeof makeWorkflow>, samples: Samples, check: boolean) => {
  // 1. a run holding n − 1 queued items and item 0 blocked in `work`
  closeGate(gate)
  const first = Effect.runSync(Scope.make())
  const handler = await Effect.runPromise(Effect.gen(function*() {
    const handler = yield* Workflow.start(wf)
    while (gate.blocked < 1 || gate.sent < n) yield* Effect.yieldNow()
    return handler
  }).pipe(Scope.extend(first)))

  // 2. take
  await pause()
  let t = performance.now()
  const snapshot = await Effect.runPromise(handler.snapshot)
  samples.take.push(performance.now() - t)
  if (check) {
    const work = snapshot.steps.work
    if (work === undefined || work.queue.length !== n - 1 || work.inProgress.length !== 1 || gate.processed !== 0) {
      fail(`expected ${n - 1} queued and 1 in progress, got ${work?.queue.length} / ${work?.inProgress.length}`)
    }
  }

  // 3. encode
  await pause()
  t = performance.now()
  const json = Snapshot.toJson(snapshot)
  samples.encode.push(performance.now() - t)
  samples.jsonBytes = Buffer.byteLength(json)

  // 4. the first run ends with its scope
  await Effect.runPromise(Scope.close(first, Exit.void))

  // 5. decode + resume, in a fresh scope
  gate.blocked = 0
  const second = Effect.runSync(Scope.make())
  await pause()
  t = performance.now()
  const resumed = await Effect.runPromise(Scope.extend(Workflow.resume(wf, json), second))
  samples.decodeResume.push(performance.now() - t)
  if (check && gate.processed !== 0) fail(`${gate.processed} items ran during resume`)

  // 6. release the gate: the queued items run through `work` to the stop event
  await pause()
  t = performance.now()
  gate.closed = false
  const result = await Effect.runPromise(Effect.zipRight(Deferred.succeed(gate.released, undefined), resumed.result))
  samples.run.push(performance.now() - t)
  await Effect.runPromise(Scope.close(second, Exit.void))
  // item 0 ran again after the resume (at least once), so the resumed run processed all n
  if (check && (result !== n || gate.blocked < 1)) fail(`resumed run ended with ${String(result)}, expected ${n}`)

  // 7. a plain run of the same workflow, the gate open: sending and running n items
  gate.processed = 0
  await pause()
  t = performance.now()
  const fresh = await Effect.runPromise(Workflow.run(wf))
  samples.freshRun.push(performance.now() - t)
  if (check && fresh !== n) fail(`fresh run ended with ${String(fresh)}, expected ${n}`)
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

const r2 = (x: number): number => Math.round(x * 100) / 100
const r3 = (x: number): number => Math.round(x * 1000) / 1000

export interface SizeResult {
  readonly events: number
  readonly rounds: number
  readonly takeMs: number
  readonly encodeMs: number
  readonly jsonBytes: number
  readonly decodeResumeMs: number
  readonly runMs: number
  readonly freshRunMs: number
}

export const measureSize = async (n: number, rounds: number, warmup: number): Promise<SizeResult> => {
  const gate: Gate = { closed: false, released: Effect.runSync(Deferred.make<void>()), blocked: 0, processed: 0, sent: 0 }
  const wf = makeWorkflow(n, gate)
  const samples: Samples = { take: [], encode: [], decodeResume: [], run: [], freshRun: [], jsonBytes: 0 }
  for (let i = 0; i < warmup; i++) await round(n, gate, wf, samples, i === 0)
  const measured: Samples = { take: [], encode: [], decodeResume: [], run: [], freshRun: [], jsonBytes: 0 }
  for (let i = 0; i < rounds; i++) await round(n, gate, wf, measured, warmup === 0 && i === 0)
  return {
    events: n,
    rounds,
    takeMs: r2(median(measured.take)),
    encodeMs: r2(median(measured.encode)),
    jsonBytes: measured.jsonBytes,
    decodeResumeMs: r2(median(measured.decodeResume)),
    runMs: r2(median(measured.run)),
    freshRunMs: r2(median(measured.freshRun))
  }
}

const perThousand = (size: SizeResult) => {
  const k = size.events / 1000
  return {
    takeMs: r3(size.takeMs / k),
    encodeMs: r3(size.encodeMs / k),
    decodeResumeMs: r3(size.decodeResumeMs / k),
    runMs: r3(size.runMs / k),
    freshRunMs: r3(size.freshRunMs / k),
    jsonBytes: Math.round(size.jsonBytes / k)
  }
}

/**
 * The shape: 10,000 events with `rounds` rounds after `warmup` rounds; 1,000 events likewise;
 * then 100,000 events in one round (no warm-up of its own: the same code has run by then).
 */
export const snapshotShape = async (rounds: number, warmup: number) => {
  // once, before any warm-up: nothing of the shapes measured before is left to collect
  await settle()
  const start = performance.now()
  const small = await measureSize(1000, rounds, warmup)
  const main = await measureSize(10_000, rounds, warmup)
  const large = await measureSize(100_000, 1, 0)
  const { events: _, rounds: mainRounds, ...numbers } = main
  return {
    shape: "snapshot",
    description:
      "one run holding 10,000 events (1 in progress, blocked; 9,999 queued): take the snapshot, encode it to JSON, resume from the JSON, run the events",
    events: 10_000,
    rounds: mainRounds,
    ...numbers,
    perThousand: {
      "1000": perThousand(small),
      "10000": perThousand(main),
      "100000": perThousand(large)
    },
    sizes: [small, main, large],
    totalMs: Math.round(performance.now() - start),
    node: process.version,
    machine: machine()
  }
}
