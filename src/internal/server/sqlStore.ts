/**
 * The handler store over `@effect/sql`, for SQLite and PostgreSQL: one implementation, with the
 * dialects' differences (column types, row locks, the claim) chosen by `sql.onDialectOrElse`.
 *
 * Readers of a run's events read its rows by sequence, a page at a time, and then wait for a
 * wake-up: this store's own commits wake the readers of the runs they touched; a notification
 * channel (PostgreSQL's LISTEN/NOTIFY, given by `PgHandlerStore`) wakes them from any process;
 * polling is the fallback.
 *
 * It imports no driver: `SqliteHandlerStore` and `PgHandlerStore` bring theirs.
 *
 * @internal
 */
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { Connection } from "@effect/sql/SqlConnection"
import { SqlError } from "@effect/sql/SqlError"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import type * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as os from "node:os"
import type * as HandlerStore from "../../server/HandlerStore.js"
import { HandlerStoreError, StaleSnapshotError } from "../../server/HandlerStore.js"

/**
 * A channel that carries run ids between processes (PostgreSQL's LISTEN/NOTIFY).
 *
 * @internal
 */
export interface Notifications {
  /** Sends the ids; run inside the transaction of the writes, so they go out when it commits. */
  readonly notify: (runIds: ReadonlyArray<string>) => Effect.Effect<void, SqlError>
  /** The ids as they arrive, from any process (this one's included). */
  readonly listen: Stream.Stream<string, SqlError>
}

/** @internal */
export interface Options {
  readonly pollInterval: Duration.Duration
  /** How many events a reader reads per query. */
  readonly pageSize: number
  readonly notifications?: Notifications | undefined
}

/** @internal */
export const defaultPollInterval: Duration.Duration = Duration.seconds(1)

/** @internal */
export const migrationsTable = "wf_migrations"

// ---------------------------------------------------------------------------------------------
// schema

const ddl = (sql: SqlClient.SqlClient): ReadonlyArray<Effect.Effect<unknown, SqlError>> =>
  sql.onDialectOrElse({
    pg: () => [
      sql`CREATE TABLE wf_handlers (
  position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  handler_id TEXT NOT NULL UNIQUE,
  workflow_name TEXT NOT NULL,
  run_id TEXT NOT NULL,
  status TEXT NOT NULL,
  started_at TEXT NOT NULL,
  updated_at TEXT,
  completed_at TEXT,
  error TEXT,
  result JSON
)`,
      sql`CREATE INDEX wf_handlers_status_idx ON wf_handlers (status)`,
      sql`CREATE TABLE wf_handler_runs (
  handler_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  PRIMARY KEY (handler_id, run_id)
)`,
      sql`CREATE INDEX wf_handler_runs_run_id_idx ON wf_handler_runs (run_id)`,
      sql`CREATE TABLE wf_events (
  run_id TEXT NOT NULL,
  sequence BIGINT NOT NULL,
  envelope JSON NOT NULL,
  PRIMARY KEY (run_id, sequence)
)`,
      sql`CREATE TABLE wf_snapshots (
  handler_id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  version BIGINT NOT NULL,
  snapshot JSON NOT NULL
)`,
      sql`CREATE TABLE wf_owner (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  pid INTEGER NOT NULL,
  hostname TEXT NOT NULL,
  started_at TEXT NOT NULL,
  claim_id TEXT NOT NULL
)`
    ],
    orElse: () => [
      // `position` is the rowid: a new row gets one above every row there is, and an upsert
      // keeps the row's
      sql`CREATE TABLE wf_handlers (
  position INTEGER PRIMARY KEY,
  handler_id TEXT NOT NULL UNIQUE,
  workflow_name TEXT NOT NULL,
  run_id TEXT NOT NULL,
  status TEXT NOT NULL,
  started_at TEXT NOT NULL,
  updated_at TEXT,
  completed_at TEXT,
  error TEXT,
  result TEXT
)`,
      sql`CREATE INDEX wf_handlers_status_idx ON wf_handlers (status)`,
      sql`CREATE TABLE wf_handler_runs (
  handler_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  PRIMARY KEY (handler_id, run_id)
) WITHOUT ROWID`,
      sql`CREATE INDEX wf_handler_runs_run_id_idx ON wf_handler_runs (run_id)`,
      sql`CREATE TABLE wf_events (
  run_id TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  envelope TEXT NOT NULL,
  PRIMARY KEY (run_id, sequence)
) WITHOUT ROWID`,
      sql`CREATE TABLE wf_snapshots (
  handler_id TEXT PRIMARY KEY,
  run_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  snapshot TEXT NOT NULL
)`,
      sql`CREATE TABLE wf_owner (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  pid INTEGER NOT NULL,
  hostname TEXT NOT NULL,
  started_at TEXT NOT NULL,
  claim_id TEXT NOT NULL
)`
    ]
  })

const migrations = Migrator.fromRecord({
  "1_create_tables": Effect.flatMap(SqlClient.SqlClient, (sql) => Effect.forEach(ddl(sql), (statement) => statement))
})

/**
 * Creates the tables, once per database (migrations are tracked in `wf_migrations`).
 *
 * @internal
 */
export const migrate: Effect.Effect<void, SqlError | Migrator.MigrationError, SqlClient.SqlClient> = Effect.asVoid(
  Migrator.make({})({ loader: migrations, table: migrationsTable })
)

// ---------------------------------------------------------------------------------------------
// rows

interface HandlerRow {
  readonly handler_id: string
  readonly workflow_name: string
  readonly run_id: string
  readonly status: string
  readonly started_at: string
  readonly updated_at: string | null
  readonly completed_at: string | null
  readonly error: string | null
  readonly result: string | null
}

interface EventRow {
  readonly sequence: number | string | bigint
  readonly envelope: string
}

interface SnapshotRow {
  readonly handler_id: string
  readonly run_id: string
  readonly version: number | string | bigint
  readonly snapshot: string
}

interface OwnerRow {
  readonly pid: number | string | bigint
  readonly hostname: string
}

const toRecord = (row: HandlerRow): HandlerStore.HandlerRecord => ({
  handlerId: row.handler_id,
  workflowName: row.workflow_name,
  runId: row.run_id,
  status: row.status as HandlerStore.HandlerRecord["status"],
  startedAt: row.started_at,
  updatedAt: row.updated_at,
  completedAt: row.completed_at,
  error: row.error,
  result: row.result === null ? null : JSON.parse(row.result)
})

const toRow = (record: HandlerStore.HandlerRecord) => ({
  handler_id: record.handlerId,
  workflow_name: record.workflowName,
  run_id: record.runId,
  status: record.status,
  started_at: record.startedAt,
  updated_at: record.updatedAt,
  completed_at: record.completedAt,
  error: record.error,
  result: record.result === null ? null : JSON.stringify(record.result)
})

const toSaved = (row: SnapshotRow): HandlerStore.SavedSnapshot => ({
  handlerId: row.handler_id,
  runId: row.run_id,
  version: Number(row.version),
  snapshot: JSON.parse(row.snapshot)
})

const chunksOf = <A>(items: ReadonlyArray<A>, size: number): Array<ReadonlyArray<A>> => {
  const chunks: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size))
  return chunks
}

/** The last of each key, at the place of its first. */
const lastByKey = <A>(items: ReadonlyArray<A>, key: (item: A) => string): Array<A> => {
  const byKey = new Map<string, A>()
  for (const item of items) byKey.set(key(item), item)
  return Array.from(byKey.values())
}

// rows per statement, well under both dialects' limits on bound parameters
const eventsPerInsert = 1000
const handlersPerInsert = 500
const idsPerStatement = 500

const describeError = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
    return error.message
  }
  return String(error)
}

const storeError = (error: SqlError): HandlerStoreError => {
  const cause = error.cause
  const message = error.message || "SQL error"
  return new HandlerStoreError({
    message: cause === undefined ? message : `${message}: ${describeError(cause)}`,
    cause: error
  })
}

/** @internal */
export const inUseMessage = (pid: number | undefined, hostname: string | undefined): string => {
  const where = hostname !== undefined && hostname !== os.hostname() ? ` on ${hostname}` : ""
  return `The handler store is in use by another server process (pid ${pid ?? "unknown"}${where}): one server process per database`
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists, owned by another user
    return (error as NodeJS.ErrnoException).code === "EPERM"
  }
}

/** Waits in wall-clock time (a database round trip, not the program's clock). */
const wallClockSleep = (millis: number): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), millis)
    return Effect.sync(() => clearTimeout(timer))
  })

// ---------------------------------------------------------------------------------------------
// wake-ups

interface Waiting {
  signal: Deferred.Deferred<void>
  readers: number
}

/** A signal per run that has readers: completing it wakes them all. */
class Waiters {
  private readonly runs = new Map<string, Waiting>()
  constructor(private readonly fiberId: FiberId.FiberId) {}

  enter(runId: string): Waiting {
    let waiting = this.runs.get(runId)
    if (waiting === undefined) {
      waiting = { signal: Deferred.unsafeMake(this.fiberId), readers: 0 }
      this.runs.set(runId, waiting)
    }
    waiting.readers++
    return waiting
  }

  leave(runId: string, waiting: Waiting): void {
    if (--waiting.readers === 0 && this.runs.get(runId) === waiting) this.runs.delete(runId)
  }

  wake(runId: string): void {
    const waiting = this.runs.get(runId)
    if (waiting === undefined) return
    const signal = waiting.signal
    waiting.signal = Deferred.unsafeMake(this.fiberId)
    Deferred.unsafeDone(signal, Effect.void)
  }
}

// ---------------------------------------------------------------------------------------------
// the store

/**
 * Builds the store on the `SqlClient` in context: runs the migrations, and with `notifications`
 * starts listening (in the scope) before it returns.
 *
 * @internal
 */
export const make = (
  options: Options
): Effect.Effect<HandlerStore.HandlerStoreService, SqlError | Migrator.MigrationError, SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function*() {
    const client = yield* SqlClient.SqlClient
    // our column names as they are, whatever name transforms the client was given
    const sql = client.withoutTransforms()
    const storeScope = yield* Effect.scope
    const fiberId = yield* Effect.fiberId
    const waiters = new Waiters(fiberId)
    const { notifications, pageSize, pollInterval } = options

    yield* sql.onDialectOrElse({
      pg: () => Effect.void,
      sqlite: () => Effect.void,
      orElse: () =>
        Effect.fail(new SqlError({ message: "SqlHandlerStore: only SQLite and PostgreSQL are supported" }))
    })
    yield* migrate.pipe(
      Effect.provideService(SqlClient.SqlClient, sql),
      // two processes starting at once on a new database both create the migrations table:
      // the one that loses tries again, and finds the tables made
      Effect.retry({ times: 3, while: (error) => error._tag === "SqlError" })
    )

    if (notifications !== undefined) {
      const token = `effect-workflows:listening:${crypto.randomUUID()}`
      const listening = yield* Deferred.make<void>()
      yield* notifications.listen.pipe(
        Stream.runForEach((runId) =>
          runId === token ? Deferred.succeed(listening, undefined) : Effect.sync(() => waiters.wake(runId))
        ),
        Effect.tapErrorCause((cause) => Effect.logWarning("handler store: listening for notifications failed", cause)),
        Effect.retry(Schedule.spaced(Duration.seconds(1))),
        Effect.forkIn(storeScope)
      )
      // the listener is ready once a notification of ours comes back to it: until then, send one
      // now and then (a commit made before it listens would wake no other process's readers)
      const ready = yield* Deferred.await(listening).pipe(
        Effect.raceFirst(
          Effect.forever(Effect.zipRight(Effect.ignore(notifications.notify([token])), wallClockSleep(100)))
        ),
        Effect.as(true),
        Effect.raceFirst(Effect.as(wallClockSleep(10_000), false))
      )
      if (!ready) {
        yield* Effect.logWarning("handler store: not listening for notifications after 10s; readers fall back to polling")
      }
    }

    const notify = (runIds: ReadonlyArray<string>): Effect.Effect<void, SqlError> =>
      notifications === undefined || runIds.length === 0 ? Effect.void : notifications.notify(runIds)
    const wake = (runIds: Iterable<string>) =>
      Effect.sync(() => {
        for (const runId of runIds) waiters.wake(runId)
      })

    const handlerColumns = sql.literal(
      "handler_id, workflow_name, run_id, status, started_at, updated_at, completed_at, error, CAST(result AS TEXT) AS result"
    )

    const upsertHandlers = (records: ReadonlyArray<HandlerStore.HandlerRecord>) =>
      Effect.gen(function*() {
        if (records.length === 0) return
        // one row per handler in a statement (the last one wins, at the place of its first)
        const rows = lastByKey(records, (record) => record.handlerId).map(toRow)
        for (const chunk of chunksOf(rows, handlersPerInsert)) {
          yield* sql`INSERT INTO wf_handlers ${sql.insert(chunk)}
ON CONFLICT (handler_id) DO UPDATE SET
  workflow_name = excluded.workflow_name,
  run_id = excluded.run_id,
  status = excluded.status,
  started_at = excluded.started_at,
  updated_at = excluded.updated_at,
  completed_at = excluded.completed_at,
  error = excluded.error,
  result = excluded.result`
        }
        // every run a handler has had, so that removing it removes their events
        const runs = lastByKey(records, (record) => `${record.handlerId}\u0000${record.runId}`).map((record) => ({
          handler_id: record.handlerId,
          run_id: record.runId
        }))
        for (const chunk of chunksOf(runs, handlersPerInsert)) {
          yield* sql`INSERT INTO wf_handler_runs ${sql.insert(chunk)} ON CONFLICT DO NOTHING`
        }
      })

    const forUpdate = sql.onDialectOrElse({ pg: () => sql.literal(" FOR UPDATE"), orElse: () => sql.literal("") })

    const storedVersions = (handlerIds: ReadonlyArray<string>) =>
      Effect.map(
        Effect.forEach(
          chunksOf(handlerIds, idsPerStatement),
          (chunk) =>
            sql<{ handler_id: string; version: number | string | bigint }>`SELECT handler_id, version FROM wf_snapshots
WHERE ${sql.in("handler_id", chunk)}${forUpdate}`
        ),
        (rows) => new Map(rows.flat().map((row) => [row.handler_id, Number(row.version)] as const))
      )

    const staleIn = (
      snapshots: ReadonlyArray<HandlerStore.SavedSnapshot>,
      stored: ReadonlyMap<string, number>
    ): StaleSnapshotError | undefined => {
      for (const saved of snapshots) {
        const storedVersion = stored.get(saved.handlerId)
        if (storedVersion !== undefined && storedVersion >= saved.version) {
          return new StaleSnapshotError({ handlerId: saved.handlerId, version: saved.version, storedVersion })
        }
      }
      return undefined
    }

    const commit = (batch: HandlerStore.Batch): Effect.Effect<void, HandlerStoreError | StaleSnapshotError> => {
      const events = batch.events ?? []
      const snapshots = batch.snapshots ?? []
      const handlers = batch.handlers ?? []
      if (events.length === 0 && snapshots.length === 0 && handlers.length === 0) return Effect.void
      const touched = new Set<string>()
      for (const event of events) touched.add(event.runId)
      const runIds = Array.from(touched)
      return Effect.gen(function*() {
        // snapshots first: a stale one and nothing is written
        const latest = lastByKey(snapshots, (saved) => saved.handlerId)
        if (latest.length > 0) {
          const stale = staleIn(snapshots, yield* storedVersions(latest.map((saved) => saved.handlerId)))
          if (stale !== undefined) return yield* stale
        }
        for (const chunk of chunksOf(events, eventsPerInsert)) {
          const rows = chunk.map((event) => ({
            run_id: event.runId,
            sequence: event.sequence,
            envelope: JSON.stringify(event.envelope)
          }))
          yield* sql`INSERT INTO wf_events ${sql.insert(rows)} ON CONFLICT (run_id, sequence) DO NOTHING`
        }
        for (const chunk of chunksOf(latest, handlersPerInsert)) {
          const rows = chunk.map((saved) => ({
            handler_id: saved.handlerId,
            run_id: saved.runId,
            version: saved.version,
            snapshot: JSON.stringify(saved.snapshot)
          }))
          // conditional as well: a version is only ever replaced by a greater one
          const written = yield* sql<{ handler_id: string }>`INSERT INTO wf_snapshots ${sql.insert(rows)}
ON CONFLICT (handler_id) DO UPDATE SET
  run_id = excluded.run_id,
  version = excluded.version,
  snapshot = excluded.snapshot
WHERE wf_snapshots.version < excluded.version
RETURNING handler_id`
          if (written.length < chunk.length) {
            const stale = staleIn(chunk, yield* storedVersions(chunk.map((saved) => saved.handlerId)))
            return yield* stale ?? new SqlError({ message: "A snapshot was not written" })
          }
        }
        yield* upsertHandlers(handlers)
        yield* notify(runIds)
      }).pipe(
        sql.withTransaction,
        Effect.catchTag("SqlError", (error) => Effect.fail(storeError(error))),
        Effect.zipRight(wake(runIds))
      )
    }

    const put = (record: HandlerStore.HandlerRecord): Effect.Effect<void, HandlerStoreError> =>
      upsertHandlers([record]).pipe(sql.withTransaction, Effect.mapError(storeError))

    const get = (handlerId: string): Effect.Effect<Option.Option<HandlerStore.HandlerRecord>, HandlerStoreError> =>
      sql<HandlerRow>`SELECT ${handlerColumns} FROM wf_handlers WHERE handler_id = ${handlerId}`.pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toRecord)),
        Effect.mapError(storeError)
      )

    const list = (
      filter: HandlerStore.HandlerFilter
    ): Effect.Effect<ReadonlyArray<HandlerStore.HandlerRecord>, HandlerStoreError> => {
      // an empty filter matches nothing
      if (filter.status?.length === 0 || filter.workflowName?.length === 0) return Effect.succeed([])
      const where = sql.and([
        ...(filter.status === undefined ? [] : [sql.in("status", filter.status)]),
        ...(filter.workflowName === undefined ? [] : [sql.in("workflow_name", filter.workflowName)])
      ])
      return sql<HandlerRow>`SELECT ${handlerColumns} FROM wf_handlers WHERE ${where} ORDER BY position`.pipe(
        Effect.map((rows) => rows.map(toRecord)),
        Effect.mapError(storeError)
      )
    }

    const remove = (handlerId: string): Effect.Effect<void, HandlerStoreError> =>
      Effect.gen(function*() {
        const runs = yield* sql<{ run_id: string }>`SELECT run_id FROM wf_handler_runs WHERE handler_id = ${handlerId}`
        const runIds = runs.map((row) => row.run_id)
        for (const chunk of chunksOf(runIds, idsPerStatement)) {
          yield* sql`DELETE FROM wf_events WHERE ${sql.in("run_id", chunk)}`
        }
        yield* sql`DELETE FROM wf_snapshots WHERE handler_id = ${handlerId}`
        yield* sql`DELETE FROM wf_handler_runs WHERE handler_id = ${handlerId}`
        yield* sql`DELETE FROM wf_handlers WHERE handler_id = ${handlerId}`
        // their readers, here and in other processes, find them gone and end
        yield* notify(runIds)
        return runIds
      }).pipe(
        sql.withTransaction,
        Effect.flatMap(wake),
        Effect.mapError(storeError)
      )

    const readPage = (runId: string, after: number) =>
      sql<EventRow>`SELECT sequence, CAST(envelope AS TEXT) AS envelope FROM wf_events
WHERE run_id = ${runId} AND sequence > ${after}
ORDER BY sequence
LIMIT ${pageSize}`

    // a run has more to come while it has events or belongs to a handler
    const isLive = (runId: string) =>
      Effect.map(
        sql`SELECT 1 AS found FROM wf_handler_runs WHERE run_id = ${runId}
UNION ALL
SELECT 1 AS found FROM wf_events WHERE run_id = ${runId}
LIMIT 1`,
        (rows) => rows.length > 0
      )

    const events = (
      runId: string,
      afterSequence: number
    ): Stream.Stream<HandlerStore.StoredEvent, HandlerStoreError> =>
      Effect.gen(function*() {
        const waiting = yield* Effect.acquireRelease(
          Effect.sync(() => waiters.enter(runId)),
          (waiting) => Effect.sync(() => waiters.leave(runId, waiting))
        )
        let cursor = afterSequence
        const next: Effect.Effect<Chunk.Chunk<HandlerStore.StoredEvent>, Option.Option<HandlerStoreError>> = Effect
          .suspend(() => {
            // taken before reading: a commit after the read wakes it
            const signal = waiting.signal
            return Effect.uninterruptible(readPage(runId, cursor)).pipe(
              Effect.mapError((error) => Option.some(storeError(error))),
              Effect.flatMap((rows) => {
                if (rows.length > 0) {
                  const page = rows.map((row): HandlerStore.StoredEvent => ({
                    runId,
                    sequence: Number(row.sequence),
                    envelope: JSON.parse(row.envelope)
                  }))
                  cursor = page[page.length - 1]!.sequence
                  return Effect.succeed(Chunk.unsafeFromArray(page))
                }
                return Effect.uninterruptible(isLive(runId)).pipe(
                  Effect.mapError((error) => Option.some(storeError(error))),
                  Effect.flatMap((live) =>
                    live
                      ? Effect.zipRight(Effect.race(Deferred.await(signal), Effect.sleep(pollInterval)), next)
                      : Effect.fail(Option.none())
                  )
                )
              })
            )
          })
        return Stream.repeatEffectChunkOption(next)
      }).pipe(Stream.unwrapScoped)

    const lastSequence = (runId: string): Effect.Effect<number, HandlerStoreError> =>
      sql<{ last: number | string | bigint | null }>`SELECT MAX(sequence) AS last FROM wf_events WHERE run_id = ${runId}`
        .pipe(
          Effect.map((rows) => {
            const last = rows[0]?.last
            return last === null || last === undefined ? -1 : Number(last)
          }),
          Effect.mapError(storeError)
        )

    const loadSnapshot = (
      handlerId: string
    ): Effect.Effect<Option.Option<HandlerStore.SavedSnapshot>, HandlerStoreError> =>
      sql<SnapshotRow>`SELECT handler_id, run_id, version, CAST(snapshot AS TEXT) AS snapshot FROM wf_snapshots
WHERE handler_id = ${handlerId}`.pipe(
        Effect.mapError(storeError),
        Effect.flatMap((rows) => {
          const row = rows[0]
          if (row === undefined) return Effect.succeedNone
          // a document cut short (a disk full, a hand edit) is this handler's error, not a defect
          return Effect.try({
            try: () => Option.some(toSaved(row)),
            catch: (error) =>
              new HandlerStoreError({
                message: `the snapshot of handler ${handlerId} is not valid JSON: ${describeError(error)}`,
                cause: error
              })
          })
        })
      )

    // -------------------------------------------------------------------------------------------
    // the claim: held until the caller's scope closes, or the store's (whichever is first), so
    // that it is let go while the database is still open

    const hostname = os.hostname()

    const readOwner = Effect.map(
      sql<OwnerRow>`SELECT pid, hostname FROM wf_owner WHERE id = 1`,
      (rows) => rows[0]
    )

    const writeOwner = (claimId: string) =>
      sql`INSERT INTO wf_owner ${
        sql.insert({
          id: 1,
          pid: process.pid,
          hostname,
          started_at: new Date().toISOString(),
          claim_id: claimId
        })
      }
ON CONFLICT (id) DO UPDATE SET
  pid = excluded.pid,
  hostname = excluded.hostname,
  started_at = excluded.started_at,
  claim_id = excluded.claim_id`

    const deleteOwner = (claimId: string) =>
      Effect.ignore(sql`DELETE FROM wf_owner WHERE id = 1 AND claim_id = ${claimId}`)

    const inUse = (owner: OwnerRow | undefined) =>
      new HandlerStoreError({
        message: inUseMessage(owner === undefined ? undefined : Number(owner.pid), owner?.hostname)
      })

    // SQLite: the owner row says who holds the file; a live process on this host keeps it,
    // a dead one's row (killed, so never deleted) is taken over
    const claimByRow = (claimId: string): Effect.Effect<void, HandlerStoreError | SqlError, Scope.Scope> =>
      Effect.acquireRelease(
        Effect.gen(function*() {
          // a write first, so that the transaction holds the write lock before it reads
          yield* sql`UPDATE wf_owner SET pid = pid WHERE id = 1`
          const owner = yield* readOwner
          if (owner !== undefined) {
            const pid = Number(owner.pid)
            if (owner.hostname === hostname) {
              if (pid !== process.pid && isAlive(pid)) return yield* inUse(owner)
            } else {
              yield* Effect.logWarning(
                `handler store: taking over from pid ${pid} on ${owner.hostname} (whether it runs cannot be checked from here)`
              )
            }
          }
          yield* writeOwner(claimId)
        }).pipe(sql.withTransaction),
        () => deleteOwner(claimId)
      )

    // PostgreSQL: a session-level advisory lock on a connection kept for the claim; the server
    // lets it go when the session ends (a killed process's too). The owner row names the holder.
    const claimByLock = (claimId: string): Effect.Effect<void, HandlerStoreError | SqlError, Scope.Scope> =>
      Effect.gen(function*() {
        const connection: Connection = yield* client.reserve
        const key = "SELECT hashtext('effect-workflows/HandlerStore/' || current_schema())"
        const locked = yield* Effect.acquireRelease(
          Effect.map(
            connection.executeUnprepared(`SELECT pg_try_advisory_lock((${key})) AS locked`, [], undefined),
            (rows) => rows[0]?.locked === true
          ),
          (locked) =>
            locked
              ? Effect.ignore(connection.executeUnprepared(`SELECT pg_advisory_unlock((${key}))`, [], undefined))
              : Effect.void
        )
        if (!locked) return yield* Effect.flatMap(readOwner, (owner) => Effect.fail(inUse(owner)))
        yield* Effect.acquireRelease(writeOwner(claimId), () => deleteOwner(claimId))
      })

    const claim: Effect.Effect<void, HandlerStoreError, Scope.Scope> = Effect.gen(function*() {
      const claimScope = yield* Scope.fork(storeScope, ExecutionStrategy.sequential)
      yield* Effect.addFinalizer((exit) => Scope.close(claimScope, exit))
      const claimId = crypto.randomUUID()
      const acquire = sql.onDialectOrElse({
        pg: () => claimByLock(claimId),
        orElse: () => claimByRow(claimId)
      })
      yield* Scope.extend(acquire, claimScope).pipe(
        Effect.onExit((exit) => Exit.isFailure(exit) ? Scope.close(claimScope, exit) : Effect.void),
        Effect.catchTag("SqlError", (error) => Effect.fail(storeError(error)))
      )
    })

    // Statements are never interrupted half-way (a client that hangs up interrupts its request):
    // all are short, and PostgreSQL cancels an interrupted one by signalling its connection's
    // backend, which, the connection back in the pool, can cancel the next statement run on it.
    return {
      durable: true,
      put: (record) => Effect.uninterruptible(put(record)),
      get: (handlerId) => Effect.uninterruptible(get(handlerId)),
      list: (filter) => Effect.uninterruptible(list(filter)),
      remove: (handlerId) => Effect.uninterruptible(remove(handlerId)),
      commit: (batch) => Effect.uninterruptible(commit(batch)),
      events,
      lastSequence: (runId) => Effect.uninterruptible(lastSequence(runId)),
      loadSnapshot: (handlerId) => Effect.uninterruptible(loadSnapshot(handlerId)),
      claim
    }
  })
