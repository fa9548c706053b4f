/**
 * Starting, resuming and ending runs: validation, the run's state and shell, its timeout, its
 * concurrency limit, its scope, its stream, and the handler.
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Runtime from "effect/Runtime"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Event from "../Event.js"
import * as Graph from "../Graph.js"
import * as Serializer from "../Serializer.js"
import type * as Snapshot from "../Snapshot.js"
import type * as StateStore from "../StateStore.js"
import type * as Workflow from "../Workflow.js"
import type * as WorkflowContext from "../WorkflowContext.js"
import type * as WorkflowHandler from "../WorkflowHandler.js"
import * as WorkflowError from "../WorkflowError.js"
import { sendEvent } from "./context.js"
import * as deadlines from "./deadlines.js"
import * as metrics from "./metrics.js"
import * as run_ from "./run.js"
import { close, closedIndex, type Journal, Run } from "./shell.js"
import * as snapshot from "./snapshot.js"
import type { RawSnapshot } from "./snapshotData.js"
import * as stateStore from "./stateStore.js"
import * as telemetry from "./telemetry.js"

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

// The abnormal endings; a run's normal ending is its own stop class (`state.stopTag`).
const terminalTags: ReadonlySet<string> = new Set(
  [...Event.terminalTags].filter((tag) => tag !== Event.StopEvent._tag)
)

const timeOut = (run: Run, timeout: Duration.Duration): void => {
  if (run.state.done) return
  const activeSteps = run_.runningSteps(run.state)
  run_.end(
    run.state,
    "timedOut",
    Exit.fail(new WorkflowError.WorkflowTimeoutError({ timeout, activeSteps })),
    new Event.WorkflowTimedOutEvent({ timeout: Duration.toMillis(timeout) / 1000, activeSteps }, true)
  )
  run.flush()
}

/** Ends a run as `handler.cancel` does (a no-op on an ended run). */
const cancel = (run: Run): void => {
  // most runs have ended when their scope closes: nothing to make then
  if (run.state.done) return
  run_.end(
    run.state,
    "cancelled",
    Exit.fail(new WorkflowError.WorkflowCancelledByUser()),
    new Event.WorkflowCancelledEvent({}, true)
  )
  run.flush()
}

// -------------------------------------------------------------------------------------------------
// the stream
// -------------------------------------------------------------------------------------------------

const isTerminal = (run: Run, item: run_.Published): boolean =>
  item instanceof run_.StepStateRecord ? false : item._tag === run.state.stopTag || terminalTags.has(item._tag)

/** The run's log from the start, then what is published live, up to the terminal event. */
const published = (run: Run): Stream.Stream<run_.Published> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    // An ended (or closed) run publishes nothing more: its log is all there is.
    if (run.state.done || run.closed) return Stream.fromIterable(run.log)
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
        Stream.map((index) => run.log[index]!)
      )
    )
  })).pipe(Stream.takeUntil((item) => isTerminal(run, item)))

const streamOf = (run: Run, internal: boolean): Stream.Stream<Event.AnyEvent> =>
  internal
    ? Stream.map(published(run), (item) => item instanceof run_.StepStateRecord ? item.toEvent() : item)
    : Stream.filter(
      published(run),
      (item): item is Event.AnyEvent => !(item instanceof run_.StepStateRecord) && !Event.internalTags.has(item._tag)
    )

// -------------------------------------------------------------------------------------------------
// the handler
// -------------------------------------------------------------------------------------------------

/** The handler: its members are made when read, so that a parked run holds little. */
class Handler<Result, E, S> implements WorkflowHandler.WorkflowHandler<Result, E, S> {
  constructor(readonly run: Run) {}
  get runId() {
    return this.run.state.runId
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
  get sendEvent(): WorkflowHandler.WorkflowHandler<Result, E, S>["sendEvent"] {
    // untargeted, `sendEvent` cannot fail: the overloads type that
    return ((event: Event.AnyEvent, options?: WorkflowContext.SendOptions) =>
      Effect.suspend(() =>
        this.run.state.done || this.run.closed
          ? Effect.fail(
            new WorkflowError.WorkflowRuntimeError({
              message: `Workflow already completed: run ${this.run.state.runId} accepts no more events`
            })
          )
          : sendEvent(this.run, event, options)
      )) as WorkflowHandler.WorkflowHandler<Result, E, S>["sendEvent"]
  }
  get cancel() {
    return Effect.suspend(() => {
      cancel(this.run)
      return Effect.asVoid(Effect.exit(awaitResult(this.run)))
    })
  }
  get snapshot(): Effect.Effect<Snapshot.Snapshot, WorkflowError.ContextSerdeError> {
    return Effect.suspend(() => snapshot.take(this.run))
  }
  get runningSteps() {
    return Effect.sync(() => run_.runningSteps(this.run.state))
  }
  get isDone() {
    return Effect.sync(() => this.run.state.done)
  }
  get store(): StateStore.StateStore<S> {
    return this.run.state.store
  }
}

/** The run's result, once its end is complete. */
const awaitResult = <A, E>(run: Run): Effect.Effect<A, E> =>
  Effect.suspend(() =>
    run.completed ?? Effect.async<A, E>((resume) => {
      const observer = (exit: Exit.Exit<A, E>) => resume(exit)
      run.observe(observer)
      return Effect.sync(() => run.unobserve(observer))
    })
  )

// -------------------------------------------------------------------------------------------------
// beginning a run
// -------------------------------------------------------------------------------------------------

/** The runs going on in each scope that has started some, closed by one finalizer of the scope. */
const scopeRuns = new WeakMap<Scope.Scope, Set<Run>>()

/** Closes a scope's runs, the last started first. */
const closeAll = (scope: Scope.Scope, runs: Set<Run>): Effect.Effect<void> =>
  Effect.suspend(() => {
    // runs started in this scope from now on (it has closed) are closed at once
    if (scopeRuns.get(scope) === runs) scopeRuns.delete(scope)
    const closing = Array.from(runs).reverse()
    runs.clear()
    return Effect.forEach(closing, (run) => close(run, () => cancel(run)), { discard: true })
  })

/**
 * Closes the run when `scope` closes. A scope holds its runs in one set, with one finalizer for
 * all of them (as a `FiberSet` does), and a run leaves the set once it has settled (ended, with
 * no fiber left): a long-lived scope keeps nothing of the runs that ended in it.
 */
const closeWith = (scope: Scope.Scope, run: Run): Effect.Effect<void> => {
  const existing = scopeRuns.get(scope)
  const runs = existing ?? new Set<Run>()
  runs.add(run)
  run.onSettled = () => {
    runs.delete(run)
  }
  if (existing !== undefined) return Effect.void
  scopeRuns.set(scope, runs)
  // on a scope that has closed already, the finalizer runs at once
  return Scope.addFinalizer(scope, closeAll(scope, runs))
}

/** How many runs are beginning in place on the stack now, and how many may. */
let nested = 0
const maxNested = 16

/** Begins the run: routes what it starts with and starts its first workers in place. */
const begin = (run: Run): void => {
  const state = run.state
  if (state.status._tag !== "Pending" || run.closed) return
  const begunAt = run.clock.unsafeCurrentTimeMillis()
  run_.begin(state, begunAt)
  // Runs started by steps of runs started in place nest on the stack: past a few levels, the
  // first workers are scheduled instead. A run whose steps do not wait has ended when it has
  // started, and holds no memory meanwhile.
  const inPlace = nested < maxNested
  if (inPlace) nested++
  run.inPlace = inPlace
  try {
    run.flush()
  } finally {
    run.inPlace = false
    if (inPlace) nested--
  }
  // Only a run still going once its first steps have run needs its timeout watched; the timeout
  // counts from the beginning.
  const timeout = run.state.workflow.timeout
  if (Option.isSome(timeout) && !state.done && !run.closed) {
    const millis = Duration.toMillis(timeout.value)
    if (millis !== Infinity) {
      run.deadline = deadlines.add(run.clock, begunAt + millis, () => timeOut(run, timeout.value))
    }
  }
}

/** Starts the run's span (ended when the run's result is set). */
const traceRun = (run: Run, tracing: telemetry.Tracing): void => {
  const state = run.state
  const name = state.workflow.name
  const span = telemetry.startSpan(tracing, run.clock, `workflow ${name}`, tracing.parent)
  span.attribute(telemetry.keys.workflow, name)
  span.attribute(telemetry.keys.runId, state.runId)
  run.traced = { tracing, span }
}

/** Begins a run: at once, or when its workflow's concurrency limit gives it a permit. */
const launch = (run: Run, tracing: telemetry.Tracing | undefined): Run => {
  run.state.metrics?.runsStarted.update(1)
  if (tracing !== undefined) traceRun(run, tracing)
  const semaphore = run.semaphore
  if (semaphore === undefined) {
    begin(run)
    return run
  }
  run.fork(Effect.uninterruptibleMask((restore) =>
    Effect.zipRight(
      restore(semaphore.take(1)),
      Effect.sync(() => {
        run.permit = true
        begin(run)
      })
    )
  ))
  return run
}

/** Makes the run's store when first used; it holds no more than it needs (the run keeps it). */
const storeMaker = (
  given: StateStore.StateStore<any> | undefined,
  initial: unknown,
  schema: Option.Option<any>
) =>
() => given ?? stateStore.unsafeMake<any>(initial, schema)

/** How a run begins: a start event, or a snapshot to continue. @internal */
export type Beginning =
  | { readonly _tag: "Start"; readonly event: Event.AnyEvent | undefined }
  | { readonly _tag: "Resume"; readonly snapshot: unknown; readonly event: Event.AnyEvent | undefined }

type StartError =
  | WorkflowError.WorkflowValidationError
  | WorkflowError.WorkflowConfigurationError
  | WorkflowError.ContextSerdeError

/** Options of `startIn` beyond the public ones. @internal */
export interface StartOptions<S> extends Workflow.RunOptions<S> {
  readonly journal?: Journal | undefined
}

/**
 * Starts (or resumes) a run whose fibers are interrupted when `scope` closes; without a scope,
 * the caller must `close` the run. @internal
 */
export const startIn = <Start, Result, E, R, S>(
  self: Workflow.Workflow<Start, Result, E, R, S>,
  scope: Scope.Scope | undefined,
  beginning: Beginning,
  options?: StartOptions<S>
): Effect.Effect<Run, StartError, R> =>
  // One step that reads what the run needs from the calling fiber: starting many small runs
  // is dominated by what each start costs.
  Effect.withFiberRuntime((fiber, status) => {
    const serializer = Context.getOption(fiber.currentContext, Serializer.Serializer).pipe(Option.getOrUndefined)
    // read once per run: a run whose spans would go nowhere makes none
    const tracing = telemetry.tracingOf(fiber)
    const make = (state: run_.RunState): Effect.Effect<Run> => {
      if (fiber.getFiberRef(metrics.enabled)) run_.meter(state)
      const run = new Run(
        state,
        Context.get(fiber.currentDefaultServices, Clock.Clock),
        // interruptible: the run's fibers inherit these flags, whatever region the run starts in
        Runtime.make({
          context: fiber.currentContext,
          // with loggers that add a step execution's log annotations
          fiberRefs: telemetry.runFiberRefs(fiber),
          runtimeFlags: RuntimeFlags.enable(status.runtimeFlags, RuntimeFlags.Interruption)
        }),
        concurrencyLimit(self),
        serializer,
        options?.journal
      )
      if (scope === undefined) return Effect.succeed(launch(run, tracing))
      // Uninterruptible from the run's beginning until its scope knows it: an interruption in
      // between would leave the run going with nobody to close it. A run that has already ended
      // and settled (its first steps did not wait) leaves its scope nothing to close.
      return Effect.uninterruptible(Effect.suspend(() => {
        launch(run, tracing)
        return run.settled ? Effect.succeed(run) : Effect.as(closeWith(scope, run), run)
      }))
    }
    const fresh = (event: Event.AnyEvent, initial: unknown, runId: string | undefined) => {
      const state = new run_.RunState(runId, self, storeMaker(options?.store, initial, self.state))
      state.early = [{ event, target: undefined }]
      return make(state)
    }
    if (beginning._tag === "Resume") {
      return Effect.flatMap(validateOnce(self), (): Effect.Effect<Run, StartError> => {
        const decoded = snapshot.decode(self, beginning.snapshot, serializer)
        if (Either.isLeft(decoded)) return Effect.fail(decoded.left)
        const raw: RawSnapshot = decoded.right
        if (!raw.isRunning) {
          // a finished run's snapshot starts a new run that carries its state over
          const event = startEventOf(self, beginning.event)
          if (event instanceof WorkflowError.WorkflowConfigurationError) return Effect.fail(event)
          return fresh(event, raw.state, options?.runId)
        }
        return make(snapshot.restore(self, raw, storeMaker(options?.store, raw.state, self.state)))
      })
    }
    const startEvent = beginning.event
    const typedState = options?.store === undefined && Option.isSome(self.state) ? self.state.value : undefined
    if (typedState === undefined && (self.validation === false || validated.has(self))) {
      const event = startEventOf(self, startEvent)
      return event instanceof WorkflowError.WorkflowConfigurationError
        ? Effect.fail(event)
        : fresh(event, {}, options?.runId)
    }
    return Effect.flatMap(validateOnce(self), () => {
      const event = startEventOf(self, startEvent)
      if (event instanceof WorkflowError.WorkflowConfigurationError) return Effect.fail(event)
      // A typed state's defaults are decoded now, so that a schema without them fails the start.
      return typedState === undefined
        ? fresh(event, {}, options?.runId)
        : Effect.flatMap(stateStore.initialState(typedState), (initial) => fresh(event, initial, options?.runId))
    })
  })

const beginningOf = (startEvent: unknown, options: Workflow.RunOptions<any> | undefined): Beginning =>
  options?.snapshot !== undefined
    ? { _tag: "Resume", snapshot: options.snapshot, event: startEvent as Event.AnyEvent | undefined }
    : { _tag: "Start", event: startEvent as Event.AnyEvent | undefined }

/** @internal */
export const handlerOf = <Result, E, S>(run: Run): WorkflowHandler.WorkflowHandler<Result, E, S> =>
  new Handler<Result, E, S>(run)

/** The run behind a handler of this library (for the testing helpers). @internal */
export const runOf = (handler: unknown): Run | undefined => handler instanceof Handler ? handler.run : undefined

/** @internal */
export const start = <Start, Result, E, R, S>(
  self: Workflow.Workflow<Start, Result, E, R, S>,
  startEvent?: Start,
  options?: Workflow.RunOptions<S>
): Effect.Effect<WorkflowHandler.WorkflowHandler<Result, E, S>, StartError, R | Scope.Scope> =>
  Effect.flatMap(
    Effect.scope,
    (scope) => Effect.map(startIn(self, scope, beginningOf(startEvent, options), options), handlerOf<Result, E, S>)
  )

/** @internal */
export const resume = <Start, Result, E, R, S>(
  self: Workflow.Workflow<Start, Result, E, R, S>,
  snapshot: unknown
): Effect.Effect<WorkflowHandler.WorkflowHandler<Result, E, S>, StartError, R | Scope.Scope> =>
  Effect.flatMap(
    Effect.scope,
    (scope) =>
      Effect.map(startIn(self, scope, { _tag: "Resume", snapshot, event: undefined }), handlerOf<Result, E, S>)
  )

/** @internal */
export const run = <Start, Result, E, R, S>(
  self: Workflow.Workflow<Start, Result, E, R, S>,
  startEvent?: Start,
  options?: Workflow.RunOptions<S>
) =>
  Effect.acquireUseRelease(
    startIn(self, undefined, beginningOf(startEvent, options), options),
    (run) => awaitResult<Result, WorkflowError.WorkflowError | E>(run),
    (run) => close(run, () => cancel(run))
  )
