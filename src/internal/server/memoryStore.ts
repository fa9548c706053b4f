/**
 * The in-memory handler store: handlers in insertion order, each run's events in an array, and a
 * signal per run that wakes its readers when events are appended.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import type * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as FiberId from "effect/FiberId"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as HandlerStore from "../../server/HandlerStore.js"
import { StaleSnapshotError } from "../../server/HandlerStore.js"

class RunLog {
  readonly events: Array<HandlerStore.StoredEvent> = []
  removed = false
  signal: Deferred.Deferred<void>
  constructor(private readonly fiberId: FiberId.FiberId) {
    this.signal = Deferred.unsafeMake(fiberId)
  }

  /** Events with a sequence above `sequence` (sequences are appended in increasing order). */
  after(sequence: number): Array<HandlerStore.StoredEvent> {
    const events = this.events
    let low = 0
    let high = events.length
    while (low < high) {
      const mid = (low + high) >>> 1
      if (events[mid]!.sequence <= sequence) low = mid + 1
      else high = mid
    }
    return low === events.length ? [] : events.slice(low)
  }

  /** Wakes the readers waiting for more. */
  wake(): void {
    const signal = this.signal
    this.signal = Deferred.unsafeMake(this.fiberId)
    Deferred.unsafeDone(signal, Effect.void)
  }
}

const terminal = new Set<string>(["completed", "failed", "cancelled"])

/** @internal */
export const layer = (
  tag: Context.Tag<HandlerStore.HandlerStore, HandlerStore.HandlerStoreService>,
  maxCompleted: number
): Layer.Layer<HandlerStore.HandlerStore> =>
  Layer.effect(
    tag,
    Effect.fiberIdWith((fiberId) =>
      Effect.sync(() => {
        const handlers = new Map<string, HandlerStore.HandlerRecord>()
        // every run a handler has had, so that removing it removes their events
        const runsOf = new Map<string, Set<string>>()
        const logs = new Map<string, RunLog>()
        const ownedRuns = new Set<string>()
        // finished handlers, oldest first (a Set keeps insertion order)
        const finished = new Set<string>()
        const snapshots = new Map<string, HandlerStore.SavedSnapshot>()

        const logOf = (runId: string): RunLog => {
          let log = logs.get(runId)
          if (log === undefined) {
            log = new RunLog(fiberId)
            logs.set(runId, log)
          }
          return log
        }

        const removeHandler = (handlerId: string): void => {
          handlers.delete(handlerId)
          finished.delete(handlerId)
          snapshots.delete(handlerId)
          for (const runId of runsOf.get(handlerId) ?? []) {
            ownedRuns.delete(runId)
            const log = logs.get(runId)
            if (log !== undefined) {
              log.removed = true
              logs.delete(runId)
              log.wake()
            }
          }
          runsOf.delete(handlerId)
        }

        const put = (record: HandlerStore.HandlerRecord): void => {
          handlers.set(record.handlerId, record)
          let runs = runsOf.get(record.handlerId)
          if (runs === undefined) runsOf.set(record.handlerId, runs = new Set())
          runs.add(record.runId)
          ownedRuns.add(record.runId)
          finished.delete(record.handlerId)
          if (!terminal.has(record.status)) return
          finished.add(record.handlerId)
          if (finished.size <= maxCompleted) return
          const oldest = finished.values().next().value
          if (oldest !== undefined) removeHandler(oldest)
        }

        const events = (runId: string, afterSequence: number): Stream.Stream<HandlerStore.StoredEvent> =>
          Stream.suspend(() => {
            // a run with no events and no handler has none to come (its handler was removed)
            if (!logs.has(runId) && !ownedRuns.has(runId)) return Stream.empty
            let cursor = afterSequence
            const log = logOf(runId)
            const next: Effect.Effect<Chunk.Chunk<HandlerStore.StoredEvent>, Option.Option<never>> = Effect.suspend(
              () => {
                const fresh = log.after(cursor)
                if (fresh.length > 0) {
                  cursor = fresh[fresh.length - 1]!.sequence
                  return Effect.succeed(Chunk.unsafeFromArray(fresh))
                }
                if (log.removed) return Effect.fail(Option.none())
                return Effect.zipRight(Deferred.await(log.signal), next)
              }
            )
            return Stream.repeatEffectChunkOption(next)
          })

        return tag.of({
          durable: false,
          put: (record) => Effect.sync(() => put(record)),
          get: (handlerId) => Effect.sync(() => Option.fromNullable(handlers.get(handlerId))),
          list: (filter) =>
            Effect.sync(() =>
              Array.from(handlers.values()).filter((record) =>
                (filter.status === undefined || filter.status.includes(record.status)) &&
                (filter.workflowName === undefined || filter.workflowName.includes(record.workflowName))
              )
            ),
          remove: (handlerId) => Effect.sync(() => removeHandler(handlerId)),
          commit: (batch) =>
            Effect.suspend(() => {
              for (const saved of batch.snapshots ?? []) {
                const stored = snapshots.get(saved.handlerId)
                if (stored !== undefined && stored.version >= saved.version) {
                  return Effect.fail(
                    new StaleSnapshotError({
                      handlerId: saved.handlerId,
                      version: saved.version,
                      storedVersion: stored.version
                    })
                  )
                }
              }
              const touched = new Set<RunLog>()
              for (const event of batch.events ?? []) {
                const log = logOf(event.runId)
                log.events.push(event)
                touched.add(log)
              }
              for (const saved of batch.snapshots ?? []) snapshots.set(saved.handlerId, saved)
              for (const record of batch.handlers ?? []) put(record)
              touched.forEach((log) => log.wake())
              return Effect.void
            }),
          events,
          loadSnapshot: (handlerId) => Effect.sync(() => Option.fromNullable(snapshots.get(handlerId))),
          // one process holds a memory store: its own
          claim: Effect.void,
          lastSequence: (runId) =>
            Effect.sync(() => {
              const log = logs.get(runId)
              return log === undefined || log.events.length === 0 ? -1 : log.events[log.events.length - 1]!.sequence
            })
        })
      })
    )
  )
