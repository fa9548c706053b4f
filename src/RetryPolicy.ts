/**
 * Retry policies for steps. A retry policy is an Effect `Schedule` over the step's error: the
 * run feeds every failure of an attempt to the schedule and retries after the delay it decides,
 * or gives up when it is done. This module holds constructors compatible with the original
 * LlamaIndex Workflows policies.
 *
 * @since 0.1.0
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleInterval from "effect/ScheduleInterval"
import { currentFirstAttemptAt } from "./internal/retry.js"

/**
 * A policy that retries after a constant delay, up to a total number of executions.
 *
 * **Details**
 *
 * - Any `Schedule` is a retry policy; this constructor only mirrors the original's
 *   `ConstantDelayRetryPolicy(maximum_attempts=3, delay=5)`.
 * - `maximumAttempts` counts executions in total, the first one included (default 3, so at most
 *   2 retries); `1` (or less) means no retry.
 * - `delay` is the time between a failure and the next attempt (default 5 seconds).
 * - It is `Schedule.spaced(delay)` intersected with `Schedule.recurs(maximumAttempts - 1)`, so it
 *   also works with `Effect.retry` and is driven by `TestClock` in tests.
 *
 * **Example**
 *
 * ```ts
 * import { Effect } from "effect"
 * import { RetryPolicy } from "effect-workflows"
 *
 * const policy = RetryPolicy.constantDelay({ maximumAttempts: 4, delay: "1 second" })
 * const program = Effect.retry(Effect.fail("boom"), policy)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const constantDelay = (options?: {
  readonly maximumAttempts?: number | undefined
  readonly delay?: Duration.DurationInput | undefined
}): Schedule.Schedule<unknown, unknown> => {
  const maximumAttempts = options?.maximumAttempts ?? 3
  const delay = options?.delay ?? "5 seconds"
  return Schedule.spaced(delay).pipe(Schedule.intersect(Schedule.recurs(Math.max(0, maximumAttempts - 1))))
}

/**
 * A policy computed by a function of the elapsed time, the number of failures so far and the
 * last error, returning the delay before the next attempt, or `undefined` to stop.
 *
 * **Details**
 *
 * - Any `Schedule` is a retry policy; this constructor mirrors the original's custom policies
 *   (any object with a `next(elapsed_time, attempts, error)` method).
 * - `attempts` counts failures so far: `1` on the first failure, so a policy stopping when
 *   `attempts >= n` allows at most `n` executions in total.
 * - `elapsed` is the `Clock` time since the first attempt of the event started. Outside a run
 *   (for instance with `Effect.retry`) it counts from the first failure, i.e. the schedule's
 *   first step.
 * - The output of the schedule is the chosen delay (`Duration.zero` when it stops).
 *
 * **Example**
 *
 * ```ts
 * import { Duration, Effect } from "effect"
 * import { RetryPolicy } from "effect-workflows"
 *
 * // exponential backoff, at most 5 executions, giving up after 30 seconds
 * const policy = RetryPolicy.fromNext((elapsed, attempts) =>
 *   attempts >= 5 || Duration.greaterThanOrEqualTo(elapsed, "30 seconds")
 *     ? undefined
 *     : Duration.seconds(2 ** attempts)
 * )
 * const program = Effect.retry(Effect.fail("boom"), policy)
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromNext = <E = unknown>(
  next: (elapsed: Duration.Duration, attempts: number, error: E) => Duration.DurationInput | undefined
): Schedule.Schedule<unknown, E> =>
  Schedule.makeWithState<FromNextState, E, Duration.Duration>(
    { attempts: 0, startedAt: undefined },
    (now, error, state) =>
      Effect.map(FiberRef.get(currentFirstAttemptAt), (firstAttemptAt) => {
        const startedAt = state.startedAt ?? now
        const attempts = state.attempts + 1
        const elapsed = Duration.millis(Math.max(0, now - (firstAttemptAt ?? startedAt)))
        const nextState: FromNextState = { attempts, startedAt }
        const delay = next(elapsed, attempts, error)
        if (delay === undefined) {
          return [nextState, Duration.zero, ScheduleDecision.done] as const
        }
        const decoded = Duration.decode(delay)
        const millis = Math.max(0, Duration.toMillis(decoded))
        return [nextState, decoded, ScheduleDecision.continueWith(ScheduleInterval.after(now + millis))] as const
      })
  )

interface FromNextState {
  readonly attempts: number
  readonly startedAt: number | undefined
}
