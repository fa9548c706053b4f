import * as FiberRef from "effect/FiberRef"

/**
 * Clock time (epoch millis) at which the first attempt of the input event being retried started.
 * The run sets it around every step of a retry `Schedule`, so that schedules which need the
 * elapsed time since the first attempt (`RetryPolicy.fromNext`) can read it; `undefined`
 * outside a run, where such schedules count from their first step.
 *
 * @internal
 */
export const currentFirstAttemptAt: FiberRef.FiberRef<number | undefined> = FiberRef.unsafeMake<number | undefined>(
  undefined
)
