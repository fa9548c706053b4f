/**
 * A durable `HandlerStore` in a SQLite file (`@effect/sql-sqlite-node`, in WAL mode): the
 * embedded default. One server process per file (`claim` refuses a second live one).
 *
 * @since 0.1.0
 */
import type * as Migrator from "@effect/sql/Migrator"
import { SqlError } from "@effect/sql/SqlError"
import * as SqliteClient from "@effect/sql-sqlite-node/SqliteClient"
import type * as ConfigError from "effect/ConfigError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as fs from "node:fs"
import * as path from "node:path"
import type * as HandlerStore from "./HandlerStore.js"
import * as SqlHandlerStore from "./SqlHandlerStore.js"

/**
 * Where the database is, and how the store waits for events.
 *
 * @example
 * ```ts
 * import * as SqliteHandlerStore from "effect-workflows/server/SqliteHandlerStore"
 *
 * const options: SqliteHandlerStore.Options = { filename: "data/handlers.db" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends SqlHandlerStore.Options {
  /** The database file; its folder is created when missing. */
  readonly filename: string
}

const isFile = (filename: string): boolean =>
  filename !== "" && filename !== ":memory:" && !filename.startsWith("file:")

/**
 * The store in a SQLite file: the file (and its folder) is created when missing, the tables
 * when the layer is built.
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import * as SqliteHandlerStore from "effect-workflows/server/SqliteHandlerStore"
 *
 * // the server's `store` option takes a layer that cannot fail
 * const StoreLive = Layer.orDie(SqliteHandlerStore.layer({ filename: "data/handlers.db" }))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (
  options: Options
): Layer.Layer<HandlerStore.HandlerStore, SqlError | Migrator.MigrationError | ConfigError.ConfigError> =>
  SqlHandlerStore.layer(options).pipe(
    Layer.provide(
      Layer.unwrapEffect(
        Effect.as(
          Effect.try({
            try: () => {
              if (isFile(options.filename)) fs.mkdirSync(path.dirname(path.resolve(options.filename)), { recursive: true })
            },
            catch: (cause) => new SqlError({ cause, message: `Cannot create the folder of ${options.filename}` })
          }),
          SqliteClient.layer({ filename: options.filename, disableWAL: false })
        )
      )
    )
  )
