/**
 * The SQL handler stores: the contract on SQLite (a fresh file per test) and on PostgreSQL (a
 * real server for this file, a fresh database per test), then what only they do: migrations
 * that run once, data that outlives the process's connections, the claim (one server process
 * per database), and readers woken by commits rather than by polling (on PostgreSQL, from
 * another connection pool too, through LISTEN/NOTIFY).
 */
import * as SqlClient from "@effect/sql/SqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import * as Schedule from "effect/Schedule"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { HandlerStore, SqlHandlerStore } from "effect-workflows/server"
import * as PgHandlerStore from "effect-workflows/server/PgHandlerStore"
import * as SqliteHandlerStore from "effect-workflows/server/SqliteHandlerStore"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type Postgres, postgresSkipReason, startPostgres } from "../utils/postgres.js"
import { storeContract } from "./storeContract.js"

type StoreLayer = Layer.Layer<HandlerStore.HandlerStore, unknown>

const record = (handlerId: string, overrides: Partial<HandlerStore.HandlerRecord> = {}): HandlerStore.HandlerRecord => ({
  handlerId,
  workflowName: "greet",
  runId: `run-${handlerId}`,
  status: "running",
  startedAt: "2026-01-01T00:00:00.000Z",
  updatedAt: null,
  completedAt: null,
  error: null,
  result: null,
  ...overrides
})

const event = (runId: string, sequence: number, type = "Progress"): HandlerStore.StoredEvent => ({
  runId,
  sequence,
  envelope: { type, value: { n: sequence, text: "héllo ✓", nested: { list: [1, null, "x"] } }, qualified_name: `greet.${type}`, types: null }
})

const sequences = (events: Iterable<HandlerStore.StoredEvent>) => Array.from(events, (stored) => stored.sequence)

/** The store of a layer, built in the current scope. */
const build = (layer: StoreLayer) =>
  Effect.map(Layer.build(Layer.orDie(layer)), (context) => Context.get(context, HandlerStore.HandlerStore))

const inUse = (pid: number) =>
  `The handler store is in use by another server process (pid ${pid}): one server process per database`

// -----------------------------------------------------------------------------------------------
// what both dialects do

/** Written by one layer, read back by another on the same database. */
const survivesReopening = (open: () => StoreLayer) =>
  Effect.gen(function*() {
    const snapshot = { version: 2, state: { count: 3, names: ["a", "b"] }, isRunning: true } as never
    yield* Effect.scoped(Effect.gen(function*() {
      const store = yield* build(open())
      yield* store.put(record("a"))
      yield* store.put(record("b", { workflowName: "other" }))
      yield* store.commit({
        events: [event("run-a", 0), event("run-a", 1), event("run-b", 0)],
        snapshots: [{ handlerId: "a", runId: "run-a", version: 2, snapshot }],
        handlers: [record("b", {
          workflowName: "other",
          status: "completed",
          completedAt: "2026-01-01T00:00:02.000Z",
          result: { type: "StopEvent", value: { result: [1, 2] }, qualified_name: null, types: ["StopEvent"] }
        })]
      })
    }))
    yield* Effect.scoped(Effect.gen(function*() {
      const store = yield* build(open())
      expect(store.durable).toBe(true)
      expect(yield* store.list({})).toEqual([
        record("a"),
        record("b", {
          workflowName: "other",
          status: "completed",
          completedAt: "2026-01-01T00:00:02.000Z",
          result: { type: "StopEvent", value: { result: [1, 2] }, qualified_name: null, types: ["StopEvent"] }
        })
      ])
      expect(yield* store.lastSequence("run-a")).toBe(1)
      const events = yield* store.events("run-a", -1).pipe(Stream.take(2), Stream.runCollect)
      expect(Array.from(events)).toEqual([event("run-a", 0), event("run-a", 1)])
      expect(yield* store.loadSnapshot("a")).toEqual(Option.some({ handlerId: "a", runId: "run-a", version: 2, snapshot }))
      // versions still only grow
      const stale = yield* Effect.flip(
        store.commit({ snapshots: [{ handlerId: "a", runId: "run-a", version: 2, snapshot }] })
      )
      expect(stale).toEqual(new HandlerStore.StaleSnapshotError({ handlerId: "a", version: 2, storedVersion: 2 }))
    }))
  })

/** A reader waiting for a run is woken by a commit, with a poll interval of an hour. */
const wokenByCommit = (writer: HandlerStore.HandlerStoreService, reader: HandlerStore.HandlerStoreService) =>
  Effect.gen(function*() {
    yield* writer.put(record("a"))
    yield* writer.commit({ events: [event("run-a", 0)] })
    const first = yield* Deferred.make<void>()
    const reading = yield* reader.events("run-a", -1).pipe(
      Stream.tap(() => Deferred.succeed(first, undefined)),
      Stream.take(3),
      Stream.runCollect,
      Effect.fork
    )
    yield* Deferred.await(first)
    // the reader has read what there is and waits
    yield* Effect.sleep("100 millis")
    yield* writer.commit({ events: [event("run-a", 1)] })
    yield* Effect.sleep("100 millis")
    yield* writer.commit({ events: [event("run-a", 2, "StopEvent")] })
    const events = yield* Fiber.join(reading).pipe(Effect.timeoutFail({
      duration: "10 seconds",
      onTimeout: () => new Error("the reader was not woken by the commit")
    }))
    expect(sequences(events)).toEqual([0, 1, 2])
  })

/** A reader waiting for a run ends when its handler is removed, with a poll interval of an hour. */
const endedByRemove = (writer: HandlerStore.HandlerStoreService, reader: HandlerStore.HandlerStoreService) =>
  Effect.gen(function*() {
    yield* writer.put(record("r"))
    yield* writer.commit({ events: [event("run-r", 0)] })
    const first = yield* Deferred.make<void>()
    const reading = yield* reader.events("run-r", -1).pipe(
      Stream.tap(() => Deferred.succeed(first, undefined)),
      Stream.runCollect,
      Effect.fork
    )
    yield* Deferred.await(first)
    yield* Effect.sleep("100 millis")
    yield* writer.remove("r")
    const events = yield* Fiber.join(reading).pipe(Effect.timeoutFail({
      duration: "10 seconds",
      onTimeout: () => new Error("the reader did not end when its handler was removed")
    }))
    expect(sequences(events)).toEqual([0])
  })

/** The writes of many runs in one commit (more rows than one statement takes), read back in pages. */
const groupCommit = (store: HandlerStore.HandlerStoreService) =>
  Effect.gen(function*() {
    const runs = ["x", "y", "z"]
    const perRun = 1200
    const events = Array.from({ length: perRun }, (_, i) => runs.map((run) => event(`run-${run}`, i))).flat()
    yield* store.commit({
      events,
      snapshots: runs.map((run) => ({ handlerId: run, runId: `run-${run}`, version: 1, snapshot: { run } as never })),
      handlers: runs.map((run) => record(run))
    })
    for (const run of runs) expect(yield* store.lastSequence(`run-${run}`)).toBe(perRun - 1)
    const read = yield* store.events("run-y", -1).pipe(Stream.take(perRun), Stream.runCollect)
    expect(sequences(read)).toEqual(Array.from({ length: perRun }, (_, i) => i))
    const after = yield* store.events("run-y", 999).pipe(Stream.take(perRun - 1000), Stream.runCollect)
    expect(sequences(after)).toEqual(Array.from({ length: perRun - 1000 }, (_, i) => 1000 + i))
    // a stale snapshot in a batch as big: nothing of it is written
    const error = yield* Effect.flip(store.commit({
      events: runs.map((run) => event(`run-${run}`, perRun)),
      snapshots: runs.map((run) => ({ handlerId: run, runId: `run-${run}`, version: run === "z" ? 1 : 2, snapshot: {} as never })),
      handlers: runs.map((run) => record(run, { status: "completed" }))
    }))
    expect(error).toEqual(new HandlerStore.StaleSnapshotError({ handlerId: "z", version: 1, storedVersion: 1 }))
    for (const run of runs) expect(yield* store.lastSequence(`run-${run}`)).toBe(perRun - 1)
    expect((yield* store.list({ status: ["running"] })).map((r) => r.handlerId)).toEqual(runs)
    expect(Option.map(yield* store.loadSnapshot("x"), (s) => s.version)).toEqual(Option.some(1))
  })

const tablesOf = (names: ReadonlyArray<string>) => names.filter((name) => name.startsWith("wf_")).sort()

const expectedTables = ["wf_events", "wf_handler_runs", "wf_handlers", "wf_migrations", "wf_owner", "wf_snapshots"]

// -----------------------------------------------------------------------------------------------
// SQLite

const folder = fs.mkdtempSync(path.join(os.tmpdir(), "effect-workflows-sql-store-"))
afterAll(() => fs.rmSync(folder, { recursive: true, force: true }))
let files = 0
const freshFile = () => path.join(folder, `store-${++files}.db`)

const sqlite = <A, E>(filename: string, f: (sql: SqlClient.SqlClient) => Effect.Effect<A, E>) =>
  Effect.flatMap(SqlClient.SqlClient, f).pipe(Effect.provide(SqliteClient.layer({ filename })))

storeContract("SQLite", () => Layer.orDie(SqliteHandlerStore.layer({ filename: freshFile() })))

describe("SqliteHandlerStore", () => {
  it.scoped("creates the file and its folder; migrations run once (built twice on one file)", () =>
    Effect.gen(function*() {
      const filename = path.join(folder, "nested", "deeper", "handlers.db")
      const first = yield* build(SqliteHandlerStore.layer({ filename }))
      expect(fs.existsSync(filename)).toBe(true)
      yield* first.put(record("a"))
      // a second store on the same file while the first is open, then a third after it
      const second = yield* build(SqliteHandlerStore.layer({ filename }))
      expect((yield* second.list({})).map((r) => r.handlerId)).toEqual(["a"])
      yield* Effect.scoped(Effect.flatMap(build(SqliteHandlerStore.layer({ filename })), (store) => store.put(record("b")))
      )
      expect((yield* first.list({})).map((r) => r.handlerId)).toEqual(["a", "b"])
      const { migrations, tables, wal } = yield* sqlite(filename, (sql) =>
        Effect.all({
          tables: Effect.map(sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table'`, (rows) =>
            tablesOf(rows.map((row) => row.name))),
          migrations: sql<{ migration_id: number; name: string }>`SELECT migration_id, name FROM wf_migrations`,
          wal: sql<{ journal_mode: string }>`PRAGMA journal_mode`
        }))
      expect(tables).toEqual(expectedTables)
      expect(migrations).toEqual([{ migration_id: 1, name: "create_tables" }])
      expect(wal).toEqual([{ journal_mode: "wal" }])
    }))

  it.scoped("two stores built at once on a new file both come up", () =>
    Effect.gen(function*() {
      const filename = freshFile()
      const layer = SqliteHandlerStore.layer({ filename })
      const [first, second] = yield* Effect.all([build(layer), build(layer)], { concurrency: 2 })
      yield* first.put(record("a"))
      expect(yield* second.get("a")).toEqual(Option.some(record("a")))
    }))

  it.effect("handlers, events and snapshots survive closing and reopening the database", () => {
    const filename = freshFile()
    return survivesReopening(() => SqliteHandlerStore.layer({ filename }))
  })

  it.effect("a group commit: thousands of events of several runs in one transaction, read back in pages", () =>
    Effect.scoped(Effect.flatMap(build(SqliteHandlerStore.layer({ filename: freshFile() })), groupCommit)))

  it.scopedLive("a commit wakes the readers of its runs at once (no waiting for the poll)", () =>
    Effect.gen(function*() {
      const store = yield* build(SqliteHandlerStore.layer({ filename: freshFile(), pollInterval: "1 hour" }))
      yield* wokenByCommit(store, store)
      yield* endedByRemove(store, store)
    }))

  it.scopedLive("polling finds what another process wrote", () =>
    Effect.gen(function*() {
      const filename = freshFile()
      const reader = yield* build(SqliteHandlerStore.layer({ filename, pollInterval: "50 millis" }))
      // another connection, as another process would have: its commits wake no reader here
      const writer = yield* build(SqliteHandlerStore.layer({ filename, pollInterval: "1 hour" }))
      yield* writer.put(record("a"))
      const reading = yield* reader.events("run-a", -1).pipe(Stream.take(2), Stream.runCollect, Effect.fork)
      yield* Effect.sleep("100 millis")
      yield* writer.commit({ events: [event("run-a", 0), event("run-a", 1)] })
      expect(sequences(yield* Fiber.join(reading).pipe(Effect.timeout("10 seconds")))).toEqual([0, 1])
    }))

  describe("claim", () => {
    const spawnSleeper = Effect.acquireRelease(
      Effect.async<ChildProcess>((resume) => {
        const child = spawn("sleep", ["30"], { stdio: "ignore" })
        child.once("spawn", () => resume(Effect.succeed(child)))
        child.once("error", (error) => resume(Effect.die(error)))
      }),
      (child) => Effect.sync(() => child.exitCode === null && child.signalCode === null && child.kill("SIGKILL"))
    )
    const kill9 = (child: ChildProcess) =>
      Effect.async<void>((resume) => {
        child.once("exit", () => resume(Effect.void))
        child.kill("SIGKILL")
      })
    const writeOwner = (filename: string, pid: number, hostname = os.hostname()) =>
      sqlite(filename, (sql) =>
        sql`INSERT OR REPLACE INTO wf_owner (id, pid, hostname, started_at, claim_id)
VALUES (1, ${pid}, ${hostname}, '2026-01-01T00:00:00.000Z', 'another')`)
    const owner = (filename: string) =>
      sqlite(filename, (sql) => sql<{ pid: number; hostname: string }>`SELECT pid, hostname FROM wf_owner`)

    it.scopedLive("a live process's claim refuses another; once it is killed (-9), its row is taken over", () =>
      Effect.gen(function*() {
        const filename = freshFile()
        const store = yield* build(SqliteHandlerStore.layer({ filename }))
        // another server process on this host, as its owner row says
        const other = yield* spawnSleeper
        yield* writeOwner(filename, other.pid!)
        const error = yield* Effect.flip(Effect.scoped(store.claim))
        expect(error).toBeInstanceOf(HandlerStore.HandlerStoreError)
        expect(error.message).toBe(inUse(other.pid!))
        expect(yield* owner(filename)).toEqual([{ pid: other.pid!, hostname: os.hostname() }])
        // killed: its row stays, and is taken over
        yield* kill9(other)
        const claimed = yield* Scope.make()
        yield* Scope.extend(store.claim, claimed)
        expect(yield* owner(filename)).toEqual([{ pid: process.pid, hostname: os.hostname() }])
        // let go when the claim's scope closes
        yield* Scope.close(claimed, Exit.void)
        expect(yield* owner(filename)).toEqual([])
      }))

    it.scopedLive("a store of another process on the file refuses the claim until that one's scope closes", () =>
      Effect.gen(function*() {
        const filename = freshFile()
        const store = yield* build(SqliteHandlerStore.layer({ filename }))
        const claimed = yield* Scope.make()
        yield* Scope.extend(store.claim, claimed)
        // what another process sees: a live owner that is not itself (a child stands in for this
        // process: same host, alive)
        const stand = yield* spawnSleeper
        yield* sqlite(filename, (sql) => sql`UPDATE wf_owner SET pid = ${stand.pid!}`)
        expect((yield* Effect.flip(Effect.scoped(store.claim))).message).toBe(inUse(stand.pid!))
        yield* sqlite(filename, (sql) => sql`UPDATE wf_owner SET pid = ${process.pid}`)
        yield* Scope.close(claimed, Exit.void)
        expect(yield* owner(filename)).toEqual([])
        yield* Effect.scoped(store.claim)
      }))

    it.scopedLive("an owner row with this process's pid (a restarted container's PID 1) or another host's is taken over", () =>
      Effect.gen(function*() {
        const filename = freshFile()
        const store = yield* build(SqliteHandlerStore.layer({ filename }))
        yield* writeOwner(filename, process.pid)
        yield* Effect.scoped(store.claim)
        yield* writeOwner(filename, 1, "another-host")
        yield* Effect.scoped(Effect.gen(function*() {
          yield* store.claim
          expect(yield* owner(filename)).toEqual([{ pid: process.pid, hostname: os.hostname() }])
        }))
      }))

    it.scopedLive("closing the store lets its claim go", () =>
      Effect.gen(function*() {
        const filename = freshFile()
        const claimScope = yield* Scope.make()
        yield* Effect.scoped(Effect.gen(function*() {
          const store = yield* build(SqliteHandlerStore.layer({ filename }))
          yield* Scope.extend(store.claim, claimScope)
          expect((yield* owner(filename)).length).toBe(1)
        }))
        expect(yield* owner(filename)).toEqual([])
        yield* Scope.close(claimScope, Exit.void)
      }))
  })
})

// -----------------------------------------------------------------------------------------------
// PostgreSQL

const postgresSkipped = postgresSkipReason()
if (postgresSkipped !== undefined) console.log(`Skipping the PostgreSQL tests: ${postgresSkipped}`)

describe.skipIf(postgresSkipped !== undefined)("PostgreSQL", () => {
  let postgres: Postgres | undefined
  beforeAll(async () => {
    postgres = await startPostgres()
  }, 120_000)
  afterAll(async () => {
    await postgres?.stop()
  }, 60_000)

  const server = () => {
    if (postgres === undefined || !postgres.available) throw new Error("PostgreSQL did not start")
    return postgres
  }
  const pgOn = <A, E>(database: string, f: (sql: SqlClient.SqlClient) => Effect.Effect<A, E>) =>
    Effect.flatMap(SqlClient.SqlClient, f).pipe(
      Effect.provide(PgClient.layer({ url: Redacted.make(server().urlOf(database)) }))
    )
  let databases = 0
  const freshDatabase = Effect.suspend(() => {
    const name = `store_${++databases}`
    return Effect.as(pgOn("postgres", (sql) => sql`CREATE DATABASE ${sql(name)}`), name)
  })
  const storeOn = (database: string, options?: PgHandlerStore.Options) =>
    PgHandlerStore.layer({ url: Redacted.make(server().urlOf(database)) }, options)

  storeContract(
    "PostgreSQL",
    () => Layer.orDie(Layer.unwrapEffect(Effect.map(freshDatabase, (database) => storeOn(database))))
  )

  describe("PgHandlerStore", () => {
    it.scopedLive("migrations run once (built twice on one database)", () =>
      Effect.gen(function*() {
        const database = yield* freshDatabase
        const first = yield* build(storeOn(database))
        yield* first.put(record("a"))
        const second = yield* build(storeOn(database))
        expect((yield* second.list({})).map((r) => r.handlerId)).toEqual(["a"])
        const { migrations, tables } = yield* pgOn(database, (sql) =>
          Effect.all({
            tables: Effect.map(
              sql<{ tablename: string }>`SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`,
              (rows) => tablesOf(rows.map((row) => row.tablename))
            ),
            migrations: sql<{ migration_id: number; name: string }>`SELECT migration_id, name FROM wf_migrations`
          }))
        expect(tables).toEqual(expectedTables)
        expect(migrations).toEqual([{ migration_id: 1, name: "create_tables" }])
      }))

    it.scopedLive("two stores built at once on a new database both come up", () =>
      Effect.gen(function*() {
        const database = yield* freshDatabase
        const [first, second] = yield* Effect.all([build(storeOn(database)), build(storeOn(database))], {
          concurrency: 2
        })
        yield* first.put(record("a"))
        expect(yield* second.get("a")).toEqual(Option.some(record("a")))
      }))

    it.live("handlers, events and snapshots survive closing and reopening the pool", () =>
      Effect.flatMap(freshDatabase, (database) => survivesReopening(() => storeOn(database))))

    it.live("a group commit: thousands of events of several runs in one transaction, read back in pages", () =>
      Effect.scoped(Effect.flatMap(Effect.flatMap(freshDatabase, (database) => build(storeOn(database))), groupCommit)))

    it.scopedLive("a commit wakes the readers of its runs at once (no waiting for the poll)", () =>
      Effect.gen(function*() {
        const store = yield* build(storeOn(yield* freshDatabase, { pollInterval: "1 hour" }))
        yield* wokenByCommit(store, store)
        yield* endedByRemove(store, store)
      }))

    it.scopedLive("pg_notify wakes the readers of another store (another pool on the database)", () =>
      Effect.gen(function*() {
        const database = yield* freshDatabase
        const writer = yield* build(storeOn(database, { pollInterval: "1 hour" }))
        const reader = yield* build(storeOn(database, { pollInterval: "1 hour" }))
        yield* wokenByCommit(writer, reader)
        yield* endedByRemove(writer, reader)
      }))

    it.scopedLive("the notifications go out on the channel, with the run ids, when the commit commits", () =>
      Effect.gen(function*() {
        const database = yield* freshDatabase
        const store = yield* build(storeOn(database, { channel: "my_channel" }))
        const pg = yield* Effect.map(
          Layer.build(PgClient.layer({ url: Redacted.make(server().urlOf(database)) })),
          (context) => Context.get(context, PgClient.PgClient)
        )
        const ready = yield* Deferred.make<void>()
        const heard = yield* pg.listen("my_channel").pipe(
          Stream.tap((payload) => payload === "ready" ? Deferred.succeed(ready, undefined) : Effect.void),
          Stream.filter((payload) => payload !== "ready"),
          Stream.take(2),
          Stream.runCollect,
          Effect.fork
        )
        yield* pg`SELECT pg_notify('my_channel', 'ready')`.pipe(
          Effect.zipRight(Effect.timeout(Deferred.await(ready), "100 millis")),
          Effect.retry({ times: 50 })
        )
        yield* store.commit({ events: [event("run-1", 0), event("run-2", 0), event("run-1", 1)] })
        const payloads = yield* Fiber.join(heard).pipe(Effect.timeout("10 seconds"))
        expect(Array.from(payloads).sort()).toEqual(["run-1", "run-2"])
      }))

    describe("claim", () => {
      it.scopedLive("a second pool's claim is refused until the first one's scope closes", () =>
        Effect.gen(function*() {
          const database = yield* freshDatabase
          const first = yield* build(storeOn(database))
          const second = yield* build(storeOn(database))
          const claimed = yield* Scope.make()
          yield* Scope.extend(first.claim, claimed)
          const error = yield* Effect.flip(Effect.scoped(second.claim))
          expect(error).toBeInstanceOf(HandlerStore.HandlerStoreError)
          expect(error.message).toBe(inUse(process.pid))
          yield* Scope.close(claimed, Exit.void)
          yield* Effect.scoped(second.claim)
          // and again: it was let go
          yield* Effect.scoped(first.claim)
        }))

      it.scopedLive("a killed holder's lock is let go by PostgreSQL (its session ends)", () =>
        Effect.gen(function*() {
          const database = yield* freshDatabase
          const first = yield* build(storeOn(database))
          const second = yield* build(storeOn(database))
          yield* first.claim
          expect((yield* Effect.flip(Effect.scoped(second.claim))).message).toBe(inUse(process.pid))
          // what a kill -9 does to the holder's connection
          const terminated = yield* pgOn(
            database,
            (sql) =>
              sql<{ terminated: boolean }>`SELECT pg_terminate_backend(pid) AS terminated FROM pg_locks
WHERE locktype = 'advisory' AND granted`
          )
          expect(terminated).toEqual([{ terminated: true }])
          yield* Effect.scoped(second.claim).pipe(
            Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 100 })
          )
        }))

      it.scopedLive("closing the store lets its claim go", () =>
        Effect.gen(function*() {
          const database = yield* freshDatabase
          const claimScope = yield* Scope.make()
          yield* Effect.scoped(Effect.gen(function*() {
            const store = yield* build(storeOn(database))
            yield* Scope.extend(store.claim, claimScope)
          }))
          const other = yield* build(storeOn(database))
          yield* Effect.scoped(other.claim)
          yield* Scope.close(claimScope, Exit.void)
        }))
    })
  })
})

// the SqlHandlerStore module on a client the caller provides
describe("SqlHandlerStore.layer", () => {
  it.scoped("is the store on the SqlClient in context", () =>
    Effect.gen(function*() {
      const store = yield* build(
        SqlHandlerStore.layer().pipe(Layer.provide(SqliteClient.layer({ filename: freshFile() })))
      )
      expect(store.durable).toBe(true)
      yield* store.put(record("a"))
      expect(yield* store.get("a")).toEqual(Option.some(record("a")))
    }))
})
