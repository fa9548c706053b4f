/**
 * Runs every program in `examples/` as a child process (`node --import tsx examples/NAME.ts`)
 * and checks its exit code and every line of its output. A new example is picked up from the
 * directory listing and fails until its expected output is added to the table below.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { execFile } from "node:child_process"
import { readdirSync } from "node:fs"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

/**
 * Not programs that print and exit: `main.ts` is the examples' shared `isMain` helper, and
 * `server.ts` serves every example's workflows until stopped (tested by test/cli.test.ts).
 */
const notExamples: ReadonlyArray<string> = ["main", "server"]

const examples = readdirSync(new URL("../examples/", import.meta.url))
  .filter((file) => file.endsWith(".ts"))
  .map((file) => file.slice(0, -".ts".length))
  .filter((name) => !notExamples.includes(name))
  .sort()

/** Example name → the exact lines it prints on stdout. */
const expectedOutput: Readonly<Record<string, ReadonlyArray<string>>> = {
  "fan-out-fan-in": [
    "chunk 0: 9 words",
    "chunk 1: 4 words",
    "chunk 2: 5 words",
    "chunk 3: 6 words",
    "chunk 4: 5 words",
    "chunk 5: 6 words",
    "chunk 6: 4 words",
    "chunk 7: 6 words",
    "chunk 8: 4 words",
    "chunk 9: 3 words",
    "chunks collected: 10",
    "max concurrent workers: 3",
    "total words: 52"
  ],
  "human-in-the-loop": [
    "[publish-with-wait] asks: Publish this draft? (yes/no)",
    "[publish-with-wait] human answers: yes",
    "[publish-with-wait] result: \"Effect in 10 minutes\" published",
    "[publish-with-wait] published: InputRequiredEvent, StopEvent",
    "[title-with-steps] asks: Title for \"Effect in 10 minutes\"?",
    "[title-with-steps] human answers: Typed errors for humans",
    "[title-with-steps] result: titled \"Typed errors for humans\"",
    "[title-with-steps] published: InputRequiredEvent, StopEvent",
    "[title-with-pause] asks: Title for \"Effect in 10 minutes\"?",
    "[title-with-pause] paused to a JSON file (isRunning: true)",
    "[title-with-pause] resumed, human answers: Typed errors for humans",
    "[title-with-pause] result: titled \"Typed errors for humans\"",
    "[title-with-pause] executions: ask 1, title 1"
  ],
  "quickstart": [
    "event: Draft",
    "event: Done",
    "verdict: short and sweet",
    "stored: Why did the pirate cross the road? To get to the other tide."
  ],
  "resources-as-layers": [
    "llm: client acquired",
    "llm: call 1: outline a talk",
    "llm: call 2: expand the outline in reply 1",
    "writer: a talk -> reply 2",
    "llm: call 3: outline a blog post",
    "llm: call 4: expand the outline in reply 3",
    "writer: a blog post -> reply 4",
    "llm: client released",
    "db: connection 1 opened",
    "db: connection 1 closed",
    "db: connection 2 opened",
    "db: connection 2 closed",
    "db: connection 3 opened",
    "db: connection 3 closed",
    "queries: select 1 on connection 1; select 2 on connection 2; select 3 on connection 3"
  ],
  "retries-and-timeouts": [
    "flaky: attempt 1, elapsed 0 ms, last error: none",
    "flaky: attempt 2, elapsed >= 100 ms, last error: FlakyError on attempt 1",
    "flaky: attempt 3, elapsed >= 200 ms, last error: FlakyError on attempt 2",
    "flaky: succeeded on attempt 3",
    "slow: WorkflowFailedEvent step=slow attempts=2 error=TimeoutException",
    "slow: run failed with TimeoutException: Operation timed out after '50ms'",
    "approval: WorkflowTimeoutError: Operation timed out after 0.2 seconds. No steps active",
    "approval: active steps: [] (a waiting step holds no worker)"
  ],
  "tracing": [
    "log INFO: planning {workflow.name=research, workflow.run_id=run-1, workflow.step=plan}",
    "log INFO: searching for effect tracing {workflow.name=research, workflow.run_id=run-1, workflow.step=search}",
    "log INFO: searching for effect tracing {workflow.name=research, workflow.run_id=run-1, workflow.step=search}",
    "log INFO: summarizing {workflow.name=research, workflow.run_id=run-1, workflow.step=summarize}",
    "log WARN: summarize failed: Unavailable {workflow.name=research, workflow.run_id=run-1, workflow.step=fallback}",
    "result: 3 hits, no summary (Unavailable)",
    "run span: workflow.name=research, workflow.run_id=run-1",
    "span: main",
    "span:   workflow research (outcome completed)",
    "span:     step plan (attempt 1, StartEvent -> Query)",
    "span:     step search (attempt 1, Query -> nothing, error)",
    "span:     step search (attempt 2, Query -> Found)",
    "span:       index.query",
    "span:     step summarize (attempt 1, Found -> nothing, error)",
    "span:     step fallback (attempt 1, StepFailedEvent -> StopEvent)",
    "metrics: runs completed 1, search executions 2"
  ],
  "typed-state": [
    "result: Hello Ada, visit #1",
    "result: Hello Grace, visit #2",
    "final state: count 2, 4 log lines",
    "log: greeted Ada",
    "log: visit 1 done",
    "log: greeted Grace",
    "log: visit 2 done",
    "fresh store: Hello Linus, visit #1"
  ]
}

interface Outcome {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

/** `node --import tsx examples/NAME.ts` from the repository root; kills the child on interruption. */
const runExample = (name: string) =>
  Effect.async<Outcome, Error>((resume) => {
    const child = execFile(
      process.execPath,
      ["--import", "tsx", `examples/${name}.ts`],
      { cwd: root, timeout: 25_000, env: { ...process.env, NO_COLOR: "1" } },
      (error, stdout, stderr) => {
        if (error === null) return resume(Effect.succeed({ exitCode: 0, stdout, stderr }))
        // a non-zero exit has a numeric code; a spawn failure or a kill (timeout) has none
        if (typeof error.code === "number") return resume(Effect.succeed({ exitCode: error.code, stdout, stderr }))
        resume(Effect.fail(new Error(`examples/${name}.ts did not run: ${error.message}\n${stderr}`)))
      }
    )
    return Effect.sync(() => {
      child.kill()
    })
  })

const lines = (output: string): ReadonlyArray<string> => {
  const all = output.split("\n")
  return all[all.length - 1] === "" ? all.slice(0, -1) : all
}

describe("examples", () => {
  it("finds the examples", () => {
    expect(examples).toContain("quickstart")
  })

  it("has no expected output for an example that does not exist", () => {
    expect(Object.keys(expectedOutput).filter((name) => !examples.includes(name))).toEqual([])
  })

  for (const name of examples) {
    it.live(`examples/${name}.ts prints its expected output and exits with 0`, () =>
      Effect.gen(function*() {
        const expected = expectedOutput[name]
        expect(expected, `no expected output for examples/${name}.ts in test/examples.test.ts`).toBeDefined()
        const outcome = yield* runExample(name)
        expect(outcome.exitCode, `exit code of examples/${name}.ts; stderr:\n${outcome.stderr}`).toBe(0)
        expect(lines(outcome.stdout)).toEqual(expected)
      }), 30_000)
  }
})
