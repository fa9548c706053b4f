/**
 * The command line (`src/bin/cli.ts`, run through tsx as `node --import tsx src/bin/cli.ts`) and
 * `examples/server.ts` (`npx tsx examples/server.ts`), each as a child process: what they print,
 * and what their servers answer over loopback. A server is killed (its whole process group) when
 * its test ends.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { Workflow } from "effect-workflows"
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { readdirSync } from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const cli = ["--import", "tsx", "src/bin/cli.ts"]
const env = { ...process.env, NO_COLOR: "1" }

const stripAnsi = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, "")

interface Outcome {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs the CLI to its end. */
const runCli = (args: ReadonlyArray<string>) =>
  Effect.async<Outcome, Error>((resume) => {
    const options = { cwd: root, env, timeout: 50_000 }
    const child = execFile(process.execPath, [...cli, ...args], options, (error, stdout, stderr) => {
      if (error === null) return resume(Effect.succeed({ exitCode: 0, stdout, stderr }))
      if (typeof error.code === "number") return resume(Effect.succeed({ exitCode: error.code, stdout, stderr }))
      resume(Effect.fail(new Error(`the CLI did not run: ${error.message}\n${stderr}`)))
    })
    return Effect.sync(() => {
      child.kill()
    })
  })

/** A port nobody listens on right now. */
const freePort = Effect.async<number>((resume) => {
  const server = net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address() as net.AddressInfo
    server.close(() => resume(Effect.succeed(address.port)))
  })
})

interface Running {
  readonly child: ChildProcess
  /** Everything printed on stdout so far. */
  readonly stdout: () => string
  /** Everything printed on stderr so far. */
  readonly stderr: () => string
}

/** Ends the child's whole process group (npx and tsx start children of their own) and waits for it. */
const stop = (child: ChildProcess) =>
  Effect.async<void>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.void)
    child.once("exit", () => resume(Effect.void))
    const signal = (name: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, name)
      } catch {
        // already gone
      }
    }
    signal("SIGTERM")
    const force = setTimeout(() => signal("SIGKILL"), 10_000)
    child.once("exit", () => clearTimeout(force))
  })

/** Starts a long-running process in a process group of its own, stopped with the scope. */
const start = (command: string, args: ReadonlyArray<string>, extraEnv: Record<string, string> = {}) =>
  Effect.acquireRelease(
    Effect.sync((): Running => {
      const child = spawn(command, args, {
        cwd: root,
        env: { ...env, ...extraEnv },
        detached: true,
        stdio: ["ignore", "pipe", "pipe"]
      })
      let stdout = ""
      let stderr = ""
      child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
      child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
      return { child, stdout: () => stdout, stderr: () => stderr }
    }),
    (running) => stop(running.child)
  )

/** Completes when stdout matches `pattern`; fails if the process exits first. */
const waitFor = (running: Running, pattern: RegExp) =>
  Effect.async<RegExpExecArray, Error>((resume) => {
    const check = () => {
      const match = pattern.exec(running.stdout())
      if (match === null) return false
      cleanup()
      resume(Effect.succeed(match))
      return true
    }
    const exited = (code: number | null) => {
      if (check()) return
      cleanup()
      const output = `stdout:\n${running.stdout()}\nstderr:\n${running.stderr()}`
      resume(Effect.fail(new Error(`exited (${code}) before printing ${pattern}\n${output}`)))
    }
    const cleanup = () => {
      running.child.stdout!.off("data", check)
      running.child.off("exit", exited)
    }
    running.child.stdout!.on("data", check)
    running.child.on("exit", exited)
    check()
    return Effect.sync(cleanup)
  }).pipe(
    Effect.timeoutFail({
      duration: "50 seconds",
      onTimeout: () =>
        new Error(`did not print ${pattern}\nstdout:\n${running.stdout()}\nstderr:\n${running.stderr()}`)
    })
  )

/** Starts the CLI's `serve` and waits for its URLs; gives the base URL it printed. */
const serve = (args: ReadonlyArray<string>, extraEnv: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const running = yield* start(process.execPath, [...cli, "serve", ...args], extraEnv)
    const [, port] = yield* waitFor(running, /^Serving .* on http:\/\/[^\s]+:(\d+)\n[\s\S]*docs: .*\n/m)
    return { running, base: `http://127.0.0.1:${port}` }
  })

const getJson = (url: string, init?: RequestInit) =>
  Effect.tryPromise(async () => {
    const response = await fetch(url, init)
    return { status: response.status, body: await response.json() as any }
  })

const postJson = (url: string, body: unknown) =>
  getJson(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })

/** The names of the workflows every example exports, read from the examples themselves. */
const exampleWorkflowNames = Effect.promise(async () => {
  const names = new Set<string>()
  const files = readdirSync(new URL("../examples/", import.meta.url))
    .filter((file) => file.endsWith(".ts") && file !== "main.ts" && file !== "server.ts")
  for (const file of files) {
    const exports: Record<string, unknown> = await import(pathToFileURL(`${root}examples/${file}`).href)
    for (const value of Object.values(exports)) if (Workflow.isWorkflow(value)) names.add(value.name)
  }
  return [...names].sort()
})

/** Reads an NDJSON event stream until a line matches, and gives the rest of the stream. */
const readUntil = (reader: ReadableStreamDefaultReader<Uint8Array>, pattern: RegExp) =>
  Effect.promise(async () => {
    const decoder = new TextDecoder()
    let text = ""
    while (!pattern.test(text)) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value, { stream: true })
    }
    return text
  })

const readToEnd = (reader: ReadableStreamDefaultReader<Uint8Array>) => readUntil(reader, /(?!)/)

type Test = Effect.Effect<void, unknown, Scope.Scope>

describe("effect-workflows (the CLI)", () => {
  it.live("--help documents serve, --port, --host and --store", () =>
    Effect.gen(function*() {
      const outcome = yield* runCli(["--help"])
      expect(outcome.exitCode).toBe(0)
      const help = stripAnsi(outcome.stdout)
      expect(help).toContain("serve [--port integer] [--host text] [--store text] <module>")
      const serveHelp = stripAnsi((yield* runCli(["serve", "--help"])).stdout)
      expect(serveHelp).toContain("--port integer")
      expect(serveHelp).toContain("PORT environment variable, else 8080")
      expect(serveHelp).toContain("--host text")
      expect(serveHelp).toContain("<module>")
      expect(serveHelp).toContain("--store text")
      expect(serveHelp).toContain("`sqlite:<file>`")
    }), 60_000)

  it.scopedLive("serve: every exported workflow under its export name", (): Test =>
    Effect.gen(function*() {
      const { base, running } = yield* serve(["test/fixtures/two-workflows.ts", "--port", "0", "--host", "127.0.0.1"])
      expect(running.stdout()).toMatch(/^Serving 2 workflows on http:\/\/127\.0\.0\.1:\d+$/m)
      expect(running.stdout()).toMatch(/^ {2}workflows: farewell, greet$/m)
      expect(running.stdout()).toMatch(/^ {2}debugger: {2}http:\/\/127\.0\.0\.1:\d+\/$/m)
      expect(running.stdout()).toMatch(/^ {2}docs: {6}http:\/\/127\.0\.0\.1:\d+\/docs$/m)
      expect(yield* getJson(`${base}/health`)).toEqual({ status: 200, body: { status: "healthy" } })
      const listed = yield* getJson(`${base}/workflows`)
      expect([...listed.body.workflows].sort()).toEqual(["farewell", "greet"])
      // the module's workflow runs in the server (one copy of the library and of effect)
      const run = yield* postJson(`${base}/workflows/greet/run`, { start_event: { input: "Ada" } })
      expect(run.body.status).toBe("completed")
      expect(run.body.result.value).toEqual({ result: "hello Ada" })
    }), 60_000)

  it.scopedLive("serve: the PORT environment variable when there is no --port", (): Test =>
    Effect.gen(function*() {
      const port = yield* freePort
      const { base, running } = yield* serve(["test/fixtures/two-workflows.ts", "--host", "127.0.0.1"], {
        PORT: String(port)
      })
      expect(running.stdout()).toContain(`on http://127.0.0.1:${port}\n`)
      expect(base).toBe(`http://127.0.0.1:${port}`)
      expect(yield* getJson(`${base}/health`)).toEqual({ status: 200, body: { status: "healthy" } })
    }), 60_000)

  it.scopedLive("serve: a server Layer exported as `server` is served as is", (): Test =>
    Effect.gen(function*() {
      const { base, running } = yield* serve(["test/fixtures/server-layer.ts", "--port", "0", "--host", "127.0.0.1"])
      expect(running.stdout()).toMatch(/^Serving the server Layer exported as `server` on http:\/\/127\.0\.0\.1:\d+$/m)
      expect((yield* getJson(`${base}/workflows`)).body).toEqual({ workflows: ["hello"] })
    }), 60_000)

  it.live("serve: a missing module exits non-zero with a one-line message", () =>
    Effect.gen(function*() {
      const outcome = yield* runCli(["serve", "test/fixtures/missing.ts", "--port", "0"])
      expect(outcome.exitCode).not.toBe(0)
      expect(outcome.stdout).toBe("")
      expect(outcome.stderr).toBe(
        `effect-workflows: cannot find module test/fixtures/missing.ts (no file at ${root}test/fixtures/missing.ts)\n`
      )
    }), 60_000)

  it.live("serve: a module without workflows exits non-zero and says what to export", () =>
    Effect.gen(function*() {
      const outcome = yield* runCli(["serve", "examples/main.ts", "--port", "0"])
      expect(outcome.exitCode).not.toBe(0)
      expect(outcome.stdout).toBe("")
      expect(outcome.stderr).toContain("effect-workflows: nothing to serve in examples/main.ts (it exports isMain)")
      expect(outcome.stderr).not.toMatch(/^\s+at /m) // no stack trace
    }), 60_000)
})

describe("examples/server.ts (npm start)", () => {
  it.scopedLive("serves every example's workflows; a human-in-the-loop run is answered over HTTP", (): Test =>
    Effect.gen(function*() {
      const port = yield* freePort
      const running = yield* start("npx", ["tsx", "examples/server.ts"], {
        PORT: String(port),
        WORKFLOWS_DB: path.join(os.tmpdir(), `effect-workflows-cli-${process.pid}-${port}.db`)
      })
      yield* waitFor(running, /^ {2}docs: +http:\/\/localhost:\d+\/docs$/m)
      expect(running.stdout()).toContain(`on http://localhost:${port}\n`)
      expect(running.stdout()).toContain(`  debugger:  http://localhost:${port}/\n`)
      const base = `http://127.0.0.1:${port}`
      expect(yield* getJson(`${base}/health`)).toEqual({ status: 200, body: { status: "healthy" } })
      const listed = yield* getJson(`${base}/workflows`)
      expect([...listed.body.workflows].sort()).toEqual(yield* exampleWorkflowNames)

      // publish-with-wait asks, the answer comes over HTTP (as the debugger sends it)
      const started = yield* postJson(`${base}/workflows/publish-with-wait/run-nowait`, {
        start_event: { input: "a draft" }
      })
      const handlerId: string = started.body.handler_id
      const response = yield* Effect.promise(() => fetch(`${base}/events/${handlerId}?sse=false&after_sequence=-1`))
      const reader = response.body!.getReader()
      yield* readUntil(reader, /InputRequiredEvent/)
      const sent = yield* postJson(`${base}/events/${handlerId}`, {
        event: { type: "HumanResponseEvent", value: { response: "yes" } }
      })
      expect(sent.body).toEqual({ status: "sent" })
      expect(yield* readToEnd(reader)).toContain("StopEvent")
      // the stream ended after the stop event, which the store commits with the final row
      const result = yield* getJson(`${base}/results/${handlerId}`)
      expect(result.body.status).toBe("completed")
      expect(result.body.result).toBe("\"a draft\" published")
    }), 90_000)
})
