/**
 * The LlamaIndex Workflow Debugger at `/`: its page, and its script and styles served from the
 * installed `@llamaindex/workflow-debugger` package (not from a CDN).
 *
 * @internal
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { createRequire } from "node:module"
import * as path from "node:path"

/** The routes this module adds, for the 404/405 answers. @internal */
export const paths = ["/", "/debugger/app.js", "/debugger/app.css"] as const

/** The installed package's `dist` folder, or undefined when it is not installed. */
const distFolder = (): string | undefined => {
  try {
    const manifest = createRequire(import.meta.url).resolve("@llamaindex/workflow-debugger/package.json")
    return path.join(path.dirname(manifest), "dist")
  } catch {
    return undefined
  }
}

const page = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="UTF-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1.0" />
    <title>workflow-debugger</title>
    <script type="module" crossorigin src="/debugger/app.js"></script>
    <link rel="stylesheet" crossorigin href="/debugger/app.css">
  </head>
  <body>
    <div id="root"></div>
  </body>
</html>
`

const missing = `<!doctype html>
<html lang="en">
  <head><meta charset="UTF-8" /><title>workflow-debugger</title></head>
  <body>
    <p>The Workflow Debugger is not installed. Install it beside this server:
    <code>npm install @llamaindex/workflow-debugger</code>, then restart.</p>
    <p>The API is documented at <a href="/docs">/docs</a>.</p>
  </body>
</html>
`

/** @internal */
export const layer: Layer.Layer<never> = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function*() {
    const dist = distFolder()
    if (dist === undefined) {
      yield* router.get("/", HttpServerResponse.html(missing))
      return
    }
    yield* router.get("/", HttpServerResponse.html(page))
    yield* router.get(
      "/debugger/app.js",
      Effect.orDie(HttpServerResponse.file(path.join(dist, "app.js"), { contentType: "text/javascript" }))
    )
    yield* router.get(
      "/debugger/app.css",
      Effect.orDie(HttpServerResponse.file(path.join(dist, "app.css"), { contentType: "text/css" }))
    )
  })
)
