/**
 * Retries and timeouts: (1) a flaky step that fails twice and succeeds on its third attempt under
 * `RetryPolicy.constantDelay`, printing `ctx.retryInfo` on each attempt; (2) a step whose
 * attempts exceed their `timeout`, retried once with `Schedule.recurs(1)` and then failing the
 * run (`WorkflowFailedEvent` on the stream, the step's error from `result`); (3) a run timeout
 * while a step waits for an answer that never comes (`WorkflowTimeoutError`).
 *
 * Run with: npx tsx examples/retries-and-timeouts.ts (served with the other examples by
 * examples/server.ts)
 */
import { Console, Data, Duration, Effect, Option, Schedule, Stream } from "effect"
import { Event, RetryPolicy, Step, Workflow, WorkflowError } from "effect-workflows"
import { isMain } from "./main.js"

class FlakyError extends Data.TaggedError("FlakyError")<{ readonly attempt: number }> {}

/** Real time varies between runs: print the lower bound it must reach, not the measured value. */
const atLeast = (elapsed: Duration.Duration, millis: number) => {
  const measured = Duration.toMillis(elapsed)
  if (millis === 0) return `${measured} ms`
  return measured >= millis - 5 ? `>= ${millis} ms` : `${measured} ms (expected >= ${millis} ms)`
}

const describeError = (error: Option.Option<unknown>) =>
  Option.match(error, {
    onNone: () => "none",
    onSome: (e) => e instanceof FlakyError ? `FlakyError on attempt ${e.attempt}` : String(e)
  })

// (1) fails on attempts 1 and 2, succeeds on attempt 3
const flaky = Step.make("flaky", {
  on: Event.StartEvent,
  emits: [Event.StopEvent],
  retry: RetryPolicy.constantDelay({ maximumAttempts: 3, delay: "100 millis" })
}, (_, ctx) =>
  Effect.gen(function*() {
    const { attempt, elapsed, lastError } = ctx.retryInfo
    const since = atLeast(elapsed, (attempt - 1) * 100)
    yield* Console.log(`flaky: attempt ${attempt}, elapsed ${since}, last error: ${describeError(lastError)}`)
    if (attempt < 3) return yield* new FlakyError({ attempt })
    return new Event.StopEvent({ result: `succeeded on attempt ${attempt}` })
  }))

// (2) every attempt takes 1 second but may only take 50 ms
const slow = Step.make("slow", {
  on: Event.StartEvent,
  emits: [Event.StopEvent],
  timeout: "50 millis",
  retry: Schedule.recurs(1)
}, () => Effect.as(Effect.sleep("1 second"), new Event.StopEvent({ result: "too late" })))

// (3) waits for a human who never answers; the run gives up after 200 ms
const approval = Step.make("approval", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
  Effect.map(ctx.waitForEvent(Event.HumanResponseEvent), (answer) => new Event.StopEvent({ result: answer.response })))

export const flakyWorkflow = Workflow.make({ name: "flaky", steps: [flaky] })
export const slowWorkflow = Workflow.make({ name: "slow", steps: [slow] })
export const approvalWorkflow = Workflow.make({ name: "approval", steps: [approval], timeout: "200 millis" })

const program = Effect.gen(function*() {
  const flakyResult = yield* Workflow.run(flakyWorkflow)
  yield* Console.log(`flaky: ${String(flakyResult)}`)

  yield* Effect.scoped(Effect.gen(function*() {
    const handler = yield* Workflow.start(slowWorkflow)
    yield* Stream.runForEach(handler.events, (ev) => {
      if (!Event.is(ev, Event.WorkflowFailedEvent)) return Console.log(`slow: ${ev._tag}`)
      const errorTag = (ev.error as { readonly _tag: string })._tag
      return Console.log(`slow: ${ev._tag} step=${ev.stepName} attempts=${ev.attempts} error=${errorTag}`)
    })
    const error = yield* Effect.flip(handler.result)
    yield* Console.log(`slow: run failed with ${error._tag}: ${error.message}`)
  }))

  const error = yield* Effect.flip(Workflow.run(approvalWorkflow))
  yield* Console.log(`approval: ${error._tag}: ${error.message}`)
  if (error instanceof WorkflowError.WorkflowTimeoutError) {
    yield* Console.log(`approval: active steps: [${error.activeSteps.join(", ")}] (a waiting step holds no worker)`)
  }
})

if (isMain(import.meta.url)) Effect.runPromise(program)
