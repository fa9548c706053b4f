/**
 * A durable `HandlerStore` in a SQL database, over `@effect/sql`'s `SqlClient`: SQLite or
 * PostgreSQL, one implementation. Handlers, every event of their runs and their latest snapshots
 * outlive the process, so a server resumes its running handlers when it starts again.
 *
 * **Details**
 *
 * - Building the layer creates the tables (`wf_handlers`, `wf_handler_runs`, `wf_events`,
 *   `wf_snapshots`, `wf_owner`) once per database; migrations are tracked in `wf_migrations`.
 * - A `commit` is one transaction: the events of many runs in multi-row inserts, then the
 *   snapshots (refused as a whole when one is stale), then the handler rows.
 * - A run's readers are woken by this store's commits; polling (`pollInterval`) is the fallback
 *   for writes made elsewhere. `PgHandlerStore` adds LISTEN/NOTIFY, which wakes the readers of
 *   every process.
 * - `claim`: one server process per database (an owner row on SQLite, an advisory lock on
 *   PostgreSQL).
 *
 * It brings no driver: use `SqliteHandlerStore` or `PgHandlerStore`, or provide a `SqlClient`.
 *
 * @since 0.1.0
 */
import type * as Migrator from "@effect/sql/Migrator"
import type * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as Duration from "effect/Duration"
import * as Layer from "effect/Layer"
import * as internal from "../internal/server/sqlStore.js"
import * as HandlerStore from "./HandlerStore.js"

/**
 * How the store waits for events.
 *
 * @example
 * ```ts
 * import { SqlHandlerStore } from "effect-workflows/server"
 *
 * const options: SqlHandlerStore.Options = { pollInterval: "5 seconds" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * How often a waiting reader looks for events written by another process, when nothing woke
   * it (default 1 second). This store's own commits wake their readers at once.
   */
  readonly pollInterval?: Duration.DurationInput | undefined
}

/**
 * The store, on the `SqlClient` in context (SQLite or PostgreSQL). Building it runs the
 * migrations.
 *
 * @example
 * ```ts
 * import { SqliteClient } from "@effect/sql-sqlite-node"
 * import { Layer } from "effect"
 * import { SqlHandlerStore } from "effect-workflows/server"
 *
 * const StoreLive = SqlHandlerStore.layer({ pollInterval: "2 seconds" }).pipe(
 *   Layer.provide(SqliteClient.layer({ filename: "data/handlers.db" }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options?: Options
): Layer.Layer<HandlerStore.HandlerStore, SqlError | Migrator.MigrationError, SqlClient.SqlClient> =>
  Layer.scoped(
    HandlerStore.HandlerStore,
    internal.make({
      pollInterval: options?.pollInterval === undefined
        ? internal.defaultPollInterval
        : Duration.decode(options.pollInterval),
      pageSize: 500
    })
  )
