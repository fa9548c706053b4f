/**
 * The LlamaIndex Workflow Debugger (`@llamaindex/workflow-debugger`, served by our server at `/`)
 * in headless Chromium, driven through its own UI: it loads from our server only, lists the
 * workflows, starts runs, draws their graph, shows live events, and answers a waiting run with a
 * HumanResponseEvent.
 *
 * Needs Debian's chromium at /usr/bin/chromium (`apt-get install -y --no-install-recommends
 * chromium`); without it these tests fail, unless SKIP_BROWSER_TESTS=1 skips them.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { existsSync } from "node:fs"
import { mkdir, mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import puppeteer, { type Browser, type HTTPRequest, type Page } from "puppeteer-core"
import { serve, slow, workflows } from "./fixtures.js"

// The callbacks given to `page.evaluate` / `waitForFunction` run in the page; this project's
// TypeScript configuration has no DOM library.
declare const document: any

const chromium = "/usr/bin/chromium"
const skipBrowser = process.env["SKIP_BROWSER_TESTS"] === "1"
const artifacts = fileURLToPath(new URL("../../test-artifacts/", import.meta.url))

const served = { ...workflows, slow: slow(3) }

/** A headless Chromium with a fresh profile, closed (and its profile removed) with the scope. */
const browser = Effect.acquireRelease(
  Effect.gen(function*() {
    if (!existsSync(chromium)) {
      return yield* Effect.dieMessage(
        `Chromium is not installed at ${chromium}: install it with ` +
          "`apt-get install -y --no-install-recommends chromium`, or set SKIP_BROWSER_TESTS=1 to skip the browser tests"
      )
    }
    const userDataDir = yield* Effect.promise(() => mkdtemp(join(tmpdir(), "effect-workflows-debugger-")))
    const launched = yield* Effect.tryPromise(() =>
      puppeteer.launch({
        executablePath: chromium,
        headless: true,
        args: [
          "--headless",
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
          `--user-data-dir=${userDataDir}`
        ]
      })
    ).pipe(
      Effect.tapError(() => Effect.promise(() => rm(userDataDir, { recursive: true, force: true }))),
      Effect.orDie
    )
    return { browser: launched as Browser, userDataDir }
  }),
  ({ browser, userDataDir }) =>
    Effect.promise(async () => {
      await browser.close().catch(() => {})
      await rm(userDataDir, { recursive: true, force: true })
    })
)

interface Observed {
  readonly requests: Array<HTTPRequest>
  readonly consoleErrors: Array<string>
  readonly pageErrors: Array<string>
  readonly failures: Array<string>
}

/** A page that records every request, console error, page error and failed response. */
const openPage = Effect.gen(function*() {
  const { browser: b } = yield* browser
  const page = yield* Effect.promise(() => b.newPage())
  yield* Effect.promise(() => page.setViewport({ width: 1400, height: 900 }))
  const observed: Observed = { requests: [], consoleErrors: [], pageErrors: [], failures: [] }
  page.on("request", (request) => void observed.requests.push(request))
  page.on("console", (message) => {
    if (message.type() === "error") observed.consoleErrors.push(`${message.text()} (${message.location().url ?? ""})`)
  })
  page.on("pageerror", (error) => void observed.pageErrors.push(String(error)))
  page.on("requestfailed", (request) => {
    // the UI closes its EventSource when a run ends: an aborted stream is not a failure
    if (request.failure()?.errorText === "net::ERR_ABORTED" && request.url().includes("/events/")) return
    observed.failures.push(`${request.method()} ${request.url()}: ${request.failure()?.errorText}`)
  })
  page.on("response", (response) => {
    if (response.status() < 400) return
    const request = response.request()
    void response.text().then(
      (body) => observed.failures.push(`${request.method()} ${response.url()} → ${response.status()} ${body}`),
      () => observed.failures.push(`${request.method()} ${response.url()} → ${response.status()}`)
    )
  })
  return { page, observed }
})

/** The workflow select at the top of the page (the first select; `page.click` takes the first). */
const workflowSelect = "#root [role=combobox]"

const run = <A>(f: () => Promise<A>) => Effect.promise(f)

/** Text of the whole page. */
const pageText = (page: Page) => run(() => page.evaluate(() => document.body.innerText as string))

/** Waits until the page's text contains all of `texts`. */
const waitForText = (page: Page, ...texts: Array<string>) =>
  run(() =>
    page.waitForFunction(
      (wanted: Array<string>) => wanted.every((text) => (document.body.innerText as string).includes(text)),
      { timeout: 15_000 },
      texts
    )
  )

/** Opens the (Radix) select `combobox`, gives its options, picks `choice`. */
const choose = (page: Page, combobox: string, choice: string) =>
  run(async () => {
    await page.click(combobox)
    await page.waitForSelector("[role=option]", { timeout: 10_000 })
    const options = await page.$$eval("[role=option]", (all: Array<any>) => all.map((o) => (o.innerText as string).trim()))
    const index = options.indexOf(choice)
    if (index < 0) throw new Error(`no option ${choice} in ${JSON.stringify(options)}`)
    const handles = await page.$$("[role=option]")
    await handles[index]!.click()
    await page.waitForFunction(() => document.querySelectorAll("[role=option]").length === 0, { timeout: 10_000 })
    return options
  })

const clickButton = (page: Page, label: string) =>
  run(async () => {
    const button = await page.waitForSelector(`xpath///button[normalize-space()='${label}']`, { timeout: 10_000 })
    await button!.click()
  })

/** Selects `workflow` and presses "Run Workflow"; gives the handler the UI started. */
const startRun = (page: Page, workflow: string) =>
  Effect.gen(function*() {
    yield* choose(page, workflowSelect, workflow)
    const started = page.waitForResponse(
      (r) => r.url().endsWith(`/workflows/${workflow}/run-nowait`) && r.request().method() === "POST",
      { timeout: 15_000 }
    )
    const subscribed = page.waitForRequest((r) => r.url().includes("/events/"), { timeout: 15_000 })
    yield* clickButton(page, "Run Workflow")
    const response = yield* run(() => started)
    expect(response.status()).toBe(200)
    const handler = (yield* run(() => response.json())) as { handler_id: string; status: string }
    expect(handler.status).toBe("running")
    const stream = yield* run(() => subscribed)
    expect(stream.url()).toContain(`/events/${handler.handler_id}?`)
    return handler.handler_id
  })

/** The event types listed in the "Event Stream" panel, in order. */
const listedEvents = (page: Page) =>
  run(() =>
    page.$$eval(
      "tr[data-event-index] code.text-sm",
      (all: Array<any>) => all.map((e) => (e.textContent as string).trim())
    )
  )

/** The ids of the workflow graph's nodes (React Flow). */
const graphNodes = (page: Page) =>
  run(async () => {
    await page.waitForSelector(".react-flow__node", { timeout: 15_000 })
    return page.$$eval(".react-flow__node", (all: Array<any>) =>
      all.map((e) => ({
        id: e.getAttribute("data-id") as string,
        kind: (e.className as string).includes("react-flow__node-step") ? "step" : "event"
      })))
  })

const fetchJson = (url: string) =>
  run(() => fetch(url).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> })))

/** Everything the page asked for came from our server, and nothing failed. */
const expectSelfContained = (base: string, observed: Observed) => {
  const origin = new URL(base).origin
  const elsewhere = observed.requests
    .map((r) => r.url())
    .filter((url) => !url.startsWith("data:") && new URL(url).origin !== origin)
  expect(elsewhere).toEqual([])
  const paths = observed.requests.map((r) => new URL(r.url()).pathname)
  expect(paths).toContain("/debugger/app.js")
  expect(paths).toContain("/debugger/app.css")
  expect(observed.failures).toEqual([])
  expect(observed.consoleErrors).toEqual([])
  expect(observed.pageErrors).toEqual([])
}

describe.skipIf(skipBrowser)("the Workflow Debugger in Chromium", () => {
  it.live("runs hitl from the UI, shows its graph and live events, and answers it", () =>
    Effect.scoped(Effect.gen(function*() {
      const base = yield* serve(served)
      const { observed, page } = yield* openPage

      const loaded = yield* run(() => page.goto(`${base}/`, { waitUntil: "load" }))
      expect(loaded?.status()).toBe(200)
      yield* waitForText(page, "Workflow Debugger", "Select workflow...")
      expect(yield* run(() => page.title())).toBe("workflow-debugger")

      // the workflows, as GET /workflows lists them
      yield* run(() => page.click(workflowSelect))
      yield* run(() => page.waitForSelector("[role=option]"))
      const options = yield* run(() =>
        page.$$eval("[role=option]", (all: Array<any>) => all.map((o) => (o.innerText as string).trim()))
      )
      expect(options).toEqual(["greet", "typed", "hitl", "waiter", "fails", "slow"])
      yield* run(() => page.keyboard.press("Escape"))
      yield* run(() => page.waitForFunction(() => document.querySelectorAll("[role=option]").length === 0))

      // a run: the handler is shown, running, with the workflow's graph
      const handlerId = yield* startRun(page, "hitl")
      yield* waitForText(page, "Run Details", handlerId, "running")
      const nodes = yield* graphNodes(page)
      expect(nodes.filter((n) => n.kind === "step").map((n) => n.id).sort()).toEqual(["answer", "ask"])
      expect(nodes.filter((n) => n.kind === "event").map((n) => n.id).sort()).toEqual([
        "HumanResponseEvent",
        "InputRequiredEvent",
        "StartEvent",
        "StopEvent"
      ])
      const waiting = yield* fetchJson(`${base}/handlers/${handlerId}`)
      expect(waiting).toMatchObject({ status: 202, body: { status: "running", workflow_name: "hitl" } })

      // show internal events too (StepStateChanged, StopEvent, ...)
      yield* run(() => page.click("#hide-internal"))
      yield* run(() => page.waitForSelector("#hide-internal[aria-checked=false]"))
      // the UI's EventSource is open by now; give the server a moment to subscribe it
      yield* Effect.sleep("500 millis")

      // the answer, through the "Send Event" dialog
      yield* clickButton(page, "Send Event")
      yield* run(() => page.waitForSelector("[role=dialog]"))
      yield* waitForText(page, "Send Event to Workflow")
      const eventTypes = yield* choose(page, "[role=dialog] [role=combobox]", "HumanResponseEvent")
      expect(eventTypes).toEqual(expect.arrayContaining(["HumanResponseEvent", "InputRequiredEvent", "StopEvent"]))
      yield* run(() => page.waitForSelector("[role=dialog] #field-response"))
      yield* run(() => page.type("[role=dialog] #field-response", "alice"))
      const sent = page.waitForResponse(
        (r) => r.url().endsWith(`/events/${handlerId}`) && r.request().method() === "POST",
        { timeout: 15_000 }
      )
      yield* run(() => page.click("[role=dialog] [da-cid=send-event]"))
      const sentResponse = yield* run(() => sent)
      expect(sentResponse.status()).toBe(200)
      expect(yield* run(() => sentResponse.json())).toEqual({ status: "sent" })
      // the UI sends the legacy form: the event as a JSON string, its fields under `data`
      const sentBody = JSON.parse(sentResponse.request().postData() ?? "{}")
      expect(JSON.parse(sentBody.event)).toEqual({ type: "HumanResponseEvent", data: { response: "alice" } })

      yield* waitForText(page, "Event sent successfully!")
      yield* run(() => page.keyboard.press("Escape"))
      yield* run(() => page.waitForSelector("[role=dialog]", { hidden: true, timeout: 10_000 }))

      // the run completes: its result, its status, and the events that arrived live
      yield* waitForText(page, "Final Result", "hello alice", "completed")
      yield* run(() =>
        page.waitForFunction(() => document.querySelectorAll("tr[data-event-index]").length >= 3, { timeout: 15_000 })
      )
      expect(yield* listedEvents(page)).toEqual(["StepStateChanged", "StepStateChanged", "StopEvent"])
      const text = yield* pageText(page)
      expect(text).toContain("Event Stream (3)")
      expect(text).toMatch(/"name": "answer",\s*"step_state": "running"/)

      const done = yield* fetchJson(`${base}/handlers/${handlerId}`)
      expect(done).toMatchObject({
        status: 200,
        body: { status: "completed", result: { type: "StopEvent", value: { result: "hello alice" } } }
      })

      yield* run(() => mkdir(artifacts, { recursive: true }))
      yield* run(() => page.screenshot({ path: join(artifacts, "debugger.png"), fullPage: true }))

      expectSelfContained(base, observed)
    })), 90_000)

  it.live("shows a slow run's events as they come", () =>
    Effect.scoped(Effect.gen(function*() {
      const base = yield* serve(served)
      const { observed, page } = yield* openPage
      yield* run(() => page.goto(`${base}/`, { waitUntil: "load" }))
      yield* waitForText(page, "Workflow Debugger", "Select workflow...")

      const handlerId = yield* startRun(page, "slow")
      const nodes = yield* graphNodes(page)
      expect(nodes.filter((n) => n.kind === "step").map((n) => n.id)).toEqual(["sleepy"])

      // a Tick is listed while the run is still going...
      yield* run(() =>
        page.waitForFunction(() => document.querySelectorAll("tr[data-event-index]").length >= 1, { timeout: 15_000 })
      )
      const early = yield* listedEvents(page)
      const during = yield* fetchJson(`${base}/handlers/${handlerId}`)
      expect(during.body["status"]).toBe("running")
      expect(early.length).toBeGreaterThanOrEqual(1)
      expect(early.length).toBeLessThan(3)
      // ...and more follow, until the result
      yield* waitForText(page, "Final Result", "slept", "completed")
      const all = yield* listedEvents(page)
      expect(all.length).toBeGreaterThan(early.length)
      expect(new Set(all)).toEqual(new Set(["Tick"]))
      const text = yield* pageText(page)
      expect(text).toMatch(/"n": 2/)

      expectSelfContained(base, observed)
    })), 90_000)
})
