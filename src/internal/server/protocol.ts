/**
 * What the original server answers outside its routes, as one middleware around the whole app:
 * `{"detail": "Not Found"}` (404) and `{"detail": "Method Not Allowed"}` (405) bodies, a 500 with
 * a `detail` for anything unexpected, and permissive CORS (any origin echoed, credentials).
 *
 * @internal
 */
import * as HttpApi from "@effect/platform/HttpApi"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { WorkflowApi } from "../../server/WorkflowApi.js"
import * as debugger_ from "./debugger.js"

interface Route {
  readonly method: string
  readonly pattern: RegExp
}

const patternOf = (path: string): RegExp =>
  new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:[A-Za-z_]+/g, "[^/]+")}/?$`)

const routes: ReadonlyArray<Route> = (() => {
  const all: Array<Route> = []
  HttpApi.reflect(WorkflowApi, {
    onGroup: () => {},
    onEndpoint: ({ endpoint }) => all.push({ method: endpoint.method, pattern: patternOf(endpoint.path) })
  })
  for (const path of [...debugger_.paths, "/openapi.json", "/docs"]) all.push({ method: "GET", pattern: patternOf(path) })
  return all
})()

const isRouteNotFound = (u: unknown): boolean =>
  typeof u === "object" && u !== null && "_tag" in u && u._tag === "RouteNotFound"

const notFound = HttpServerResponse.unsafeJson({ detail: "Not Found" }, { status: 404 })
const notAllowed = HttpServerResponse.unsafeJson({ detail: "Method Not Allowed" }, { status: 405 })

const describe = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  return error instanceof Error ? error.message : String(error)
}

const answerUnhandled = (cause: Cause.Cause<unknown>) =>
  Effect.gen(function*() {
    if (Cause.isInterruptedOnly(cause)) return yield* Effect.failCause(cause)
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure) && isRouteNotFound(failure.value)) {
      const request = yield* HttpServerRequest.HttpServerRequest
      const path = request.url.split("?")[0] ?? "/"
      const elsewhere = routes.some((route) => route.method !== request.method && route.pattern.test(path))
      return elsewhere ? notAllowed : notFound
    }
    yield* Effect.logError("unhandled request failure", cause)
    return HttpServerResponse.unsafeJson({ detail: `Internal server error: ${describe(cause)}` }, { status: 500 })
  })

const cors = HttpMiddleware.cors({
  allowedOrigins: () => true,
  allowedMethods: ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"],
  credentials: true,
  maxAge: 600
})

/** @internal */
export const middleware = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<never, R> =>
  cors(Effect.catchAllCause(app, answerUnhandled)) as HttpApp.Default<never, R>
