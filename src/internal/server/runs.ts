/**
 * The runs a server keeps going: starting (or continuing) a run under a handler id, resuming the
 * runs a store holds as running, and writing everything they publish to the handler store.
 *
 * What a run publishes reaches the store through the engine's journal: the journal runs inside
 * the run's flush, so it only appends to one list, and one writer fiber takes the whole list at
 * a time. In the same synchronous step it reads the snapshot of every run the batch touches (so
 * a snapshot holds exactly the events written with it), then commits events, snapshots and the
 * rows that terminal events settle in one transaction: the writes of many runs share it.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import { nanoid } from "nanoid"
import * as Event from "../../Event.js"
import type * as HandlerStore from "../../server/HandlerStore.js"
import type * as Workflow from "../../Workflow.js"
import type * as WorkflowHandler from "../../WorkflowHandler.js"
import * as run_ from "../run.js"
import * as runtime from "../runtime.js"
import type { Journal, Run } from "../shell.js"
import * as snapshot_ from "../snapshot.js"
import * as envelope from "./envelope.js"

/** A run the server started (or resumed) and has not yet settled. */
interface Live {
  readonly handlerId: string
  readonly runId: string
  readonly workflowName: string
  readonly workflow: Workflow.Any
  readonly startedAt: string
  readonly scope: Scope.CloseableScope
  run: Run | undefined
  handler: WorkflowHandler.WorkflowHandler<unknown, unknown, unknown> | undefined
  /** The version of the last snapshot written (they only grow, across the handler's runs). */
  snapshotVersion: number
  /** Completed with the handler's final row once the store has it. */
  readonly settled: Deferred.Deferred<HandlerStore.HandlerRecord>
}

interface Published {
  readonly live: Live
  readonly sequence: number
  readonly item: run_.Published
}

/** Why a run request was refused. */
export type StartRefusal =
  | { readonly _tag: "Running"; readonly handlerId: string }
  | { readonly _tag: "Failed"; readonly message: string }

/** @internal */
export interface Runs {
  readonly start: (options: {
    readonly workflowName: string
    readonly workflow: Workflow.Any
    readonly event: Event.AnyEvent
    readonly handlerId: string | undefined
  }) => Effect.Effect<Live, StartRefusal>
  readonly live: (handlerId: string) => Live | undefined
  /** The handler's row once its run has settled. */
  readonly settled: (live: Live) => Effect.Effect<HandlerStore.HandlerRecord>
}

const isoNow = Effect.map(Clock.currentTimeMillis, (millis) => new Date(millis).toISOString())

const errorMessage = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
    return error.message
  }
  try {
    return String(error)
  } catch {
    return "unknown error"
  }
}

/** The handler row a terminal event settles. */
const settledRecord = (live: Live, terminal: Event.AnyEvent, now: string): HandlerStore.HandlerRecord => {
  const base = {
    handlerId: live.handlerId,
    workflowName: live.workflowName,
    runId: live.runId,
    startedAt: live.startedAt,
    updatedAt: now,
    completedAt: now
  }
  if (terminal instanceof Event.WorkflowFailedEvent) {
    return { ...base, status: "failed", error: errorMessage(terminal.error), result: null }
  }
  if (terminal instanceof Event.WorkflowTimedOutEvent) {
    return { ...base, status: "failed", error: `Workflow timed out after ${terminal.timeout}s`, result: null }
  }
  if (terminal instanceof Event.WorkflowCancelledEvent) {
    return { ...base, status: "cancelled", error: null, result: null }
  }
  return { ...base, status: "completed", error: null, result: envelope.encode(live.workflow, terminal) }
}

/**
 * The runs of one server, writing to `store`; with `durable`, a snapshot of every run a batch
 * touches is written with it (else only a finished run's, for continuations). Closing the scope
 * stops writing first, then stops the runs: a durable store keeps them as running, to resume.
 *
 * @internal
 */
export const make = (options: {
  readonly store: HandlerStore.HandlerStoreService
  readonly context: Context.Context<never>
  readonly workflows: ReadonlyMap<string, Workflow.Any>
  readonly durable: boolean
}): Effect.Effect<Runs, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { context, durable, store } = options
    const serverScope = yield* Effect.scope
    // the runs' scopes: made first, so closed last (after the writer has stopped)
    const runsScope = yield* Scope.fork(serverScope, ExecutionStrategy.parallel)
    const lives = new Map<string, Live>()
    let pending: Array<Published> = []
    let stopped = false
    const wake = yield* Queue.sliding<void>(1)

    const journalOf = (live: Live): Journal => (commands) => {
      if (stopped) return
      let published = false
      for (let i = 0; i < commands.length; i++) {
        const command = commands[i]!
        if (command._op === "publish") {
          pending.push({ live, sequence: command.sequence, item: command.item })
          published = true
        }
      }
      if (published) wake.unsafeOffer(undefined)
    }

    const snapshotOf = (live: Live): HandlerStore.SavedSnapshot | undefined => {
      if (live.run === undefined) return undefined
      const encoded = snapshot_.encode(live.run)
      if (Either.isLeft(encoded)) return undefined
      return { handlerId: live.handlerId, runId: live.runId, version: ++live.snapshotVersion, snapshot: encoded.right }
    }

    // Taken in one synchronous step: the list, and the snapshots of the runs it touches.
    const takeBatch = Effect.map(isoNow, (now) => {
      const taken = pending
      pending = []
      const events: Array<HandlerStore.StoredEvent> = []
      const handlers: Array<HandlerStore.HandlerRecord> = []
      const settles: Array<Live> = []
      const touched = new Set<Live>()
      for (const { item, live, sequence } of taken) {
        const event = item instanceof run_.StepStateRecord ? item.toEvent() : item
        events.push({ runId: live.runId, sequence, envelope: envelope.encode(live.workflow, event) })
        touched.add(live)
        if (envelope.isTerminal(live.workflow, event)) {
          handlers.push(settledRecord(live, event, now))
          settles.push(live)
        }
      }
      const snapshots: Array<HandlerStore.SavedSnapshot> = []
      for (const live of durable ? touched : settles) {
        const saved = snapshotOf(live)
        if (saved !== undefined) snapshots.push(saved)
      }
      return { batch: { events, snapshots, handlers }, settles }
    })

    // After its row: the run's scope is closed and waiters learn the row.
    const settle = (live: Live, record: HandlerStore.HandlerRecord) =>
      Effect.gen(function*() {
        if (lives.get(live.handlerId) === live) lives.delete(live.handlerId)
        yield* Scope.close(live.scope, Exit.void)
        yield* Deferred.succeed(live.settled, record)
      })

    const writeOnce = Effect.gen(function*() {
      yield* Queue.take(wake)
      const { batch, settles } = yield* takeBatch
      if (batch.events.length === 0) return
      yield* store.commit(batch)
      // forked: closing one run's scope must not hold up the writes of the others
      for (let i = 0; i < settles.length; i++) {
        yield* Effect.forkIn(settle(settles[i]!, batch.handlers[i]!), serverScope)
      }
    })

    yield* writeOnce.pipe(
      Effect.catchAllCause((cause) => Effect.logError("handler store write failed", Cause.pretty(cause))),
      Effect.forever,
      Effect.forkIn(serverScope)
    )
    // closed before the writer is interrupted and the runs stopped: what the runs publish while
    // they are stopped (a cancellation) is not written
    yield* Effect.addFinalizer(() => Effect.sync(() => stopped = true))

    const launch = (
      live: Live,
      beginning: runtime.Beginning
    ): Effect.Effect<Run, { readonly message: string }> => {
      // the workflow's requirements are in `context`, which the server was built with
      const starting = runtime.startIn(live.workflow, live.scope, beginning, {
        runId: live.runId,
        journal: journalOf(live)
      })
      return Effect.tap(
        Effect.provide(starting, context) as unknown as Effect.Effect<Run, { readonly message: string }>,
        (run) =>
          Effect.sync(() => {
            live.run = run
            live.handler = runtime.handlerOf<unknown, unknown, unknown>(run)
          })
      )
    }

    const makeLive = (fields: {
      readonly handlerId: string
      readonly runId: string
      readonly workflowName: string
      readonly workflow: Workflow.Any
      readonly startedAt: string
      readonly snapshotVersion: number
    }) =>
      Effect.gen(function*() {
        const live: Live = {
          ...fields,
          scope: yield* Scope.fork(runsScope, ExecutionStrategy.sequential),
          run: undefined,
          handler: undefined,
          settled: yield* Deferred.make<HandlerStore.HandlerRecord>()
        }
        lives.set(live.handlerId, live)
        return live
      })

    const start: Runs["start"] = (request) =>
      Effect.gen(function*() {
        if (request.handlerId !== undefined && lives.has(request.handlerId)) {
          return yield* Effect.fail<StartRefusal>({ _tag: "Running", handlerId: request.handlerId })
        }
        const handlerId = request.handlerId ?? nanoid(10)
        const failed = (error: { readonly message: string }): StartRefusal => ({ _tag: "Failed", message: error.message })
        // a finished handler's id continues it: a new run seeded with its final state
        const previousRow = request.handlerId === undefined
          ? Option.none()
          : yield* Effect.mapError(store.get(handlerId), failed)
        const previous = Option.isNone(previousRow)
          ? Option.none()
          : yield* Effect.mapError(store.loadSnapshot(handlerId), failed)
        const startedAt = yield* isoNow
        const live = yield* makeLive({
          handlerId,
          runId: crypto.randomUUID(),
          workflowName: request.workflowName,
          workflow: request.workflow,
          startedAt,
          snapshotVersion: Option.match(previous, { onNone: () => 0, onSome: (saved) => saved.version })
        })
        const forget = Effect.gen(function*() {
          lives.delete(handlerId)
          yield* Scope.close(live.scope, Exit.void)
          // a refused continuation leaves the finished handler as it was
          yield* Option.match(previousRow, { onNone: () => store.remove(handlerId), onSome: store.put }).pipe(Effect.ignore)
        })
        // the row exists before the run starts, so a fast run cannot settle a row not yet written
        yield* store.put({
          handlerId,
          workflowName: request.workflowName,
          runId: live.runId,
          status: "running",
          startedAt,
          updatedAt: startedAt,
          completedAt: null,
          error: null,
          result: null
        }).pipe(Effect.tapError(() => forget), Effect.mapError(failed))
        const beginning: runtime.Beginning = Option.isSome(previous)
          ? { _tag: "Resume", snapshot: previous.value.snapshot, event: request.event }
          : { _tag: "Start", event: request.event }
        yield* launch(live, beginning).pipe(Effect.tapError(() => forget), Effect.mapError(failed))
        return live
      })

    // Every handler the store holds as running (of a workflow served here) goes on from its
    // last snapshot, with the same handler id and run id; one that cannot ends as failed.
    const resume = (record: HandlerStore.HandlerRecord) =>
      Effect.gen(function*() {
        const workflow = options.workflows.get(record.workflowName)
        if (workflow === undefined) return
        const fail = (error: string) =>
          Effect.flatMap(isoNow, (now) =>
            store.put({ ...record, status: "failed", error, updatedAt: now, completedAt: now, result: null }))
        // a row the store cannot read (a truncated document) ends the handler, not the server
        const loaded = yield* Effect.exit(store.loadSnapshot(record.handlerId))
        if (Exit.isFailure(loaded)) return yield* fail(`cannot resume: ${errorMessage(Cause.squash(loaded.cause))}`)
        const saved = loaded.value
        if (Option.isNone(saved) || saved.value.runId !== record.runId) {
          return yield* fail("handler crashed before persisting any state; cannot resume")
        }
        if (saved.value.snapshot === null || typeof saved.value.snapshot !== "object" || !saved.value.snapshot.isRunning) {
          return yield* fail("handler's run had ended but its row was not updated; cannot resume")
        }
        const live = yield* makeLive({
          handlerId: record.handlerId,
          runId: record.runId,
          workflowName: record.workflowName,
          workflow,
          startedAt: record.startedAt,
          snapshotVersion: saved.value.version
        })
        yield* launch(live, { _tag: "Resume", snapshot: saved.value.snapshot, event: undefined }).pipe(
          Effect.catchAll((error) =>
            Effect.gen(function*() {
              lives.delete(live.handlerId)
              yield* Scope.close(live.scope, Exit.void)
              yield* fail(`cannot resume: ${error.message}`)
            })
          )
        )
      })

    const running = yield* store.list({ status: ["running"], workflowName: Array.from(options.workflows.keys()) }).pipe(
      Effect.orElseSucceed((): ReadonlyArray<HandlerStore.HandlerRecord> => [])
    )
    for (const record of running) {
      yield* resume(record).pipe(
        Effect.catchAllCause((cause) => Effect.logError(`cannot resume handler ${record.handlerId}`, Cause.pretty(cause)))
      )
    }

    return {
      start,
      live: (handlerId) => lives.get(handlerId),
      settled: (live) => Deferred.await(live.settled)
    }
  })
