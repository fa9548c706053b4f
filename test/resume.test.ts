/**
 * Snapshots of running workflows and `Workflow.resume`: a run stops in one scope and goes on in
 * another, through JSON, with nothing lost.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { Event, RetryPolicy, Serializer, Snapshot, Step, Workflow, WorkflowError } from "effect-workflows"
import type { WorkflowHandler } from "effect-workflows"
import { collect, tags, waitFor } from "./utils/streams.js"

class Item extends Schema.TaggedClass<Item>()("Item", { n: Schema.Number }) {}
class Result extends Schema.TaggedClass<Result>()("Result", { n: Schema.Number }) {}
class Ask extends Schema.TaggedClass<Ask>()("Ask", { total: Schema.Number }) {}

class Flaky extends Schema.TaggedError<Flaky>()("Flaky", { n: Schema.Number }) {}

type Counts = Map<string, number>

const count = (counts: Counts, key: string) => Effect.sync(() => counts.set(key, (counts.get(key) ?? 0) + 1))

/**
 * A workflow with a fan-out, a retry, a collect buffer and a waiter. On a clock:
 * t=0 start sends Item 0..3; `work` (2 workers) takes 1 s per item, Item 2 fails its first
 * attempt (retried 2 s later); t=5 `gather` has all four results, t=6 it asks; `approve` waits
 * for the answer (given at t=7), then takes 1 s more before it stops.
 */
const pipeline = (counts: Counts) => {
  const start = Step.make("start", { on: Event.StartEvent, emits: [Item] }, (_, ctx) =>
    Effect.zipRight(
      count(counts, "start"),
      Effect.forEach([0, 1, 2, 3], (n) => ctx.sendEvent(new Item({ n })), { discard: true })
    ))
  const work = Step.make(
    "work",
    { on: Item, emits: [Result], workers: 2, retry: RetryPolicy.constantDelay({ maximumAttempts: 3, delay: "2 seconds" }) },
    (ev, ctx) =>
      Effect.gen(function*() {
        yield* count(counts, `work:${ev.n}`)
        yield* Effect.sleep("1 second")
        if (ev.n === 2 && ctx.retryInfo.attempt === 1) return yield* new Flaky({ n: ev.n })
        yield* ctx.store.edit((state: any) => ({ ...state, done: (state.done ?? 0) + 1 }))
        return new Result({ n: ev.n * 10 })
      })
  )
  const expected = [Result, Result, Result, Result] as const
  const gather = Step.make("gather", { on: Result, emits: [Ask], workers: 1 }, (ev, ctx) =>
    Effect.gen(function*() {
      yield* count(counts, `gather:${ev.n}`)
      const all = yield* ctx.collectEvents(ev, expected)
      if (Option.isNone(all)) return undefined
      // in flight a while with the set it took out of the buffer
      yield* Effect.sleep("1 second")
      return new Ask({ total: all.value.reduce((sum, r) => sum + r.n, 0) })
    }))
  const approve = Step.make("approve", { on: Ask, emits: [Event.StopEvent] }, (ev, ctx) =>
    Effect.gen(function*() {
      yield* count(counts, "approve")
      const answer = yield* ctx.waitForEvent(Event.HumanResponseEvent, {
        waiterEvent: new Event.InputRequiredEvent({ prefix: `approve ${ev.total}?` })
      })
      yield* Effect.sleep("1 second")
      return new Event.StopEvent({ result: `${ev.total}:${answer.response}` })
    }))
  return Workflow.make({ name: "pipeline", steps: [start, work, gather, approve], timeout: null })
}

const answer = new Event.HumanResponseEvent({ response: "ok" })

/** Seconds at which the first run is answered (when the cut comes later). */
const answerAt = 7

/** Drives a run second by second, answering it at `answerAt`, from `from` to `to` seconds. */
const drive = (handler: WorkflowHandler.WorkflowHandler<any, any, any>, from: number, to: number) =>
  Effect.gen(function*() {
    for (let t = from; t < to; t++) {
      if (t === answerAt) yield* Effect.ignore(handler.sendEvent(answer))
      yield* TestClock.adjust("1 second")
    }
  })

describe("Workflow.resume", () => {
  it.effect("a round trip through JSON at every cut point gives the same result, nothing lost", () =>
    Effect.gen(function*() {
      // the reference: one run, no snapshot
      const referenceCounts: Counts = new Map()
      const reference = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(pipeline(referenceCounts))
        yield* drive(handler, 0, 12)
        return { result: yield* handler.result, state: yield* handler.store.getState }
      }))
      expect(reference.result).toBe("60:ok")
      expect(reference.state).toEqual({ done: 4 })
      expect(referenceCounts.get("work:2")).toBe(2)

      for (let cut = 0; cut <= 9; cut++) {
        const counts: Counts = new Map()
        const wf = pipeline(counts)
        const json = yield* Effect.scoped(Effect.gen(function*() {
          const handler = yield* Workflow.start(wf)
          yield* drive(handler, 0, cut)
          return Snapshot.toJson(yield* handler.snapshot)
        }))
        const snapshot = yield* Snapshot.fromJson(json)
        if (!snapshot.isRunning) continue
        const inFlight = Object.entries(snapshot.steps).flatMap(([name, step]) =>
          step.inProgress.map((attempt) => `${name}:${JSON.stringify(attempt.event)}`)
        )
        const resumed = yield* Effect.scoped(Effect.gen(function*() {
          const handler = yield* Workflow.resume(wf, json)
          expect(handler.runId).toBe(snapshot.runId)
          yield* drive(handler, cut, 12 + cut)
          if (!(yield* handler.isDone)) {
            yield* handler.sendEvent(answer)
            yield* TestClock.adjust("2 seconds")
          }
          return { result: yield* handler.result, state: yield* handler.store.getState, events: yield* collect(handler.events) }
        }))
        expect(resumed.result, `cut ${cut}`).toBe(reference.result)
        expect(resumed.state, `cut ${cut}`).toEqual(reference.state)
        // every execution ran as often as in the reference, or once more if it was in flight
        for (const [key, times] of referenceCounts) {
          const got = counts.get(key) ?? 0
          expect(got, `cut ${cut}: ${key}`).toBeGreaterThanOrEqual(times)
          expect(got, `cut ${cut}: ${key}`).toBeLessThanOrEqual(times + inFlight.length)
        }
        const extra = [...counts].reduce((sum, [key, times]) => sum + times - (referenceCounts.get(key) ?? 0), 0)
        expect(extra, `cut ${cut}`).toBeLessThanOrEqual(inFlight.length)
        // a waiter event already published is not published again
        const asked = snapshot.steps.approve?.waiters.some((w) => w.waiterEventPublished) ?? false
        expect(tags(resumed.events).includes("InputRequiredEvent"), `cut ${cut}`).toBe(!asked)
      }
    }))

  it.effect("snapshot while waiting, cancel, resume in a fresh scope, answer: completes; no waiter left", () =>
    Effect.gen(function*() {
      const counts: Counts = new Map()
      const ask = Step.make("ask", { on: Event.StartEvent, emits: [Event.StopEvent] }, (ev, ctx) =>
        Effect.gen(function*() {
          yield* count(counts, "ask")
          const reply = yield* ctx.waitForEvent(Event.HumanResponseEvent, {
            waiterEvent: new Event.InputRequiredEvent({ prefix: "name?" })
          })
          return new Event.StopEvent({ result: `${String(ev.input)} ${reply.response}` })
        }))
      const wf = Workflow.make({ name: "hitl", steps: [ask] })
      const paused = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf, new Event.StartEvent({ input: "hello" }), { runId: "run-7" })
        yield* waitFor(handler, Event.is(Event.InputRequiredEvent))
        yield* handler.cancel
        return yield* handler.snapshot
      }))
      expect(paused.isRunning).toBe(true)
      expect(paused.runId).toBe("run-7")
      expect(paused.steps.ask?.waiters).toMatchObject([
        { awaited: "HumanResponseEvent", waiterEventPublished: true, resolved: null }
      ])
      const finished = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.resume(wf, paused)
        // the restored waiter takes an answer sent at once
        yield* handler.sendEvent(new Event.HumanResponseEvent({ response: "world" }))
        const result = yield* handler.result
        return { result, snapshot: yield* handler.snapshot, events: yield* collect(handler.events) }
      }))
      expect(finished.result).toBe("hello world")
      expect(finished.snapshot.isRunning).toBe(false)
      expect(finished.snapshot.steps).toEqual({})
      expect(tags(finished.events)).toEqual(["StopEvent"])
      // the step ran before the pause and once more after it (its wait is not replayed in-process)
      expect(counts.get("ask")).toBe(2)
      expect(finished.snapshot.streamSequence).toBeGreaterThan(paused.streamSequence)
    }))

  it.effect("a waiter on a class of the workflow's `events`, with requirements, is restored and matched structurally", () =>
    Effect.gen(function*() {
      class Approval extends Schema.TaggedClass<Approval>()("Approval", {
        ticket: Schema.Struct({ id: Schema.Number }),
        ok: Schema.Boolean
      }) {}
      const step = Step.make("ask", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
        Effect.map(
          ctx.waitForEvent(Approval, { requirements: { ticket: { id: 7 } } }),
          (approval) => new Event.StopEvent({ result: approval.ok })
        ))
      const wf = Workflow.make({ name: "approval", steps: [step], events: [Approval] })
      const json = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf)
        yield* TestClock.adjust("1 millis")
        return Snapshot.toJson(yield* handler.snapshot)
      }))
      expect(JSON.parse(json).steps.ask.waiters).toMatchObject([
        { awaited: "Approval", requirements: { ticket: { id: 7 } }, hasRequirements: true }
      ])
      const result = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.resume(wf, json)
        yield* handler.sendEvent(new Approval({ ticket: { id: 8 }, ok: false }))
        yield* handler.sendEvent(new Approval({ ticket: { id: 7 }, ok: true }))
        return yield* handler.result
      }))
      expect(result).toBe(true)
      // without `events`, the workflow does not know the class a snapshot names
      const unknown = Workflow.make({ name: "approval", steps: [step] })
      const error = yield* Effect.flip(Effect.scoped(Workflow.resume(unknown, json)))
      expect(error.message).toContain("Approval")
    }))

  it.effect("a snapshot taken during a retry delay keeps the attempt count and the due time", () =>
    Effect.gen(function*() {
      const attempts: Array<number> = []
      const step = Step.make(
        "flaky",
        { on: Event.StartEvent, emits: [Event.StopEvent], retry: RetryPolicy.constantDelay({ maximumAttempts: 3, delay: "10 seconds" }) },
        (_, ctx) =>
          Effect.gen(function*() {
            attempts.push(ctx.retryInfo.attempt)
            if (ctx.retryInfo.attempt < 3) return yield* new Flaky({ n: ctx.retryInfo.attempt })
            return new Event.StopEvent({ result: ctx.retryInfo.attempt })
          })
      )
      const wf = Workflow.make({ name: "retry-snapshot", steps: [step], timeout: null })
      const snapshot = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf)
        yield* TestClock.adjust("3 seconds")
        return yield* handler.snapshot
      }))
      expect(snapshot.steps.flaky?.queue).toMatchObject([
        { failures: 1, retryAt: 10_000, lastError: { _tag: "Flaky", message: "{ \"n\": 1 }" } }
      ])
      const result = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.resume(wf, Snapshot.toJson(snapshot))
        yield* TestClock.adjust("6 seconds")
        expect(attempts).toEqual([1])
        yield* TestClock.adjust("1 second")
        expect(attempts).toEqual([1, 2])
        yield* TestClock.adjust("10 seconds")
        return yield* handler.result
      }))
      // three executions in total, as the policy allows
      expect(result).toBe(3)
      expect(attempts).toEqual([1, 2, 3])
    }))

  it.effect("a finished run's snapshot starts a new run that carries the state over: 1, 2, 3", () =>
    Effect.gen(function*() {
      const step = Step.make("inc", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
        Effect.map(
          ctx.store.edit((state: any) => ({ count: (state.count ?? 0) + 1 })),
          (state: any) => new Event.StopEvent({ result: state.count })
        ))
      const wf = Workflow.make({ name: "accumulate", steps: [step] })
      const results: Array<unknown> = []
      let snapshot: unknown = undefined
      const runIds = new Set<string>()
      for (let i = 0; i < 3; i++) {
        snapshot = yield* Effect.scoped(Effect.gen(function*() {
          const handler = snapshot === undefined ? yield* Workflow.start(wf) : yield* Workflow.resume(wf, snapshot)
          results.push(yield* handler.result)
          runIds.add(handler.runId)
          return Snapshot.toJson(yield* handler.snapshot)
        }))
      }
      expect(results).toEqual([1, 2, 3])
      expect(runIds.size).toBe(3)
    }))

  it.effect("typed state (a class with defaults) round trips through the snapshot", () =>
    Effect.gen(function*() {
      class Counter extends Schema.Class<Counter>("Counter")({
        count: Schema.optionalWith(Schema.Number, { default: () => 0 }),
        seen: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
      }) {}
      const step = Step.make("step", { on: Event.StartEvent, emits: [Event.StopEvent], state: Counter }, (ev, ctx) =>
        Effect.gen(function*() {
          const state = yield* ctx.store.edit((s) => new Counter({ count: s.count + 1, seen: [...s.seen, String(ev.input)] }))
          yield* ctx.waitForEvent(Event.HumanResponseEvent)
          return new Event.StopEvent({ result: state })
        }))
      const wf = Workflow.make({ name: "typed", steps: [step], state: Counter })
      const snapshot = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf, new Event.StartEvent({ input: "a" }))
        yield* TestClock.adjust("1 millis")
        return yield* handler.snapshot
      }))
      expect(snapshot.state).toEqual({ count: 1, seen: ["a"] })
      const state = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.resume(wf, Snapshot.toJson(snapshot))
        const before = yield* handler.store.getState
        expect(before).toBeInstanceOf(Counter)
        expect(before).toEqual(new Counter({ count: 1, seen: ["a"] }))
        yield* handler.sendEvent(new Event.HumanResponseEvent({ response: "" }))
        return yield* handler.result
      }))
      // the step re-executed from its input: the state went on from the snapshot's
      expect(state).toEqual(new Counter({ count: 2, seen: ["a", "a"] }))
    }))

  it.effect("dict state with Map and Date values round trips under Serializer.structured", () =>
    Effect.gen(function*() {
      const when = new Date("2026-01-02T03:04:05.000Z")
      const step = Step.make("step", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
        Effect.gen(function*() {
          yield* ctx.store.set("index", new Map([["a", 1], ["b", 2]]))
          yield* ctx.store.set("when", when)
          yield* ctx.waitForEvent(Event.HumanResponseEvent)
          return new Event.StopEvent({ result: yield* ctx.store.getState })
        }))
      const wf = Workflow.make({ name: "structured", steps: [step] })
      const json = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf)
        yield* TestClock.adjust("1 millis")
        return Snapshot.toJson(yield* handler.snapshot)
      })).pipe(Effect.provide(Serializer.structured))
      const state = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.resume(wf, json)
        const restored = (yield* handler.store.getState) as any
        expect(restored.index).toEqual(new Map([["a", 1], ["b", 2]]))
        expect(restored.when).toEqual(when)
        yield* handler.sendEvent(new Event.HumanResponseEvent({ response: "" }))
        return yield* handler.result
      })).pipe(Effect.provide(Serializer.structured))
      expect((state as any).when).toEqual(when)
    }))

  it.effect("a value no serializer can encode fails the snapshot with the state key named", () =>
    Effect.gen(function*() {
      const step = Step.make("step", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
        Effect.gen(function*() {
          yield* ctx.store.set("callback", () => 1)
          yield* ctx.waitForEvent(Event.HumanResponseEvent)
          return new Event.StopEvent({ result: 1 })
        }))
      const wf = Workflow.make({ name: "function-state", steps: [step] })
      for (const serializer of [Serializer.json, Serializer.structured]) {
        const error = yield* Effect.scoped(Effect.gen(function*() {
          const handler = yield* Workflow.start(wf)
          yield* TestClock.adjust("1 millis")
          return yield* Effect.flip(handler.snapshot)
        })).pipe(Effect.provide(serializer))
        expect(error._tag).toBe("ContextSerdeError")
        expect(error.message).toContain("'callback'")
      }
    }))

  it.effect("another workflow's snapshot, a bad document or unknown step fails with ContextSerdeError", () =>
    Effect.gen(function*() {
      const step = Step.make("step", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
        Effect.as(ctx.waitForEvent(Event.HumanResponseEvent), new Event.StopEvent({ result: 1 })))
      const wf = Workflow.make({ name: "mine", steps: [step] })
      const other = Workflow.make({ name: "other", steps: [step] })
      const snapshot = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(other)
        yield* TestClock.adjust("1 millis")
        return yield* handler.snapshot
      }))
      const wrongWorkflow = yield* Effect.flip(Effect.scoped(Workflow.resume(wf, snapshot)))
      expect(wrongWorkflow).toBeInstanceOf(WorkflowError.ContextSerdeError)
      expect(wrongWorkflow.message).toContain("'other'")
      const truncated = yield* Effect.flip(Effect.scoped(Workflow.resume(wf, Snapshot.toJson(snapshot).slice(0, 40))))
      expect(truncated._tag).toBe("ContextSerdeError")
      const unknownStep = yield* Effect.flip(
        Effect.scoped(Workflow.resume(wf, { ...snapshot, workflow: "mine", steps: { nope: snapshot.steps.step } }))
      )
      expect(unknownStep.message).toContain("nope")
    }))

  it.effect("Workflow.run with { snapshot } runs a resumed run to its end", () =>
    Effect.gen(function*() {
      const step = Step.make("step", { on: Event.StartEvent, emits: [Event.StopEvent] }, (ev) =>
        Effect.as(Effect.sleep("5 seconds"), new Event.StopEvent({ result: ev.input })))
      const wf = Workflow.make({ name: "run-snapshot", steps: [step] })
      const snapshot = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf, new Event.StartEvent({ input: 42 }))
        yield* TestClock.adjust("1 second")
        return yield* handler.snapshot
      }))
      expect(snapshot.steps.step?.inProgress.map((a) => a.event)).toEqual([{ _tag: "StartEvent", input: 42 }])
      const fiber = yield* Effect.fork(Workflow.run(wf, undefined, { snapshot }))
      yield* TestClock.adjust("5 seconds")
      expect(yield* fiber.await).toEqual(Exit.succeed(42))
    }))
})

describe("a waiter's timeout across a resume", () => {
  const expiring = Workflow.make({
    name: "expiring",
    timeout: null,
    steps: [
      Step.make("ask", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
        ctx.waitForEvent(Event.HumanResponseEvent, {
          waiterEvent: new Event.InputRequiredEvent({ prefix: "Anyone?" }),
          timeout: "10 seconds"
        }).pipe(
          Effect.as(new Event.StopEvent({ result: "answered" })),
          Effect.catchTag("WaitForEventTimeout", () => Effect.succeed(new Event.StopEvent({ result: "gave up" })))
        ))
    ]
  })

  it.effect("keeps its deadline: 6 s waited before the snapshot, it gives up 4 s after the resume", () =>
    Effect.gen(function*() {
      const snapshot = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(expiring)
        yield* waitFor(handler, Event.is(Event.InputRequiredEvent))
        yield* TestClock.adjust("6 seconds")
        const taken = yield* handler.snapshot
        yield* handler.cancel
        return taken
      }))
      expect(snapshot.steps.ask?.waiters.map((waiter) => waiter.expiresAt)).toEqual([10_000])
      const json = Snapshot.toJson(snapshot)
      yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.resume(expiring, json)
        yield* TestClock.adjust("3999 millis")
        expect(yield* handler.isDone).toBe(false)
        yield* TestClock.adjust("1 millis")
        expect(yield* handler.result).toBe("gave up")
        // the question was not asked again
        expect(tags(yield* collect(handler.events))).toEqual(["StopEvent"])
      }))
    }))
})

describe("a run that has not begun", () => {
  it.effect("waiting for a concurrency permit, its snapshot holds its start event; resumed, it runs", () =>
    Effect.gen(function*() {
      const step = Step.make("step", { on: Event.StartEvent, emits: [Event.StopEvent] }, (ev) =>
        Effect.as(Effect.sleep("1 second"), new Event.StopEvent({ result: ev.input })))
      const wf = Workflow.make({ name: "limited", steps: [step], numConcurrentRuns: 1 })
      const snapshot = yield* Effect.scoped(Effect.gen(function*() {
        yield* Workflow.start(wf, new Event.StartEvent({ input: "first" }))
        const second = yield* Workflow.start(wf, new Event.StartEvent({ input: "second" }))
        yield* second.cancel
        return yield* second.snapshot
      }))
      expect(snapshot.isRunning).toBe(true)
      expect(snapshot.steps.step?.queue.map((attempt) => attempt.event)).toEqual([
        { _tag: "StartEvent", input: "second" }
      ])
      const fiber = yield* Effect.fork(Workflow.run(wf, undefined, { snapshot }))
      yield* TestClock.adjust("1 second")
      expect(yield* fiber.await).toEqual(Exit.succeed("second"))
    }))
})

describe("closing a handler's scope", () => {
  it.effect("cancels its run: WorkflowCancelledEvent ends the stream, the snapshot stays resumable", () =>
    Effect.gen(function*() {
      const step = Step.make("step", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
        Effect.as(ctx.waitForEvent(Event.HumanResponseEvent), new Event.StopEvent({ result: 1 })))
      const wf = Workflow.make({ name: "scope-cancel", steps: [step] })
      const scope = yield* Scope.make()
      const handler = yield* Workflow.start(wf).pipe(Scope.extend(scope))
      yield* TestClock.adjust("1 millis")
      yield* Scope.close(scope, Exit.void)
      const events = yield* Stream.runCollect(handler.stream({ internal: true }))
      expect([...events].at(-1)?._tag).toBe("WorkflowCancelledEvent")
      expect((yield* handler.snapshot).isRunning).toBe(true)
    }))
})
