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
import type { Run } from "./shell.js"

/** Routes an event into a run, checking a target step first. @internal */
export const sendEvent = (
  run: Run,
  event: Event.AnyEvent,
  options?: WorkflowContext.SendOptions,
  /** The recoveries of the sending execution's lineage (see `run_.Attempt.recoveries`). */
  recoveries?: run_.Recoveries | undefined
): Effect.Effect<void, WorkflowError.WorkflowStepDoesNotExistError | WorkflowError.WorkflowRuntimeError> =>
  Effect.suspend((): Effect.Effect<void, WorkflowError.WorkflowStepDoesNotExistError | WorkflowError.WorkflowRuntimeError> => {
    const state = run.state
    const step = options?.step
    if (step === undefined) {
      run_.route(state, event, undefined, recoveries)
      run.flush()
      return Effect.void
    }
    const target = state.stepNamed(step)
    if (target === undefined) {
      return Effect.fail(new WorkflowError.WorkflowStepDoesNotExistError({ step }))
    }
    if (!target.accepts.has(event._tag)) {
      return Effect.fail(
        new WorkflowError.WorkflowRuntimeError({ message: `Step ${step} does not accept event of type ${event._tag}` })
      )
    }
    run_.route(state, event, target, recoveries)
    run.flush()
    return Effect.void
  })

/** The context members that are the same for every execution of a run. @internal */
export interface RunMembers {
  readonly sendEvent: WorkflowContext.WorkflowContext<any>["sendEvent"]
  readonly writeEventToStream: WorkflowContext.WorkflowContext<any>["writeEventToStream"]
  readonly runningSteps: WorkflowContext.WorkflowContext<any>["runningSteps"]
}

const runMembers = (run: Run): RunMembers =>
  (run.members ??= {
    // untargeted, `sendEvent` cannot fail: the overloads type that
    sendEvent: ((event: Event.AnyEvent, options?: WorkflowContext.SendOptions) =>
      sendEvent(run, event, options)) as RunMembers["sendEvent"],
    writeEventToStream: (event) =>
      Effect.sync(() => {
        run_.publish(run.state, event)
        run.flush()
      }),
    runningSteps: Effect.sync(() => run_.runningSteps(run.state))
  } satisfies RunMembers) as RunMembers


const firstAttempt: WorkflowContext.RetryInfo = { attempt: 1, elapsed: Duration.zero, lastError: Option.none() }

/**
 * The context of one execution. Its members are made when first read (most step bodies use
 * few of them) and then kept, so that reading one twice gives the same function.
 */
export class ExecutionContext implements WorkflowContext.WorkflowContext<any> {
  private wait: WorkflowContext.WorkflowContext<any>["waitForEvent"] | undefined = undefined
  private collect: WorkflowContext.WorkflowContext<any>["collectEvents"] | undefined = undefined
  private send: WorkflowContext.WorkflowContext<any>["sendEvent"] | undefined = undefined

  constructor(
    /** The run and the step, which the log annotations of the execution name (telemetry.ts). */
    readonly run: Run,
    readonly step: run_.StepState,
    private readonly execution: run_.Execution,
    readonly retryInfo: WorkflowContext.RetryInfo
  ) {}

  get runId() {
    return this.run.state.runId
  }
  get store() {
    return this.run.state.store
  }
  get sendEvent() {
    const recoveries = this.execution.attempt.recoveries
    // the events an execution sends follow from its event's lineage (most have none)
    if (recoveries === undefined) return runMembers(this.run).sendEvent
    return this.send ??= ((event: Event.AnyEvent, options?: WorkflowContext.SendOptions) =>
      sendEvent(this.run, event, options, recoveries)) as WorkflowContext.WorkflowContext<any>["sendEvent"]
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
          run_.collect(this.step, this.execution.attempt, event, expected, options?.bufferId ?? "default")
        )
      )) as WorkflowContext.WorkflowContext<any>["collectEvents"]
  }
  get waitForEvent(): WorkflowContext.WorkflowContext<any>["waitForEvent"] {
    // One function for both overloads: without a timeout it cannot fail (and the `Publishes` of
    // its `R` is a type-level record only).
    return this.wait ??= ((eventClass: Event.Any, options?: WorkflowContext.WaitOptions<any>) =>
      waitForEvent(this.run, this.step, this.execution, eventClass, options)) as unknown as WorkflowContext.WorkflowContext<
        any
      >["waitForEvent"]
  }
}

/** @internal */
export const makeContext = (
  run: Run,
  step: run_.StepState,
  execution: run_.Execution,
  startedAt: number
): ExecutionContext => {
  const attempt = execution.attempt
  return new ExecutionContext(
    run,
    step,
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
  current!: ExecutionContext
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

/**
 * Takes a slot again for an execution that has waited: at once if one is free, else in turn.
 * It runs in the wait's finalizer, which cannot be interrupted: its callback needs no canceler.
 * Woken by the run's end instead, the execution does not go on.
 */
const reacquire = (run: Run, step: run_.StepState, execution: run_.Execution): Effect.Effect<void> =>
  Effect.suspend(() => {
    const got = run_.reacquireSlot(run.state, step, execution)
    run.flush()
    if (got) return Effect.void
    return Effect.zipRight(
      Effect.async<void>((resume) => {
        if (execution.handed) return resume(Effect.void)
        run.addCallback(execution, () => resume(Effect.void))
      }),
      Effect.suspend(() => run.state.done ? Effect.interrupt : Effect.void)
    )
  })

/**
 * Suspends until the waiter is resolved (at once if it is already), calling `registered` with
 * the callback it leaves with the run: the wait's finalizer removes it (no canceler is made,
 * which a parked run would hold).
 */
const resolution = (
  run: Run,
  waiter: run_.Waiter,
  registered: (resolve: () => void) => void
): Effect.Effect<Event.AnyEvent> =>
  Effect.async<Event.AnyEvent>((resume) => {
    if (waiter.resolved !== undefined) return resume(Effect.succeed(waiter.resolved))
    const resolve = () => resume(Effect.succeed(waiter.resolved!))
    run.addCallback(waiter, resolve)
    registered(resolve)
  })

const waitForEvent = (
  run: Run,
  step: run_.StepState,
  execution: run_.Execution,
  eventClass: Event.Any,
  options: WorkflowContext.WaitOptions<any> | undefined
): Effect.Effect<any, WorkflowError.WaitForEventTimeout> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.suspend(() => {
      const state = run.state
      // the run has ended: its fibers are being interrupted
      if (state.done) return Effect.interrupt
      const requirements = options?.requirements as { readonly [key: string]: unknown } | undefined
      const id = options?.waiterId ?? defaultWaiterId(eventClass._tag, requirements)
      const timeout = options?.timeout
      const now = timeout === undefined || timeout === null ? 0 : run.clock.unsafeCurrentTimeMillis()
      const waiter = run_.wait(state, step, execution, {
        id,
        awaitedTag: eventClass._tag,
        requirements,
        waiterEvent: options?.waiterEvent,
        expiresAt: timeout === undefined || timeout === null ? undefined : now + Duration.toMillis(timeout)
      })
      // A waiting execution gives its slot to the next queued work (once, for concurrent waits).
      const next = run_.suspend(state, step, execution)
      if (next !== undefined) state.outbox.push(run_.runCommand(step, next))
      run.flush()
      let registered: (() => void) | undefined
      const resolved = resolution(run, waiter, (resolve) => {
        registered = resolve
      })
      const awaited = timeout === undefined || timeout === null
        ? resolved
        : Effect.timeoutFail(resolved, {
          // the waiter's deadline: a wait joining a waiter (a resumed run's) keeps its deadline
          duration: Math.max(0, (waiter.expiresAt ?? now + Duration.toMillis(timeout)) - now),
          onTimeout: () =>
            new WorkflowError.WaitForEventTimeout({
              waiterId: id,
              eventTag: eventClass._tag,
              timeout: Duration.decode(timeout)
            })
        })
      // However the wait ends (an event, its timeout, or an interruption such as a timeout around
      // it), the execution holds a slot again, after its last wait, before it goes on; a wait that
      // got no event leaves its waiter. After the run's end nothing is handed over.
      return Effect.ensuring(
        restore(awaited),
        Effect.suspend(() => {
          if (registered !== undefined) run.removeCallback(waiter, registered)
          run_.abandonWait(state, step, waiter, execution)
          return --execution.waits > 0 || state.done ? Effect.void : reacquire(run, step, execution)
        })
      )
    })
  )
