/**
 * The LlamaIndex Workflow Debugger at `/`: its page, and its script and styles served from the
 * installed `@llamaindex/workflow-debugger` package (not from a CDN). The page asks nothing of
 * another origin: the styles are served without their `@import` of Google Fonts (the UI falls
 * back to the system's sans-serif), and the page names an empty icon so that the browser does not
 * ask for `/favicon.ico`.
 *
 * @internal
 */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import { readFile } from "node:fs/promises"
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
    <link rel="icon" href="data:," />
    <script type="module" crossorigin src="/debugger/app.js"></script>
    <link rel="stylesheet" crossorigin href="/debugger/app.css">
  </head>
  <body>
    <div id="root"></div>
  </body>
</html>
`

/**
 * The stylesheet without its `@import`s of other origins (`@import "https://..."`,
 * `@import url(//...)`); the package's only one loads the Inter font from Google Fonts, which a
 * server without internet access (or a user who does not want the request) cannot use.
 */
const withoutRemoteImports = (css: string): string =>
  css.replace(
    /@import\s*(url\(\s*(?:"[^"]*"|'[^']*'|[^)]*)\s*\)|"[^"]*"|'[^']*')[^;]*;/g,
    (rule, target: string) => /^(?:url\(\s*)?["']?(?:[a-z][a-z0-9+.-]*:)?\/\//i.test(target) ? "" : rule
  )

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
    const css = yield* Effect.cached(
      Effect.map(Effect.promise(() => readFile(path.join(dist, "app.css"), "utf8")), withoutRemoteImports)
    )
    yield* router.get(
      "/debugger/app.css",
      Effect.map(css, (text) => HttpServerResponse.text(text, { contentType: "text/css; charset=utf-8" }))
    )
  })
)
