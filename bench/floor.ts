/**
 * The benchmark shapes written directly with Effect's Queue, Fiber and Deferred, without the
 * library: the floor that tells what the engine costs on top of Effect itself. It builds the same
 * Schema events as ours, the same way, so that the difference is the engine alone.
 */
import { Chunk, Deferred, Effect, Fiber, Queue } from "effect"
import { Answer, Done, hops, Item, Link, Link2, Reply } from "./events.js"
import type { Sample } from "./harness.js"
import { heapPerUnit, time } from "./harness.js"
import { ioBoundary } from "./io.js"

type Hand = (input: any) => unknown

/**
 * Starts a run of one fiber and one queue per step, each turning the event it takes into the
 * next one; the Deferred completes with the last step's result. With `io`, every stage goes
 * through it once after taking its event and before building the next one.
 */
const startPipeline = (hands: ReadonlyArray<Hand>, io?: Effect.Effect<void>) =>
  Effect.gen(function*() {
    const queues: Array<Queue.Queue<unknown>> = []
    for (let i = 0; i < hands.length; i++) queues.push(yield* Queue.unbounded<unknown>())
    const done = yield* Deferred.make<unknown>()
    const last = hands.length - 1
    for (let i = 0; i < hands.length; i++) {
      const stage = (event: unknown) => {
        const next = hands[i](event)
        return i < last ? Queue.offer(queues[i + 1], next) : Deferred.succeed(done, (next as Done).result)
      }
      yield* Effect.fork(
        Effect.flatMap(Queue.take(queues[i]), io === undefined ? stage : (event) => Effect.flatMap(io, () => stage(event)))
      )
    }
    yield* Queue.offer(queues[0], start)
    return done
  })

const start = { _tag: "StartEvent" }

// Start → E1 … E9 → Done, as ours.
const chainHands: ReadonlyArray<Hand> = [
  () => new hops[0]({ hop: 1 }),
  ...hops.map((_, i): Hand => (ev) => i < 8 ? new hops[i + 1]({ hop: ev.hop + 1 }) : new Done({ result: ev.hop }))
]

export const chainRuns = (runs: number) => (): Promise<Sample> =>
  time(() =>
    Effect.runPromise(Effect.gen(function*() {
      for (let i = 0; i < runs; i++) yield* Deferred.await(yield* startPipeline(chainHands))
    }))
  )

export const fanout = (n: number) => (): Promise<Sample> =>
  time(() =>
    Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const items = yield* Queue.unbounded<Item>()
      const answers = yield* Queue.unbounded<Answer>()
      for (let w = 0; w < 4; w++) {
        yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.takeBetween(items, 1, 1024), (batch) =>
          Queue.offerAll(answers, Chunk.map(batch, (item) => new Answer({ n: item.n }))))))
      }
      const collector = yield* Effect.fork(Effect.gen(function*() {
        const collected: Array<Answer> = []
        while (collected.length < n) {
          for (const answer of yield* Queue.takeBetween(answers, 1, n)) collected.push(answer)
        }
        return new Done({ result: collected.length })
      }))
      for (let i = 0; i < n; i++) yield* Queue.offer(items, new Item({ n: i }))
      yield* Fiber.join(collector)
    })))
  )

// Start → Link → Link2 → Done, as ours.
const smallHands: ReadonlyArray<Hand> = [
  () => new Link({ hop: 1 }),
  (ev: Link) => new Link2({ hop: ev.hop + 1 }),
  (ev: Link2) => new Done({ result: ev.hop })
]

export const concurrent = (runs: number) => (): Promise<Sample> =>
  time(() =>
    Effect.runPromise(Effect.gen(function*() {
      const runsDone = []
      for (let i = 0; i < runs; i++) runsDone.push(yield* startPipeline(smallHands))
      for (const done of runsDone) yield* Deferred.await(done)
    }))
  )

// concurrent-io: the pipelines of `concurrent`, every stage going through the I/O boundary once.
export const concurrentIo = (runs: number) => (): Promise<Sample> =>
  time(() =>
    Effect.runPromise(Effect.gen(function*() {
      const runsDone = []
      for (let i = 0; i < runs; i++) runsDone.push(yield* startPipeline(smallHands, ioBoundary))
      for (const done of runsDone) yield* Deferred.await(done)
    }))
  )

// concurrent-io, tight: each run is one forked fiber that goes through the I/O boundary and builds
// the next event three times in sequence (no queues, no Deferred): the least a run can cost.
const tightRun = Effect.flatMap(ioBoundary, () => {
  const link = smallHands[0](start)
  return Effect.flatMap(ioBoundary, () => {
    const link2 = smallHands[1](link)
    return Effect.map(ioBoundary, () => (smallHands[2](link2) as Done).result)
  })
})

export const concurrentIoTight = (runs: number) => (): Promise<Sample> =>
  time(() =>
    Effect.runPromise(Effect.gen(function*() {
      const fibers = []
      for (let i = 0; i < runs; i++) fibers.push(yield* Effect.fork(tightRun))
      for (const fiber of fibers) yield* Fiber.join(fiber)
    }))
  )

export const waiting = (runs: number) => (): Promise<Sample> =>
  heapPerUnit(runs, async () => {
    const parked = await Effect.runPromise(Effect.gen(function*() {
      const entries = []
      for (let i = 0; i < runs; i++) {
        const reply = yield* Deferred.make<Reply>()
        const fiber = yield* Effect.forkDaemon(Effect.map(Deferred.await(reply), (reply) => new Done({ result: reply.n })))
        entries.push({ reply, fiber })
      }
      yield* Effect.yieldNow()
      return entries
    }))
    return {
      release: () =>
        Effect.runPromise(Effect.gen(function*() {
          for (const { reply } of parked) yield* Deferred.succeed(reply, new Reply({ n: 1 }))
          for (const { fiber } of parked) yield* Fiber.join(fiber)
        }))
    }
  })
