/**
 * A worker fiber: it runs the execution it was started with, then the execution its result
 * hands over or the next queued event of its step, and stops when there is neither.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Event from "../Event.js"
import * as WorkflowError from "../WorkflowError.js"
import { type CurrentContext, makeContext } from "./context.js"
import { currentFirstAttemptAt } from "./retry.js"
import * as run_ from "./run.js"

/**
 * Runs `first`, then more work without a new fiber: the execution its result handed over (the
 * next step of a chain), or the next queued event of its own step; the other of the two, if
 * both exist, gets a fiber of its own. Stops when there is neither.
 *
 * @internal
 */
export const worker = (
  run: run_.Run,
  stepRun: run_.StepRun,
  first: run_.Execution,
  current: CurrentContext
): Effect.Effect<void> => {
  const self = new Worker(run, current, stepRun, first)
  return Effect.suspend(() => self.execute(stepRun, first))
}

/**
 * A worker fiber's state. It runs one execution at a time, so it is itself the pair of
 * continuations of every execution it runs (none is made per execution).
 */
class Worker {
  constructor(
    readonly run: run_.Run,
    readonly current: CurrentContext,
    /** The execution in progress. */
    private stepRun: run_.StepRun,
    private execution: run_.Execution
  ) {}

  // Called when the execution starts (never ahead of time): it reads the clock.
  execute(stepRun: run_.StepRun, execution: run_.Execution): Effect.Effect<void> {
    const run = this.run
    const startedAt = run.clock.unsafeCurrentTimeMillis()
    const attempt = execution.attempt
    if (attempt.firstAttemptAt === undefined) attempt.firstAttemptAt = startedAt
    this.stepRun = stepRun
    this.execution = execution
    const ctx = makeContext(run, stepRun, execution, startedAt)
    this.current.current = ctx
    return Effect.matchCauseEffect(stepRun.step.body(attempt.event, ctx) as Effect.Effect<unknown, unknown>, this)
  }

  readonly onFailure = (cause: Cause.Cause<unknown>): Effect.Effect<void> => {
    const stepRun = this.stepRun
    const execution = this.execution
    return this.run.done
      ? this.next(stepRun, execution)
      : Effect.flatMap(onFailure(this.run, stepRun, execution, cause), () => this.next(stepRun, execution))
  }

  readonly onSuccess = (value: unknown): Effect.Effect<void> => {
    if (!this.run.done) onSuccess(this.run, this.stepRun, this.execution, value)
    return this.next(this.stepRun, this.execution)
  }

  // What comes after an execution, decided when it has ended.
  private next(stepRun: run_.StepRun, execution: run_.Execution): Effect.Effect<void> {
    const run = this.run
    const handoff = run.handoff
    run.handoff = undefined
    const queued = run_.releaseSlot(run, stepRun, execution)
    if (queued !== undefined) {
      if (handoff !== undefined) run.spawn(handoff.stepRun, handoff.execution)
      return this.execute(stepRun, queued)
    }
    if (handoff !== undefined) return this.execute(handoff.stepRun, handoff.execution)
    run_.announceIdle(run)
    return Effect.void
  }
}

const describe = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "array" : typeof value

const onSuccess = (run: run_.Run, stepRun: run_.StepRun, execution: run_.Execution, value: unknown): void => {
  const name = stepRun.step.name
  if (value === undefined) return run_.publishNotRunning(run, stepRun, execution)
  if (!Event.isEvent(value)) {
    run_.publishNotRunning(run, stepRun, execution)
    return failStep(run, stepRun, execution.attempt, invalidReturn(`${describe(value)} instead of an Event instance`))
  }
  run_.publishNotRunning(run, stepRun, execution, value)
  if (!stepRun.emits.has(value._tag)) {
    const declared = stepRun.step.emits.map(Event.tag).join(", ") || "none"
    return failStep(
      run,
      stepRun,
      execution.attempt,
      invalidReturn(`${value._tag} instead of one of its declared events (${declared})`)
    )
  }
  if (value._tag === run.stopTag) {
    const result = value._tag === Event.StopEvent._tag ? (value as Event.StopEvent).result : value
    run_.finish(run, Exit.succeed(result), value)
    return
  }
  if (value._tag === Event.InputRequiredEvent._tag) run_.publish(run, value)
  run.accepting = true
  try {
    run_.route(run, value)
  } finally {
    run.accepting = false
  }

  function invalidReturn(what: string): Cause.Cause<WorkflowError.WorkflowRuntimeError> {
    // a final failure of this execution: it counts as one
    execution.attempt.failures++
    execution.attempt.lastFailedAt = run.clock.unsafeCurrentTimeMillis()
    return Cause.fail(new WorkflowError.WorkflowRuntimeError({ message: `Step function ${name} returned ${what}.` }))
  }
}

const onFailure = (
  run: run_.Run,
  stepRun: run_.StepRun,
  execution: run_.Execution,
  cause: Cause.Cause<unknown>
): Effect.Effect<void> =>
  Effect.suspend(() => {
    const failedAt = run.clock.unsafeCurrentTimeMillis()
    const attempt = execution.attempt
    attempt.failures++
    attempt.lastFailedAt = failedAt
    run_.publishNotRunning(run, stepRun, execution)
    const failure = Cause.failureOption(cause)
    if (Option.isNone(failure) || Option.isNone(stepRun.step.retry)) {
      failStep(run, stepRun, attempt, cause)
      return Effect.void
    }
    attempt.lastError = failure
    run_.restoreTaken(stepRun, attempt)
    const schedule = stepRun.step.retry.value
    return Effect.map(
      attempt.driver === undefined ? Schedule.driver(schedule) : Effect.succeed(attempt.driver),
      (driver) => {
        attempt.driver = driver
        stepRun.retrying++
        run.fork(retryLater(run, stepRun, attempt, driver, failure.value, cause))
      }
    )
  })

/** Waits out the retry schedule's delay off the worker slot, then queues the event again. */
const retryLater = (
  run: run_.Run,
  stepRun: run_.StepRun,
  attempt: run_.Attempt,
  driver: Schedule.ScheduleDriver<unknown, unknown, never>,
  error: unknown,
  cause: Cause.Cause<unknown>
): Effect.Effect<void> =>
  driver.next(error).pipe(
    Effect.locally(currentFirstAttemptAt, attempt.firstAttemptAt),
    Effect.match({
      onFailure: () => {
        stepRun.retrying--
        failStep(run, stepRun, attempt, cause)
      },
      onSuccess: () => {
        stepRun.retrying--
        run_.enqueue(run, stepRun, attempt)
      }
    })
  )

const failStep = (run: run_.Run, stepRun: run_.StepRun, attempt: run_.Attempt, cause: Cause.Cause<unknown>): void => {
  const error = Option.getOrElse(Cause.failureOption(cause), () => Cause.squash(cause))
  const elapsed = (attempt.lastFailedAt ?? attempt.firstAttemptAt ?? 0) - (attempt.firstAttemptAt ?? 0)
  run_.finish(
    run,
    Exit.failCause(cause),
    new Event.WorkflowFailedEvent(
      { stepName: stepRun.step.name, error, attempts: attempt.failures, elapsedSeconds: elapsed / 1000 },
      true
    )
  )
}
