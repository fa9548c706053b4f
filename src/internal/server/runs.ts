/**
 * The runs a server keeps going: starting (or continuing) a run under a handler id, sending it
 * events, cancelling it, and writing everything it publishes to the handler store.
 *
 * What a run publishes reaches the store through the engine's journal: the journal runs inside
 * the run's flush, so it only puts items on one queue, and one writer fiber takes them off in
 * batches (the events of many runs go to the store together) and turns them into envelopes.
 * A run's terminal event settles its handler row, in the same order as its events.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
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
import * as envelope from "./envelope.js"

/** A run the server started and has not yet settled. */
interface Live {
  readonly handlerId: string
  readonly runId: string
  readonly workflowName: string
  readonly workflow: Workflow.Any
  readonly startedAt: string
  readonly scope: Scope.CloseableScope
  handler: WorkflowHandler.WorkflowHandler<unknown, unknown, unknown> | undefined
  /** Completed with the handler's final row once the store has it. */
  readonly settled: Deferred.Deferred<HandlerStore.HandlerRecord>
}

type Write =
  | { readonly _tag: "Event"; readonly live: Live; readonly sequence: number; readonly item: run_.Published }
  | { readonly _tag: "Settle"; readonly live: Live; readonly record: HandlerStore.HandlerRecord }

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
 * The runs of one server, writing to `store`. Runs are started in `scope`'s context: closing it
 * cancels those still going.
 *
 * @internal
 */
export const make = (
  store: HandlerStore.HandlerStoreService,
  context: Context.Context<never>
): Effect.Effect<Runs, never, Scope.Scope> =>
  Effect.gen(function*() {
    const serverScope = yield* Effect.scope
    const lives = new Map<string, Live>()
    const writes = yield* Queue.unbounded<Write>()
    yield* Effect.addFinalizer(() => Queue.shutdown(writes))

    const journalOf = (live: Live): Journal => (commands) => {
      for (let i = 0; i < commands.length; i++) {
        const command = commands[i]!
        if (command._op === "publish") {
          writes.unsafeOffer({ _tag: "Event", live, sequence: command.sequence, item: command.item })
        }
      }
    }

    // One batch: events appended together, then the rows their terminal events settle.
    const writeBatch = (batch: Iterable<Write>) =>
      Effect.gen(function*() {
        const events: Array<HandlerStore.StoredEvent> = []
        const settles: Array<Live> = []
        const now = yield* isoNow
        for (const write of batch) {
          if (write._tag === "Settle") {
            yield* store.append(events.splice(0))
            yield* store.put(write.record)
            continue
          }
          const event = write.item instanceof run_.StepStateRecord ? write.item.toEvent() : write.item
          events.push({
            runId: write.live.runId,
            sequence: write.sequence,
            envelope: envelope.encode(write.live.workflow, event)
          })
          if (envelope.isTerminal(write.live.workflow, event)) {
            yield* store.append(events.splice(0))
            yield* store.put(settledRecord(write.live, event, now))
            settles.push(write.live)
          }
        }
        yield* store.append(events)
        // forked: closing one run's scope must not hold up the writes of the others
        for (const live of settles) yield* Effect.forkIn(settle(live), serverScope)
      })

    // After its row: the run's scope is closed and waiters learn the row.
    const settle = (live: Live) =>
      Effect.gen(function*() {
        if (lives.get(live.handlerId) === live) lives.delete(live.handlerId)
        // its final state, for a run request that continues the handler
        if (live.handler !== undefined) {
          const snapshot = yield* Effect.either(live.handler.snapshot)
          if (snapshot._tag === "Right") yield* store.saveSnapshot(live.handlerId, snapshot.right)
        }
        const record = yield* store.get(live.handlerId)
        yield* Scope.close(live.scope, Exit.void)
        if (Option.isSome(record)) yield* Deferred.succeed(live.settled, record.value)
      })

    yield* Queue.takeBetween(writes, 1, 4096).pipe(
      Effect.flatMap(writeBatch),
      Effect.catchAllCause((cause) => Effect.logError("handler store write failed", Cause.pretty(cause))),
      Effect.forever,
      Effect.forkIn(serverScope)
    )

    const start: Runs["start"] = (options) =>
      Effect.gen(function*() {
        if (options.handlerId !== undefined && lives.has(options.handlerId)) {
          return yield* Effect.fail<StartRefusal>({ _tag: "Running", handlerId: options.handlerId })
        }
        const handlerId = options.handlerId ?? nanoid(10)
        // a finished handler's id continues it: a new run seeded with its final state
        const previous = options.handlerId === undefined
          ? Option.none()
          : yield* store.loadSnapshot(handlerId).pipe(Effect.orElseSucceed(() => Option.none()))
        const runId = crypto.randomUUID()
        const startedAt = yield* isoNow
        const scope = yield* Scope.fork(serverScope, ExecutionStrategy.sequential)
        const live: Live = {
          handlerId,
          runId,
          workflowName: options.workflowName,
          workflow: options.workflow,
          startedAt,
          scope,
          handler: undefined,
          settled: yield* Deferred.make<HandlerStore.HandlerRecord>()
        }
        lives.set(handlerId, live)
        // the row exists before the run starts, so a fast run cannot settle a row not yet written
        yield* store.put({
          handlerId,
          workflowName: options.workflowName,
          runId,
          status: "running",
          startedAt,
          updatedAt: startedAt,
          completedAt: null,
          error: null,
          result: null
        }).pipe(Effect.mapError((error): StartRefusal => ({ _tag: "Failed", message: error.message })))
        const beginning: runtime.Beginning = Option.isSome(previous)
          ? { _tag: "Resume", snapshot: previous.value, event: options.event }
          : { _tag: "Start", event: options.event }
        // the workflow's requirements are in `context`, which the server was built with
        const starting = runtime.startIn(options.workflow, scope, beginning, { runId, journal: journalOf(live) })
        const started = yield* (Effect.provide(starting, context) as unknown as Effect.Effect<Run, { readonly message: string }>)
          .pipe(Effect.map((run) => runtime.handlerOf<unknown, unknown, unknown>(run)), Effect.either)
        if (started._tag === "Left") {
          lives.delete(handlerId)
          yield* Scope.close(scope, Exit.void)
          yield* store.remove(handlerId).pipe(Effect.ignore)
          return yield* Effect.fail<StartRefusal>({ _tag: "Failed", message: started.left.message })
        }
        live.handler = started.right
        return live
      })

    return {
      start,
      live: (handlerId) => lives.get(handlerId),
      settled: (live) => Deferred.await(live.settled)
    }
  })
