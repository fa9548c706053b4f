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
 * The store's operations.
 *
 * @since 0.1.0
 * @category models
 */
export interface HandlerStoreService {
  /** Inserts or replaces a handler (by `handlerId`). */
  readonly put: (handler: HandlerRecord) => Effect.Effect<void, HandlerStoreError>
  readonly get: (handlerId: string) => Effect.Effect<Option.Option<HandlerRecord>, HandlerStoreError>
  /** In the order the handlers were first put. */
  readonly list: (filter: HandlerFilter) => Effect.Effect<ReadonlyArray<HandlerRecord>, HandlerStoreError>
  /** Deletes a handler and the events of its runs. */
  readonly remove: (handlerId: string) => Effect.Effect<void, HandlerStoreError>
  /** Appends events, of one run or many (a batch is written together). */
  readonly append: (events: ReadonlyArray<StoredEvent>) => Effect.Effect<void, HandlerStoreError>
  /**
   * A run's events after a sequence: those stored, then each one as it is appended. It does not
   * end by itself (the caller stops after the terminal event); it ends when the run's events
   * are removed.
   */
  readonly events: (runId: string, afterSequence: number) => Stream.Stream<StoredEvent, HandlerStoreError>
  /** Keeps a handler's latest snapshot (its final state, which a continuation starts from). */
  readonly saveSnapshot: (handlerId: string, snapshot: Snapshot.Snapshot) => Effect.Effect<void, HandlerStoreError>
  readonly loadSnapshot: (handlerId: string) => Effect.Effect<Option.Option<Snapshot.Snapshot>, HandlerStoreError>
  /** The last sequence stored for a run, or -1. */
  readonly lastSequence: (runId: string) => Effect.Effect<number, HandlerStoreError>
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
