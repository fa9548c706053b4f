#!/usr/bin/env node
/**
 * The `effect-workflows` command line (the original's `llama-agents-server path/to/file.py`):
 * `effect-workflows serve <module>` imports a module and serves what it exports with
 * `WorkflowServer`, on `--host` / `--port` (default `$PORT`, else 8080).
 *
 * What a module may export, in this order of precedence:
 *
 * 1. A ready server Layer as `default`, else as `server`: a `WorkflowServer.layer(...)` (with
 *    its steps' Layers provided). It is served as is; the command gives it the HTTP server on
 *    `--host` / `--port` and, unless the Layer brings its own, an in-memory `HandlerStore`. The
 *    module's workflow exports are then not looked at. (Not `WorkflowServer.layerNode`: the
 *    command owns the port.)
 * 2. An object of workflows as `workflows`, served under its keys.
 * 3. Every exported workflow, served under its export name (`export const greet =
 *    Workflow.make(...)` → `/workflows/greet`); a default-exported workflow under its own name.
 *
 * Workflows served by 2 and 3 get no Layers: a workflow whose steps need services is served by
 * exporting a server Layer (1) that provides them.
 *
 * A TypeScript module (`.ts`, `.mts`, `.cts`, `.tsx`) is loaded with `tsx`'s loader, which must
 * be installed beside it (or beside this package).
 *
 * @since 0.1.0
 */
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import * as FileSystem from "@effect/platform/FileSystem"
import type * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Path from "@effect/platform/Path"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Config from "effect/Config"
import * as Console from "effect/Console"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Redacted from "effect/Redacted"
import { readFileSync } from "node:fs"
import { createServer } from "node:http"
import { createRequire } from "node:module"
import * as NodePath from "node:path"
import * as HandlerStore from "../server/HandlerStore.js"
import * as WorkflowServer from "../server/WorkflowServer.js"
import * as Workflow from "../Workflow.js"

// -------------------------------------------------------------------------------------------------
// errors: each is printed as one line, without a stack trace, and exits with 1
// -------------------------------------------------------------------------------------------------

class ModuleNotFound extends Data.TaggedError("ModuleNotFound")<{
  readonly module: string
  readonly resolved: string
}> {
  override get message() {
    return `cannot find module ${this.module} (no file at ${this.resolved})`
  }
}

class TypeScriptLoaderMissing extends Data.TaggedError("TypeScriptLoaderMissing")<{ readonly module: string }> {
  override get message() {
    return `cannot load ${this.module}: install tsx to serve a TypeScript module, or compile it ` +
      `(npm install --save-dev tsx)`
  }
}

class ModuleLoadFailed extends Data.TaggedError("ModuleLoadFailed")<{
  readonly module: string
  readonly cause: unknown
}> {
  override get message() {
    return `cannot load ${this.module}: ${this.cause instanceof Error ? this.cause.message : String(this.cause)}`
  }
  /** The stack of an error thrown by the module's own code (not of a module that is missing). */
  get detail(): string | undefined {
    const cause = this.cause
    if (!(cause instanceof Error) || "code" in cause) return undefined
    return cause.stack
  }
}

class NothingToServe extends Data.TaggedError("NothingToServe")<{
  readonly module: string
  readonly exports: ReadonlyArray<string>
}> {
  override get message() {
    const found = this.exports.length === 0 ? "nothing" : this.exports.join(", ")
    return `nothing to serve in ${this.module} (it exports ${found}): export workflows ` +
      `(export const greet = Workflow.make(...)), an object of them as \`workflows\`, ` +
      `or a WorkflowServer.layer(...) as \`default\` or \`server\``
  }
}

class InvalidWorkflows extends Data.TaggedError("InvalidWorkflows")<{
  readonly module: string
  readonly key: string | undefined
}> {
  override get message() {
    return this.key === undefined
      ? `the \`workflows\` export of ${this.module} is not an object of workflows`
      : `the \`workflows\` export of ${this.module} is not an object of workflows: ` +
        `\`workflows.${this.key}\` is not a workflow`
  }
}

class ServerFailed extends Data.TaggedError("ServerFailed")<{
  readonly address: string
  readonly cause: unknown
}> {
  override get message() {
    const cause = this.cause
    const reason = typeof cause === "object" && cause !== null && "cause" in cause && cause.cause instanceof Error
      ? cause.cause.message // a ServeError wraps the socket's error
      : cause instanceof Error
      ? cause.message
      : String(cause)
    return `cannot serve on ${this.address}: ${reason}`
  }
}

class StoreUnknown extends Data.TaggedError("StoreUnknown")<{ readonly store: string }> {
  override get message() {
    return `unknown --store ${JSON.stringify(this.store)}: use memory, sqlite:<file> or a postgres:// URL`
  }
}

type CliError =
  | StoreUnknown
  | ModuleNotFound
  | TypeScriptLoaderMissing
  | ModuleLoadFailed
  | NothingToServe
  | InvalidWorkflows
  | ServerFailed

const isCliError = (u: unknown): u is CliError =>
  u instanceof StoreUnknown || u instanceof ModuleNotFound || u instanceof TypeScriptLoaderMissing || u instanceof ModuleLoadFailed ||
  u instanceof NothingToServe || u instanceof InvalidWorkflows || u instanceof ServerFailed

// -------------------------------------------------------------------------------------------------
// loading the module
// -------------------------------------------------------------------------------------------------

const typeScriptFile = /\.(?:ts|mts|cts|tsx)$/

/**
 * Registers `tsx`'s loader in this process, found beside this package or else from the current
 * directory. `register()` rather than `tsImport`: `tsImport` loads the module and everything it
 * imports under a namespace of its own, which would give it a second copy of `effect` and of this
 * library (whose workflows the server would then not share classes with).
 */
const registerTypeScript = (module: string) =>
  Effect.tryPromise({
    try: async () => {
      let api: typeof import("tsx/esm/api")
      try {
        api = await import("tsx/esm/api")
      } catch {
        const local = createRequire(NodePath.join(process.cwd(), "package.json")).resolve("tsx/esm/api")
        api = await import(local)
      }
      api.register()
    },
    catch: () => new TypeScriptLoaderMissing({ module })
  })

const importModule = (module: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const resolved = path.resolve(module)
    const info = yield* Effect.option(fs.stat(resolved))
    if (Option.isNone(info) || info.value.type !== "File") return yield* new ModuleNotFound({ module, resolved })
    if (typeScriptFile.test(resolved)) yield* registerTypeScript(module)
    const url = yield* Effect.orDie(path.toFileUrl(resolved))
    return yield* Effect.tryPromise({
      try: (): Promise<Record<string, unknown>> => import(url.href),
      catch: (cause) => new ModuleLoadFailed({ module, cause })
    })
  })

/** What a module gives to serve. */
type Served =
  | { readonly _tag: "Workflows"; readonly workflows: Readonly<Record<string, Workflow.Any>> }
  | { readonly _tag: "Layer"; readonly exportName: string; readonly layer: Layer.Layer<never, unknown, unknown> }

/** Applies the precedence of the module header to a module's exports. */
const toServed = (module: string, exports: Readonly<Record<string, unknown>>) =>
  Effect.gen(function*() {
    for (const name of ["default", "server"]) {
      const value = exports[name]
      if (Layer.isLayer(value)) {
        return { _tag: "Layer", exportName: name, layer: value as Layer.Layer<never, unknown, unknown> } as Served
      }
    }
    if ("workflows" in exports) {
      const workflows = exports.workflows
      if (typeof workflows !== "object" || workflows === null || Workflow.isWorkflow(workflows)) {
        return yield* new InvalidWorkflows({ module, key: undefined })
      }
      for (const [key, value] of Object.entries(workflows)) {
        if (!Workflow.isWorkflow(value)) return yield* new InvalidWorkflows({ module, key })
      }
      return { _tag: "Workflows", workflows: workflows as Record<string, Workflow.Any> } as Served
    }
    const workflows: Record<string, Workflow.Any> = {}
    for (const [name, value] of Object.entries(exports)) {
      if (name !== "default" && Workflow.isWorkflow(value)) workflows[name] = value
    }
    const byDefault = exports.default
    if (Workflow.isWorkflow(byDefault) && !Object.values(workflows).includes(byDefault)) {
      workflows[byDefault.name] = byDefault
    }
    if (Object.keys(workflows).length === 0) {
      return yield* new NothingToServe({ module, exports: Object.keys(exports) })
    }
    return { _tag: "Workflows", workflows } as Served
  })

// -------------------------------------------------------------------------------------------------
// serving
// -------------------------------------------------------------------------------------------------

/** Everything a server Layer may require: the command provides all of it. */
type ServerRequirements = HttpServer.HttpServer | HandlerStore.HandlerStore | HttpRouter.HttpRouter.DefaultServices

const urlHost = (host: string) => host.includes(":") ? `[${host}]` : host

/** The host a browser can open: the loopback name for a server on every interface. */
const browsable = (host: string) => host === "0.0.0.0" || host === "::" ? "localhost" : urlHost(host)

/**
 * The handler store a `--store` value names: `memory`, `sqlite:<file>` or a PostgreSQL URL. The
 * durable stores' modules are loaded only when named (their drivers are optional peers).
 */
const storeLayer = (store: string): Effect.Effect<Layer.Layer<HandlerStore.HandlerStore, unknown>, StoreUnknown> => {
  if (store === "memory") return Effect.succeed(HandlerStore.layerMemory())
  if (store.startsWith("sqlite:")) {
    const filename = store.slice("sqlite:".length)
    return Effect.promise(() => import("../server/SqliteHandlerStore.js")).pipe(
      Effect.map((SqliteHandlerStore) => SqliteHandlerStore.layer({ filename }))
    )
  }
  if (/^postgres(ql)?:\/\//.test(store)) {
    return Effect.promise(() => import("../server/PgHandlerStore.js")).pipe(
      Effect.map((PgHandlerStore) => PgHandlerStore.layer({ url: Redacted.make(store) }))
    )
  }
  return Effect.fail(new StoreUnknown({ store }))
}

const serve = (
  options: { readonly module: string; readonly port: number; readonly host: string; readonly store: string }
) =>
  Effect.gen(function*() {
    const { host, module, port } = options
    const store = yield* storeLayer(options.store)
    const what = yield* toServed(module, yield* importModule(module))
    const app: Layer.Layer<never, unknown, ServerRequirements> = what._tag === "Layer"
      ? what.layer as Layer.Layer<never, unknown, ServerRequirements>
      : WorkflowServer.layer({ workflows: what.workflows }) as Layer.Layer<never, never, ServerRequirements>
    const context = yield* Layer.build(
      app.pipe(
        Layer.provide(store),
        Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host }))
      )
    ).pipe(Effect.mapError((cause) => new ServerFailed({ address: `${urlHost(host)}:${port}`, cause })))
    const address = Context.get(context, HttpServer.HttpServer).address
    const listening = address._tag === "TcpAddress" ? address.port : port
    const base = `http://${browsable(host)}:${listening}`
    const bound = `http://${urlHost(host)}:${listening}`
    if (what._tag === "Layer") {
      yield* Console.log(`Serving the server Layer exported as \`${what.exportName}\` on ${bound}`)
    } else {
      const names = Object.keys(what.workflows)
      yield* Console.log(`Serving ${names.length} workflow${names.length === 1 ? "" : "s"} on ${bound}`)
      yield* Console.log(`  workflows: ${names.join(", ")}`)
    }
    yield* Console.log(`  debugger:  ${base}/`)
    yield* Console.log(`  docs:      ${base}/docs`)
    return yield* Effect.never
  }).pipe(Effect.scoped)

// -------------------------------------------------------------------------------------------------
// the command
// -------------------------------------------------------------------------------------------------

const moduleArg = Args.text({ name: "module" }).pipe(
  Args.withDescription(
    "The module to serve, a path relative to the current directory (.js, .mjs, or .ts/.mts with tsx installed). " +
      "Served: its `default` or `server` export if it is a server Layer (WorkflowServer.layer), else its " +
      "`workflows` export (an object of workflows, served under its keys), else every exported workflow, " +
      "under its export name (a default-exported one under its own name)."
  )
)

const portOption = Options.integer("port").pipe(
  Options.withFallbackConfig(Config.integer("PORT").pipe(Config.withDefault(8080))),
  Options.mapEffect((port) =>
    port >= 0 && port <= 65535
      ? Effect.succeed(port)
      : Effect.fail(ValidationError.invalidValue(HelpDoc.p(`The port must be from 0 to 65535, not ${port}`)))
  ),
  Options.withDescription(
    "The port to listen on (0: any free port). Default: the PORT environment variable, else 8080."
  )
)

const hostOption = Options.text("host").pipe(
  Options.withDefault("0.0.0.0"),
  Options.withDescription("The interface to listen on. Default: 0.0.0.0 (every interface).")
)

const storeOption = Options.text("store").pipe(
  Options.withDefault("memory"),
  Options.withDescription(
    "Where handlers and their events are kept: `memory` (the default; lost when the server stops), " +
      "`sqlite:<file>` (created if missing), or a PostgreSQL URL (`postgres://user@host:port/db`). With SQLite " +
      "or PostgreSQL a restarted server resumes the runs that were going. One server process per database."
  )
)

const serveCommand = Command.make(
  "serve",
  { module: moduleArg, port: portOption, host: hostOption, store: storeOption },
  serve
).pipe(
  Command.withDescription(
    "Serve the workflows a module exports over HTTP (the LlamaIndex workflow server protocol), " +
      "with the Workflow Debugger at / and the API docs at /docs."
  )
)

const command = Command.make("effect-workflows").pipe(
  Command.withDescription("Event-driven, step-based workflows for Effect."),
  Command.withSubcommands([serveCommand])
)

/** This package's version, from its package.json (`dist/bin/cli.js` → `package.json`). */
const version = ((): string => {
  try {
    return JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version
  } catch {
    return "unknown"
  }
})()

/** Our errors as one line; @effect/cli has shown its own; anything else in full. */
const report = (cause: Cause.Cause<unknown>) => {
  if (Cause.isInterruptedOnly(cause)) return Effect.void
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure) && ValidationError.isValidationError(failure.value)) return Effect.void
  if (Option.isSome(failure) && isCliError(failure.value)) {
    const error = failure.value
    const detail = error instanceof ModuleLoadFailed ? error.detail : undefined
    const line = `effect-workflows: ${error.message}`
    return Console.error(detail === undefined ? line : `${line}\n${detail}`)
  }
  return Console.error(Cause.pretty(cause))
}

Command.run(command, { name: "effect-workflows", version })(process.argv).pipe(
  Effect.tapErrorCause(report),
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
