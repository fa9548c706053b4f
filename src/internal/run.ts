/**
 * The whole state of one run, and the synchronous transitions over it. Every change of a run
 * (routing, worker slots, collect buffers, waiters, the stream sequence, the end) happens in one
 * of these functions, without yielding, so the state is always consistent between two of them.
 */
import type * as Clock from "effect/Clock"
import type * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as MutableQueue from "effect/MutableQueue"
import * as Option from "effect/Option"
import type * as PubSub from "effect/PubSub"
import type * as Runtime from "effect/Runtime"
import type * as Schedule from "effect/Schedule"
import * as Event from "../Event.js"
import type * as StateStore from "../StateStore.js"
import type * as Step from "../Step.js"
import type * as Workflow from "../Workflow.js"
import type { RunMembers } from "./context.js"
import type { Deadline } from "./deadlines.js"

/** @internal */
export interface Attempt {
  readonly event: Event.AnyEvent
  /** Failures so far (0 before the first execution). */
  failures: number
  /** Clock millis at the start of the first execution. */
  firstAttemptAt: number | undefined
  lastFailedAt: number | undefined
  lastError: Option.Option<unknown>
  /** The retry schedule's state for this event, made on its first failure. */
  driver: Schedule.ScheduleDriver<unknown, unknown, never> | undefined
  /**
   * The events this attempt's `collectEvents` took out of complete buffers (other than its own
   * event): put back if the attempt fails and is retried, so the retry collects them again.
   */
  taken: Array<{ readonly bufferId: string; readonly events: ReadonlyArray<Event.AnyEvent> }> | undefined
}

/** @internal */
export interface Execution {
  /** The worker slot the execution holds; it changes when the execution waits for an event. */
  slot: number
  /** Whether it holds `slot` now (not while it waits for an event). */
  holdsSlot: boolean
  /** How many `waitForEvent`s of this execution are in progress (they may run concurrently). */
  waits: number
  readonly attempt: Attempt
}

/** An execution that holds a slot of a step, ready to run. @internal */
export interface Job {
  readonly stepRun: StepRun
  readonly execution: Execution
}

/** A suspended execution that waits for a free slot to continue after `waitForEvent`. @internal */
export interface Resumption {
  readonly execution: Execution
  /** Whether a slot has been handed over. */
  handed: boolean
  /** Resumes the suspended fiber, once it is suspended. */
  resume: (() => void) | undefined
}

/** @internal */
export type QueueItem = Attempt | Resumption

/** @internal */
export interface Waiter {
  readonly id: string
  readonly awaitedTag: string
  readonly requirements: { readonly [key: string]: unknown } | undefined
  /** The event that resolved the waiter, once one has. */
  resolved: Event.AnyEvent | undefined
  /**
   * The executions suspended on this waiter (one waiter id is shared by equal waits), each with
   * the callback that resumes its fiber once the fiber is suspended.
   */
  readonly executions: Map<Execution, ((event: Event.AnyEvent) => void) | undefined>
}

/** What a run needs to know of a step that does not change from run to run. @internal */
export interface StepPlan {
  readonly step: Step.Any
  readonly accepts: ReadonlySet<string>
  readonly emits: ReadonlySet<string>
}

/** What a run needs to know of a workflow that does not change from run to run. @internal */
export interface Plan {
  readonly steps: ReadonlyArray<StepPlan>
  /** Indices into `steps` of the steps accepting each tag. */
  readonly routes: ReadonlyMap<string, ReadonlyArray<number>>
}

const plans = new WeakMap<Workflow.Any, Plan>()

/** The workflow's plan, computed once per workflow value. @internal */
export const planOf = (workflow: Workflow.Any): Plan => {
  let plan = plans.get(workflow)
  if (plan === undefined) {
    const routes = new Map<string, Array<number>>()
    const steps = workflow.steps.map((step, index): StepPlan => {
      const accepts = new Set(step.on.map(Event.tag))
      for (const tag of accepts) {
        const list = routes.get(tag)
        if (list) list.push(index)
        else routes.set(tag, [index])
      }
      return { step, accepts, emits: new Set(step.emits.map(Event.tag)) }
    })
    plan = { steps, routes }
    plans.set(workflow, plan)
  }
  return plan
}

/** @internal */
export class StepRun {
  readonly slots: Array<Execution | undefined>
  busy = 0
  retrying = 0
  readonly step: Step.Any
  readonly accepts: ReadonlySet<string>
  readonly emits: ReadonlySet<string>
  // Made when first used: most steps of most runs never queue, collect or wait.
  private _queue: MutableQueue.MutableQueue<QueueItem> | undefined = undefined
  private _collected: Map<string, CollectBuffer> | undefined = undefined
  private _waiters: Map<string, Waiter> | undefined = undefined

  get queue(): MutableQueue.MutableQueue<QueueItem> {
    return this._queue ??= MutableQueue.unbounded()
  }
  get collected(): Map<string, CollectBuffer> {
    return this._collected ??= new Map()
  }
  get waiters(): Map<string, Waiter> {
    return this._waiters ??= new Map()
  }
  /** Whether events or resumptions wait for a slot. */
  get hasQueued(): boolean {
    return this._queue !== undefined && !MutableQueue.isEmpty(this._queue)
  }
  /** The next item waiting for a slot, removed from the queue. */
  takeQueued(): QueueItem | undefined {
    return this._queue === undefined ? undefined : MutableQueue.poll(this._queue, undefined)
  }

  constructor(plan: StepPlan) {
    this.step = plan.step
    this.accepts = plan.accepts
    this.emits = plan.emits
    this.slots = new Array(plan.step.workers).fill(undefined)
  }
}

/** How a run starts and stops fibers (see runtime.ts): shared by all runs. @internal */
export interface Driver {
  readonly spawn: (run: Run, stepRun: StepRun, execution: Execution) => void
  readonly fork: (run: Run, effect: Effect.Effect<void>) => void
  readonly end: (run: Run) => void
}

/** @internal */
export class Run {
  done = false
  exit: Exit.Exit<unknown, unknown> | undefined = undefined
  idleAnnounced = false
  waiterCount = 0
  /**
   * Everything published, in order: every subscriber replays it, then follows `live` (made when
   * the first subscriber comes). Its length is the stream sequence.
   */
  readonly log: Array<Published> = []
  live: PubSub.PubSub<number> | undefined = undefined
  readonly stepRuns: ReadonlyArray<StepRun>
  readonly plan: Plan
  readonly stopTag: string
  /**
   * While a worker routes the events its execution returned, the first execution that gets a
   * slot is handed to that worker to run next instead of a new fiber (see `worker`).
   */
  accepting = false
  handoff: Job | undefined = undefined
  /** While the run begins, the executions whose workers start once its first events are routed. */
  starting: Array<Job> | undefined = undefined
  /** The run's fibers (workers, retry delays, the wait for a concurrency permit), once it has any. */
  fibers: Set<Fiber.RuntimeFiber<void>> | undefined = undefined
  /** The run timeout's fiber: not a step fiber, so the end does not wait for it. */
  deadline: Deadline | undefined = undefined
  /** Whether the run holds a permit of its workflow's `numConcurrentRuns` semaphore. */
  permit = false
  /** Whether the run has begun: routed its start event (after taking a permit, if limited). */
  begun = false
  /** Events sent before the run began, delivered after its start event. */
  early: Array<{ readonly event: Event.AnyEvent; readonly target: StepRun | undefined }> | undefined = undefined
  /** Whether the run's scope has closed: nothing of it may start any more. */
  closed = false
  /** The context members that are the same for every execution, made when first used. */
  members: RunMembers | undefined = undefined
  private _store: StateStore.StateStore<any> | undefined = undefined

  /** The run's state store. */
  get store(): StateStore.StateStore<any> {
    return this._store ??= this.makeStore()
  }


  /** Starts a worker fiber for an execution that holds a slot. */
  spawn(stepRun: StepRun, execution: Execution): void {
    this.driver.spawn(this, stepRun, execution)
  }

  /** Forks a fiber that the run interrupts when it ends. */
  fork(effect: Effect.Effect<void>): void {
    this.driver.fork(this, effect)
  }

  /** Called once when the run ends: interrupts the run's fibers, then completes its result. */
  onEnd(): void {
    this.driver.end(this)
  }

  /**
   * The run's result, set once its end is complete (its other fibers interrupted): `exit`, or
   * an interruption when its scope closed first. A field and a list of callbacks rather than a
   * `Deferred`, which costs more to make than the rest of a small run.
   */
  completed: Exit.Exit<any, any> | undefined = undefined
  private observers: Array<(exit: Exit.Exit<any, any>) => void> | undefined = undefined

  /** Sets the result, once, and tells whoever awaits it. */
  complete(exit: Exit.Exit<any, any>): void {
    if (this.completed !== undefined) return
    this.completed = exit
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

  /**
   * Settles the run once it has completed and its last fiber has exited (called on both): what
   * started and tracked its fibers is let go, and its scope is told.
   */
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

  private _runId: string | undefined
  /** The run's id: the one it was given, or a random UUID made when first read. */
  get runId(): string {
    return this._runId ??= crypto.randomUUID()
  }

  constructor(
    runId: string | undefined,
    readonly workflow: Workflow.Any,
    /** Makes the run's state store, the first time it is used. */
    private readonly makeStore: () => StateStore.StateStore<any>,
    readonly clock: Clock.Clock,
    /**
     * What the run was started with: the steps' services, the fiber refs of new fibers. Let go
     * once the run has settled.
     */
    public runtime: Runtime.Runtime<never> | undefined,
    readonly semaphore: Effect.Semaphore | undefined,
    private readonly driver: Driver
  ) {
    this._runId = runId
    this.plan = planOf(workflow)
    this.stepRuns = this.plan.steps.map((stepPlan) => new StepRun(stepPlan))
    this.stopTag = workflow.stop._tag
  }
}

/** @internal */
export const makeAttempt = (event: Event.AnyEvent): Attempt => ({
  event,
  failures: 0,
  firstAttemptAt: undefined,
  lastFailedAt: undefined,
  lastError: Option.none(),
  driver: undefined,
  taken: undefined
})

const isResumption = (item: QueueItem): item is Resumption => "handed" in item

// -------------------------------------------------------------------------------------------------
// the stream
// -------------------------------------------------------------------------------------------------

/**
 * A `StepStateChanged` as the run records it: the event instance is only made when a stream
 * with internal events reads it, so that runs nobody watches do not pay for it. @internal
 */
export class StepStateRecord {
  constructor(
    readonly name: string,
    readonly stepState: "preparing" | "running" | "not_running",
    readonly workerId: string,
    readonly input: Event.AnyEvent,
    readonly output: Event.AnyEvent | undefined
  ) {}

  toEvent(): Event.StepStateChanged {
    const fields = { name: this.name, stepState: this.stepState, workerId: this.workerId, inputEventName: this.input._tag }
    return new Event.StepStateChanged(
      this.output === undefined ? fields : { ...fields, outputEventName: this.output._tag },
      true
    )
  }
}

/** What the run's PubSub carries. @internal */
export type Published = Event.AnyEvent | StepStateRecord

/** Publishes on the run's stream, unless the run has ended. @internal */
export const publish = (run: Run, item: Published): void => {
  if (run.done) return
  run.log.push(item)
  run.live?.unsafeOffer(run.log.length - 1)
}

const stepState = (
  run: Run,
  stepRun: StepRun,
  state: "preparing" | "running" | "not_running",
  workerId: string,
  input: Event.AnyEvent,
  output?: Event.AnyEvent | undefined
): void => publish(run, new StepStateRecord(stepRun.step.name, state, workerId, input, output))

/** @internal */
export const publishNotRunning = (
  run: Run,
  stepRun: StepRun,
  execution: Execution,
  output?: Event.AnyEvent | undefined
): void => stepState(run, stepRun, "not_running", String(execution.slot), execution.attempt.event, output)

// -------------------------------------------------------------------------------------------------
// routing and worker slots
// -------------------------------------------------------------------------------------------------

/** Whether the run has no queued, running or retrying work. @internal */
export const isIdle = (run: Run): boolean => {
  for (const stepRun of run.stepRuns) {
    if (stepRun.busy > 0 || stepRun.retrying > 0 || stepRun.hasQueued) return false
  }
  return true
}

/** Publishes one `WorkflowIdleEvent` each time the run becomes idle. @internal */
export const announceIdle = (run: Run): void => {
  if (!run.done && !run.idleAnnounced && isIdle(run)) {
    run.idleAnnounced = true
    publish(run, new Event.WorkflowIdleEvent({}, true))
  }
}

/** @internal */
export const runningSteps = (run: Run): Array<string> => {
  const names: Array<string> = []
  // Once the run has ended its other executions are interrupted, whatever their slots say.
  if (run.done) return names
  for (const stepRun of run.stepRuns) {
    if (stepRun.busy > 0) names.push(stepRun.step.name)
  }
  return names
}

const occupy = (run: Run, stepRun: StepRun, execution: Execution): void => {
  stepRun.slots[execution.slot] = execution
  stepRun.busy++
  execution.holdsSlot = true
  stepState(run, stepRun, "running", String(execution.slot), execution.attempt.event)
}

const freeSlot = (stepRun: StepRun): number => stepRun.slots.indexOf(undefined)

/** Gives an attempt a free slot (starting a worker) or queues it. @internal */
export const enqueue = (run: Run, stepRun: StepRun, attempt: Attempt): void => {
  if (run.done) return
  run.idleAnnounced = false
  const slot = freeSlot(stepRun)
  if (slot < 0) {
    MutableQueue.offer(stepRun.queue, attempt)
    stepState(run, stepRun, "preparing", "<enqueued>", attempt.event)
    return
  }
  const execution: Execution = { slot, holdsSlot: false, waits: 0, attempt }
  occupy(run, stepRun, execution)
  if (run.accepting && run.handoff === undefined) run.handoff = { stepRun, execution }
  else run.spawn(stepRun, execution)
}

/**
 * Frees the slot of a finished (or suspended) execution and hands it to the next queued item:
 * returns the next execution for the calling worker to run, or `undefined` when the worker
 * should stop. @internal
 */
export const releaseSlot = (run: Run, stepRun: StepRun, execution: Execution): Execution | undefined => {
  if (!execution.holdsSlot) return undefined
  const slot = execution.slot
  stepRun.slots[slot] = undefined
  stepRun.busy--
  execution.holdsSlot = false
  if (run.done) return undefined
  const item = stepRun.takeQueued()
  if (item === undefined) return undefined
  if (isResumption(item)) {
    item.execution.slot = slot
    occupy(run, stepRun, item.execution)
    item.handed = true
    item.resume?.()
    return undefined
  }
  const next: Execution = { slot, holdsSlot: false, waits: 0, attempt: item }
  occupy(run, stepRun, next)
  return next
}

/**
 * Takes a slot for a suspended execution that continues: at once when one is free, else the
 * returned resumption is queued until a slot is handed over. @internal
 */
export const reacquireSlot = (run: Run, stepRun: StepRun, execution: Execution): Resumption | undefined => {
  run.idleAnnounced = false
  const slot = freeSlot(stepRun)
  if (slot >= 0) {
    execution.slot = slot
    occupy(run, stepRun, execution)
    return undefined
  }
  const resumption: Resumption = { execution, handed: false, resume: undefined }
  MutableQueue.offer(stepRun.queue, resumption)
  stepState(run, stepRun, "preparing", "<enqueued>", execution.attempt.event)
  return resumption
}

const matches = (waiter: Waiter, event: Event.AnyEvent): boolean => {
  if (waiter.awaitedTag !== event._tag) return false
  if (waiter.requirements === undefined) return true
  for (const key of Object.keys(waiter.requirements)) {
    if (!Equal.equals((event as any)[key], waiter.requirements[key])) return false
  }
  return true
}

const resolveWaiters = (run: Run, event: Event.AnyEvent): boolean => {
  let resolved = false
  for (const stepRun of run.stepRuns) {
    for (const waiter of stepRun.waiters.values()) {
      if (matches(waiter, event)) {
        stepRun.waiters.delete(waiter.id)
        run.waiterCount--
        waiter.resolved = event
        for (const resume of waiter.executions.values()) resume?.(event)
        resolved = true
      }
    }
  }
  return resolved
}

/**
 * Routes an event: waiters first (a resolved waiter consumes the event), then every step that
 * accepts its tag (or only `target`). @internal
 */
export const route = (run: Run, event: Event.AnyEvent, target?: StepRun): void => {
  if (run.done) return
  if (!run.begun) {
    ;(run.early ??= []).push({ event, target })
    return
  }
  if (run.waiterCount > 0 && resolveWaiters(run, event)) return
  if (target !== undefined) return enqueue(run, target, makeAttempt(event))
  const indices = run.plan.routes.get(event._tag)
  if (indices === undefined) {
    if (event._tag !== Event.InputRequiredEvent._tag) {
      publish(run, new Event.UnhandledEvent({ eventType: event._tag, idle: isIdle(run) }, true))
    }
    return
  }
  for (let i = 0; i < indices.length; i++) {
    enqueue(run, run.stepRuns[indices[i]], makeAttempt(event))
  }
}

// -------------------------------------------------------------------------------------------------
// collect buffers and waiters
// -------------------------------------------------------------------------------------------------

/**
 * A `collectEvents` buffer: the events kept so far and, for the `expected` list it was last
 * called with, how many of each tag are still missing.
 * @internal
 */
export interface CollectBuffer {
  readonly events: Array<Event.AnyEvent>
  expected: ReadonlyArray<Event.Any> | undefined
  missing: Map<string, number>
  remaining: number
}

// Recounted only when a call passes another `expected` array than the previous one, so that a
// fan-in over N events costs O(N), not O(N²).
const recount = (buffer: CollectBuffer, expected: ReadonlyArray<Event.Any>): void => {
  const missing = new Map<string, number>()
  for (const cls of expected) missing.set(cls._tag, (missing.get(cls._tag) ?? 0) + 1)
  for (const ev of buffer.events) {
    const count = missing.get(ev._tag)
    if (count !== undefined) missing.set(ev._tag, count - 1)
  }
  let remaining = 0
  for (const count of missing.values()) if (count > 0) remaining += count
  buffer.expected = expected
  buffer.missing = missing
  buffer.remaining = remaining
}

/**
 * Adds an event to a step's collect buffer; returns the completed set ordered as `expected`
 * (same-tag events in arrival order) and clears the buffer, or `undefined`. @internal
 */
export const collect = (
  stepRun: StepRun,
  attempt: Attempt,
  event: Event.AnyEvent,
  expected: ReadonlyArray<Event.Any>,
  bufferId: string
): Array<Event.AnyEvent> | undefined => {
  if (expected.length === 0) return []
  let buffer = stepRun.collected.get(bufferId)
  if (buffer === undefined) {
    buffer = { events: [], expected: undefined, missing: new Map(), remaining: 0 }
    stepRun.collected.set(bufferId, buffer)
  }
  if (buffer.expected !== expected) recount(buffer, expected)
  const needed = buffer.missing.get(event._tag) ?? 0
  if (needed <= 0) return undefined
  buffer.events.push(event)
  buffer.missing.set(event._tag, needed - 1)
  if (--buffer.remaining > 0) return undefined
  stepRun.collected.delete(bufferId)
  ;(attempt.taken ??= []).push({ bufferId, events: buffer.events.slice(0, -1) })
  const byTag = new Map<string, Array<Event.AnyEvent>>()
  for (const ev of buffer.events) {
    const list = byTag.get(ev._tag)
    if (list) list.push(ev)
    else byTag.set(ev._tag, [ev])
  }
  const taken = new Map<string, number>()
  return expected.map((cls) => {
    const index = taken.get(cls._tag) ?? 0
    taken.set(cls._tag, index + 1)
    return byTag.get(cls._tag)![index]
  })
}

/**
 * Puts back what a failed attempt took out of its step's collect buffers (before the buffers'
 * newer events), so that its retry collects the same set again. @internal
 */
export const restoreTaken = (stepRun: StepRun, attempt: Attempt): void => {
  if (attempt.taken === undefined) return
  for (const { bufferId, events } of attempt.taken) {
    const buffer = stepRun.collected.get(bufferId)
    if (buffer === undefined) {
      stepRun.collected.set(bufferId, { events: [...events], expected: undefined, missing: new Map(), remaining: 0 })
    } else {
      buffer.events.unshift(...events)
      buffer.expected = undefined
    }
  }
  attempt.taken = undefined
}

/**
 * Registers an execution on a waiter; a new waiter id publishes `waiterEvent`, an existing one
 * is shared. @internal
 */
export const addWaiter = (
  run: Run,
  stepRun: StepRun,
  execution: Execution,
  options: {
    readonly id: string
    readonly awaitedTag: string
    readonly requirements: { readonly [key: string]: unknown } | undefined
    readonly waiterEvent: Event.AnyEvent | undefined
  }
): Waiter => {
  let waiter = stepRun.waiters.get(options.id)
  if (waiter === undefined) {
    waiter = {
      id: options.id,
      awaitedTag: options.awaitedTag,
      requirements: options.requirements,
      resolved: undefined,
      executions: new Map()
    }
    stepRun.waiters.set(options.id, waiter)
    run.waiterCount++
    if (options.waiterEvent !== undefined) publish(run, options.waiterEvent)
  }
  waiter.executions.set(execution, undefined)
  return waiter
}

/** Removes an execution from a waiter, and the waiter once nobody waits on it. @internal */
export const leaveWaiter = (run: Run, stepRun: StepRun, waiter: Waiter, execution: Execution): void => {
  waiter.executions.delete(execution)
  if (waiter.executions.size === 0 && stepRun.waiters.get(waiter.id) === waiter) {
    stepRun.waiters.delete(waiter.id)
    run.waiterCount--
  }
}

// -------------------------------------------------------------------------------------------------
// the end
// -------------------------------------------------------------------------------------------------

/**
 * After the end no slot is handed over any more: executions queued for one to continue after a
 * wait are let go (they are being interrupted). @internal
 */
export const wakeResumptions = (run: Run): void => {
  for (const stepRun of run.stepRuns) {
    for (let item = stepRun.takeQueued(); item !== undefined; item = stepRun.takeQueued()) {
      if (isResumption(item)) {
        item.handed = true
        item.resume?.()
      }
    }
  }
}

/**
 * Ends the run once: publishes its terminal event, records its exit and starts the run's end
 * (every other fiber interrupted, then the result completed). Returns whether this call ended
 * the run. @internal
 */
export const finish = (run: Run, exit: Exit.Exit<unknown, unknown>, terminal: Event.AnyEvent): boolean => {
  if (run.done) return false
  publish(run, terminal)
  run.done = true
  run.exit = exit
  wakeResumptions(run)
  run.onEnd()
  return true
}
