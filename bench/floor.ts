/**
 * The benchmark shapes written directly with Effect's Queue, Fiber and Deferred, without the
 * library: the floor that tells what the engine costs on top of Effect itself.
 */
import { Deferred, Effect, Fiber, Queue } from "effect"
import type { Sample } from "./harness.js"
import { heapPerUnit, time } from "./harness.js"

/**
 * Starts a run of `length` steps: a queue and a fiber per step, each handing its event to the
 * next; the Deferred completes with the last step.
 */
const startPipeline = (length: number) =>
  Effect.gen(function*() {
    const queues: Array<Queue.Queue<number>> = []
    for (let i = 0; i < length; i++) queues.push(yield* Queue.unbounded<number>())
    const done = yield* Deferred.make<number>()
    const fibers: Array<Fiber.RuntimeFiber<unknown>> = []
    for (let i = 0; i < length; i++) {
      fibers.push(
        yield* Effect.fork(
          Effect.flatMap(Queue.take(queues[i]), (n) =>
            i < length - 1 ? Queue.offer(queues[i + 1], n + 1) : Deferred.succeed(done, n + 1))
        )
      )
    }
    yield* Queue.offer(queues[0], 0)
    return done
  })

const pipelineRun = (length: number) => Effect.flatMap(startPipeline(length), Deferred.await)

export const chainRuns = (runs: number) => (): Promise<Sample> =>
  time(() =>
    Effect.runPromise(Effect.gen(function*() {
      for (let i = 0; i < runs; i++) yield* pipelineRun(10)
    }))
  )

export const fanout = (n: number) => (): Promise<Sample> =>
  time(() =>
    Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const items = yield* Queue.unbounded<number>()
      const answers = yield* Queue.unbounded<number>()
      for (let w = 0; w < 4; w++) {
        yield* Effect.forkScoped(Effect.forever(Effect.flatMap(Queue.takeBetween(items, 1, 1024), (batch) =>
          Queue.offerAll(answers, batch))))
      }
      const collector = yield* Effect.fork(Effect.gen(function*() {
        const collected: Array<number> = []
        while (collected.length < n) {
          for (const answer of yield* Queue.takeBetween(answers, 1, n)) collected.push(answer)
        }
        return collected.length
      }))
      for (let i = 0; i < n; i++) yield* Queue.offer(items, i)
      yield* Fiber.join(collector)
    })))
  )

export const concurrent = (runs: number) => (): Promise<Sample> =>
  time(() =>
    Effect.runPromise(Effect.gen(function*() {
      const runsDone = []
      for (let i = 0; i < runs; i++) runsDone.push(yield* startPipeline(3))
      for (const done of runsDone) yield* Deferred.await(done)
    }))
  )

export const waiting = (runs: number) => (): Promise<Sample> =>
  heapPerUnit(runs, async () => {
    const parked = await Effect.runPromise(Effect.gen(function*() {
      const entries = []
      for (let i = 0; i < runs; i++) {
        const reply = yield* Deferred.make<number>()
        entries.push({ reply, fiber: yield* Effect.forkDaemon(Deferred.await(reply)) })
      }
      yield* Effect.yieldNow()
      return entries
    }))
    return {
      release: () =>
        Effect.runPromise(Effect.gen(function*() {
          for (const { reply } of parked) yield* Deferred.succeed(reply, 1)
          for (const { fiber } of parked) yield* Fiber.join(fiber)
        }))
    }
  })
