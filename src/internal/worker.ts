/**
 * A worker fiber: it runs the execution it was started with, then the execution its result
 * hands over or the next queued event of its step, and stops when there is neither. Each
 * execution is isolated as if it had a fiber of its own.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import type * as Schedule from "effect/Schedule"
import * as ScheduleDecision from "effect/ScheduleDecision"
import * as ScheduleIntervals from "effect/ScheduleIntervals"
import type * as Tracer from "effect/Tracer"
import * as Event from "../Event.js"
import * as WorkflowError from "../WorkflowError.js"
import { type CurrentContext, makeContext } from "./context.js"
import * as isolation from "./isolation.js"
import { currentFirstAttemptAt } from "./retry.js"
import * as run_ from "./run.js"
import type { Run } from "./shell.js"
import * as telemetry from "./telemetry.js"

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
  /** The refs every execution starts from (the fiber's when it started), restored when it ends. */
  private readonly refs: isolation.Refs
  /** Clock millis at which the execution in progress started. */
  private startedAt = 0
  /** Clock millis at which the last execution ended, and a function that reads it. */
  private endedAt = 0
  private readonly readEnd = (): number => this.endedAt
  /** The span of the execution in progress, while the run is traced. */
  private span: Tracer.Span | undefined = undefined

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

  // Called when the execution starts (never ahead of time): it reads the clock, unless the
  // execution that ended just before on this worker did (`now`).
  execute(step: run_.StepState, execution: run_.Execution, now?: number): Effect.Effect<void> {
    const run = this.run
    const startedAt = now ?? run.clock.unsafeCurrentTimeMillis()
    const attempt = execution.attempt
    if (attempt.firstAttemptAt === undefined) attempt.firstAttemptAt = startedAt
    this.step = step
    this.execution = execution
    this.startedAt = startedAt
    this.current.current = makeContext(run, step, execution, startedAt)
    const body = callBody(step, attempt.event, this.current.current)
    return Effect.matchCauseEffect(run.traced === undefined ? body : this.traced(body), this)
  }

  /** The body in the execution's span (its parent span), which an interruption ends too. */
  private traced(body: Effect.Effect<unknown, unknown>): Effect.Effect<unknown, unknown> {
    const run = this.run
    const { span: runSpan, tracing } = run.traced!
    const step = this.step
    const execution = this.execution
    const span = telemetry.startSpan(tracing, run.clock, `step ${step.step.name}`, Option.some(runSpan))
    span.attribute(telemetry.keys.workflow, run.state.workflow.name)
    span.attribute(telemetry.keys.runId, run.state.runId)
    span.attribute(telemetry.keys.step, step.step.name)
    span.attribute(telemetry.keys.attempt, execution.attempt.failures + 1)
    span.attribute(telemetry.keys.workerId, String(execution.slot))
    span.attribute(telemetry.keys.input, execution.attempt.event._tag)
    this.span = span
    return Effect.onInterrupt(
      Effect.withParentSpan(body, span),
      (interruptors) =>
        Effect.sync(() => telemetry.endSpan(tracing, run.clock, span, Exit.failCause(interruptCause(interruptors))))
    )
  }

  /** Ends the execution's span, if it has one. */
  private endSpan(exit: Exit.Exit<unknown, unknown>, output?: unknown): void {
    const span = this.span
    if (span === undefined) return
    this.span = undefined
    if (Event.isEvent(output)) span.attribute(telemetry.keys.output, output._tag)
    telemetry.endSpan(this.run.traced!.tracing, this.run.clock, span, exit)
  }

  readonly onFailure = (cause: Cause.Cause<unknown>): Effect.Effect<void> => {
    isolation.restore(this.fiber, this.refs)
    const step = this.step
    const execution = this.execution
    const state = this.run.state
    const now = this.run.clock.unsafeCurrentTimeMillis()
    if (step.metrics !== undefined) step.plan.duration!.update(now - this.startedAt)
    if (this.span !== undefined) this.endSpan(Exit.failCause(cause))
    if (state.done) return this.next(step, execution, now)
    const failure = Cause.failureOption(cause)
    run_.failed(state, step, execution, failure, now)
    if (Option.isNone(failure) || Option.isNone(step.step.retry)) {
      failStep(this.run, step, execution, cause)
      return this.next(step, execution, now)
    }
    return Effect.flatMap(
      nextRetry(step.step.retry.value, execution.attempt, failure.value, now),
      (at) => {
        if (at === undefined) failStep(this.run, step, execution, cause)
        else run_.retryAt(state, step, execution, at, now)
        return this.next(step, execution, now)
      }
    )
  }

  readonly onSuccess = (value: unknown): Effect.Effect<void> => {
    isolation.restore(this.fiber, this.refs)
    const run = this.run
    const step = this.step
    const now = run.clock.unsafeCurrentTimeMillis()
    this.endedAt = now
    if (step.metrics !== undefined) step.plan.duration!.update(now - this.startedAt)
    const invalid = run_.succeeded(run.state, step, this.execution, value, this.readEnd)
    if (invalid !== undefined) {
      const error = new WorkflowError.WorkflowRuntimeError({ message: invalid.message })
      if (this.span !== undefined) this.endSpan(Exit.fail(error), value)
      failStep(run, step, this.execution, Cause.fail(error))
    } else if (this.span !== undefined) {
      this.endSpan(Exit.succeed(value), value)
    }
    return this.next(step, this.execution, now)
  }

  // What comes after an execution, decided when it has ended.
  private next(step: run_.StepState, execution: run_.Execution, now: number): Effect.Effect<void> {
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
    if (queued !== undefined) return this.execute(step, queued, now)
    if (handoff !== undefined && !state.done) return this.execute(handoff.step, handoff.execution, now)
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

const interruptCause = (interruptors: Iterable<FiberId.FiberId>): Cause.Cause<never> => {
  let cause: Cause.Cause<never> = Cause.empty
  for (const id of interruptors) cause = Cause.sequential(cause, Cause.interrupt(id))
  return cause
}

/**
 * A step failed for good: its `Step.catchError` handler gets the failure if there is one (and
 * its lineage has recoveries left), else the run fails with it. An interruption is never
 * recovered.
 */
const failStep = (run: Run, step: run_.StepState, execution: run_.Execution, cause: Cause.Cause<unknown>): void => {
  const attempt = execution.attempt
  const failure = Cause.failureOption(cause)
  const error = Option.getOrElse(failure, () => Cause.squash(cause))
  const interrupted = Option.isNone(failure) && Cause.isInterruptedOnly(cause)
  const defect = Option.isSome(failure) || interrupted ? undefined : stepDefect(step.step.name, error)
  if (!interrupted && run_.recover(run.state, step, execution, defect ?? error)) return
  const runCause = defect === undefined ? cause : Cause.die(defect)
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
