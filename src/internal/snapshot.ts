/**
 * A run's snapshot is a read of its `RunState`; resuming builds a `RunState` back from one.
 * The document's encoding against the workflow is in snapshotCodec.ts.
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Event from "../Event.js"
import * as Serializer from "../Serializer.js"
import type * as Snapshot from "../Snapshot.js"
import type * as StateStore from "../StateStore.js"
import type * as Workflow from "../Workflow.js"
import * as WorkflowError from "../WorkflowError.js"
import * as run_ from "./run.js"
import type { Run } from "./shell.js"
import * as codec from "./snapshotCodec.js"
import type { RawAttempt, RawSnapshot, RawStep, RawWaiter } from "./snapshotData.js"
import * as stateStore from "./stateStore.js"

let defaultSerializer: Serializer.Serializer | undefined

const serializerOf = (given: Serializer.Serializer | undefined): Serializer.Serializer =>
  given ?? (defaultSerializer ??= Serializer.makeJson())

/** A failure as plain JSON: its `_tag` (if any) and message. */
const describeError = (error: unknown): unknown => {
  if (typeof error === "object" && error !== null) {
    const tag = (error as { _tag?: unknown })._tag
    const message = (error as { message?: unknown }).message
    return {
      ...(typeof tag === "string" ? { _tag: tag } : {}),
      message: typeof message === "string" ? message : String(error)
    }
  }
  return { message: String(error) }
}

const rawAttempt = (attempt: run_.Attempt): RawAttempt => ({
  event: attempt.event,
  failures: attempt.failures,
  firstAttemptAt: attempt.firstAttemptAt,
  lastFailedAt: attempt.lastFailedAt,
  lastError: Option.isSome(attempt.lastError) ? describeError(attempt.lastError.value) : undefined,
  retryAt: attempt.retryAt,
  taken: attempt.taken ?? [],
  recoveries: attempt.recoveries
})

const rawStep = (step: run_.StepState): RawStep => {
  const inProgress: Array<RawAttempt> = []
  // what in-flight attempts added to buffers without completing them: they add it again
  const added = new Set<Event.AnyEvent>()
  for (const execution of run_.inFlight(step)) {
    inProgress.push(rawAttempt(execution.attempt))
    for (const { event } of execution.attempt.added ?? []) added.add(event)
  }
  const queue: Array<RawAttempt> = []
  for (const item of step.queued()) if (!("resumption" in item)) queue.push(rawAttempt(item))
  if (step.hasDelayed) for (const attempt of step.delayed) queue.push(rawAttempt(attempt))
  const collected: Array<{ bufferId: string; events: ReadonlyArray<Event.AnyEvent> }> = []
  for (const [bufferId, buffer] of step.collected) {
    const events = added.size === 0 ? buffer.events.slice() : buffer.events.filter((event) => !added.has(event))
    if (events.length > 0) collected.push({ bufferId, events })
  }
  const waiters: Array<RawWaiter> = []
  for (const waiter of step.hasWaiters ? step.waiters : []) {
    const input = waiter.input ?? waiter.executions[0]?.attempt.event
    if (input === undefined) continue
    waiters.push({
      waiterId: waiter.id,
      event: input,
      awaited: waiter.awaitedTag,
      requirements: waiter.requirements,
      hasRequirements: waiter.hasRequirements,
      waiterEventPublished: waiter.waiterEventPublished,
      resolved: waiter.resolved,
      ...(waiter.expiresAt === undefined ? {} : { expiresAt: waiter.expiresAt })
    })
  }
  return { queue, inProgress, collected, waiters }
}

/**
 * A run that has not begun (waiting for a concurrency permit) holds what it begins with apart:
 * the attempts restored from a snapshot (in order) and its first events, unrouted. They are
 * written down in the queues of the steps they go to.
 */
const pendingQueues = (state: run_.RunState): Map<run_.StepState, Array<RawAttempt>> => {
  const queues = new Map<run_.StepState, Array<RawAttempt>>()
  for (const { attempt, step } of state.restored ?? []) {
    const list = queues.get(step) ?? []
    list.push(rawAttempt(attempt))
    queues.set(step, list)
  }
  for (const { event, recoveries, target } of state.early ?? []) {
    const steps = target !== undefined
      ? [target]
      : (state.plan.routes.get(event._tag) ?? []).map((index) => state.steps[index]!)
    for (const step of steps) {
      const list = queues.get(step) ?? []
      list.push(rawAttempt(run_.makeAttempt(event, recoveries)))
      queues.set(step, list)
    }
  }
  return queues
}

/** The run's state as it is now, before encoding. @internal */
export const read = (run: Run): RawSnapshot => {
  const state = run.state
  const isRunning = run_.isResumable(state)
  const steps: Array<readonly [string, RawStep]> = []
  if (isRunning) {
    // not begun (waiting for a permit), or cancelled before it began
    const pending = state.early !== undefined || state.restored !== undefined ? pendingQueues(state) : undefined
    for (const step of state.steps) {
      let raw = rawStep(step)
      const early = pending?.get(step)
      if (early !== undefined) raw = { ...raw, queue: [...raw.queue, ...early] }
      // the encoding leaves out the steps with nothing in them
      steps.push([step.step.name, raw])
    }
  }
  return {
    runId: state.runId,
    workflow: state.workflow.name,
    isRunning,
    state: stateStore.unsafeGet(state.store),
    steps,
    streamSequence: state.published
  }
}

/** The run's state, encoded, now (synchronously). @internal */
export const encode = (run: Run): Either.Either<Snapshot.Snapshot, WorkflowError.ContextSerdeError> =>
  codec.encode(run.state.workflow, read(run), serializerOf(run.serializer))

/** `handler.snapshot`: the run's state, encoded. @internal */
export const take = (run: Run): Effect.Effect<Snapshot.Snapshot, WorkflowError.ContextSerdeError> =>
  Effect.suspend(() => {
    const encoded = encode(run)
    return Either.isLeft(encoded) ? Effect.fail(encoded.left) : Effect.succeed(encoded.right)
  })

/**
 * Decodes a snapshot (a document, or its JSON text) against the workflow. @internal
 */
export const decode = (
  workflow: Workflow.Any,
  u: unknown,
  serializer: Serializer.Serializer | undefined
): Either.Either<RawSnapshot, WorkflowError.ContextSerdeError> => {
  if (typeof u === "string") {
    let parsed: unknown
    try {
      parsed = JSON.parse(u)
    } catch (error) {
      return Either.left(
        new WorkflowError.ContextSerdeError({
          message: `Invalid snapshot: truncated or malformed JSON (${error instanceof Error ? error.message : String(error)})`
        })
      )
    }
    return codec.decode(workflow, parsed, serializerOf(serializer))
  }
  return codec.decode(workflow, u, serializerOf(serializer))
}

const restoreAttempt = (raw: RawAttempt): run_.Attempt => ({
  event: raw.event,
  failures: raw.failures,
  firstAttemptAt: raw.firstAttemptAt,
  lastFailedAt: raw.lastFailedAt,
  lastError: raw.lastError === undefined || raw.lastError === null ? Option.none() : Option.some(raw.lastError),
  scheduleState: undefined,
  retryAt: raw.retryAt,
  taken: raw.taken === undefined || raw.taken.length === 0
    ? undefined
    : raw.taken.map(({ bufferId, events }) => ({ bufferId, events })),
  added: undefined,
  recoveries: raw.recoveries === undefined || Object.keys(raw.recoveries).length === 0 ? undefined : raw.recoveries
})

/**
 * The state of an unfinished run restored from its snapshot, not yet begun: its in-flight
 * attempts re-execute first, then what was queued, each with its retry bookkeeping; buffers and
 * waiters are as they were; the stream's sequence goes on. @internal
 */
export const restore = (
  workflow: Workflow.Any,
  raw: RawSnapshot,
  makeStore: () => StateStore.StateStore<any>
): run_.RunState => {
  const state = new run_.RunState(raw.runId, workflow, makeStore, raw.streamSequence)
  const restored: Array<{ step: run_.StepState; attempt: run_.Attempt }> = []
  for (const [name, rawStep] of raw.steps) {
    const step = state.stepNamed(name)
    if (step === undefined) continue
    for (const { bufferId, events } of rawStep.collected) {
      step.collected.set(bufferId, { events: [...events], expected: undefined, missing: new Map(), remaining: 0 })
    }
    for (const waiter of rawStep.waiters) {
      run_.restoreWaiter(state, step, {
        id: waiter.waiterId,
        awaitedTag: waiter.awaited,
        requirements: waiter.requirements,
        hasRequirements: waiter.hasRequirements,
        waiterEventPublished: waiter.waiterEventPublished,
        resolved: waiter.resolved,
        input: waiter.event,
        expiresAt: waiter.expiresAt
      })
    }
    for (const attempt of rawStep.inProgress) restored.push({ step, attempt: { ...restoreAttempt(attempt), retryAt: undefined } })
    for (const attempt of rawStep.queue) restored.push({ step, attempt: restoreAttempt(attempt) })
  }
  state.restored = restored
  return state
}
