/**
 * A durable `HandlerStore` in PostgreSQL (`@effect/sql-pg`). Commits send `pg_notify` for the
 * runs they touch, and the store LISTENs on the same channel: a reader is woken by a commit of
 * any process on the database, with polling as the fallback. One server process per database
 * (`claim` takes an advisory lock).
 *
 * @since 0.1.0
 */
import type * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import type { SqlError } from "@effect/sql/SqlError"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as internal from "../internal/server/sqlStore.js"
import * as HandlerStore from "./HandlerStore.js"
import type * as SqlHandlerStore from "./SqlHandlerStore.js"

/**
 * How the store waits for events, and the notification channel.
 *
 * @example
 * ```ts
 * import * as PgHandlerStore from "effect-workflows/server/PgHandlerStore"
 *
 * const options: PgHandlerStore.Options = { pollInterval: "10 seconds", channel: "wf_events" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends SqlHandlerStore.Options {
  /** The LISTEN/NOTIFY channel (default `"wf_events"`); the payload is a run id. */
  readonly channel?: string | undefined
}

/**
 * The store on the `PgClient` in context, for an application that has one.
 *
 * @example
 * ```ts
 * import { PgClient } from "@effect/sql-pg"
 * import { Layer, Redacted } from "effect"
 * import * as PgHandlerStore from "effect-workflows/server/PgHandlerStore"
 *
 * const StoreLive = PgHandlerStore.layerFromClient().pipe(
 *   Layer.provide(PgClient.layer({ url: Redacted.make("postgres://localhost/app") }))
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerFromClient = (
  options?: Options
): Layer.Layer<HandlerStore.HandlerStore, SqlError | Migrator.MigrationError, PgClient.PgClient> =>
  Layer.scoped(
    HandlerStore.HandlerStore,
    Effect.gen(function*() {
      const pg = yield* PgClient.PgClient
      const channel = options?.channel ?? "wf_events"
      return yield* internal.make({
        pollInterval: options?.pollInterval === undefined
          ? internal.defaultPollInterval
          : Duration.decode(options.pollInterval),
        pageSize: 500,
        notifications: {
          // `PgClient.notify` sends SQL that PostgreSQL rejects; `pg_notify` also takes many ids
          // in one statement (and, in a transaction, sends them when it commits)
          notify: (runIds) =>
            Effect.asVoid(
              pg`SELECT pg_notify(${channel}, run_id) FROM json_array_elements_text(${
                JSON.stringify(runIds)
              }::json) AS ids(run_id)`
            ),
          listen: pg.listen(channel)
        }
      }).pipe(Effect.provideService(SqlClient.SqlClient, pg))
    })
  )

/**
 * The store in a PostgreSQL database, with its own connection pool.
 *
 * @example
 * ```ts
 * import { Layer, Redacted } from "effect"
 * import * as PgHandlerStore from "effect-workflows/server/PgHandlerStore"
 *
 * const StoreLive = Layer.orDie(PgHandlerStore.layer({ url: Redacted.make("postgres://localhost/app") }))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  config: PgClient.PgClientConfig,
  options?: Options
): Layer.Layer<HandlerStore.HandlerStore, SqlError | Migrator.MigrationError> =>
  layerFromClient(options).pipe(Layer.provide(PgClient.layer(config)))
