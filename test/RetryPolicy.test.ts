import { assert, describe, it } from "@effect/vitest"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Ref from "effect/Ref"
import type * as Schedule from "effect/Schedule"
import * as TestClock from "effect/TestClock"
import * as RetryPolicy from "../src/RetryPolicy.js"
import { currentFirstAttemptAt } from "../src/internal/retry.js"

interface Seen {
  readonly elapsed: number
  readonly attempts: number
  readonly error: string
}

/**
 * An effect failing with `error-<n>` on its n-th execution (after `work`, if given), recording
 * the Clock time at which each execution started.
 */
const makeFailing = (work?: Duration.DurationInput) =>
  Effect.gen(function*() {
    const times = yield* Ref.make<ReadonlyArray<number>>([])
    const effect = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const n = yield* Ref.modify(times, (ts) => [ts.length + 1, [...ts, now]] as const)
      if (work !== undefined) yield* Effect.sleep(work)
      return yield* Effect.fail(`error-${n}`)
    })
    return { times, effect }
  })

/** Retries the failing effect with `policy` in a fiber, lets the TestClock run, returns the outcome. */
const runRetry = (
  policy: Schedule.Schedule<unknown, string>,
  options?: {
    readonly work?: Duration.DurationInput
    readonly firstAttemptAt?: number
  }
) =>
  Effect.gen(function*() {
    const { effect, times } = yield* makeFailing(options?.work)
    const retried = Effect.retry(effect, policy)
    const fiber = yield* Effect.fork(
      options?.firstAttemptAt === undefined
        ? retried
        : Effect.locally(retried, currentFirstAttemptAt, options.firstAttemptAt)
    )
    yield* TestClock.adjust("10 minutes")
    const exit = yield* Fiber.await(fiber)
    return { exit, times: yield* Ref.get(times) }
  })

/** A `fromNext` policy recording what it sees. */
const recording = (
  next: (elapsed: Duration.Duration, attempts: number, error: string) => Duration.DurationInput | undefined
) =>
  Effect.sync(() => {
    const seen: Array<Seen> = []
    const policy = RetryPolicy.fromNext<string>((elapsed, attempts, error) => {
      seen.push({ elapsed: Duration.toMillis(elapsed), attempts, error })
      return next(elapsed, attempts, error)
    })
    return { policy, seen }
  })

describe("RetryPolicy", () => {
  describe("constantDelay", () => {
    it.effect("defaults: 3 executions, 5 seconds apart, then the last error", () =>
      Effect.gen(function*() {
        const { exit, times } = yield* runRetry(RetryPolicy.constantDelay())
        assert.deepStrictEqual(times, [0, 5000, 10000])
        assert.deepStrictEqual(exit, Exit.fail("error-3"))
      }))

    it.effect("does not run the next attempt before the delay has passed", () =>
      Effect.gen(function*() {
        const { effect, times } = yield* makeFailing()
        const fiber = yield* Effect.fork(Effect.retry(effect, RetryPolicy.constantDelay()))
        yield* TestClock.adjust("4999 millis")
        assert.deepStrictEqual(yield* Ref.get(times), [0])
        yield* TestClock.adjust("1 milli")
        assert.deepStrictEqual(yield* Ref.get(times), [0, 5000])
        yield* TestClock.adjust("5 seconds")
        assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.fail("error-3"))
      }))

    it.effect("maximumAttempts: 1 means a single execution", () =>
      Effect.gen(function*() {
        const { exit, times } = yield* runRetry(RetryPolicy.constantDelay({ maximumAttempts: 1 }))
        assert.deepStrictEqual(times, [0])
        assert.deepStrictEqual(exit, Exit.fail("error-1"))
      }))

    it.effect("maximumAttempts: 4 with a 1 second delay", () =>
      Effect.gen(function*() {
        const { exit, times } = yield* runRetry(
          RetryPolicy.constantDelay({ maximumAttempts: 4, delay: "1 second" })
        )
        assert.deepStrictEqual(times, [0, 1000, 2000, 3000])
        assert.deepStrictEqual(exit, Exit.fail("error-4"))
      }))

    it.effect("the delay counts from the failure", () =>
      Effect.gen(function*() {
        const { exit, times } = yield* runRetry(
          RetryPolicy.constantDelay({ maximumAttempts: 3, delay: "1 second" }),
          { work: "2 seconds" }
        )
        assert.deepStrictEqual(times, [0, 3000, 6000])
        assert.deepStrictEqual(exit, Exit.fail("error-3"))
      }))

    it.effect("stops retrying once an attempt succeeds", () =>
      Effect.gen(function*() {
        const count = yield* Ref.make(0)
        const effect = Ref.updateAndGet(count, (n) => n + 1).pipe(
          Effect.flatMap((n) => n < 2 ? Effect.fail(`error-${n}`) : Effect.succeed(n))
        )
        const fiber = yield* Effect.fork(Effect.retry(effect, RetryPolicy.constantDelay()))
        yield* TestClock.adjust("1 minute")
        assert.deepStrictEqual(yield* Fiber.await(fiber), Exit.succeed(2))
        assert.strictEqual(yield* Ref.get(count), 2)
      }))
  })

  describe("fromNext", () => {
    it.effect("sees attempts 1, 2, 3... and the errors in order", () =>
      Effect.gen(function*() {
        const { policy, seen } = yield* recording((_, attempts) => attempts < 4 ? "1 second" : undefined)
        const { exit, times } = yield* runRetry(policy)
        assert.deepStrictEqual(times, [0, 1000, 2000, 3000])
        assert.deepStrictEqual(exit, Exit.fail("error-4"))
        assert.deepStrictEqual(
          seen.map(({ attempts, error }) => ({ attempts, error })),
          [
            { attempts: 1, error: "error-1" },
            { attempts: 2, error: "error-2" },
            { attempts: 3, error: "error-3" },
            { attempts: 4, error: "error-4" }
          ]
        )
      }))

    it.effect("returning undefined on the first failure means a single execution", () =>
      Effect.gen(function*() {
        const { policy, seen } = yield* recording(() => undefined)
        const { exit, times } = yield* runRetry(policy)
        assert.deepStrictEqual(times, [0])
        assert.deepStrictEqual(exit, Exit.fail("error-1"))
        assert.deepStrictEqual(seen, [{ elapsed: 0, attempts: 1, error: "error-1" }])
      }))

    it.effect("returning undefined stops after exactly that many executions", () =>
      Effect.gen(function*() {
        const { policy } = yield* recording((_, attempts, error) =>
          error === "error-2" ? undefined : Duration.seconds(attempts)
        )
        const { exit, times } = yield* runRetry(policy)
        assert.deepStrictEqual(times, [0, 1000])
        assert.deepStrictEqual(exit, Exit.fail("error-2"))
      }))

    it.effect("a zero delay retries immediately", () =>
      Effect.gen(function*() {
        const { policy } = yield* recording((_, attempts) => attempts < 3 ? 0 : undefined)
        const { exit, times } = yield* runRetry(policy)
        assert.deepStrictEqual(times, [0, 0, 0])
        assert.deepStrictEqual(exit, Exit.fail("error-3"))
      }))

    it.effect("delays may vary per attempt", () =>
      Effect.gen(function*() {
        const { policy } = yield* recording((_, attempts) => attempts < 4 ? Duration.seconds(2 ** attempts) : undefined)
        const { times } = yield* runRetry(policy)
        assert.deepStrictEqual(times, [0, 2000, 6000, 14000])
      }))

    it.effect("without a run, elapsed counts from the first failure", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(500)
        const { policy, seen } = yield* recording((_, attempts) => attempts < 3 ? "1 second" : undefined)
        const { times } = yield* runRetry(policy, { work: "2 seconds" })
        // executions start at 500, 3500, 6500 and fail 2 seconds later
        assert.deepStrictEqual(times, [500, 3500, 6500])
        assert.deepStrictEqual(seen.map((s) => s.elapsed), [0, 3000, 6000])
      }))

    it.effect("inside a run, elapsed counts from currentFirstAttemptAt", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(1000)
        const { policy, seen } = yield* recording((_, attempts) => attempts < 3 ? "1 second" : undefined)
        const { exit, times } = yield* runRetry(policy, { firstAttemptAt: 0 })
        assert.deepStrictEqual(times, [1000, 2000, 3000])
        assert.deepStrictEqual(exit, Exit.fail("error-3"))
        assert.deepStrictEqual(seen, [
          { elapsed: 1000, attempts: 1, error: "error-1" },
          { elapsed: 2000, attempts: 2, error: "error-2" },
          { elapsed: 3000, attempts: 3, error: "error-3" }
        ])
      }))

    it.effect("inside a run, elapsed includes the time of the attempts", () =>
      Effect.gen(function*() {
        const { policy, seen } = yield* recording((_, attempts) => attempts < 2 ? "1 second" : undefined)
        const { times } = yield* runRetry(policy, { work: "2 seconds", firstAttemptAt: 0 })
        assert.deepStrictEqual(times, [0, 3000])
        assert.deepStrictEqual(seen.map((s) => s.elapsed), [2000, 5000])
      }))

    it.effect("an elapsed limit stops after the limit is reached", () =>
      Effect.gen(function*() {
        const policy = RetryPolicy.fromNext((elapsed) =>
          Duration.greaterThanOrEqualTo(elapsed, "30 seconds") ? undefined : "10 seconds"
        )
        const { exit, times } = yield* runRetry(policy)
        assert.deepStrictEqual(times, [0, 10000, 20000, 30000])
        assert.deepStrictEqual(exit, Exit.fail("error-4"))
      }))

    it.effect("an elapsed limit measured from currentFirstAttemptAt", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(15000)
        const policy = RetryPolicy.fromNext((elapsed) =>
          Duration.greaterThanOrEqualTo(elapsed, "30 seconds") ? undefined : "10 seconds"
        )
        const { exit, times } = yield* runRetry(policy, { firstAttemptAt: 0 })
        // elapsed 15 s, 25 s, then 35 s: stop
        assert.deepStrictEqual(times, [15000, 25000, 35000])
        assert.deepStrictEqual(exit, Exit.fail("error-3"))
      }))

    it.effect("each retried effect gets a fresh count", () =>
      Effect.gen(function*() {
        const { policy, seen } = yield* recording((_, attempts) => attempts < 2 ? "1 second" : undefined)
        yield* runRetry(policy)
        yield* runRetry(policy)
        assert.deepStrictEqual(seen.map((s) => s.attempts), [1, 2, 1, 2])
      }))
  })
})
