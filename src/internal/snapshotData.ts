/**
 * A run's snapshot as the engine reads and restores it: the document of `Snapshot.ts` before
 * encoding (events are instances, the state is the store's value). `snapshotCodec.ts` turns one
 * into the other against a workflow.
 */
import type * as Event from "../Event.js"

/** An event waiting for, or holding, a worker slot, with its retry bookkeeping. @internal */
export interface RawAttempt {
  readonly event: Event.AnyEvent
  /** Failures so far (0 before the first failure). */
  readonly failures: number
  /** Clock millis at the start of the first execution. */
  readonly firstAttemptAt: number | undefined
  /** Clock millis of the last failure. */
  readonly lastFailedAt: number | undefined
  /** The last failure, described as plain JSON (`{ _tag?, message }`). */
  readonly lastError: unknown
  /** Clock millis at which a retry waiting out its delay is due; `undefined` when not delayed. */
  readonly retryAt: number | undefined
  /**
   * The `collectEvents` sets the attempt completed, without its own event, by buffer: its next
   * execution gets them again.
   */
  readonly taken?: ReadonlyArray<{ readonly bufferId: string; readonly events: ReadonlyArray<Event.AnyEvent> }> | undefined
  /** The recoveries of the event's lineage by `Step.catchError` handler name. */
  readonly recoveries?: { readonly [handler: string]: number } | undefined
}

/** A `waitForEvent` waiter. @internal */
export interface RawWaiter {
  readonly waiterId: string
  /** The input event of the waiting step (re-executed from it on resume). */
  readonly event: Event.AnyEvent
  /** Tag of the awaited event. */
  readonly awaited: string
  /** The requirements; `undefined` when there are none or they could not be encoded. */
  readonly requirements: { readonly [field: string]: unknown } | undefined
  /** Whether the wait had requirements (even if they could not be encoded). */
  readonly hasRequirements: boolean
  /** When the wait gives up (Clock millis), for a wait with a timeout. */
  readonly expiresAt?: number | undefined
  /** Whether its `waiterEvent` has been published (a resumed run does not publish it again). */
  readonly waiterEventPublished: boolean
  /** The event that resolved it, not yet taken by its execution. */
  readonly resolved: Event.AnyEvent | undefined
}

/** @internal */
export interface RawStep {
  /** Events waiting for a worker slot, in order (delayed retries have `retryAt`). */
  readonly queue: ReadonlyArray<RawAttempt>
  /** Events whose execution was in progress (running or waiting for an event). */
  readonly inProgress: ReadonlyArray<RawAttempt>
  /** `collectEvents` buffers by buffer id, events in arrival order. */
  readonly collected: ReadonlyArray<{ readonly bufferId: string; readonly events: ReadonlyArray<Event.AnyEvent> }>
  readonly waiters: ReadonlyArray<RawWaiter>
}

/** @internal */
export interface RawSnapshot {
  readonly runId: string
  /** The workflow's name. */
  readonly workflow: string
  readonly isRunning: boolean
  /** The state store's value (typed state: an instance of the state schema's type). */
  readonly state: unknown
  /** By step name, in the workflow's step order; steps with nothing in them may be omitted. */
  readonly steps: ReadonlyArray<readonly [name: string, step: RawStep]>
  /** Number of events published so far. */
  readonly streamSequence: number
}
