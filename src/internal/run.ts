/**
 * A run's state as one data value (`RunState`), and every transition over it. Transitions are
 * synchronous and never fork, resume or publish: they append commands to the state's outbox,
 * which the run's shell (runtime.ts) executes in one `flush`. Fibers, callbacks, the runtime and
 * the stream live in the shell, never here, so the state can be read at any moment, written
 * down as a snapshot, and tested as a plain value.
 */
import * as Equal from "effect/Equal"
import * as Exit from "effect/Exit"
import type * as MetricHook from "effect/MetricHook"
import * as Option from "effect/Option"
import * as Event from "../Event.js"
import type * as StateStore from "../StateStore.js"
import type * as Step from "../Step.js"
import type * as Workflow from "../Workflow.js"
import * as metrics from "./metrics.js"
import { coverage } from "./recovery.js"

// -------------------------------------------------------------------------------------------------
// the data
// -------------------------------------------------------------------------------------------------

/** An event on its way through a step, with its retry bookkeeping. @internal */
export interface Attempt {
  readonly event: Event.AnyEvent
  /** Failures so far (0 before the first failure). */
  failures: number
  /** Clock millis at the start of the first execution. */
  firstAttemptAt: number | undefined
  lastFailedAt: number | undefined
  lastError: Option.Option<unknown>
  /** The retry schedule's state after the last failure (not serializable: rebuilt on resume). */
  scheduleState: unknown
  /** While the attempt waits out a retry delay: the Clock millis at which it is due. */
  retryAt: number | undefined
  /**
   * The sets this attempt's `collectEvents` completed, without its own event, by buffer: kept
   * for the attempt, so that its next execution (a retry, or after a resume) gets the same set
   * again whatever arrived since.
   */
  taken: Array<{ readonly bufferId: string; readonly events: ReadonlyArray<Event.AnyEvent> }> | undefined
  /**
   * The events this attempt's `collectEvents` added to buffers without completing them: taken
   * out again when the attempt runs anew, so that they are not collected twice.
   */
  added: Array<{ readonly bufferId: string; readonly event: Event.AnyEvent }> | undefined
  /**
   * The recoveries of the event's lineage by `Step.catchError` handler name (never mutated: the
   * events that follow from this one share it), `undefined` when there were none.
   */
  readonly recoveries: Recoveries | undefined
}

/** Recoveries by handler name. @internal */
export type Recoveries = { readonly [handler: string]: number }

/** One execution of a step body for an attempt. @internal */
export interface Execution {
  /** The worker slot the execution holds; it changes when the execution waits for an event. */
  slot: number
  /** Whether it holds `slot` now (not while it waits for an event). */
  holdsSlot: boolean
  /** How many `waitForEvent`s of this execution are in progress (they may run concurrently). */
  waits: number
  /** Set when a slot has been handed to it after a wait (it may not be suspended yet). */
  handed: boolean
  /** Whether it waits in its step's queue for a slot to continue after a wait. */
  queued: boolean
  /** Set once it has ended: a wait it forked and that outlives it takes no slot. */
  ended: boolean
  /** The waiters it has joined and not yet left (removed once the execution completes). */
  joined: Array<Waiter> | undefined
  readonly attempt: Attempt
  /** Its place in the run's order of executions (a snapshot lists in-flight events in it). */
  readonly seq: number
}

/** A suspended execution waiting in its step's queue for a slot to continue after a wait. @internal */
export interface Resumption {
  readonly resumption: Execution
}

/** @internal */
export type QueueItem = Attempt | Resumption

const isResumption = (item: QueueItem): item is Resumption => "resumption" in item

/** A `waitForEvent` waiter: executions waiting for one event matching a tag and requirements. @internal */
export interface Waiter {
  readonly id: string
  readonly awaitedTag: string
  requirements: { readonly [key: string]: unknown } | undefined
  /** Whether the wait had requirements (restored waiters may have lost them). */
  readonly hasRequirements: boolean
  /** Whether its `waiterEvent` has been published. */
  waiterEventPublished: boolean
  /** The event that resolved the waiter, once one has: kept until its executions complete. */
  resolved: Event.AnyEvent | undefined
  /** The executions suspended on this waiter (equal waits share one waiter). */
  readonly executions: Array<Execution>
  /**
   * For a restored waiter not yet joined again: the input event of the step that waited (it
   * re-executes and joins it).
   */
  input: Event.AnyEvent | undefined
  /**
   * When a wait with a timeout gives up (Clock millis), set by the wait that made the waiter: a
   * wait that joins it, a re-executed step's after a resume too, keeps that deadline.
   */
  expiresAt: number | undefined
}

const isRestored = (waiter: Waiter): boolean => waiter.input !== undefined

/** A `collectEvents` buffer: the events kept so far, and what its last `expected` still misses. @internal */
export interface CollectBuffer {
  readonly events: Array<Event.AnyEvent>
  expected: ReadonlyArray<Event.Any> | undefined
  missing: Map<string, number>
  remaining: number
}

/** What a run needs to know of a step that does not change from run to run. @internal */
export interface StepPlan {
  readonly step: Step.Any
  readonly accepts: ReadonlySet<string>
  readonly emits: ReadonlySet<string>
  /** Index into the plan's steps of the `Step.catchError` handler covering the step, or -1. */
  readonly handler: number
  /** The hook of the step's execution durations, made by the workflow's first metered run. */
  duration: MetricHook.MetricHook.Histogram | undefined
}

/** What a run needs to know of a workflow that does not change from run to run. @internal */
export interface Plan {
  readonly steps: ReadonlyArray<StepPlan>
  /** Indices into `steps` of the steps accepting each tag. */
  readonly routes: ReadonlyMap<string, ReadonlyArray<number>>
  /** The hooks of the workflow's metrics, made by its first metered run (see `meter`). */
  metrics: metrics.WorkflowHooks | undefined
}

const plans = new WeakMap<Workflow.Any, Plan>()

/** The workflow's plan, computed once per workflow value. @internal */
export const planOf = (workflow: Workflow.Any): Plan => {
  let plan = plans.get(workflow)
  if (plan === undefined) {
    const routes = new Map<string, Array<number>>()
    const handlers = coverage(workflow.steps)
    const steps = workflow.steps.map((step, index): StepPlan => {
      const accepts = new Set(step.on.map(Event.tag))
      for (const tag of accepts) {
        const list = routes.get(tag)
        if (list) list.push(index)
        else routes.set(tag, [index])
      }
      return {
        step,
        accepts,
        emits: new Set(step.emits.map(Event.tag)),
        handler: handlers[index]!,
        duration: undefined
      }
    })
    plan = { steps, routes, metrics: undefined }
    plans.set(workflow, plan)
  }
  return plan
}

/** One step's part of a run. @internal */
export class StepState {
  readonly slots: Array<Execution | undefined>
  busy = 0
  readonly step: Step.Any
  readonly accepts: ReadonlySet<string>
  readonly emits: ReadonlySet<string>
  // Made when first used: most steps of most runs never queue, retry, collect or wait.
  // The queue is an array read from `head`: polling costs no allocation, and the array is
  // compacted once its read part is the larger one.
  private _queue: Array<QueueItem | undefined> | undefined = undefined
  private head = 0
  private _delayed: Set<Attempt> | undefined = undefined
  private _collected: Map<string, CollectBuffer> | undefined = undefined
  private _waiters: Array<Waiter> | undefined = undefined

  /** Puts an item at the end of the queue. */
  offer(item: QueueItem): void {
    ;(this._queue ??= []).push(item)
    this.metrics?.queueDepth.modify(1)
  }
  /** Attempts waiting out a retry delay. */
  get delayed(): Set<Attempt> {
    return this._delayed ??= new Set()
  }
  get collected(): Map<string, CollectBuffer> {
    return this._collected ??= new Map()
  }
  get waiters(): Array<Waiter> {
    return this._waiters ??= []
  }
  get hasQueued(): boolean {
    return this._queue !== undefined && this.head < this._queue.length
  }
  get hasDelayed(): boolean {
    return this._delayed !== undefined && this._delayed.size > 0
  }
  get hasWaiters(): boolean {
    return this._waiters !== undefined && this._waiters.length > 0
  }
  takeQueued(): QueueItem | undefined {
    const queue = this._queue
    if (queue === undefined || this.head >= queue.length) return undefined
    const item = queue[this.head]
    queue[this.head++] = undefined
    this.metrics?.queueDepth.modify(-1)
    if (this.head === queue.length) {
      this._queue = undefined
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > queue.length) {
      this._queue = queue.slice(this.head)
      this.head = 0
    }
    return item
  }
  /** The queue's items in order (for snapshots). */
  queued(): Array<QueueItem> {
    return this._queue === undefined ? [] : (this._queue.slice(this.head) as Array<QueueItem>)
  }
  /** The number of items in the queue. */
  get queuedCount(): number {
    return this._queue === undefined ? 0 : this._queue.length - this.head
  }
  /** What does not change from run to run (the step's metric hooks, its handler). */
  readonly plan: StepPlan
  /** The hooks of the workflow's metrics when the run updates them (see `meter`). */
  metrics: metrics.WorkflowHooks | undefined = undefined

  constructor(plan: StepPlan) {
    this.step = plan.step
    this.accepts = plan.accepts
    this.emits = plan.emits
    this.plan = plan
    this.slots = new Array(plan.step.workers).fill(undefined)
  }
}

/** How a run ended. @internal */
export type Ending = "completed" | "failed" | "timedOut" | "cancelled"

/**
 * A run's lifecycle. `Pending`: made, its start not yet routed (waiting for a concurrency
 * permit); `Running`; `Stopping`: its terminal event is published, its other fibers are being
 * stopped; `Ended`: its result is set.
 * @internal
 */
export type Status =
  | { readonly _tag: "Pending" }
  | { readonly _tag: "Running" }
  | { readonly _tag: "Stopping"; readonly ending: Ending; readonly exit: Exit.Exit<unknown, unknown> }
  | { readonly _tag: "Ended"; readonly ending: Ending; readonly exit: Exit.Exit<unknown, unknown> }

const pending: Status = { _tag: "Pending" }
const running: Status = { _tag: "Running" }

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

/** What the run's stream carries. @internal */
export type Published = Event.AnyEvent | StepStateRecord

/**
 * What a transition asks the shell to do: publish an item, run an execution on a worker, resume
 * the executions suspended on a resolved waiter, wake an execution handed a slot after a wait,
 * set a retry's timer, end the run. `started`, `finished` and `waiterAdded` only tell the
 * journal. @internal
 */
export type Command =
  | { readonly _op: "publish"; readonly item: Published; readonly sequence: number }
  | { readonly _op: "run"; readonly step: StepState; readonly execution: Execution }
  | { readonly _op: "resolve"; readonly waiter: Waiter }
  | { readonly _op: "wake"; readonly execution: Execution }
  | { readonly _op: "timer"; readonly step: StepState; readonly attempt: Attempt }
  | { readonly _op: "end"; readonly ending: Ending }
  | { readonly _op: "started"; readonly step: StepState; readonly execution: Execution }
  | {
    readonly _op: "finished"
    readonly step: StepState
    readonly execution: Execution
    readonly outcome: Outcome
  }
  | { readonly _op: "waiterAdded"; readonly step: StepState; readonly waiter: Waiter }

/**
 * How an execution finished, as the journal is told: it succeeded, it is retried, it waits for
 * an event, or it failed for good and a `Step.catchError` handler took its failure. @internal
 */
export type Outcome = "succeeded" | "retrying" | "waiting" | "recovered"

/**
 * Every command is made by this class, with all fields in one order, so that the shell reads
 * them through one object shape (a literal per kind would make its switch megamorphic).
 */
class Cmd {
  constructor(
    readonly _op: Command["_op"],
    readonly step: StepState | undefined,
    readonly execution: Execution | undefined,
    readonly item: Published | undefined,
    readonly sequence: number,
    readonly waiter: Waiter | undefined,
    readonly attempt: Attempt | undefined,
    readonly ending: Ending | undefined,
    readonly outcome: Outcome | undefined
  ) {}
}

const publishCommand = (item: Published, sequence: number): Command =>
  new Cmd("publish", undefined, undefined, item, sequence, undefined, undefined, undefined, undefined) as Command
const stepCommand = (op: "run" | "started", step: StepState, execution: Execution): Command =>
  new Cmd(op, step, execution, undefined, 0, undefined, undefined, undefined, undefined) as Command
const finishedCommand = (
  step: StepState,
  execution: Execution,
  outcome: Outcome
): Command => new Cmd("finished", step, execution, undefined, 0, undefined, undefined, undefined, outcome) as Command
const wakeCommand = (execution: Execution): Command =>
  new Cmd("wake", undefined, execution, undefined, 0, undefined, undefined, undefined, undefined) as Command
const waiterCommand = (op: "resolve" | "waiterAdded", step: StepState | undefined, waiter: Waiter): Command =>
  new Cmd(op, step, undefined, undefined, 0, waiter, undefined, undefined, undefined) as Command
const timerCommand = (step: StepState, attempt: Attempt): Command =>
  new Cmd("timer", step, undefined, undefined, 0, undefined, attempt, undefined, undefined) as Command
const endCommand = (ending: Ending): Command =>
  new Cmd("end", undefined, undefined, undefined, 0, undefined, undefined, ending, undefined) as Command

/** A command to run an execution on a worker of its own. @internal */
export const runCommand = (step: StepState, execution: Execution): Command => stepCommand("run", step, execution)

/** The whole state of one run. @internal */
export class RunState {
  status: Status = pending
  /** Commands for the shell, in order; taken (and replaced by an empty one) by each flush. */
  outbox: Array<Command> = []
  /** Whether a journal reads the outbox (then the journal-only commands are appended too). */
  journaled = false
  /** Events published so far, counting those of the run this one was resumed from. */
  published: number
  idleAnnounced = false
  waiterCount = 0
  executionCount = 0
  /** Clock millis when the run began. */
  startedAt: number | undefined = undefined
  readonly steps: ReadonlyArray<StepState>
  readonly plan: Plan
  /** The hooks of the workflow's metrics when the run updates them (see `meter`). */
  metrics: metrics.WorkflowHooks | undefined = undefined
  readonly stopTag: string
  /** Attempts restored from a snapshot, queued (in order) or timed when the run begins. */
  restored: Array<{ readonly step: StepState; readonly attempt: Attempt }> | undefined = undefined
  /** Events sent before the run began (its start event first), routed when it begins. */
  early:
    | Array<{
      readonly event: Event.AnyEvent
      readonly target: StepState | undefined
      readonly recoveries?: Recoveries | undefined
    }>
    | undefined = undefined
  /**
   * While a worker routes the events its execution returned, the first execution that gets a
   * slot is handed to that worker to run next instead of asking for a new fiber.
   */
  accepting = false
  handoff: { readonly step: StepState; readonly execution: Execution } | undefined = undefined
  private _runId: string | undefined
  private _store: StateStore.StateStore<any> | undefined = undefined

  constructor(
    runId: string | undefined,
    readonly workflow: Workflow.Any,
    /** Makes the run's state store (holding the state's value) when first used. */
    private readonly makeStore: () => StateStore.StateStore<any>,
    published = 0
  ) {
    this._runId = runId
    this.plan = planOf(workflow)
    this.steps = this.plan.steps.map((stepPlan) => new StepState(stepPlan))
    this.stopTag = workflow.stop._tag
    this.published = published
  }

  /** The run's id: the one it was given, or a random UUID made when first read. */
  get runId(): string {
    return this._runId ??= crypto.randomUUID()
  }

  /** The run's state store. */
  get store(): StateStore.StateStore<any> {
    return this._store ??= this.makeStore()
  }

  /** Whether the run accepts work: not ended, not ending. */
  get active(): boolean {
    const tag = this.status._tag
    return tag === "Running" || tag === "Pending"
  }

  /** Whether its terminal event is published (it is stopping or has ended). */
  get done(): boolean {
    return !this.active
  }

  stepNamed(name: string): StepState | undefined {
    return this.steps.find((step) => step.step.name === name)
  }
}

/**
 * The run updates its workflow's metrics (decided before it begins, when nothing is queued yet:
 * metrics are opt-in, see `WorkflowMetrics.enabled`). @internal
 */
export const meter = (state: RunState): void => {
  const plan = state.plan
  const name = state.workflow.name
  const hooks = plan.metrics ??= metrics.workflowHooks(name)
  state.metrics = hooks
  for (const step of state.steps) {
    step.plan.duration ??= metrics.stepDurationHook(name, step.step.name)
    step.metrics = hooks
  }
}

/** @internal */
export const makeAttempt = (event: Event.AnyEvent, recoveries?: Recoveries | undefined): Attempt => ({
  event,
  failures: 0,
  firstAttemptAt: undefined,
  lastFailedAt: undefined,
  lastError: Option.none(),
  scheduleState: undefined,
  retryAt: undefined,
  taken: undefined,
  added: undefined,
  recoveries
})

const makeExecution = (state: RunState, slot: number, attempt: Attempt): Execution => ({
  slot,
  holdsSlot: false,
  waits: 0,
  handed: false,
  queued: false,
  ended: false,
  joined: undefined,
  attempt,
  seq: state.executionCount++
})

// -------------------------------------------------------------------------------------------------
// the stream
// -------------------------------------------------------------------------------------------------

/** Publishes on the run's stream, unless the run has ended. @internal */
export const publish = (state: RunState, item: Published): void => {
  if (state.done) return
  state.outbox.push(publishCommand(item, state.published++))
}

const stepState = (
  state: RunState,
  step: StepState,
  stepState: "preparing" | "running" | "not_running",
  workerId: string,
  input: Event.AnyEvent,
  output?: Event.AnyEvent | undefined
): void => publish(state, new StepStateRecord(step.step.name, stepState, workerId, input, output))

const publishNotRunning = (
  state: RunState,
  step: StepState,
  execution: Execution,
  output?: Event.AnyEvent | undefined
): void => stepState(state, step, "not_running", String(execution.slot), execution.attempt.event, output)

// -------------------------------------------------------------------------------------------------
// routing and worker slots
// -------------------------------------------------------------------------------------------------

/** Whether the run has no queued, running or retrying work. @internal */
export const isIdle = (state: RunState): boolean => {
  for (const step of state.steps) {
    if (step.busy > 0 || step.hasDelayed || step.hasQueued) return false
  }
  return true
}

/**
 * Whether the run waits only for input (or has ended): no execution holds a slot, nothing is
 * queued or waits out a retry delay, and every execution in flight is suspended on a waiter
 * that no event has resolved yet (one whose waiter was just resolved is about to go on). @internal
 */
export const isQuiescent = (state: RunState): boolean => {
  if (state.done) return true
  if (!isIdle(state)) return false
  for (const step of state.steps) {
    if (!step.hasWaiters) continue
    for (const waiter of step.waiters) {
      if (waiter.resolved === undefined) continue
      for (const execution of waiter.executions) {
        if (!step.waiters.some((other) => other.resolved === undefined && other.executions.includes(execution))) return false
      }
    }
  }
  return true
}

/** Publishes one `WorkflowIdleEvent` each time the run becomes idle. @internal */
export const announceIdle = (state: RunState): void => {
  if (state.status._tag === "Running" && !state.idleAnnounced && isIdle(state)) {
    state.idleAnnounced = true
    publish(state, new Event.WorkflowIdleEvent({}, true))
  }
}

/** Names of the steps with an execution holding a slot. @internal */
export const runningSteps = (state: RunState): Array<string> => {
  const names: Array<string> = []
  // Once the run has ended its other executions are interrupted, whatever their slots say.
  if (state.done) return names
  for (const step of state.steps) {
    if (step.busy > 0) names.push(step.step.name)
  }
  return names
}

const occupy = (state: RunState, step: StepState, execution: Execution): void => {
  step.slots[execution.slot] = execution
  step.busy++
  execution.holdsSlot = true
  stepState(state, step, "running", String(execution.slot), execution.attempt.event)
}

const freeSlot = (step: StepState): number => step.slots.indexOf(undefined)

/** Asks for a worker for an execution that holds a slot (or hands it to the routing worker). */
const run = (state: RunState, step: StepState, execution: Execution): void => {
  if (state.journaled) state.outbox.push(stepCommand("started", step, execution))
  if (state.accepting && state.handoff === undefined) state.handoff = { step, execution }
  else state.outbox.push(stepCommand("run", step, execution))
}

/** Gives an attempt a free slot (asking for a worker) or queues it. @internal */
export const enqueue = (state: RunState, step: StepState, attempt: Attempt): void => {
  if (state.done) return
  state.idleAnnounced = false
  const slot = freeSlot(step)
  if (slot < 0) {
    step.offer(attempt)
    stepState(state, step, "preparing", "<enqueued>", attempt.event)
    return
  }
  const execution = makeExecution(state, slot, attempt)
  occupy(state, step, execution)
  run(state, step, execution)
}

/**
 * Frees the slot of an execution that ended or waits, and hands it to the next queued item:
 * returns the next execution for the calling worker to run, or `undefined` when the worker
 * should stop. @internal
 */
export const releaseSlot = (state: RunState, step: StepState, execution: Execution): Execution | undefined => {
  // After the end the state stays as it was when the run ended: a snapshot then still holds
  // the executions that were interrupted.
  if (!execution.holdsSlot || state.done) return undefined
  const slot = execution.slot
  step.slots[slot] = undefined
  step.busy--
  execution.holdsSlot = false
  const item = step.takeQueued()
  if (item === undefined) return undefined
  if (isResumption(item)) {
    const resumed = item.resumption
    resumed.queued = false
    resumed.slot = slot
    occupy(state, step, resumed)
    if (state.journaled) state.outbox.push(stepCommand("started", step, resumed))
    resumed.handed = true
    state.outbox.push(wakeCommand(resumed))
    return undefined
  }
  const next = makeExecution(state, slot, item)
  occupy(state, step, next)
  if (state.journaled) state.outbox.push(stepCommand("started", step, next))
  return next
}

/**
 * An execution that waited continues: it takes a free slot at once (returns `true`), or queues
 * until one is handed over (its `handed` flag and a `wake` command say when; a second call
 * while it is queued waits for the same handover). An execution that has ended, or holds a
 * slot already, takes none. @internal
 */
export const reacquireSlot = (state: RunState, step: StepState, execution: Execution): boolean => {
  if (execution.ended || execution.holdsSlot) return true
  if (execution.queued) return false
  state.idleAnnounced = false
  execution.handed = false
  const slot = freeSlot(step)
  if (slot >= 0) {
    execution.slot = slot
    occupy(state, step, execution)
    if (state.journaled) state.outbox.push(stepCommand("started", step, execution))
    return true
  }
  step.offer({ resumption: execution })
  execution.queued = true
  stepState(state, step, "preparing", "<enqueued>", execution.attempt.event)
  return false
}

/**
 * An execution has ended (succeeded, failed, or is retried): its slot goes to the next queued
 * item, as `releaseSlot` says. @internal
 */
export const executionEnded = (state: RunState, step: StepState, execution: Execution): Execution | undefined => {
  execution.ended = true
  return releaseSlot(state, step, execution)
}

/**
 * Structural equality for requirements: Effect's `Equal` (Data and Schema classes), and plain
 * objects and arrays compared field by field. @internal
 */
export const equivalent = (a: unknown, b: unknown): boolean => {
  if (Equal.equals(a, b)) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (!equivalent(a[i], b[i])) return false
    return true
  }
  if (Array.isArray(b) || !isPlain(a) || !isPlain(b)) return false
  const keys = Object.keys(a)
  if (keys.length !== Object.keys(b).length) return false
  for (const key of keys) {
    if (!Object.hasOwn(b, key) || !equivalent((a as any)[key], (b as any)[key])) return false
  }
  return true
}

const isPlain = (u: object): boolean => {
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

const matches = (waiter: Waiter, event: Event.AnyEvent): boolean => {
  if (waiter.resolved !== undefined || waiter.awaitedTag !== event._tag) return false
  // A restored waiter whose requirements could not be kept matches nothing until its step
  // re-executes and waits again with them.
  if (waiter.requirements === undefined) return !waiter.hasRequirements
  for (const key of Object.keys(waiter.requirements)) {
    if (!equivalent((event as any)[key], waiter.requirements[key])) return false
  }
  return true
}

const resolveWaiters = (state: RunState, event: Event.AnyEvent): boolean => {
  let resolved = false
  for (const step of state.steps) {
    if (!step.hasWaiters) continue
    for (const waiter of step.waiters) {
      if (!matches(waiter, event)) continue
      waiter.resolved = event
      state.waiterCount--
      state.outbox.push(waiterCommand("resolve", undefined, waiter))
      resolved = true
    }
  }
  return resolved
}

/**
 * Routes an event: waiters first (a resolved waiter consumes the event), then every step that
 * accepts its tag (or only `target`). Before the run begins, events are kept for then. @internal
 */
export const route = (
  state: RunState,
  event: Event.AnyEvent,
  target?: StepState | undefined,
  /** The recoveries of the lineage the event follows from (see `Attempt.recoveries`). */
  recoveries?: Recoveries | undefined
): void => {
  const status = state.status._tag
  if (status !== "Running") {
    if (status !== "Pending") return
    // a resumed run waiting for a permit has armed waiters: they take their events at once
    if (state.waiterCount > 0 && resolveWaiters(state, event)) return
    ;(state.early ??= []).push(recoveries === undefined ? { event, target } : { event, target, recoveries })
    return
  }
  if (state.waiterCount > 0 && resolveWaiters(state, event)) return
  if (target !== undefined) return enqueue(state, target, makeAttempt(event, recoveries))
  const indices = state.plan.routes.get(event._tag)
  if (indices === undefined) {
    if (event._tag !== Event.InputRequiredEvent._tag) {
      publish(state, new Event.UnhandledEvent({ eventType: event._tag, idle: isIdle(state) }, true))
    }
    return
  }
  for (let i = 0; i < indices.length; i++) {
    enqueue(state, state.steps[indices[i]!]!, makeAttempt(event, recoveries))
  }
}

/**
 * Begins the run: its status becomes running, the attempts restored from a snapshot are queued
 * (in-flight ones first) and what was sent before (its start event first, for a new run) is
 * routed. @internal
 */
export const begin = (state: RunState, now: number): void => {
  if (state.status._tag !== "Pending") return
  state.status = running
  state.startedAt = now
  const restored = state.restored
  state.restored = undefined
  if (restored !== undefined) {
    for (const { attempt, step } of restored) {
      if (attempt.retryAt === undefined) {
        enqueue(state, step, attempt)
      } else {
        step.delayed.add(attempt)
        state.outbox.push(timerCommand(step, attempt))
      }
    }
  }
  const early = state.early
  state.early = undefined
  if (early !== undefined) for (const { event, recoveries, target } of early) route(state, event, target, recoveries)
}

// -------------------------------------------------------------------------------------------------
// the end of an execution
// -------------------------------------------------------------------------------------------------

/**
 * Leaves the waiters an execution joined: it has completed, they are done with it. A restored
 * waiter goes with the first execution that completes after joining it, and one whose step
 * re-executed from its input without waiting on it again goes too (it would hold its events).
 */
const leaveJoined = (state: RunState, step: StepState, execution: Execution): void => {
  const joined = execution.joined
  execution.joined = undefined
  if (joined !== undefined) {
    for (const waiter of joined) {
      waiter.input = undefined
      removeFromWaiter(state, step, waiter, execution)
    }
  }
  if (!step.hasWaiters) return
  for (const waiter of step.waiters.slice()) {
    // restored events are other instances than the re-executed ones: compared as values
    if (waiter.input !== undefined && waiter.executions.length === 0 && Equal.equals(waiter.input, execution.attempt.event)) {
      waiter.input = undefined
      removeFromWaiter(state, step, waiter, execution)
    }
  }
}

const removeFromWaiter = (state: RunState, step: StepState, waiter: Waiter, execution: Execution): void => {
  const at = waiter.executions.indexOf(execution)
  if (at >= 0) waiter.executions.splice(at, 1)
  if (waiter.executions.length > 0 || isRestored(waiter)) return
  const index = step.waiters.indexOf(waiter)
  if (index < 0) return
  step.waiters.splice(index, 1)
  if (waiter.resolved === undefined) state.waiterCount--
}

const finished = (
  state: RunState,
  step: StepState,
  execution: Execution,
  outcome: "succeeded" | "retrying" | "recovered"
): void => {
  if (state.journaled) state.outbox.push(finishedCommand(step, execution, outcome))
}

const invalidReturn = (step: StepState, execution: Execution, what: string, now: () => number): InvalidReturn => {
  // a final failure of this execution: it counts as one
  execution.attempt.failures++
  execution.attempt.lastFailedAt = now()
  return { _tag: "InvalidReturn", message: `Step function ${step.step.name} returned ${what}.` }
}

/** Why a step's returned value fails it. @internal */
export type InvalidReturn = { readonly _tag: "InvalidReturn"; readonly message: string }

const inputRequiredTag = Event.InputRequiredEvent._tag
const stopEventTag = Event.StopEvent._tag

const describe = (value: unknown): string => value === null ? "null" : Array.isArray(value) ? "array" : typeof value

/**
 * An execution returned `value`: its result is routed (a stop event ends the run). Returns why
 * the value is invalid, for the caller to fail the step with. @internal
 */
export const succeeded = (
  state: RunState,
  step: StepState,
  execution: Execution,
  value: unknown,
  /** Read only for an invalid value: most executions need no clock reading when they end. */
  now: () => number
): InvalidReturn | undefined => {
  if (state.done) return undefined
  if (value === undefined) {
    publishNotRunning(state, step, execution)
    leaveJoined(state, step, execution)
    finished(state, step, execution, "succeeded")
    return undefined
  }
  if (!Event.isEvent(value)) {
    publishNotRunning(state, step, execution)
    return invalidReturn(step, execution, `${describe(value)} instead of an Event instance`, now)
  }
  publishNotRunning(state, step, execution, value)
  if (!step.emits.has(value._tag)) {
    const declared = step.step.emits.map(Event.tag).join(", ") || "none"
    return invalidReturn(step, execution, `${value._tag} instead of one of its declared events (${declared})`, now)
  }
  leaveJoined(state, step, execution)
  finished(state, step, execution, "succeeded")
  if (value._tag === state.stopTag) {
    const result = value._tag === stopEventTag ? (value as Event.StopEvent).result : value
    end(state, "completed", Exit.succeed(result), value)
    return undefined
  }
  if (value._tag === inputRequiredTag) publish(state, value)
  state.accepting = true
  try {
    route(state, value, undefined, execution.attempt.recoveries)
  } finally {
    state.accepting = false
  }
  return undefined
}

/** An execution failed: its bookkeeping is updated (the caller then retries or fails it). @internal */
export const failed = (state: RunState, step: StepState, execution: Execution, error: Option.Option<unknown>, now: number): void => {
  const attempt = execution.attempt
  attempt.failures++
  attempt.lastFailedAt = now
  attempt.lastError = error
  if (state.done) return
  publishNotRunning(state, step, execution)
}

/**
 * A failed attempt is retried at `at` (Clock millis; at once when `at <= now`): it leaves its
 * slot's execution and waits out the delay in the step's delayed set. @internal
 */
export const retryAt = (state: RunState, step: StepState, execution: Execution, at: number, now: number): void => {
  if (state.done) return
  const attempt = execution.attempt
  takeBackAdded(step, attempt)
  leaveJoined(state, step, execution)
  finished(state, step, execution, "retrying")
  if (at <= now) return enqueue(state, step, attempt)
  attempt.retryAt = at
  step.delayed.add(attempt)
  state.outbox.push(timerCommand(step, attempt))
}

const withRecovery = (recoveries: Recoveries | undefined, handler: string, count: number): Recoveries => {
  // no prototype: a handler's name is only ever a key
  const next: Record<string, number> = Object.create(null)
  if (recoveries !== undefined) for (const key of Object.keys(recoveries)) next[key] = recoveries[key]!
  next[handler] = count
  return next
}

/**
 * An execution failed for good (its retries exhausted) with `error`: the `Step.catchError`
 * handler covering its step, if any and if the lineage has recoveries left, gets a
 * `StepFailedEvent` (its lineage's count for the handler one more). Returns whether a handler
 * took the failure; otherwise the caller fails the run. @internal
 */
export const recover = (state: RunState, step: StepState, execution: Execution, error: unknown): boolean => {
  if (state.done) return false
  const handlerIndex = step.plan.handler
  if (handlerIndex < 0) return false
  const handler = state.steps[handlerIndex]!
  const config = handler.step.catchError
  if (Option.isNone(config)) return false
  const attempt = execution.attempt
  const name = handler.step.name
  const recoveries = attempt.recoveries
  const count = (recoveries !== undefined && Object.hasOwn(recoveries, name) ? recoveries[name]! : 0) + 1
  if (!(count <= config.value.maxRecoveries)) return false
  leaveJoined(state, step, execution)
  finished(state, step, execution, "recovered")
  const firstAttemptAt = attempt.firstAttemptAt ?? 0
  const failedAt = attempt.lastFailedAt ?? firstAttemptAt
  const failed = new Event.StepFailedEvent({
    stepName: step.step.name,
    inputEvent: attempt.event,
    error,
    attempts: attempt.failures,
    elapsedSeconds: (failedAt - firstAttemptAt) / 1000,
    failedAt
  }, true)
  // the failing step's worker runs the handler next when the handler has a free slot
  state.accepting = true
  try {
    enqueue(state, handler, makeAttempt(failed, withRecovery(recoveries, name, count)))
  } finally {
    state.accepting = false
  }
  return true
}

/** A delayed retry is due: it is queued again. @internal */
export const retryDue = (state: RunState, step: StepState, attempt: Attempt): void => {
  if (state.done || !step.delayed.delete(attempt)) return
  attempt.retryAt = undefined
  enqueue(state, step, attempt)
}

// -------------------------------------------------------------------------------------------------
// collect buffers and waiters
// -------------------------------------------------------------------------------------------------

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

/** The set ordered as `expected`, same-tag events in arrival order. */
const ordered = (events: ReadonlyArray<Event.AnyEvent>, expected: ReadonlyArray<Event.Any>): Array<Event.AnyEvent> => {
  const byTag = new Map<string, Array<Event.AnyEvent>>()
  for (const ev of events) {
    const list = byTag.get(ev._tag)
    if (list) list.push(ev)
    else byTag.set(ev._tag, [ev])
  }
  const taken = new Map<string, number>()
  return expected.map((cls) => {
    const index = taken.get(cls._tag) ?? 0
    taken.set(cls._tag, index + 1)
    return byTag.get(cls._tag)![index]!
  })
}

/** Whether `events` are exactly the multiset of tags `expected` asks for. */
const completes = (events: ReadonlyArray<Event.AnyEvent>, expected: ReadonlyArray<Event.Any>): boolean => {
  if (events.length !== expected.length) return false
  const counts = new Map<string, number>()
  for (const cls of expected) counts.set(cls._tag, (counts.get(cls._tag) ?? 0) + 1)
  for (const ev of events) {
    const count = counts.get(ev._tag) ?? 0
    if (count === 0) return false
    counts.set(ev._tag, count - 1)
  }
  return true
}

/**
 * Adds an event to a step's collect buffer; returns the completed set ordered as `expected`
 * (same-tag events in arrival order) and clears the buffer, or `undefined`. An attempt that
 * completed a set before (and runs again: a retry, or after a resume) gets that set again,
 * without touching the buffer. @internal
 */
export const collect = (
  step: StepState,
  attempt: Attempt,
  event: Event.AnyEvent,
  expected: ReadonlyArray<Event.Any>,
  bufferId: string
): Array<Event.AnyEvent> | undefined => {
  if (expected.length === 0) return []
  if (attempt.taken !== undefined) {
    for (const reserved of attempt.taken) {
      if (reserved.bufferId !== bufferId) continue
      const events = [...reserved.events, event]
      if (completes(events, expected)) return ordered(events, expected)
    }
  }
  let buffer = step.collected.get(bufferId)
  if (buffer === undefined) {
    buffer = { events: [], expected: undefined, missing: new Map(), remaining: 0 }
    step.collected.set(bufferId, buffer)
  }
  if (buffer.expected !== expected) recount(buffer, expected)
  const needed = buffer.missing.get(event._tag) ?? 0
  if (needed <= 0) return undefined
  buffer.events.push(event)
  buffer.missing.set(event._tag, needed - 1)
  if (--buffer.remaining > 0) {
    ;(attempt.added ??= []).push({ bufferId, event })
    return undefined
  }
  step.collected.delete(bufferId)
  ;(attempt.taken ??= []).push({ bufferId, events: buffer.events.slice(0, -1) })
  return ordered(buffer.events, expected)
}

/**
 * Takes out of its step's buffers the events an attempt added without completing a set (those
 * still there), before the attempt runs anew: it adds them again. @internal
 */
export const takeBackAdded = (step: StepState, attempt: Attempt): void => {
  const added = attempt.added
  if (added === undefined) return
  attempt.added = undefined
  for (const { bufferId, event } of added) {
    const buffer = step.collected.get(bufferId)
    const index = buffer?.events.indexOf(event) ?? -1
    if (index < 0) continue
    buffer!.events.splice(index, 1)
    // recounted at its next use
    buffer!.expected = undefined
  }
}

/** @internal */
export interface WaitOptions {
  readonly id: string
  readonly awaitedTag: string
  readonly requirements: { readonly [key: string]: unknown } | undefined
  readonly waiterEvent: Event.AnyEvent | undefined
  /** The deadline a new waiter gets (Clock millis), for a wait with a timeout. */
  readonly expiresAt?: number | undefined
}

const sameWait = (waiter: Waiter, options: WaitOptions): boolean =>
  waiter.awaitedTag === options.awaitedTag && (
    // a restored waiter that lost its requirements takes the re-executed step's
    isRestored(waiter) && waiter.requirements === undefined && waiter.hasRequirements
      ? options.requirements !== undefined :
    (waiter.requirements === undefined
      ? options.requirements === undefined
      : options.requirements !== undefined && equivalent(waiter.requirements, options.requirements))
  )

/**
 * An execution waits: it joins the waiter with the same id and requirements (a new one is made,
 * and publishes `waiterEvent` unless a waiter with that id already has), and gives its slot to
 * the next queued work. Returns the waiter; it may be resolved already. @internal
 */
export const wait = (state: RunState, step: StepState, execution: Execution, options: WaitOptions): Waiter => {
  const waiters = step.waiters
  let waiter: Waiter | undefined
  let idPublished = false
  for (let i = 0; i < waiters.length; i++) {
    const candidate = waiters[i]!
    // A resolved waiter is done with, unless it was restored and a re-executed step comes to
    // take the event (once per execution: a second wait with the same id waits anew).
    if (
      candidate.id !== options.id ||
      candidate.resolved !== undefined && (!isRestored(candidate) || execution.joined?.includes(candidate))
    ) continue
    if (candidate.waiterEventPublished) idPublished = true
    if (sameWait(candidate, options)) {
      waiter = candidate
      break
    }
  }
  if (waiter === undefined) {
    waiter = {
      id: options.id,
      awaitedTag: options.awaitedTag,
      requirements: options.requirements,
      hasRequirements: options.requirements !== undefined,
      waiterEventPublished: false,
      resolved: undefined,
      executions: [],
      input: undefined,
      expiresAt: options.expiresAt
    }
    waiters.push(waiter)
    state.waiterCount++
    if (state.journaled) state.outbox.push(waiterCommand("waiterAdded", step, waiter))
    if (options.waiterEvent !== undefined && !idPublished) {
      waiter.waiterEventPublished = true
      publish(state, options.waiterEvent)
    }
  } else if (isRestored(waiter) && waiter.requirements === undefined) {
    // the re-executed step gives back the requirements the snapshot could not keep
    waiter.requirements = options.requirements
  }
  if (!waiter.executions.includes(execution)) waiter.executions.push(execution)
  if (execution.joined === undefined) execution.joined = [waiter]
  else if (!execution.joined.includes(waiter)) execution.joined.push(waiter)
  return waiter
}

/**
 * The execution's first concurrent wait gives its slot to the next queued work: returns an
 * execution for a new worker, if one got the slot. @internal
 */
export const suspend = (state: RunState, step: StepState, execution: Execution): Execution | undefined => {
  if (execution.waits++ > 0 || !execution.holdsSlot || state.done) return undefined
  if (state.journaled) state.outbox.push(finishedCommand(step, execution, "waiting"))
  publishNotRunning(state, step, execution)
  const next = releaseSlot(state, step, execution)
  announceIdle(state)
  return next
}

/**
 * A wait ended without its event (timeout, interruption): the execution stops waiting on that
 * waiter, which goes once nobody waits on it. @internal
 */
export const abandonWait = (state: RunState, step: StepState, waiter: Waiter, execution: Execution): void => {
  if (state.done) return
  if (waiter.resolved !== undefined) return
  const joined = execution.joined
  if (joined !== undefined) {
    const index = joined.indexOf(waiter)
    if (index >= 0) {
      joined.splice(index, 1)
      // a restored waiter its re-executed step joined, then left: it goes as any other
      waiter.input = undefined
    }
  }
  removeFromWaiter(state, step, waiter, execution)
}

/**
 * Restores a waiter from a snapshot: armed at once (it matches events sent from now on), its
 * step's execution re-executes from `input` and joins it again. @internal
 */
export const restoreWaiter = (
  state: RunState,
  step: StepState,
  waiter: {
    readonly id: string
    readonly awaitedTag: string
    readonly requirements: { readonly [key: string]: unknown } | undefined
    readonly hasRequirements: boolean
    readonly waiterEventPublished: boolean
    readonly resolved: Event.AnyEvent | undefined
    readonly input: Event.AnyEvent
    readonly expiresAt?: number | undefined
  }
): void => {
  step.waiters.push({ ...waiter, executions: [], expiresAt: waiter.expiresAt })
  if (waiter.resolved === undefined) state.waiterCount++
}

/**
 * The executions of a step in progress (running, waiting for an event or for a slot), in the
 * order they started. @internal
 */
export const inFlight = (step: StepState): Array<Execution> => {
  const executions = new Set<Execution>()
  for (const execution of step.slots) if (execution !== undefined) executions.add(execution)
  if (step.hasWaiters) for (const waiter of step.waiters) for (const execution of waiter.executions) executions.add(execution)
  for (const item of step.queued()) if (isResumption(item)) executions.add(item.resumption)
  return Array.from(executions).sort((a, b) => a.seq - b.seq)
}

// -------------------------------------------------------------------------------------------------
// the end
// -------------------------------------------------------------------------------------------------

/**
 * Ends the run once: publishes its terminal event and asks the shell to stop the run's other
 * fibers and set its result. Returns whether this call ended the run. @internal
 */
export const end = (
  state: RunState,
  ending: Ending,
  exit: Exit.Exit<unknown, unknown>,
  terminal: Event.AnyEvent
): boolean => {
  if (state.done) return false
  publish(state, terminal)
  state.status = { _tag: "Stopping", ending, exit }
  // executions queued for a slot to continue after a wait are let go (they are interrupted)
  for (const step of state.steps) {
    if (!step.hasQueued) continue
    // what stays queued is never taken: it leaves the queue depth now
    step.metrics?.queueDepth.modify(-step.queuedCount)
    for (const item of step.queued()) {
      if (isResumption(item)) {
        item.resumption.queued = false
        item.resumption.handed = true
        state.outbox.push(wakeCommand(item.resumption))
      }
    }
  }
  state.outbox.push(endCommand(ending))
  return true
}

/** The run's result is set: it has ended. @internal */
export const ended = (state: RunState, exit: Exit.Exit<unknown, unknown>): void => {
  const status = state.status
  state.status = {
    _tag: "Ended",
    ending: status._tag === "Stopping" || status._tag === "Ended" ? status.ending : "cancelled",
    exit
  }
}

/**
 * Whether the run is "running" as a snapshot records it: not yet ended, or ended by a cancel
 * (which keeps it resumable). @internal
 */
export const isResumable = (state: RunState): boolean => {
  const status = state.status
  return status._tag === "Pending" || status._tag === "Running" || status.ending === "cancelled"
}
