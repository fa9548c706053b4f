/**
 * A run's shell: what lives beside its `RunState` (fibers, callbacks of suspended executions,
 * timers, the runtime, the stream), and `flush`, the one place that executes what the state's
 * transitions asked for.
 */
import * as Context from "effect/Context"
import type * as Clock from "effect/Clock"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type * as PubSub from "effect/PubSub"
import * as Runtime from "effect/Runtime"
import type * as Tracer from "effect/Tracer"
import type * as Serializer from "../Serializer.js"
import * as WorkflowContext from "../WorkflowContext.js"
import { CurrentContext } from "./context.js"
import * as deadlines from "./deadlines.js"
import * as run_ from "./run.js"
import * as telemetry from "./telemetry.js"
import { worker } from "./worker.js"

/**
 * Told, at every flush and before its commands are executed, what the run's transitions did:
 * events published (with their sequence), executions started and finished, waiters added, the
 * run's end. The durable handler stores persist runs through it. @internal
 */
export type Journal = (commands: ReadonlyArray<run_.Command>, state: run_.RunState) => void

/** @internal */
export class Run {
  /**
   * Everything published by this process's run, in order (sequence `state.published - log.length`
   * onward): every subscriber replays it, then follows `live` (made for the first subscriber).
   */
  readonly log: Array<run_.Published> = []
  live: PubSub.PubSub<number> | undefined = undefined
  /** The run's fibers (workers, the wait for a concurrency permit), once it has any. */
  fibers: Set<Fiber.RuntimeFiber<void>> | undefined = undefined
  /** The run timeout. */
  deadline: deadlines.Deadline | undefined = undefined
  /** The timers of retries waiting out their delay. */
  timers: Map<run_.Attempt, deadlines.Deadline> | undefined = undefined
  /**
   * Callbacks of suspended fibers, by what they wait for: a waiter (its event) or an execution
   * (a slot handed over). One callback per key is the common case: it is kept without an array.
   */
  callbacks: Map<run_.Waiter | run_.Execution, (() => void) | Array<() => void>> | undefined = undefined

  /** Keeps a callback to call when `key` is resolved or woken. */
  addCallback(key: run_.Waiter | run_.Execution, callback: () => void): void {
    const callbacks = this.callbacks ??= new Map()
    const present = callbacks.get(key)
    callbacks.set(
      key,
      present === undefined ? callback : typeof present === "function" ? [present, callback] : [...present, callback]
    )
  }

  /** Forgets a callback (its fiber does not wait any more). */
  removeCallback(key: run_.Waiter | run_.Execution, callback: () => void): void {
    const present = this.callbacks?.get(key)
    if (present === callback) {
      this.callbacks!.delete(key)
    } else if (Array.isArray(present)) {
      const rest = present.filter((f) => f !== callback)
      if (rest.length === 0) this.callbacks!.delete(key)
      else this.callbacks!.set(key, rest)
    }
  }

  /** Calls, once, the callbacks kept for `key`. */
  call(key: run_.Waiter | run_.Execution): void {
    const present = this.callbacks?.get(key)
    if (present === undefined) return
    this.callbacks!.delete(key)
    if (typeof present === "function") return present()
    for (const callback of present) callback()
  }
  /** Whether the run holds a permit of its workflow's `numConcurrentRuns` semaphore. */
  permit = false
  /** Whether the run's scope has closed: nothing of it may start any more. */
  closed = false
  private flushing = false
  /** While the run begins: workers start in place (on the caller's stack), not scheduled. */
  inPlace = false
  /** The context members that are the same for every execution, made when first used. */
  members: unknown = undefined
  /**
   * What the run traces with and its span; `undefined` when its spans would go nowhere (see
   * telemetry.ts).
   */
  traced: { readonly tracing: telemetry.Tracing; readonly span: Tracer.Span } | undefined = undefined

  constructor(
    readonly state: run_.RunState,
    readonly clock: Clock.Clock,
    /**
     * What the run was started with: the steps' services, the fiber refs of new fibers. Let go
     * once the run has settled.
     */
    public runtime: Runtime.Runtime<never> | undefined,
    readonly semaphore: Effect.Semaphore | undefined,
    readonly serializer: Serializer.Serializer | undefined,
    readonly journal: Journal | undefined
  ) {
    if (journal !== undefined) state.journaled = true
  }

  /**
   * The run's result, set once its end is complete (its other fibers interrupted). A field and a
   * list of callbacks rather than a `Deferred`, which costs more to make than a small run.
   */
  completed: Exit.Exit<any, any> | undefined = undefined
  private observers: Array<(exit: Exit.Exit<any, any>) => void> | undefined = undefined

  /** Sets the result, once, and tells whoever awaits it. */
  complete(exit: Exit.Exit<any, any>): void {
    if (this.completed !== undefined) return
    this.completed = exit
    run_.ended(this.state, exit)
    recordEnd(this, exit)
    this.settleIfDone()
    const observers = this.observers
    this.observers = undefined
    if (observers !== undefined) for (const observer of observers) observer(exit)
  }

  /** Called once the run has completed and no fiber of it is left: nothing remains to close. */
  onSettled: (() => void) | undefined = undefined

  /** Whether the run has completed and its last fiber has exited. */
  get settled(): boolean {
    return this.completed !== undefined && this.fibers === undefined
  }

  /** Settles the run once it has completed and its last fiber has exited (called on both). */
  settleIfDone(): void {
    if (this.completed === undefined || this.fibers?.size) return
    this.fibers = undefined
    // nothing of the run starts any more: what it started fibers with is let go
    this.runtime = undefined
    const onSettled = this.onSettled
    this.onSettled = undefined
    onSettled?.()
  }

  /** Calls `observer` with the result when it is set (not if it already is). */
  observe(observer: (exit: Exit.Exit<any, any>) => void): void {
    ;(this.observers ??= []).push(observer)
  }

  unobserve(observer: (exit: Exit.Exit<any, any>) => void): void {
    const index = this.observers?.indexOf(observer) ?? -1
    if (index >= 0) this.observers!.splice(index, 1)
  }

  /** Executes the outbox: the one place where the run's transitions take effect. */
  flush(): void {
    // Re-entered by a worker started in place: the outer call goes on with what it appends.
    if (this.flushing) return
    const state = this.state
    if (state.outbox.length === 0) return
    this.flushing = true
    try {
      // what executing a command appends (a worker started in place) is taken in the next turn
      while (state.outbox.length > 0) {
        const outbox = state.outbox
        state.outbox = []
        this.journal?.(outbox, state)
        for (let i = 0; i < outbox.length; i++) execute(this, outbox[i]!)
      }
    } finally {
      this.flushing = false
    }
  }

  /** Forks a fiber that the run interrupts when it ends. */
  fork(effect: Effect.Effect<void>): void {
    if (!this.closed && this.runtime !== undefined) track(this, Runtime.runFork(this.runtime)(effect, { immediate: false }))
  }
}

/** Counts the run's ending and ends its span. */
const recordEnd = (run: Run, exit: Exit.Exit<unknown, unknown>): void => {
  const ending = (run.state.status as { readonly ending: run_.Ending }).ending
  run.state.metrics?.ended[ending].update(1)
  const traced = run.traced
  if (traced !== undefined) {
    traced.span.attribute(telemetry.keys.outcome, ending)
    telemetry.endSpan(traced.tracing, run.clock, traced.span, exit)
  }
}

const execute = (run: Run, command: run_.Command): void => {
  switch (command._op) {
    case "publish": {
      run.log.push(command.item)
      run.live?.unsafeOffer(run.log.length - 1)
      return
    }
    case "run":
      return startWorker(run, command.step, command.execution, run.inPlace)
    case "resolve":
      return run.call(command.waiter)
    case "wake":
      return run.call(command.execution)
    case "timer": {
      const { attempt, step } = command
      const timers = run.timers ??= new Map()
      timers.set(
        attempt,
        deadlines.add(run.clock, attempt.retryAt!, () => {
          timers.delete(attempt)
          run_.retryDue(run.state, step, attempt)
          run.flush()
        })
      )
      return
    }
    case "end":
      return stop(run)
  }
}

const track = (run: Run, fiber: Fiber.RuntimeFiber<void>): void => {
  const fibers = run.fibers ??= new Set()
  fibers.add(fiber)
  fiber.addObserver(() => {
    fibers.delete(fiber)
    run.settleIfDone()
  })
}

/**
 * Starts a worker fiber for an execution that holds a slot: scheduled, so that transitions of
 * the run never re-enter each other, or in place while the run begins.
 */
const startWorker = (run: Run, step: run_.StepState, execution: run_.Execution, inPlace: boolean): void => {
  const started = run.runtime
  if (started === undefined || run.closed) return
  const current = new CurrentContext()
  const runtime = Runtime.make({
    context: Context.add(started.context, WorkflowContext.WorkflowContext, current),
    fiberRefs: started.fiberRefs,
    runtimeFlags: started.runtimeFlags
  })
  track(run, Runtime.runFork(runtime)(worker(run, step, execution, current), { immediate: inPlace }))
}

/** Stops what of the run goes on: timers and, unless it is the caller, every other fiber. */
const stopTimers = (run: Run): void => {
  if (run.deadline !== undefined) deadlines.remove(run.deadline)
  run.deadline = undefined
  if (run.timers !== undefined) {
    for (const timer of run.timers.values()) deadlines.remove(timer)
    run.timers = undefined
  }
}

const releasePermit = (run: Run) =>
  Effect.suspend(() => {
    if (!run.permit) return Effect.void
    run.permit = false
    return run.semaphore!.release(1)
  })

/** The run's exit, once its end has begun. */
const exitOf = (run: Run): Exit.Exit<unknown, unknown> => {
  const status = run.state.status
  return status._tag === "Stopping" || status._tag === "Ended" ? status.exit : Exit.void
}

/** Interrupts the run's fibers and releases its permit, then sets its result. */
const stopFibers = (run: Run): Effect.Effect<void> =>
  Fiber.interruptAll(run.fibers ?? []).pipe(
    Effect.zipRight(releasePermit(run)),
    Effect.zipRight(Effect.sync(() => run.complete(exitOf(run))))
  )

/** The run has ended (its terminal event published): its other fibers stop, then its result is set. */
const stop = (run: Run): void => {
  stopTimers(run)
  const current = Fiber.getCurrentFiber()
  let others = run.permit
  for (const fiber of run.fibers ?? []) {
    if (others) break
    others = Option.isNone(current) || fiber !== current.value
  }
  // Usually the run ends in its last step's fiber, with nothing else to interrupt or release.
  if (!others || run.runtime === undefined) return run.complete(exitOf(run))
  Runtime.runFork(run.runtime)(stopFibers(run), { immediate: false })
}

/** Offered to the live PubSub when the run's scope closes: its subscribers end there. @internal */
export const closedIndex = -1

/**
 * What closing a run's scope does: a run still going is cancelled (its stream ends with
 * `WorkflowCancelledEvent`), then nothing of it starts, runs or waits any more. @internal
 */
export const close = (run: Run, cancel: () => void): Effect.Effect<void> =>
  Effect.suspend(() => {
    cancel()
    run.flush()
    run.closed = true
    stopTimers(run)
    run.live?.unsafeOffer(closedIndex)
    // Usually the run has ended before its scope closes, and nothing of it is left to stop.
    if (run.completed !== undefined && (run.fibers === undefined || run.fibers.size === 0) && !run.permit) {
      return Effect.void
    }
    // cancelled above if it was still going: its exit is set
    return stopFibers(run)
  })
