/**
 * A worker fiber: it runs the execution it was started with, then the execution its result
 * hands over or the next queued event of its step, and stops when there is neither. Each
 * execution is isolated as if it had a fiber of its own.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import * as Event from "../Event.js"
import * as WorkflowError from "../WorkflowError.js"
import { type CurrentContext, makeContext } from "./context.js"
import * as isolation from "./isolation.js"
import { currentFirstAttemptAt } from "./retry.js"
import * as run_ from "./run.js"
import type { Run } from "./shell.js"

/** @internal */
export const worker = (
  run: Run,
  step: run_.StepState,
  first: run_.Execution,
  current: CurrentContext
): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => new Worker(run, current, fiber, step, first).execute(step, first))

/**
 * A worker fiber's state. It runs one execution at a time, so it is itself the pair of
 * continuations of every execution it runs (none is made per execution).
 */
class Worker {
  /** The fiber's refs when the execution started: restored when it ends. */
  private refs: isolation.Refs

  constructor(
    readonly run: Run,
    readonly current: CurrentContext,
    readonly fiber: Fiber.RuntimeFiber<void>,
    /** The execution in progress. */
    private step: run_.StepState,
    private execution: run_.Execution
  ) {
    this.refs = isolation.save(fiber)
  }

  // Called when the execution starts (never ahead of time): it reads the clock.
  execute(step: run_.StepState, execution: run_.Execution): Effect.Effect<void> {
    const run = this.run
    const startedAt = run.clock.unsafeCurrentTimeMillis()
    const attempt = execution.attempt
    if (attempt.firstAttemptAt === undefined) attempt.firstAttemptAt = startedAt
    this.step = step
    this.execution = execution
    this.current.current = makeContext(run, step, execution, startedAt)
    return Effect.matchCauseEffect(callBody(step, attempt.event, this.current.current), this)
  }

  readonly onFailure = (cause: Cause.Cause<unknown>): Effect.Effect<void> => {
    isolation.restore(this.fiber, this.refs)
    const step = this.step
    const execution = this.execution
    const state = this.run.state
    if (state.done) return this.next(step, execution)
    const now = this.run.clock.unsafeCurrentTimeMillis()
    const failure = Cause.failureOption(cause)
    run_.failed(state, step, execution, failure, now)
    if (Option.isNone(failure) || Option.isNone(step.step.retry)) {
      failStep(this.run, step, execution.attempt, cause)
      return this.next(step, execution)
    }
    return Effect.flatMap(
      nextRetry(step.step.retry.value, execution.attempt, failure.value, now),
      (at) => {
        if (at === undefined) failStep(this.run, step, execution.attempt, cause)
        else run_.retryAt(state, step, execution, at, now)
        return this.next(step, execution)
      }
    )
  }

  private readonly now = (): number => this.run.clock.unsafeCurrentTimeMillis()

  readonly onSuccess = (value: unknown): Effect.Effect<void> => {
    isolation.restore(this.fiber, this.refs)
    const run = this.run
    const invalid = run_.succeeded(run.state, this.step, this.execution, value, this.now)
    if (invalid !== undefined) {
      failStep(
        run,
        this.step,
        this.execution.attempt,
        Cause.fail(new WorkflowError.WorkflowRuntimeError({ message: invalid.message }))
      )
    }
    return this.next(this.step, this.execution)
  }

  // What comes after an execution, decided when it has ended.
  private next(step: run_.StepState, execution: run_.Execution): Effect.Effect<void> {
    // the fibers the execution forked end with it
    isolation.interruptChildren(this.fiber)
    const run = this.run
    const state = run.state
    const handoff = state.handoff
    state.handoff = undefined
    const queued = run_.executionEnded(state, step, execution)
    if (queued === undefined && handoff === undefined) run_.announceIdle(state)
    if (queued !== undefined && handoff !== undefined) {
      // the handed-over execution gets a worker of its own
      state.outbox.push(run_.runCommand(handoff.step, handoff.execution))
    }
    run.flush()
    if (queued !== undefined) return this.execute(step, queued)
    if (handoff !== undefined && !state.done) return this.execute(handoff.step, handoff.execution)
    return Effect.void
  }
}

/**
 * When a failed attempt is retried (Clock millis), or `undefined` when its retry schedule
 * stops. The schedule's state is kept in the attempt; an attempt restored from a snapshot gets
 * it back by stepping the schedule once per earlier failure.
 */
const nextRetry = (
  schedule: Schedule.Schedule<unknown, unknown>,
  attempt: run_.Attempt,
  error: unknown,
  now: number
): Effect.Effect<number | undefined> => {
  const step = (state: unknown) => schedule.step(now, error, state)
  let state: Effect.Effect<unknown> = Effect.succeed(attempt.scheduleState ?? schedule.initial)
  if (attempt.scheduleState === undefined) {
    for (let i = 1; i < attempt.failures; i++) state = Effect.flatMap(state, (s) => Effect.map(step(s), ([next]) => next))
  }
  return Effect.flatMap(state, step).pipe(
    Effect.map(([next, _, decision]) => {
      attempt.scheduleState = next
      return ScheduleDecision.isDone(decision) ? undefined : ScheduleIntervals.start(decision.intervals)
    }),
    Effect.locally(currentFirstAttemptAt, attempt.firstAttemptAt)
  )
}

// A body that throws instead of returning an Effect dies like one that throws inside it.
const callBody = (step: run_.StepState, event: unknown, ctx: unknown): Effect.Effect<unknown, unknown> => {
  try {
    return step.step.body(event, ctx as any) as Effect.Effect<unknown, unknown>
  } catch (defect) {
    return Effect.die(defect)
  }
}

// The run's failure names the step: a typed error is the step's own, a defect is wrapped in a
// WorkflowRuntimeError (still a defect) that carries the step's name and the original as `cause`.
const defectMessage = (defect: unknown): string => {
  if (defect instanceof Error) return defect.message
  try {
    return String(defect)
  } catch {
    return "an unprintable value"
  }
}

const stepDefect = (stepName: string, defect: unknown): WorkflowError.WorkflowRuntimeError => {
  const error = new WorkflowError.WorkflowRuntimeError({
    message: `Step ${stepName} failed with a defect: ${defectMessage(defect)}`,
    cause: defect
  })
  // the trace worth reading is where the step threw, not where the run noticed
  if (defect instanceof Error && typeof defect.stack === "string") {
    const frames = defect.stack.indexOf("\n    at ")
    if (frames >= 0) error.stack = `${error.name}: ${error.message}${defect.stack.slice(frames)}`
  }
  return error
}

const failStep = (run: Run, step: run_.StepState, attempt: run_.Attempt, cause: Cause.Cause<unknown>): void => {
  const failure = Cause.failureOption(cause)
  const error = Option.getOrElse(failure, () => Cause.squash(cause))
  const runCause = Option.isSome(failure) || Cause.isInterruptedOnly(cause)
    ? cause
    : Cause.die(stepDefect(step.step.name, error))
  const elapsed = (attempt.lastFailedAt ?? attempt.firstAttemptAt ?? 0) - (attempt.firstAttemptAt ?? 0)
  run_.end(
    run.state,
    "failed",
    Exit.failCause(runCause),
    new Event.WorkflowFailedEvent(
      { stepName: step.step.name, error, attempts: attempt.failures, elapsedSeconds: elapsed / 1000 },
      true
    )
  )
}
