/**
 * The `WorkflowContext` a step execution sees, with its members made when first read, and the
 * per-fiber view that `yield* WorkflowContext.WorkflowContext` gives.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Event from "../Event.js"
import type * as WorkflowContext from "../WorkflowContext.js"
import * as WorkflowError from "../WorkflowError.js"
import * as run_ from "./run.js"

/** Routes an event into a run, checking a target step first. @internal */
export const sendEvent = (
  run: run_.Run,
  event: Event.AnyEvent,
  options?: WorkflowContext.SendOptions
): Effect.Effect<void, WorkflowError.WorkflowStepDoesNotExistError | WorkflowError.WorkflowRuntimeError> =>
  Effect.suspend((): Effect.Effect<void, WorkflowError.WorkflowStepDoesNotExistError | WorkflowError.WorkflowRuntimeError> => {
    const step = options?.step
    if (step === undefined) {
      run_.route(run, event)
      return Effect.void
    }
    const target = run.stepRuns.find((stepRun) => stepRun.step.name === step)
    if (target === undefined) {
      return Effect.fail(new WorkflowError.WorkflowStepDoesNotExistError({ step }))
    }
    if (!target.accepts.has(event._tag)) {
      return Effect.fail(
        new WorkflowError.WorkflowRuntimeError({ message: `Step ${step} does not accept event of type ${event._tag}` })
      )
    }
    run_.route(run, event, target)
    return Effect.void
  })

/** The context members that are the same for every execution of a run. @internal */
export interface RunMembers {
  readonly sendEvent: WorkflowContext.WorkflowContext<any>["sendEvent"]
  readonly writeEventToStream: WorkflowContext.WorkflowContext<any>["writeEventToStream"]
  readonly runningSteps: WorkflowContext.WorkflowContext<any>["runningSteps"]
}

const runMembers = (run: run_.Run): RunMembers =>
  run.members ??= {
    sendEvent: (event, options) => sendEvent(run, event, options),
    writeEventToStream: (event) => Effect.sync(() => run_.publish(run, event)),
    runningSteps: Effect.sync(() => run_.runningSteps(run))
  }


const firstAttempt: WorkflowContext.RetryInfo = { attempt: 1, elapsed: Duration.zero, lastError: Option.none() }

/**
 * The context of one execution. Its members are made when first read (most step bodies use
 * few of them) and then kept, so that reading one twice gives the same function.
 */
class ExecutionContext implements WorkflowContext.WorkflowContext<any> {
  private wait: WorkflowContext.WorkflowContext<any>["waitForEvent"] | undefined = undefined
  private collect: WorkflowContext.WorkflowContext<any>["collectEvents"] | undefined = undefined

  constructor(
    private readonly run: run_.Run,
    private readonly stepRun: run_.StepRun,
    private readonly execution: run_.Execution,
    readonly retryInfo: WorkflowContext.RetryInfo
  ) {}

  get runId() {
    return this.run.runId
  }
  get store() {
    return this.run.store
  }
  get sendEvent() {
    return runMembers(this.run).sendEvent
  }
  get writeEventToStream() {
    return runMembers(this.run).writeEventToStream
  }
  get runningSteps() {
    return runMembers(this.run).runningSteps
  }
  get collectEvents(): WorkflowContext.WorkflowContext<any>["collectEvents"] {
    return this.collect ??= ((event: Event.AnyEvent, expected: ReadonlyArray<Event.Any>, options?: { bufferId?: string }) =>
      Effect.sync(() =>
        Option.fromNullable(
          run_.collect(this.stepRun, this.execution.attempt, event, expected, options?.bufferId ?? "default")
        )
      )) as WorkflowContext.WorkflowContext<any>["collectEvents"]
  }
  get waitForEvent(): WorkflowContext.WorkflowContext<any>["waitForEvent"] {
    return this.wait ??= (eventClass, options) =>
      waitForEvent(this.run, this.stepRun, this.execution, eventClass, options)
  }
}

/** @internal */
export const makeContext = (
  run: run_.Run,
  stepRun: run_.StepRun,
  execution: run_.Execution,
  startedAt: number
): WorkflowContext.WorkflowContext<any> => {
  const attempt = execution.attempt
  return new ExecutionContext(
    run,
    stepRun,
    execution,
    attempt.failures === 0 ? firstAttempt : {
      attempt: attempt.failures + 1,
      elapsed: Duration.millis(startedAt - attempt.firstAttemptAt!),
      lastError: attempt.lastError
    }
  )
}

/**
 * What `yield* WorkflowContext.WorkflowContext` gives inside a worker fiber: the fiber's context
 * holds one of these for its whole life, pointing at the execution the fiber runs now, so that
 * starting an execution is a field write rather than a change of the fiber's context. (A step
 * body's second argument is the execution's own context.)
 *
 * @internal
 */
export class CurrentContext implements WorkflowContext.WorkflowContext<any> {
  current!: WorkflowContext.WorkflowContext<any>
  get runId() {
    return this.current.runId
  }
  get store() {
    return this.current.store
  }
  get sendEvent() {
    return this.current.sendEvent
  }
  get collectEvents() {
    return this.current.collectEvents
  }
  get waitForEvent() {
    return this.current.waitForEvent
  }
  get writeEventToStream() {
    return this.current.writeEventToStream
  }
  get runningSteps() {
    return this.current.runningSteps
  }
  get retryInfo() {
    return this.current.retryInfo
  }
}

const defaultWaiterId = (tag: string, requirements: object | undefined): string => {
  if (requirements === undefined) return `waiter_${tag}`
  try {
    return `waiter_${tag}_${JSON.stringify(requirements)}`
  } catch {
    return `waiter_${tag}_${Object.keys(requirements).sort().join(",")}`
  }
}

/** Takes a slot again for an execution that has waited: at once if one is free, else in turn. */
const reacquire = (run: run_.Run, stepRun: run_.StepRun, execution: run_.Execution): Effect.Effect<void> =>
  Effect.suspend(() => {
    const resumption = run_.reacquireSlot(run, stepRun, execution)
    if (resumption === undefined) return Effect.void
    return Effect.async<void>((resume) => {
      if (resumption.handed) return resume(Effect.void)
      resumption.resume = () => resume(Effect.void)
    })
  })

const waitForEvent = (
  run: run_.Run,
  stepRun: run_.StepRun,
  execution: run_.Execution,
  eventClass: Event.Any,
  options: WorkflowContext.WaitOptions<any> | undefined
): Effect.Effect<any, WorkflowError.WaitForEventTimeout> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.suspend(() => {
      if (run.done) return Effect.never
      const requirements = options?.requirements as { readonly [key: string]: unknown } | undefined
      const id = options?.waiterId ?? defaultWaiterId(eventClass._tag, requirements)
      const waiter = run_.addWaiter(run, stepRun, execution, {
        id,
        awaitedTag: eventClass._tag,
        requirements,
        waiterEvent: options?.waiterEvent
      })
      // A waiting execution gives its slot to the next queued work (once, for concurrent waits).
      if (execution.waits++ === 0 && execution.holdsSlot) {
        run_.publishNotRunning(run, stepRun, execution)
        const next = run_.releaseSlot(run, stepRun, execution)
        if (next !== undefined) run.spawn(stepRun, next)
        run_.announceIdle(run)
      }
      const resolved = Effect.async<Event.AnyEvent>((resume) => {
        if (waiter.resolved !== undefined) return resume(Effect.succeed(waiter.resolved))
        waiter.executions.set(execution, (event) => resume(Effect.succeed(event)))
      })
      const timeout = options?.timeout
      const awaited = timeout === undefined || timeout === null
        ? resolved
        : Effect.timeoutFail(resolved, {
          duration: timeout,
          onTimeout: () =>
            new WorkflowError.WaitForEventTimeout({
              waiterId: id,
              eventTag: eventClass._tag,
              timeout: Duration.decode(timeout)
            })
        })
      // However the wait ends (an event, its timeout, or an interruption such as a timeout around
      // it), the execution leaves the waiter and, after its last wait, holds a slot again before
      // it goes on. After the run's end nothing is handed over, so it does not wait for a slot.
      return Effect.ensuring(
        restore(awaited),
        Effect.suspend(() => {
          run_.leaveWaiter(run, stepRun, waiter, execution)
          return --execution.waits > 0 || run.done ? Effect.void : reacquire(run, stepRun, execution)
        })
      )
    })
  )
