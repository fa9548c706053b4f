/**
 * What the original server answers outside its routes: `{"detail": "Not Found"}` (404) and
 * `{"detail": "Method Not Allowed"}` (405) bodies and a 500 with a `detail` for anything
 * unexpected (`layer`, inside the API's error handling), and permissive CORS (any origin echoed,
 * credentials: `middleware`, around the whole app).
 *
 * @internal
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
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
    // the routes' own errors: the API encodes them (with their status and `detail`)
    if (Option.isSome(failure)) return yield* Effect.failCause(cause)
    yield* Effect.logError("unhandled request failure", cause)
    return HttpServerResponse.unsafeJson({ detail: `Internal server error: ${describe(cause)}` }, { status: 500 })
  })

const cors = HttpMiddleware.cors({
  allowedOrigins: () => true,
  allowedMethods: ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"],
  credentials: true,
  maxAge: 600
})

/**
 * The 404, 405 and 500 answers, as an API middleware: it runs inside the API's error handling,
 * where a failure is still a failure. (Around the whole app it would come too late: the server
 * has already answered an unmatched route with an empty 404, and a defect with an empty 500.)
 *
 * @internal
 */
export const layer: Layer.Layer<never> = HttpApiBuilder.middleware(
  (app: HttpApp.Default) => Effect.catchAllCause(app, answerUnhandled) as HttpApp.Default<never>
)

/** CORS, around the whole app (a preflight is answered before any route). @internal */
export const middleware = <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> => cors(app)
