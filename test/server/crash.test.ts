/**
 * A crash loses no run: the server (the CLI, as a child process, on a durable store) is killed
 * with SIGKILL while a run waits for a human, a long chain is going, a step is in a retry delay
 * and a step is mid-execution; started again on the same store, it resumes every handler with
 * its handler id and run id. Each stream, read before the kill and resumed after it with
 * `Last-Event-ID`, has every sequence exactly once; the question is asked once; every run ends
 * completed.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as http from "node:http"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { type Postgres, startPostgres } from "../utils/postgres.js"

const root = fileURLToPath(new URL("../..", import.meta.url))
const fixture = "test/fixtures/durable-workflows.ts"

interface Server {
  readonly child: ChildProcess
  readonly base: string
  /** What the process has written so far (to explain a failure). */
  readonly output: () => string
}

/** Starts the CLI on `store` and waits for it to say where it listens. */
const startServer = (store: string): Promise<Server> =>
  new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "src/bin/cli.ts", "serve", fixture, "--port", "0", "--host", "127.0.0.1", "--store", store],
      { cwd: root, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] }
    )
    let out = ""
    let err = ""
    child.stdout!.on("data", (chunk) => {
      out += String(chunk)
      const match = /on http:\/\/127\.0\.0\.1:(\d+)/.exec(out)
      if (match !== null) resolve({ child, base: `http://127.0.0.1:${match[1]}`, output: () => `${out}\n${err}` })
    })
    child.stderr!.on("data", (chunk) => err += String(chunk))
    child.on("exit", (code) => reject(new Error(`server exited (${code}):\n${out}\n${err}`)))
  })

const kill9 = (server: Server): Promise<void> =>
  new Promise((resolve) => {
    if (server.child.exitCode !== null) return resolve()
    server.child.removeAllListeners("exit")
    server.child.on("exit", () => resolve())
    server.child.kill("SIGKILL")
  })

const request = (base: string, method: string, route: string, body?: unknown) =>
  fetch(`${base}${route}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  }).then(async (response) => ({ status: response.status, body: await response.json() as any }))

interface Frame {
  readonly id: number
  readonly envelope: { readonly type: string; readonly value: any; readonly types: ReadonlyArray<string> | null }
}

/**
 * Reads a handler's SSE stream (every event, internal ones included) until `until` holds for the
 * frames so far or the stream ends; `lastEventId` resumes after that sequence.
 */
const readStream = (
  base: string,
  handlerId: string,
  until: (frames: ReadonlyArray<Frame>) => boolean,
  lastEventId?: number
): Promise<Array<Frame>> =>
  new Promise((resolve, reject) => {
    const frames: Array<Frame> = []
    const url = `${base}/events/${handlerId}?include_internal=true&after_sequence=-1`
    const headers = lastEventId === undefined ? {} : { "last-event-id": String(lastEventId) }
    const req = http.get(url, { headers }, (response) => {
      if (response.statusCode !== 200) {
        let body = ""
        response.on("data", (chunk) => body += String(chunk))
        response.on("end", () => reject(new Error(`stream of ${handlerId}: ${response.statusCode} ${body}`)))
        return
      }
      let buffer = ""
      response.on("data", (chunk) => {
        buffer += String(chunk)
        let end: number
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const id = /^id: (\d+)$/m.exec(block)
          const data = /^data: (.*)$/m.exec(block)
          if (id !== null && data !== null) frames.push({ id: Number(id[1]), envelope: JSON.parse(data[1]!) })
        }
        if (until(frames)) {
          req.destroy()
          resolve(frames)
        }
      })
      response.on("end", () => resolve(frames))
      response.on("error", () => resolve(frames))
    })
    req.on("error", (error) => frames.length > 0 || until(frames) ? resolve(frames) : reject(error))
  })

const types = (frames: ReadonlyArray<Frame>) => frames.map((frame) => frame.envelope.type)
const stepStates = (frames: ReadonlyArray<Frame>, state: string) =>
  frames.filter((frame) => frame.envelope.type === "StepStateChanged" && frame.envelope.value.step_state === state)

const scenario = (store: () => string) => async () => {
  let first: Server | undefined = await startServer(store())
  let second: Server | undefined
  const started = [first]
  try {
    const start = async (name: string) => {
      const started = await request(first!.base, "POST", `/workflows/${name}/run-nowait`, {})
      expect(started.status).toBe(200)
      return started.body as { handler_id: string; run_id: string }
    }
    const waiting = await start("waiter")
    const chain = await start("chain")
    const retrying = await start("retrying")
    const slow = await start("slow")
    const expiring = await start("expiring")

    // before the kill: each run at its point
    const before = {
      waiting: await readStream(first.base, waiting.handler_id, (f) => types(f).includes("WorkflowIdleEvent")),
      chain: await readStream(first.base, chain.handler_id, (f) => types(f).filter((t) => t === "Progress").length >= 3),
      retrying: await readStream(first.base, retrying.handler_id, (f) => types(f).includes("Failed")),
      slow: await readStream(first.base, slow.handler_id, (f) => stepStates(f, "running").length >= 1),
      expiring: await readStream(first.base, expiring.handler_id, (f) => types(f).includes("InputRequiredEvent"))
    }
    expect(types(before.waiting)).toContain("InputRequiredEvent")
    // the retry's failure is stored with its snapshot before the kill (the stream reads the store)
    const failedAt: number = before.retrying.find((f) => f.envelope.type === "Failed")!.envelope.value.at
    await kill9(first)
    first = undefined

    second = await startServer(store())
    started.push(second)
    const readyAt = Date.now()
    const base = second.base
    // every handler is there with its run id (the retry, overdue, may have completed already)
    for (const { handler_id, run_id } of [waiting, chain, retrying, slow]) {
      const handler = await request(base, "GET", `/handlers/${handler_id}`)
      expect(handler.body.run_id).toBe(run_id)
      expect([200, 202]).toContain(handler.status)
    }
    expect((await request(base, "GET", `/handlers/${waiting.handler_id}`)).status).toBe(202)
    const resumeFrom = (frames: ReadonlyArray<Frame>) => frames[frames.length - 1]!.id
    const isEnd = (f: ReadonlyArray<Frame>) => f.some((frame) => frame.envelope.types?.includes("StopEvent") || frame.envelope.type === "StopEvent")

    // the waiting run goes on waiting without asking again; answered, it completes
    const answered = await request(base, "POST", `/events/${waiting.handler_id}`, {
      event: { type: "HumanResponseEvent", value: { response: "ada" } }
    })
    expect(answered).toEqual({ status: 200, body: { status: "sent" } })
    const after = {
      waiting: await readStream(base, waiting.handler_id, isEnd, resumeFrom(before.waiting)),
      chain: await readStream(base, chain.handler_id, isEnd, resumeFrom(before.chain)),
      retrying: await readStream(base, retrying.handler_id, isEnd, resumeFrom(before.retrying)),
      slow: await readStream(base, slow.handler_id, isEnd, resumeFrom(before.slow)),
      expiring: await readStream(base, expiring.handler_id, isEnd, resumeFrom(before.expiring))
    }
    for (const key of ["waiting", "chain", "retrying", "slow", "expiring"] as const) {
      const all = [...before[key], ...after[key]]
      // each sequence exactly once, in order, from 0
      expect(all.map((frame) => frame.id)).toEqual(all.map((_, i) => i))
    }
    const waitingAll = [...before.waiting, ...after.waiting]
    expect(types(waitingAll).filter((t) => t === "InputRequiredEvent")).toEqual(["InputRequiredEvent"])
    expect(waitingAll[waitingAll.length - 1]!.envelope.value).toEqual({ result: "hello ada" })
    const chainAll = [...before.chain, ...after.chain]
    expect(chainAll[chainAll.length - 1]!.envelope.value).toEqual({ result: 12 })
    // the retry ran once more (attempt 2), not before its deadline
    const retried = [...before.retrying, ...after.retrying]
    const result = retried[retried.length - 1]!.envelope.value.result as { attempt: number; at: number }
    expect(result.attempt).toBe(2)
    expect(result.at).toBeGreaterThanOrEqual(failedAt + 3000)
    // the step that was mid-execution ran again, at least once
    const slowAll = [...before.slow, ...after.slow]
    expect(stepStates(slowAll, "running").length).toBeGreaterThanOrEqual(2)
    expect(slowAll[slowAll.length - 1]!.envelope.value).toEqual({ result: "worked" })

    // the waiter timeout kept its deadline (4 s after asking, before the kill): overdue when the
    // run resumed, it fired then, not 4 s after the restart
    const expiringAll = [...before.expiring, ...after.expiring]
    const askedAt: number = expiringAll.find((f) => f.envelope.type === "Asked")!.envelope.value.at
    const timedOutAt: number = expiringAll[expiringAll.length - 1]!.envelope.value.result.timedOutAt
    expect(timedOutAt).toBeGreaterThanOrEqual(askedAt + 4000)
    expect(timedOutAt).toBeLessThan(readyAt + 2000)
    expect(types(expiringAll).filter((t) => t === "InputRequiredEvent")).toEqual(["InputRequiredEvent"])

    const completed = await request(base, "GET", "/handlers?status=completed")
    expect(completed.body.handlers.map((h: { handler_id: string }) => h.handler_id).sort()).toEqual(
      [waiting, chain, retrying, slow, expiring].map((h) => h.handler_id).sort()
    )
  } catch (error) {
    // what the servers said explains most failures
    const said = started.map((server, i) => `server ${i + 1}:\n${server.output()}`)
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${said.join("\n")}`, { cause: error })
  } finally {
    if (first !== undefined) await kill9(first)
    if (second !== undefined) await kill9(second)
  }
}

describe("kill -9 and restart", () => {
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), "effect-workflows-crash-"))
  afterAll(() => fs.rmSync(folder, { recursive: true, force: true }))

  it("on SQLite: every running handler resumes; streams give each event once", scenario(() =>
    `sqlite:${path.join(folder, "workflows.db")}`), 120_000)

  describe("on PostgreSQL", () => {
    let postgres: Postgres | undefined
    beforeAll(async () => {
      postgres = await startPostgres()
    }, 120_000)
    afterAll(async () => {
      await postgres?.stop()
    }, 60_000)

    it("every running handler resumes; streams give each event once", async () => {
      if (postgres === undefined || !postgres.available) return
      await scenario(() => postgres!.url)()
    }, 120_000)
  })
})
