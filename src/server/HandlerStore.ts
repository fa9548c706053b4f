/**
 * Where a `WorkflowServer` keeps its handlers and every event their runs published, by sequence:
 * the routes read handlers and serve event streams from here, so a stream is the same whether
 * its run is live, finished, or from before a restart. A Layer: `layerMemory` here; the durable
 * stores provide the same service.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import type * as Snapshot from "../Snapshot.js"
import * as internal from "../internal/server/memoryStore.js"
import { EventEnvelope, HandlerStatus } from "./WorkflowApi.js"

/**
 * One handler: a run the server started (or continued) under a handler id.
 *
 * @example
 * ```ts
 * import { HandlerStore } from "effect-workflows/server"
 *
 * const record: HandlerStore.HandlerRecord = {
 *   handlerId: "abcdefghij", workflowName: "greet", runId: "r1", status: "running",
 *   startedAt: "2026-01-01T00:00:00.000Z", updatedAt: null, completedAt: null, error: null, result: null
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export const HandlerRecord = Schema.Struct({
  handlerId: Schema.String,
  workflowName: Schema.String,
  runId: Schema.String,
  status: HandlerStatus,
  /** ISO-8601 */
  startedAt: Schema.String,
  updatedAt: Schema.NullOr(Schema.String),
  completedAt: Schema.NullOr(Schema.String),
  /** Why the run failed (the error's message), for `failed`. */
  error: Schema.NullOr(Schema.String),
  /** The stop event's envelope, for `completed`. */
  result: Schema.NullOr(EventEnvelope)
})

/**
 * @since 0.1.0
 * @category models
 */
export type HandlerRecord = typeof HandlerRecord.Type

/**
 * An event a run published, with its sequence in the run (0-based, every event counted,
 * internal ones included).
 *
 * @example
 * ```ts
 * import { HandlerStore } from "effect-workflows/server"
 *
 * const stored: HandlerStore.StoredEvent = {
 *   runId: "r1", sequence: 0, envelope: { type: "Progress", value: { n: 1 }, qualified_name: null, types: null }
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface StoredEvent {
  readonly runId: string
  readonly sequence: number
  readonly envelope: EventEnvelope
}

/**
 * Which handlers `list` returns: every handler when a field is absent; an empty array matches
 * nothing.
 *
 * @since 0.1.0
 * @category models
 */
export interface HandlerFilter {
  readonly status?: ReadonlyArray<HandlerStatus> | undefined
  readonly workflowName?: ReadonlyArray<string> | undefined
}

/**
 * A store operation that failed.
 *
 * @example
 * ```ts
 * import { HandlerStore } from "effect-workflows/server"
 *
 * const error = new HandlerStore.HandlerStoreError({ message: "database is locked" })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class HandlerStoreError extends Schema.TaggedError<HandlerStoreError>()("HandlerStoreError", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * A run's snapshot as a store keeps it: the latest one of a handler, with a version that only
 * grows (a write with a version not above the stored one is refused: a stale writer).
 *
 * @since 0.1.0
 * @category models
 */
export interface SavedSnapshot {
  readonly handlerId: string
  readonly runId: string
  readonly version: number
  readonly snapshot: Snapshot.Snapshot
}

/**
 * What one `commit` writes together, in one transaction: events (of one run or many), then
 * snapshots, then handler rows.
 *
 * @since 0.1.0
 * @category models
 */
export interface Batch {
  readonly events?: ReadonlyArray<StoredEvent> | undefined
  readonly snapshots?: ReadonlyArray<SavedSnapshot> | undefined
  readonly handlers?: ReadonlyArray<HandlerRecord> | undefined
}

/**
 * A snapshot write refused because the store holds one with the same or a newer version: another
 * writer has moved the handler on.
 *
 * @example
 * ```ts
 * import { HandlerStore } from "effect-workflows/server"
 *
 * const error = new HandlerStore.StaleSnapshotError({ handlerId: "abcdefghij", version: 3, storedVersion: 4 })
 * ```
 *
 * @since 0.1.0
 * @category errors
 */
export class StaleSnapshotError extends Schema.TaggedError<StaleSnapshotError>()("StaleSnapshotError", {
  handlerId: Schema.String,
  version: Schema.Number,
  storedVersion: Schema.Number
}) {
  override get message(): string {
    return `Snapshot version ${this.version} of handler ${this.handlerId} is stale: the store has version ${this.storedVersion}`
  }
}

/**
 * The store's operations.
 *
 * @since 0.1.0
 * @category models
 */
export interface HandlerStoreService {
  /**
   * Whether what it holds outlives the process: then the server writes every running handler's
   * snapshot as it goes, and resumes the running handlers when it starts.
   */
  readonly durable: boolean
  /** Inserts or replaces a handler (by `handlerId`). */
  readonly put: (handler: HandlerRecord) => Effect.Effect<void, HandlerStoreError>
  readonly get: (handlerId: string) => Effect.Effect<Option.Option<HandlerRecord>, HandlerStoreError>
  /** In the order the handlers were first put. */
  readonly list: (filter: HandlerFilter) => Effect.Effect<ReadonlyArray<HandlerRecord>, HandlerStoreError>
  /** Deletes a handler with its snapshot and the events of its runs; their readers end. */
  readonly remove: (handlerId: string) => Effect.Effect<void, HandlerStoreError>
  /**
   * Writes a batch in one transaction (the writes of many runs share it: group commit). Nothing
   * is written when a snapshot in it is stale.
   */
  readonly commit: (batch: Batch) => Effect.Effect<void, HandlerStoreError | StaleSnapshotError>
  /**
   * A run's events after a sequence: those stored, then each one as it is committed. It does not
   * end by itself (the caller stops after the terminal event); it ends when the run's events
   * are removed.
   */
  readonly events: (runId: string, afterSequence: number) => Stream.Stream<StoredEvent, HandlerStoreError>
  /** The last sequence stored for a run, or -1. */
  readonly lastSequence: (runId: string) => Effect.Effect<number, HandlerStoreError>
  /** A handler's latest snapshot. */
  readonly loadSnapshot: (handlerId: string) => Effect.Effect<Option.Option<SavedSnapshot>, HandlerStoreError>
  /**
   * Claims the store for this process until the scope closes; fails with a clear error when
   * another live process holds it (one server process per database).
   */
  readonly claim: Effect.Effect<void, HandlerStoreError, Scope.Scope>
}

/**
 * The handler store service.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { HandlerStore } from "effect-workflows/server"
 *
 * const running = Effect.flatMap(HandlerStore.HandlerStore, (store) => store.list({ status: ["running"] }))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export class HandlerStore extends Context.Tag("effect-workflows/server/HandlerStore")<
  HandlerStore,
  HandlerStoreService
>() {}

/**
 * An in-memory store. It keeps the last `maxCompleted` finished handlers (default 1000, as the
 * original's `max_completed`) with their events and lets older ones go; running handlers are
 * always kept.
 *
 * @example
 * ```ts
 * import { HandlerStore } from "effect-workflows/server"
 *
 * const StoreLive = HandlerStore.layerMemory({ maxCompleted: 100 })
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerMemory = (options?: { readonly maxCompleted?: number | undefined }): Layer.Layer<HandlerStore> =>
  internal.layer(HandlerStore, options?.maxCompleted ?? 1000)
