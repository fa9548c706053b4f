/**
 * Starting and ending a run: validation, its fibers, its timeout, its concurrency limit, its
 * stream, and the handler.
 */
import * as Context from "effect/Context"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Runtime from "effect/Runtime"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Event from "../Event.js"
import * as Graph from "../Graph.js"
import type * as StateStore from "../StateStore.js"
import type * as Workflow from "../Workflow.js"
import * as WorkflowContext from "../WorkflowContext.js"
import type * as WorkflowHandler from "../WorkflowHandler.js"
import * as WorkflowError from "../WorkflowError.js"
import { CurrentContext, sendEvent } from "./context.js"
import * as deadlines from "./deadlines.js"
import * as run_ from "./run.js"
import * as stateStore from "./stateStore.js"
import { worker } from "./worker.js"

const validated = new WeakSet<Workflow.Any>()
const semaphores = new WeakMap<Workflow.Any, Effect.Semaphore>()

const validateOnce = (self: Workflow.Any) =>
  Effect.suspend(() =>
    self.validation === false || validated.has(self)
      ? Effect.void
      : Effect.tap(Graph.validate(self), () => validated.add(self))
  )

const concurrencyLimit = (self: Workflow.Any): Effect.Semaphore | undefined => {
  if (Option.isNone(self.numConcurrentRuns)) return undefined
  let semaphore = semaphores.get(self)
  if (semaphore === undefined) {
    semaphore = Effect.unsafeMakeSemaphore(self.numConcurrentRuns.value)
    semaphores.set(self, semaphore)
  }
  return semaphore
}

/** The run's start event, or why there is none. */
const startEventOf = (
  self: Workflow.Any,
  startEvent: Event.AnyEvent | undefined
): Event.AnyEvent | WorkflowError.WorkflowConfigurationError => {
  const tag = self.start._tag
  if (startEvent !== undefined) {
    return startEvent._tag === tag ? startEvent : new WorkflowError.WorkflowConfigurationError({
      message: `The start event must be an instance of '${tag}', got '${startEvent._tag}'.`
    })
  }
  if (self.start === Event.StartEvent) return defaultStartEvent ??= new Event.StartEvent({ input: undefined }, true)
  try {
    return new (self.start as any)({}) as Event.AnyEvent
  } catch {
    return new WorkflowError.WorkflowConfigurationError({
      message: `Failed creating a start event of type '${tag}' without fields: pass a start event.`
    })
  }
}

// Events are immutable values: the runs started without an event share one.
let defaultStartEvent: Event.StartEvent | undefined

// The abnormal endings; a run's normal ending is its own stop class (`run.stopTag`).
const terminalTags: ReadonlySet<string> = new Set(
  [...Event.terminalTags].filter((tag) => tag !== Event.StopEvent._tag)
)

const timeOut = (run: run_.Run, timeout: Duration.Duration): void => {
  const activeSteps = run_.runningSteps(run)
  run_.finish(
    run,
    Exit.fail(new WorkflowError.WorkflowTimeoutError({ timeout, activeSteps })),
    new Event.WorkflowTimedOutEvent({ timeout: Duration.toMillis(timeout) / 1000, activeSteps }, true)
  )
}

const isTerminal = (run: run_.Run, item: run_.Published): boolean =>
  item instanceof run_.StepStateRecord ? false : item._tag === run.stopTag || terminalTags.has(item._tag)

/** Offered to the live PubSub when the run's scope closes: its subscribers end there. */
const closedIndex = -1

/** The run's log from the start, then what is published live, up to the terminal event. */
const published = (run: run_.Run): Stream.Stream<run_.Published> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    // An ended (or closed) run publishes nothing more: its log is all there is.
    if (run.done) return Stream.fromIterable(run.log)
    const made = run.live === undefined ? yield* PubSub.unbounded<number>() : run.live
    // the first subscribers may race to make the PubSub: the first one made is kept
    const live = yield* PubSub.subscribe(run.live ??= made)
    // Read after subscribing: what is published from here on is both logged and queued, so the
    // queued indices below `replayed` are skipped.
    const replayed = run.log.length
    return Stream.concat(
      Stream.fromIterable(run.log.slice(0, replayed)),
      Stream.fromQueue(live).pipe(
        Stream.takeWhile((index) => index !== closedIndex),
        Stream.filter((index) => index >= replayed),
        Stream.map((index) => run.log[index])
      )
    )
  })).pipe(Stream.takeUntil((item) => isTerminal(run, item)))

const streamOf = (run: run_.Run, internal: boolean): Stream.Stream<Event.AnyEvent> =>
  internal
    ? Stream.map(published(run), (item) => item instanceof run_.StepStateRecord ? item.toEvent() : item)
    : Stream.filter(
      published(run),
      (item): item is Event.AnyEvent => !(item instanceof run_.StepStateRecord) && !Event.internalTags.has(item._tag)
    )

/** The handler: its members are made when read, so that a parked run holds little. */
class Handler<Result, E, S> implements WorkflowHandler.WorkflowHandler<Result, E, S> {
  constructor(private readonly run: run_.Run) {}
  get runId() {
    return this.run.runId
  }
  get events() {
    return streamOf(this.run, false)
  }
  get stream() {
    return (options?: WorkflowHandler.StreamOptions) => streamOf(this.run, options?.internal === true)
  }
  get result(): Effect.Effect<Result, WorkflowError.WorkflowError | E> {
    return awaitResult(this.run)
  }
  get sendEvent() {
    return (event: Event.AnyEvent, options?: WorkflowContext.SendOptions) => sendEvent(this.run, event, options)
  }
  get cancel() {
    return Effect.suspend(() => {
      run_.finish(
        this.run,
        Exit.fail(new WorkflowError.WorkflowCancelledByUser()),
        new Event.WorkflowCancelledEvent({}, true)
      )
      return Effect.asVoid(Effect.exit(awaitResult(this.run)))
    })
  }
  get runningSteps() {
    return Effect.sync(() => run_.runningSteps(this.run))
  }
  get isDone() {
    return Effect.sync(() => this.run.done)
  }
  get store(): StateStore.StateStore<S> {
    return this.run.store
  }
}

/** The run's result, once its end is complete. */
const awaitResult = <A, E>(run: run_.Run): Effect.Effect<A, E> =>
  Effect.suspend(() =>
    run.completed ?? Effect.async<A, E>((resume) => {
      const observer = (exit: Exit.Exit<A, E>) => resume(exit)
      run.observe(observer)
      return Effect.sync(() => run.unobserve(observer))
    })
  )

const completeResult = (run: run_.Run) => Effect.sync(() => run.complete(run.exit!))

const releasePermit = (run: run_.Run) =>
  Effect.suspend(() => {
    if (!run.permit) return Effect.void
    run.permit = false
    return run.semaphore!.release(1)
  })

const track = (run: run_.Run, fiber: Fiber.RuntimeFiber<void>): void => {
  const fibers = run.fibers ??= new Set()
  fibers.add(fiber)
  fiber.addObserver(() => {
    fibers.delete(fiber)
    run.settleIfDone()
  })
}

/**
 * Starts a worker fiber: scheduled, so that the transitions of the run never re-enter each
 * other, or in place when no transition is under way.
 */
const startWorker = (run: run_.Run, stepRun: run_.StepRun, execution: run_.Execution, inPlace: boolean): void => {
  const started = run.runtime
  if (started === undefined) return
  const current = new CurrentContext()
  const runtime = Runtime.make({
    context: Context.add(started.context, WorkflowContext.WorkflowContext, current),
    fiberRefs: started.fiberRefs,
    runtimeFlags: started.runtimeFlags
  })
  track(run, Runtime.runFork(runtime)(worker(run, stepRun, execution, current), { immediate: inPlace }))
}

const driver: run_.Driver = {
  // Scheduled, not started in place: transitions of the run never re-enter each other.
  fork: (run, effect) => {
    if (!run.closed && run.runtime !== undefined) track(run, Runtime.runFork(run.runtime)(effect, { immediate: false }))
  },
  spawn: (run, stepRun, execution) => {
    if (run.closed) return
    if (run.starting !== undefined) {
      run.starting.push({ stepRun, execution })
      return
    }
    startWorker(run, stepRun, execution, false)
  },
  end: (run) => {
    if (run.deadline !== undefined) deadlines.remove(run.deadline)
    const current = Fiber.getCurrentFiber()
    let others = run.permit
    for (const fiber of run.fibers ?? []) {
      if (others) break
      others = Option.isNone(current) || fiber !== current.value
    }
    // Usually the run ends in its last step's fiber, with nothing else to interrupt or release.
    if (!others) return run.complete(run.exit!)
    Runtime.runFork(run.runtime!)(
      Fiber.interruptAll(run.fibers ?? []).pipe(Effect.zipRight(releasePermit(run)), Effect.zipRight(completeResult(run))),
      { immediate: false }
    )
  }
}

/**
 * What closing a run's scope does: nothing of the run starts, runs or waits any more. A run
 * that had ended keeps its result; one that had not is interrupted.
 */
const close = (run: run_.Run): Effect.Effect<void> =>
  Effect.suspend(() => {
    run.closed = true
    run.done = true
    run_.wakeResumptions(run)
    run.live?.unsafeOffer(closedIndex)
    if (run.deadline !== undefined) deadlines.remove(run.deadline)
    // Usually the run has ended before its scope closes, and nothing of it is left to stop.
    if (
      run.exit !== undefined && (run.fibers === undefined || run.fibers.size === 0) && !run.permit
    ) {
      run.complete(run.exit)
      return Effect.void
    }
    return Fiber.interruptAll(run.fibers ?? []).pipe(
      Effect.zipRight(releasePermit(run)),
      Effect.zipRight(
        Effect.fiberIdWith((id) => Effect.sync(() => run.complete(run.exit ?? Exit.interrupt(id))))
      )
    )
  })

/**
 * Closes the run when `scope` closes (at once if it has closed already). The scope holds the run
 * only until it has settled (ended, with no fiber left): a long-lived scope does not keep every
 * run it ever started.
 */
const closeWith = (scope: Scope.Scope, run: run_.Run): Effect.Effect<void> => {
  const held: { run: run_.Run | undefined } = { run }
  run.onSettled = () => {
    held.run = undefined
  }
  return Scope.addFinalizerExit(scope, () => held.run === undefined ? Effect.void : close(held.run))
}

/** How many runs are beginning in place on the stack now, and how many may. */
let nested = 0
const maxNested = 16

const begin = (run: run_.Run, event: Event.AnyEvent): void => {
  if (run.done) return
  run.begun = true
  const begunAt = run.clock.unsafeCurrentTimeMillis()
  // The first workers start in place once the start event is routed: a run whose steps do not
  // wait has ended when it has started, and holds no memory meanwhile.
  const starting: Array<run_.Job> = run.starting = []
  try {
    run_.route(run, event)
    // what was sent while the run waited for its permit follows its start event
    const early = run.early
    run.early = undefined
    if (early !== undefined) for (const { event, target } of early) run_.route(run, event, target)
  } finally {
    run.starting = undefined
  }
  // Runs started by steps of runs started in place nest on the stack: past a few levels, the
  // first workers are scheduled instead.
  const inPlace = nested < maxNested
  if (inPlace) nested++
  try {
    for (const { stepRun, execution } of starting) {
      if (!run.done && !run.closed) startWorker(run, stepRun, execution, inPlace)
    }
  } finally {
    if (inPlace) nested--
  }
  // Only a run still going once its first steps have run needs its timeout watched; the timeout
  // counts from the beginning.
  const timeout = run.workflow.timeout
  if (Option.isSome(timeout) && !run.done && !run.closed) {
    const millis = Duration.toMillis(timeout.value)
    if (millis !== Infinity) {
      run.deadline = deadlines.add(run.clock, begunAt + millis, () => timeOut(run, timeout.value))
    }
  }
}

/** Makes the run's store when first used; it holds no more than it needs (the run keeps it). */
const storeMaker = (
  given: StateStore.StateStore<any> | undefined,
  initial: unknown,
  schema: Option.Option<any>
) =>
() => given ?? stateStore.unsafeMake<any>(initial, schema)

/** Begins a run: at once, or when its workflow's concurrency limit gives it a permit. */
const launch = (run: run_.Run, event: Event.AnyEvent): run_.Run => {
  const semaphore = run.semaphore
  if (semaphore === undefined) {
    begin(run, event)
    return run
  }
  run.fork(Effect.uninterruptibleMask((restore) =>
    Effect.zipRight(
      restore(semaphore.take(1)),
      Effect.sync(() => {
        run.permit = true
        begin(run, event)
      })
    )
  ))
  return run
}

/**
 * Starts a run whose fibers are interrupted when `scope` closes; without a scope, the caller
 * must `close` the run. @internal
 */
export const startIn = <Start, Result, E, R, S>(
  self: Workflow.Workflow<Start, Result, E, R, S>,
  scope: Scope.Scope | undefined,
  startEvent?: Start,
  options?: Workflow.RunOptions<S>
): Effect.Effect<run_.Run, WorkflowError.WorkflowValidationError | WorkflowError.WorkflowConfigurationError, R> =>
  // One step that reads what the run needs from the calling fiber: starting many small runs
  // is dominated by what each start costs.
  Effect.withFiberRuntime((fiber, status) => {
    const make = (
      event: Event.AnyEvent,
      initial: unknown
    ): Effect.Effect<run_.Run, WorkflowError.WorkflowValidationError | WorkflowError.WorkflowConfigurationError> => {
      const run = new run_.Run(
        options?.runId,
        self,
        storeMaker(options?.store, initial, self.state),
        Context.get(fiber.currentDefaultServices, Clock.Clock),
        // interruptible: the run's fibers inherit these flags, whatever region the run starts in
        Runtime.make({
          context: fiber.currentContext,
          fiberRefs: fiber.getFiberRefs(),
          runtimeFlags: RuntimeFlags.enable(status.runtimeFlags, RuntimeFlags.Interruption)
        }),
        concurrencyLimit(self),
        driver
      )
      if (scope === undefined) return Effect.succeed(launch(run, event))
      // Uninterruptible from the run's beginning until its scope knows it: an interruption in
      // between would leave the run going with nobody to close it. A run that has already ended
      // and settled (its first steps did not wait) leaves its scope nothing to close.
      return Effect.uninterruptible(Effect.suspend(() => {
        launch(run, event)
        return run.settled ? Effect.succeed(run) : Effect.as(closeWith(scope, run), run)
      }))
    }
    const typedState = options?.store === undefined && Option.isSome(self.state) ? self.state.value : undefined
    if (typedState === undefined && (self.validation === false || validated.has(self))) {
      const event = startEventOf(self, startEvent as Event.AnyEvent | undefined)
      return event instanceof WorkflowError.WorkflowConfigurationError ? Effect.fail(event) : make(event, {})
    }
    return Effect.flatMap(validateOnce(self), () => {
      const event = startEventOf(self, startEvent as Event.AnyEvent | undefined)
      if (event instanceof WorkflowError.WorkflowConfigurationError) return Effect.fail(event)
      // A typed state's defaults are decoded now, so that a schema without them fails the start.
      return typedState === undefined
        ? make(event, {})
        : Effect.flatMap(stateStore.initialState(typedState), (initial) => make(event, initial))
    })
  })

/** @internal */
export const start = <Start, Result, E, R, S>(
  self: Workflow.Workflow<Start, Result, E, R, S>,
  startEvent?: Start,
  options?: Workflow.RunOptions<S>
): Effect.Effect<
  WorkflowHandler.WorkflowHandler<Result, E, S>,
  WorkflowError.WorkflowValidationError | WorkflowError.WorkflowConfigurationError,
  R | Scope.Scope
> =>
  Effect.flatMap(
    Effect.scope,
    (scope) => Effect.map(startIn(self, scope, startEvent, options), (run) => new Handler<Result, E, S>(run))
  )

/** @internal */
export const run = <Start, Result, E, R, S>(
  self: Workflow.Workflow<Start, Result, E, R, S>,
  startEvent?: Start,
  options?: Workflow.RunOptions<S>
) =>
  Effect.acquireUseRelease(
    startIn(self, undefined, startEvent, options),
    (run) => awaitResult<Result, WorkflowError.WorkflowError | E>(run),
    close
  )
