/**
 * Starting a run: validation, the run's state store, its fibers in a scope, its timeout, its
 * concurrency limit, and the handler.
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Runtime from "effect/Runtime"
import * as Stream from "effect/Stream"
import * as Event from "../Event.js"
import * as Graph from "../Graph.js"
import * as StateStore from "../StateStore.js"
import type * as Workflow from "../Workflow.js"
import type * as WorkflowHandler from "../WorkflowHandler.js"
import * as WorkflowError from "../WorkflowError.js"
import { makeStepContext, sendEvent } from "./context.js"
import * as run_ from "./run.js"
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

const startEventOf = (
  self: Workflow.Any,
  startEvent: Event.AnyEvent | undefined
): Effect.Effect<Event.AnyEvent, WorkflowError.WorkflowConfigurationError> =>
  Effect.suspend(() => {
    const tag = self.start._tag
    if (startEvent !== undefined) {
      return startEvent._tag === tag ? Effect.succeed(startEvent) : Effect.fail(
        new WorkflowError.WorkflowConfigurationError({
          message: `The start event must be an instance of '${tag}', got '${startEvent._tag}'.`
        })
      )
    }
    if (self.start === Event.StartEvent) return Effect.succeed(new Event.StartEvent({ input: undefined }))
    return Effect.try({
      try: () => new (self.start as any)({}) as Event.AnyEvent,
      catch: () =>
        new WorkflowError.WorkflowConfigurationError({
          message: `Failed creating a start event of type '${tag}' without fields: pass a start event.`
        })
    })
  })

const terminalTags: ReadonlySet<string> = new Set([
  Event.WorkflowFailedEvent._tag,
  Event.WorkflowTimedOutEvent._tag,
  Event.WorkflowCancelledEvent._tag
])

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

const streamOf = (run: run_.Run, internal: boolean): Stream.Stream<Event.AnyEvent> => {
  const all = Stream.takeUntil(Stream.fromPubSub(run.pubsub), (item) => isTerminal(run, item))
  return internal
    ? Stream.map(all, (item) => item instanceof run_.StepStateRecord ? item.toEvent() : item)
    : Stream.filter(
      all,
      (item): item is Event.AnyEvent => !(item instanceof run_.StepStateRecord) && !Event.internalTags.has(item._tag)
    )
}

/** @internal */
export const start = <Start, Result, E, R, S>(
  self: Workflow.Workflow<Start, Result, E, R, S>,
  startEvent?: Start,
  options?: Workflow.RunOptions<S>
) =>
  Effect.gen(function*() {
    yield* validateOnce(self)
    const event = yield* startEventOf(self, startEvent as Event.AnyEvent | undefined)
    const store: StateStore.StateStore<any> = options?.store ??
      (Option.isSome(self.state) ? yield* StateStore.make(self.state.value) : yield* StateStore.make())

    const fibers = yield* FiberSet.make()
    const fork = yield* FiberSet.runtime(fibers)<R>()
    const runtime = yield* Effect.runtime<never>()
    const pubsub = yield* PubSub.unbounded<run_.Published>({ replay: Number.POSITIVE_INFINITY })
    const result = yield* Deferred.make<Result, WorkflowError.WorkflowError | E>()
    const run = new run_.Run(options?.runId ?? crypto.randomUUID(), self, store, pubsub, yield* Effect.clock)
    const semaphore = concurrencyLimit(self)
    let permit = false
    const releasePermit = Effect.suspend(() => {
      if (!permit) return Effect.void
      permit = false
      return semaphore!.release(1)
    })
    // Scheduled, not started in place: transitions of the run never re-enter each other.
    run.fork = (effect) => void fork(effect, { immediate: false })
    run.spawn = (stepRun, execution) => run.fork(worker(run, stepRun, execution))
    run.onEnd = () =>
      void Runtime.runFork(runtime)(
        FiberSet.clear(fibers).pipe(
          Effect.zipRight(releasePermit),
          Effect.zipRight(Effect.suspend(() => Deferred.done(result, run.exit as Exit.Exit<Result, any>)))
        ),
        { immediate: false }
      )
    for (const stepRun of run.steps.values()) stepRun.context = makeStepContext(run, stepRun)
    yield* Effect.addFinalizer(() => Effect.zipRight(releasePermit, Deferred.interrupt(result)))

    const begin = () => {
      if (run.done) return
      if (Option.isSome(self.timeout)) {
        const timeout = self.timeout.value
        run.fork(Effect.delay(Effect.sync(() => timeOut(run, timeout)), timeout))
      }
      run_.route(run, event)
    }
    if (semaphore === undefined) begin()
    else {
      run.fork(Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(
          restore(semaphore.take(1)),
          Effect.sync(() => {
            permit = true
            begin()
          })
        )
      ))
    }

    const handler: WorkflowHandler.WorkflowHandler<Result, E, S> = {
      runId: run.runId,
      get events() {
        return streamOf(run, false)
      },
      stream: (streamOptions) => streamOf(run, streamOptions?.internal === true),
      result: Deferred.await(result),
      sendEvent: (ev, sendOptions) => sendEvent(run, ev, sendOptions),
      cancel: Effect.suspend(() => {
        run_.finish(run, Exit.fail(new WorkflowError.WorkflowCancelledByUser()), new Event.WorkflowCancelledEvent({}, true))
        return Effect.asVoid(Effect.exit(Deferred.await(result)))
      }),
      runningSteps: Effect.sync(() => run_.runningSteps(run)),
      isDone: Effect.sync(() => run.done),
      store
    }
    return handler
  })

/** @internal */
export const run = <Start, Result, E, R, S>(
  self: Workflow.Workflow<Start, Result, E, R, S>,
  startEvent?: Start,
  options?: Workflow.RunOptions<S>
) => Effect.scoped(Effect.flatMap(start(self, startEvent, options), (handler) => handler.result))
