/**
 * Workflows served over HTTP with the LlamaIndex workflow server protocol (`WorkflowApi`), so
 * that `@llamaindex/workflows-client` and the LlamaIndex Workflow Debugger (at `/`) work against
 * it unchanged. The OpenAPI document is at `/openapi.json`, its Scalar page at `/docs`.
 *
 * @since 0.1.0
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiScalar from "@effect/platform/HttpApiScalar"
import type * as HttpRouter from "@effect/platform/HttpRouter"
import type * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import { createServer } from "node:http"
import * as debugger_ from "../internal/server/debugger.js"
import * as http from "../internal/server/http.js"
import * as protocol from "../internal/server/protocol.js"
import * as runs from "../internal/server/runs.js"
import type * as Workflow from "../Workflow.js"
import * as HandlerStore from "./HandlerStore.js"
import { WorkflowApi } from "./WorkflowApi.js"

/**
 * What a server serves and how.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<W extends Record<string, Workflow.Any>> {
  /** The workflows by the name they are served under (`/workflows/{name}/...`). */
  readonly workflows: W
  /** Largest request body accepted (bytes); larger ones get 413. Default 10 MiB. */
  readonly maxBodySize?: number | undefined
  /** Silence after which an SSE stream gets `: heartbeat`. Default 25 seconds; `null` disables. */
  readonly heartbeat?: Duration.DurationInput | null | undefined
}

/**
 * The requirements of the served workflows' steps (their Layers are provided to the server).
 *
 * @since 0.1.0
 * @category models
 */
export type Requirements<W extends Record<string, Workflow.Any>> = {
  [K in keyof W]: W[K] extends Workflow.Workflow<any, any, any, infer R, any, any> ? R : never
}[keyof W]

/**
 * The server's routes on whatever `HttpServer` is provided, with its handlers in the provided
 * `HandlerStore`. Closing the layer cancels the runs still going.
 *
 * @example
 * ```ts
 * import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { createServer } from "node:http"
 * import { HandlerStore, WorkflowServer } from "effect-workflows/server"
 * import { greet } from "./greet.js"
 *
 * WorkflowServer.layer({ workflows: { greet } }).pipe(
 *   Layer.provide(HandlerStore.layerMemory()),
 *   Layer.provide(NodeHttpServer.layer(createServer, { port: 8080 })),
 *   Layer.launch,
 *   NodeRuntime.runMain
 * )
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <const W extends Record<string, Workflow.Any>>(
  options: Options<W>
): Layer.Layer<
  never,
  HandlerStore.HandlerStoreError,
  HttpServer.HttpServer | HandlerStore.HandlerStore | Requirements<W> | HttpRouter.HttpRouter.DefaultServices
> => {
  const routes = Layer.unwrapScoped(
    Effect.gen(function*() {
      const store = yield* HandlerStore.HandlerStore
      const context = yield* Effect.context<never>()
      // one server process per store: refused with a clear error when another holds it
      yield* store.claim
      const workflows: ReadonlyMap<string, Workflow.Any> = new Map(Object.entries(options.workflows))
      const served: http.Served = {
        workflows,
        store,
        runs: yield* runs.make({ store, context, workflows, durable: store.durable }),
        maxBodySize: options.maxBodySize ?? 10 * 1024 * 1024,
        heartbeat: options.heartbeat === null
          ? Option.none()
          : Option.some(Duration.decode(options.heartbeat ?? "25 seconds"))
      }
      return Layer.mergeAll(...http.layer(served))
    })
  )
  return HttpApiBuilder.serve(protocol.middleware).pipe(
    Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
    Layer.provide(HttpApiScalar.layer({ path: "/docs" })),
    Layer.provide(debugger_.layer),
    Layer.provide(HttpApiBuilder.api(WorkflowApi).pipe(Layer.provide(routes)))
  ) as any
}

/**
 * `layer` on a Node HTTP server listening on `port` (and `host`, default all interfaces), with
 * the given handler store (default the in-memory one).
 *
 * @example
 * ```ts
 * import { NodeRuntime } from "@effect/platform-node"
 * import { Layer } from "effect"
 * import { WorkflowServer } from "effect-workflows/server"
 * import { greet } from "./greet.js"
 *
 * Layer.launch(WorkflowServer.layerNode({ workflows: { greet }, port: 8080 })).pipe(NodeRuntime.runMain)
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerNode = <const W extends Record<string, Workflow.Any>>(
  options: Options<W> & {
    readonly port: number
    readonly host?: string | undefined
    readonly store?: Layer.Layer<HandlerStore.HandlerStore> | undefined
  }
): Layer.Layer<never, HttpServerError.ServeError | HandlerStore.HandlerStoreError, Requirements<W>> =>
  layer(options).pipe(
    Layer.provide(options.store ?? HandlerStore.layerMemory()),
    Layer.provide(NodeHttpServer.layer(createServer, { port: options.port, host: options.host ?? "0.0.0.0" }))
  ) as any
