/**
 * effect-workflows/testing: untilIdle, answerWith, collect, runAndCollect, under TestClock.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Data, Effect, Exit, Fiber, Option, Ref, Schedule, Schema, TestClock } from "effect"
import { Event, RetryPolicy, Step, Workflow, WorkflowError } from "effect-workflows"
import { WorkflowTest } from "effect-workflows/testing"

// -------------------------------------------------------------------------------------------------
// fixtures
// -------------------------------------------------------------------------------------------------

class Progress extends Schema.TaggedClass<Progress>()("Progress", { n: Schema.Number }) {}
class Boom extends Data.TaggedError("Boom")<{ readonly attempt: number }> {}

const { HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent } = Event

const tags = (events: ReadonlyArray<Event.AnyEvent>) => events.map(Event.tag)
const idleCount = (events: ReadonlyArray<Event.AnyEvent>) => events.filter(Event.is(Event.WorkflowIdleEvent)).length
/** Whether a forked fiber has finished (after the fibers woken so far have run). */
const isDone = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.zipRight(Effect.yieldNow(), Effect.map(Fiber.poll(fiber), Option.isSome))

/**
 * Works 1 second, asks (a waiter with an InputRequiredEvent), and does that again for each
 * answer until one is "stop"; then stops with the answers joined.
 */
const asker = (log: Ref.Ref<ReadonlyArray<string>>) =>
  Step.make("asker", { on: StartEvent, emits: [StopEvent] }, (_, ctx) =>
    Effect.gen(function*() {
      const answers: Array<string> = []
      for (let round = 1;; round++) {
        yield* Effect.sleep("1 second")
        yield* Ref.update(log, (entries) => [...entries, `asks ${round}`])
        const answer = yield* ctx.waitForEvent(HumanResponseEvent, {
          waiterId: `round-${round}`,
          waiterEvent: new InputRequiredEvent({ prefix: `Round ${round}?` })
        })
        answers.push(answer.response)
        if (answer.response === "stop") return new StopEvent({ result: answers.join(",") })
      }
    }))

// -------------------------------------------------------------------------------------------------
// the README's example ("Testing workflows"): the same code as there, imports apart (at the top)
// -------------------------------------------------------------------------------------------------

class Unavailable extends Data.TaggedError("Unavailable")<{}> {}
class Draft extends Schema.TaggedClass<Draft>()("Draft", { text: Schema.String }) {}

const attempts: Array<number> = [] // when each attempt began, in virtual millis
const fetchDraft = Step.make("fetch", {
  on: Event.StartEvent, emits: [Draft], retry: Schedule.exponential("1 second") // 1 s, 2 s, 4 s...
}, (_, ctx) => Effect.gen(function*() {
  attempts.push(yield* Clock.currentTimeMillis)
  if (ctx.retryInfo.attempt < 3) return yield* new Unavailable()
  return new Draft({ text: "v1" })
}))
const approve = Step.make("approve", { on: Draft, emits: [Event.StopEvent] }, (draft, ctx) =>
  Effect.map(ctx.waitForEvent(Event.HumanResponseEvent, {
    waiterEvent: new Event.InputRequiredEvent({ prefix: `Publish ${draft.text}?` })
  }), (answer) => new Event.StopEvent({ result: answer.response })))
const publish = Workflow.make({ name: "publish", steps: [fetchDraft, approve] })

it.scoped("retries with backoff, then a human approves", () => Effect.gen(function*() {
  const handler = yield* Workflow.start(publish)
  const idle = yield* Effect.fork(WorkflowTest.untilIdle(handler)) // a retry delay is not idle
  yield* TestClock.adjust("1 second") // attempt 2, at 1 s
  yield* TestClock.adjust("2 seconds") // attempt 3, at 3 s, succeeds: the run asks
  yield* Fiber.join(idle)
  expect(attempts).toEqual([0, 1000, 3000])
  const prompts = yield* WorkflowTest.answerWith(handler, () => "yes")
  expect(prompts.map((prompt) => prompt.prefix)).toEqual(["Publish v1?"])
  expect(yield* handler.result).toBe("yes")
}))

// -------------------------------------------------------------------------------------------------
// untilIdle
// -------------------------------------------------------------------------------------------------

describe("WorkflowTest.untilIdle", () => {
  it.scoped("completes at the idle point, not before; at once when called again with nothing new", () =>
    Effect.gen(function*() {
      const log = yield* Ref.make<ReadonlyArray<string>>([])
      const handler = yield* Workflow.start(Workflow.make({ name: "asker", steps: [asker(log)] }))
      const idle = yield* Effect.fork(WorkflowTest.untilIdle(handler))
      yield* TestClock.adjust("999 millis")
      expect(yield* isDone(idle)).toBe(false) // the step is still working
      expect(yield* Ref.get(log)).toEqual([])
      yield* TestClock.adjust("1 milli")
      yield* Fiber.join(idle)
      expect(yield* Ref.get(log)).toEqual(["asks 1"])
      expect(yield* handler.runningSteps).toEqual([])
      expect(yield* handler.isDone).toBe(false)
      // idle still: returns at once (a run that never goes idle again would hang the test)
      yield* WorkflowTest.untilIdle(handler)
      yield* WorkflowTest.untilIdle(handler)
      expect(yield* Clock.currentTimeMillis).toBe(1000)
      yield* handler.cancel
    }))

  it.scoped("a second call after an answer waits for the next idle point, not the old one", () =>
    Effect.gen(function*() {
      const log = yield* Ref.make<ReadonlyArray<string>>([])
      const handler = yield* Workflow.start(Workflow.make({ name: "asker", steps: [asker(log)] }))
      yield* TestClock.adjust("1 second")
      yield* WorkflowTest.untilIdle(handler)
      expect(yield* Ref.get(log)).toEqual(["asks 1"])

      // the answer resolves the waiter; the step resumes on its own fiber a moment later
      yield* handler.sendEvent(new HumanResponseEvent({ response: "a" }))
      const second = yield* Effect.fork(WorkflowTest.untilIdle(handler))
      yield* TestClock.adjust("999 millis")
      expect(yield* isDone(second)).toBe(false)
      expect(yield* Ref.get(log)).toEqual(["asks 1"])
      yield* TestClock.adjust("1 milli")
      yield* Fiber.join(second)
      expect(yield* Ref.get(log)).toEqual(["asks 1", "asks 2"])

      // the same once more, called at once after sendEvent (no fork)
      yield* handler.sendEvent(new HumanResponseEvent({ response: "b" }))
      const third = yield* Effect.fork(WorkflowTest.untilIdle(handler))
      expect(yield* isDone(third)).toBe(false)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(third)
      expect(yield* Ref.get(log)).toEqual(["asks 1", "asks 2", "asks 3"])
      yield* handler.sendEvent(new HumanResponseEvent({ response: "stop" }))
      expect(yield* handler.result).toBe("a,b,stop")
      expect(idleCount(yield* WorkflowTest.collect(handler, { internal: true }))).toBe(3)
    }))

  it.scoped("called at once after an answer, waits until the resumed step has gone on (with or without a wait timeout)", () =>
    Effect.gen(function*() {
      const log = yield* Ref.make<ReadonlyArray<string>>([])
      // no time passes: the resumed step goes on and waits again in one go
      const quick = Step.make("quick", { on: StartEvent, emits: [StopEvent] }, (_, ctx) =>
        Effect.gen(function*() {
          const first = yield* ctx.waitForEvent(HumanResponseEvent, { waiterId: "first" })
          yield* Ref.update(log, (entries) => [...entries, `got ${first.response}`])
          // a wait with a timeout resumes through a race: several fiber hops after the answer
          const second = yield* ctx.waitForEvent(HumanResponseEvent, { waiterId: "second", timeout: "1 hour" })
          yield* Ref.update(log, (entries) => [...entries, `got ${second.response}`])
          const third = yield* ctx.waitForEvent(HumanResponseEvent, { waiterId: "third" })
          return new StopEvent({ result: third.response })
        }))
      const handler = yield* Workflow.start(Workflow.make({ name: "quick", steps: [quick] }))
      yield* WorkflowTest.untilIdle(handler)
      yield* handler.sendEvent(new HumanResponseEvent({ response: "a" }))
      yield* WorkflowTest.untilIdle(handler)
      expect(yield* Ref.get(log)).toEqual(["got a"])
      yield* handler.sendEvent(new HumanResponseEvent({ response: "b" }))
      yield* WorkflowTest.untilIdle(handler)
      expect(yield* Ref.get(log)).toEqual(["got a", "got b"])
      yield* handler.sendEvent(new HumanResponseEvent({ response: "c" }))
      yield* WorkflowTest.untilIdle(handler)
      expect(yield* handler.isDone).toBe(true)
      expect(idleCount(yield* WorkflowTest.collect(handler, { internal: true }))).toBe(3)
      expect(yield* Clock.currentTimeMillis).toBe(0)
    }))

  it.scoped("completes when the run ends without ever being idle, and at once on an ended run", () =>
    Effect.gen(function*() {
      const slow = Step.make("slow", { on: StartEvent, emits: [StopEvent] }, () =>
        Effect.as(Effect.sleep("5 seconds"), new StopEvent({ result: "done" })))
      const handler = yield* Workflow.start(Workflow.make({ name: "slow", steps: [slow] }))
      const idle = yield* Effect.fork(WorkflowTest.untilIdle(handler))
      yield* TestClock.adjust("4 seconds")
      expect(yield* isDone(idle)).toBe(false)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(idle)
      expect(yield* handler.isDone).toBe(true)
      expect(yield* handler.result).toBe("done")
      expect(idleCount(yield* WorkflowTest.collect(handler, { internal: true }))).toBe(0)
      yield* WorkflowTest.untilIdle(handler)
    }))

  it.scoped("completes when the run fails, is cancelled or times out while working", () =>
    Effect.gen(function*() {
      const failing = Step.make("failing", { on: StartEvent, emits: [StopEvent] }, () =>
        Effect.zipRight(Effect.sleep("1 second"), Effect.fail(new Boom({ attempt: 1 }))))
      const failed = yield* Workflow.start(Workflow.make({ name: "failing", steps: [failing] }))
      const timedOut = yield* Workflow.start(
        Workflow.make({ name: "timed-out", steps: [failing], timeout: "500 millis" })
      )
      const waits = yield* Effect.fork(Effect.all([WorkflowTest.untilIdle(failed), WorkflowTest.untilIdle(timedOut)]))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(waits)
      expect(tags(yield* WorkflowTest.collect(failed)).at(-1)).toBe("WorkflowFailedEvent")
      expect(tags(yield* WorkflowTest.collect(timedOut)).at(-1)).toBe("WorkflowTimedOutEvent")

      const cancelled = yield* Workflow.start(Workflow.make({ name: "cancelled", steps: [failing] }))
      const wait = yield* Effect.fork(WorkflowTest.untilIdle(cancelled))
      expect(yield* isDone(wait)).toBe(false)
      yield* cancelled.cancel
      yield* Fiber.join(wait)
      expect(tags(yield* WorkflowTest.collect(cancelled))).toEqual(["WorkflowCancelledEvent"])
    }))

  it.scoped("a retry waiting out its delay is not idle, though no step is running", () =>
    Effect.gen(function*() {
      const failures = yield* Ref.make(0)
      const flaky = Step.make("flaky", {
        on: StartEvent,
        emits: [StopEvent],
        retry: RetryPolicy.constantDelay({ maximumAttempts: 2, delay: "10 seconds" })
      }, (_, ctx) =>
        Effect.gen(function*() {
          if (ctx.retryInfo.attempt === 1) {
            yield* Ref.update(failures, (n) => n + 1)
            return yield* new Boom({ attempt: 1 })
          }
          const answer = yield* ctx.waitForEvent(HumanResponseEvent)
          return new StopEvent({ result: answer.response })
        }))
      const handler = yield* Workflow.start(Workflow.make({ name: "flaky", steps: [flaky] }))
      const idle = yield* Effect.fork(WorkflowTest.untilIdle(handler))
      yield* TestClock.adjust("9 seconds")
      expect(yield* Ref.get(failures)).toBe(1)
      expect(yield* handler.runningSteps).toEqual([])
      expect(yield* isDone(idle)).toBe(false)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(idle)
      expect(yield* handler.runningSteps).toEqual([])
      yield* handler.sendEvent(new HumanResponseEvent({ response: "ok" }))
      expect(yield* handler.result).toBe("ok")
    }))
})

// -------------------------------------------------------------------------------------------------
// answerWith
// -------------------------------------------------------------------------------------------------

describe("WorkflowTest.answerWith", () => {
  it.scoped("answers two prompts in turn (index 0, 1) and the run completes with the answers", () =>
    Effect.gen(function*() {
      const log = yield* Ref.make<ReadonlyArray<string>>([])
      const handler = yield* Workflow.start(Workflow.make({ name: "asker", steps: [asker(log)] }))
      const seen: Array<[string, number]> = []
      const answering = yield* Effect.fork(WorkflowTest.answerWith(handler, (prompt, index) => {
        seen.push([prompt.prefix, index])
        return index === 0 ? "first" : "stop"
      }))
      yield* TestClock.adjust("1 second")
      expect(seen).toEqual([["Round 1?", 0]])
      yield* TestClock.adjust("1 second")
      const prompts = yield* Fiber.join(answering)
      expect(seen).toEqual([["Round 1?", 0], ["Round 2?", 1]])
      expect(prompts).toEqual([new InputRequiredEvent({ prefix: "Round 1?" }), new InputRequiredEvent({ prefix: "Round 2?" })])
      expect(yield* handler.result).toBe("first,stop")
      expect(yield* Ref.get(log)).toEqual(["asks 1", "asks 2"])
    }))

  it.scoped("answers with an Effect of an event, prompts published before it was called included", () =>
    Effect.gen(function*() {
      const ask = Step.make("ask", { on: StartEvent, emits: [InputRequiredEvent] }, () =>
        Effect.succeed(new InputRequiredEvent({ prefix: "Title?", payload: { max: 10 } })))
      const title = Step.make("title", { on: HumanResponseEvent, emits: [StopEvent] }, (ev) =>
        Effect.succeed(new StopEvent({ result: `titled ${ev.response} by ${String(ev.payload)}` })))
      const handler = yield* Workflow.start(Workflow.make({ name: "title", steps: [ask, title] }))
      yield* WorkflowTest.untilIdle(handler) // the prompt is out before answerWith starts reading
      const counter = yield* Ref.make(0)
      const prompts = yield* WorkflowTest.answerWith(handler, (prompt) =>
        Effect.map(
          Ref.updateAndGet(counter, (n) => n + 1),
          (n) => new HumanResponseEvent({ response: `${prompt.prefix} #${n}`, payload: "qa" })
        ))
      expect(tags(prompts)).toEqual(["InputRequiredEvent"])
      expect(prompts[0]?.payload).toEqual({ max: 10 })
      expect(yield* handler.result).toBe("titled Title? #1 by qa")
    }))

  it.scoped("fails with the answer's error; completes with no prompts on a run that never asks", () =>
    Effect.gen(function*() {
      const log = yield* Ref.make<ReadonlyArray<string>>([])
      const asking = yield* Workflow.start(Workflow.make({ name: "asker", steps: [asker(log)] }))
      const failing = yield* Effect.fork(
        WorkflowTest.answerWith(asking, (prompt) => Effect.fail(`cannot answer ${prompt.prefix}`))
      )
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.await(failing)).toEqual(Exit.fail("cannot answer Round 1?"))
      expect(yield* asking.isDone).toBe(false)
      yield* asking.cancel

      const echo = Step.make("echo", { on: StartEvent, emits: [StopEvent] }, (ev) =>
        Effect.succeed(new StopEvent({ result: ev.input })))
      const quiet = yield* Workflow.start(Workflow.make({ name: "echo", steps: [echo] }), new StartEvent({ input: 1 }))
      expect(yield* WorkflowTest.answerWith(quiet, () => "unused")).toEqual([])
    }))
})

// -------------------------------------------------------------------------------------------------
// collect, runAndCollect
// -------------------------------------------------------------------------------------------------

describe("WorkflowTest.collect", () => {
  it.scoped("gives the whole stream, from the start, whenever it is called; internal events on demand", () =>
    Effect.gen(function*() {
      const progress = Step.make("progress", { on: StartEvent, emits: [StopEvent] }, (_, ctx) =>
        Effect.gen(function*() {
          yield* ctx.writeEventToStream(new Progress({ n: 1 }))
          yield* Effect.sleep("1 second")
          yield* ctx.writeEventToStream(new Progress({ n: 2 }))
          return new StopEvent({ result: "done" })
        }))
      const handler = yield* Workflow.start(Workflow.make({ name: "progress", steps: [progress] }))
      yield* TestClock.adjust("500 millis")
      const during = yield* Effect.fork(WorkflowTest.collect(handler)) // subscribes after Progress 1
      yield* TestClock.adjust("500 millis")
      const expected = [new Progress({ n: 1 }), new Progress({ n: 2 }), new StopEvent({ result: "done" })]
      expect(yield* Fiber.join(during)).toEqual(expected)
      expect(yield* WorkflowTest.collect(handler)).toEqual(expected)
      const internal = yield* WorkflowTest.collect(handler, { internal: true })
      expect(tags(internal)).toEqual(["StepStateChanged", "Progress", "Progress", "StepStateChanged", "StopEvent"])
      expect(internal[0]).toEqual(
        new Event.StepStateChanged({ name: "progress", stepState: "running", workerId: "0", inputEventName: "StartEvent" })
      )
    }))
})

describe("WorkflowTest.runAndCollect", () => {
  it.effect("answers, and returns the result as an Exit with the whole stream", () =>
    Effect.gen(function*() {
      const ask = Step.make("ask", { on: StartEvent, emits: [InputRequiredEvent] }, (ev) =>
        Effect.succeed(new InputRequiredEvent({ prefix: `Title for ${String(ev.input)}?` })))
      const title = Step.make("title", { on: HumanResponseEvent, emits: [StopEvent] }, (answer) =>
        Effect.succeed(new StopEvent({ result: `titled ${answer.response}` })))
      const wf = Workflow.make({ name: "title", steps: [ask, title] })
      const { events, result } = yield* WorkflowTest.runAndCollect(wf, new StartEvent({ input: "a post" }), {
        runId: "run-1",
        answer: (prompt) => prompt.prefix === "Title for a post?" ? "Effect" : "?"
      })
      expect(result).toEqual(Exit.succeed("titled Effect"))
      expect(events).toEqual([
        new InputRequiredEvent({ prefix: "Title for a post?" }),
        new StopEvent({ result: "titled Effect" })
      ])
      const internal = yield* WorkflowTest.runAndCollect(wf, undefined, { internal: true, answer: () => "x" })
      expect(internal.result).toEqual(Exit.succeed("titled x"))
      expect(tags(internal.events)).toContain("WorkflowIdleEvent")
      expect(tags(internal.events)).toContain("StepStateChanged")
    }))

  it.effect("a retry with backoff (RetryPolicy.fromNext) driven by TestClock.adjust: each attempt at its virtual time", () =>
    Effect.gen(function*() {
      const times = yield* Ref.make<ReadonlyArray<number>>([])
      const flaky = Step.make("flaky", {
        on: StartEvent,
        emits: [StopEvent],
        // 100 ms after the first failure, 200 ms after the second, 300 ms after the third, then gives up
        retry: RetryPolicy.fromNext((_, attempts) => attempts < 4 ? `${attempts * 100} millis` : undefined)
      }, (_, ctx) =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          yield* Ref.update(times, (list) => [...list, now])
          return yield* new Boom({ attempt: ctx.retryInfo.attempt })
        }))
      const fiber = yield* Effect.fork(WorkflowTest.runAndCollect(Workflow.make({ name: "flaky", steps: [flaky] })))
      yield* TestClock.adjust("99 millis")
      expect(yield* Ref.get(times)).toEqual([0])
      yield* TestClock.adjust("1 milli")
      expect(yield* Ref.get(times)).toEqual([0, 100])
      yield* TestClock.adjust("199 millis")
      expect(yield* Ref.get(times)).toEqual([0, 100])
      yield* TestClock.adjust("1 milli")
      expect(yield* Ref.get(times)).toEqual([0, 100, 300])
      expect(yield* isDone(fiber)).toBe(false)
      yield* TestClock.adjust("300 millis")
      expect(yield* Ref.get(times)).toEqual([0, 100, 300, 600])
      const { events, result } = yield* Fiber.join(fiber)
      expect(result).toEqual(Exit.fail(new Boom({ attempt: 4 })))
      const failed = events.at(-1)
      expect(failed).toBeInstanceOf(Event.WorkflowFailedEvent)
      expect(failed).toMatchObject({ stepName: "flaky", attempts: 4, elapsedSeconds: 0.6 })
    }))

  it.effect("a failed run is an Exit to assert on; a workflow that cannot start fails; a failed answer fails", () =>
    Effect.gen(function*() {
      const failing = Step.make("failing", { on: StartEvent, emits: [StopEvent] }, () =>
        Effect.fail(new Boom({ attempt: 1 })))
      const failed = yield* WorkflowTest.runAndCollect(Workflow.make({ name: "failing", steps: [failing] }))
      expect(failed.result).toEqual(Exit.fail(new Boom({ attempt: 1 })))
      expect(tags(failed.events)).toEqual(["WorkflowFailedEvent"])

      const empty = yield* Effect.flip(WorkflowTest.runAndCollect(Workflow.make({ name: "empty", steps: [] })))
      expect(empty).toBeInstanceOf(WorkflowError.WorkflowConfigurationError)

      const log = yield* Ref.make<ReadonlyArray<string>>([])
      const asking = Workflow.make({ name: "asker", steps: [asker(log)] })
      const fiber = yield* Effect.fork(
        WorkflowTest.runAndCollect(asking, undefined, { answer: () => Effect.fail("no answer" as const) })
      )
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.await(fiber)).toEqual(Exit.fail("no answer"))
    }))
})
