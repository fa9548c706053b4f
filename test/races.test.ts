/**
 * Edges where the engine's parts meet: runs that have not begun, collect buffers across
 * retries and resumes, restored waiters, concurrent waits of one execution, waits that outlive
 * their execution, and waits around the run's end.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { Event, RetryPolicy, Snapshot, Step, Workflow } from "effect-workflows"
import { collect, waitFor } from "./utils/streams.js"

class R extends Schema.TaggedClass<R>()("R", { n: Schema.Number }) {}
class Item extends Schema.TaggedClass<Item>()("Item", { n: Schema.Number }) {}
class Flaky extends Schema.TaggedError<Flaky>()("Flaky", {}) {}

describe("the engine at its edges", () => {
  it.effect("a resumed run waiting for a concurrency permit keeps its restored work in its snapshot", () =>
    Effect.gen(function*() {
      const step = Step.make("step", { on: Event.StartEvent, emits: [Event.StopEvent] }, (ev) =>
        Effect.as(Effect.sleep("10 seconds"), new Event.StopEvent({ result: ev.input })))
      const wf = Workflow.make({ name: "limited-resume", steps: [step], numConcurrentRuns: 1, timeout: null })
      // a run in flight, paused
      const first = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf, new Event.StartEvent({ input: "first" }))
        yield* TestClock.adjust("1 second")
        yield* handler.cancel
        return yield* handler.snapshot
      }))
      expect(first.steps.step?.inProgress.map((a) => a.event)).toEqual([{ _tag: "StartEvent", input: "first" }])
      // resumed while another run holds the only permit: it waits for it; paused again
      const second = yield* Effect.scoped(Effect.gen(function*() {
        yield* Workflow.start(wf, new Event.StartEvent({ input: "other" }))
        const resumed = yield* Workflow.resume(wf, first)
        yield* TestClock.adjust("1 second")
        yield* resumed.cancel
        return yield* resumed.snapshot
      }))
      expect(second.isRunning).toBe(true)
      // the work it was resumed with is still there, to be resumed again
      const events = Object.values(second.steps).flatMap((s) => [...s.inProgress, ...s.queue].map((a) => a.event))
      expect(events).toEqual([{ _tag: "StartEvent", input: "first" }])
    }))

  it.effect("an event an in-flight execution added to a collect buffer is not collected twice after resume", () =>
    Effect.gen(function*() {
      const start = Step.make("start", { on: Event.StartEvent, emits: [R] }, () => Effect.succeed(new R({ n: 1 })))
      const gather = Step.make("gather", { on: R, emits: [Event.StopEvent] }, (ev, ctx) =>
        Effect.gen(function*() {
          const all = yield* ctx.collectEvents(ev, [R, R])
          // some work after collecting (a log write, a call): the execution is in flight a while
          yield* Effect.sleep("1 second")
          if (Option.isNone(all)) return undefined
          return new Event.StopEvent({ result: all.value.map((r) => r.n) })
        }))
      const wf = Workflow.make({ name: "collect-resume", steps: [start, gather], timeout: null })
      const json = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf)
        yield* TestClock.adjust("500 millis")
        yield* handler.cancel
        return Snapshot.toJson(yield* handler.snapshot)
      }))
      const result = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.resume(wf, json)
        yield* TestClock.adjust("2 seconds")
        yield* Effect.ignore(handler.sendEvent(new R({ n: 2 })))
        yield* TestClock.adjust("2 seconds")
        return yield* Effect.exit(handler.result)
      }))
      // R 1 re-executes (at least once), but it is one event: the set is R 1 and R 2
      expect(result).toEqual(Exit.succeed([1, 2]))
    }))

  it.effect("an event added to a collect buffer by an attempt that then fails is not collected twice by its retry", () =>
    Effect.gen(function*() {
      const start = Step.make("start", { on: Event.StartEvent, emits: [R] }, () => Effect.succeed(new R({ n: 1 })))
      const gather = Step.make(
        "gather",
        { on: R, emits: [Event.StopEvent], retry: RetryPolicy.constantDelay({ maximumAttempts: 3, delay: "1 second" }) },
        (ev, ctx) =>
          Effect.gen(function*() {
            const all = yield* ctx.collectEvents(ev, [R, R])
            // a flaky call after collecting: the first attempt of R 1 fails
            if (ev.n === 1 && ctx.retryInfo.attempt === 1) return yield* new Flaky()
            if (Option.isNone(all)) return undefined
            return new Event.StopEvent({ result: all.value.map((r) => r.n) })
          })
      )
      const wf = Workflow.make({ name: "collect-retry", steps: [start, gather], timeout: null })
      const result = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf)
        yield* TestClock.adjust("5 seconds")
        yield* Effect.ignore(handler.sendEvent(new R({ n: 2 })))
        yield* TestClock.adjust("5 seconds")
        return yield* Effect.exit(handler.result)
      }))
      expect(result).toEqual(Exit.succeed([1, 2]))
    }))

  it.effect("a set put back by a failed attempt is collected again by its retry, even after newer events arrived", () =>
    Effect.gen(function*() {
      const start = Step.make("start", { on: Event.StartEvent, emits: [R] }, (_, ctx) =>
        Effect.zipRight(ctx.sendEvent(new R({ n: 1 })), ctx.sendEvent(new R({ n: 2 }))))
      const gather = Step.make(
        "gather",
        {
          on: R,
          emits: [Event.StopEvent],
          workers: 2,
          retry: RetryPolicy.constantDelay({ maximumAttempts: 3, delay: "1 second" })
        },
        (ev, ctx) =>
          Effect.gen(function*() {
            const all = yield* ctx.collectEvents(ev, [R, R])
            if (Option.isNone(all)) return undefined
            // the call made with a complete set fails once, a second later
            if (ctx.retryInfo.attempt === 1) return yield* Effect.zipRight(Effect.sleep("1 second"), new Flaky())
            return new Event.StopEvent({ result: all.value.map((r) => r.n) })
          })
      )
      const wf = Workflow.make({ name: "collect-taken", steps: [start, gather], timeout: null })
      const result = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf)
        yield* TestClock.adjust("500 millis")
        // arrives while the set [R 1, R 2] is taken by the attempt that is about to fail
        yield* Effect.ignore(handler.sendEvent(new R({ n: 3 })))
        yield* TestClock.adjust("5 seconds")
        yield* Effect.ignore(handler.sendEvent(new R({ n: 4 })))
        yield* TestClock.adjust("5 seconds")
        const done = yield* handler.isDone
        return done ? yield* Effect.exit(handler.result) : "still running"
      }))
      // the retry collects its set again; R 3 waits for a partner (R 4)
      expect(result).toEqual(Exit.succeed([1, 2]))
    }))

  it.effect("after resume, a wait that timed out and asks again publishes its new waiterEvent (as without resume)", () =>
    Effect.gen(function*() {
      const ask = Step.make("ask", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
        Effect.gen(function*() {
          const question = (prefix: string) =>
            ctx.waitForEvent(Event.HumanResponseEvent, {
              waiterEvent: new Event.InputRequiredEvent({ prefix }),
              timeout: "10 seconds"
            })
          const reply = yield* question("name?").pipe(
            Effect.catchTag("WaitForEventTimeout", () => question("name? (reminder)"))
          )
          return new Event.StopEvent({ result: reply.response })
        }))
      const wf = Workflow.make({ name: "reminder", steps: [ask], timeout: null })
      const prefixes = (events: ReadonlyArray<Event.AnyEvent>) =>
        events.filter(Event.is(Event.InputRequiredEvent)).map((ev) => ev.prefix)
      // without a pause: asked, 10 s later reminded
      const plain = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf)
        yield* TestClock.adjust("11 seconds")
        yield* handler.sendEvent(new Event.HumanResponseEvent({ response: "ada" }))
        return { result: yield* handler.result, events: yield* collect(handler.events) }
      }))
      expect(plain.result).toBe("ada")
      expect(prefixes(plain.events)).toEqual(["name?", "name? (reminder)"])
      // paused while asked, resumed: the question is not asked again (it was), the reminder is
      const json = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf)
        yield* waitFor(handler, Event.is(Event.InputRequiredEvent))
        yield* handler.cancel
        return Snapshot.toJson(yield* handler.snapshot)
      }))
      const resumed = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.resume(wf, json)
        yield* TestClock.adjust("11 seconds")
        yield* handler.sendEvent(new Event.HumanResponseEvent({ response: "ada" }))
        return { result: yield* handler.result, events: yield* collect(handler.events) }
      }))
      expect(resumed.result).toBe("ada")
      expect(prefixes(resumed.events)).toEqual(["name? (reminder)"])
    }))

  it.effect("after resume, a waiter whose wait timed out is removed: a later event goes to the step accepting it", () =>
    Effect.gen(function*() {
      const ask = Step.make("ask", { on: Event.StartEvent, emits: [] }, (_, ctx) =>
        ctx.waitForEvent(Event.HumanResponseEvent, { timeout: "10 seconds" }).pipe(
          Effect.catchTag("WaitForEventTimeout", () => Effect.void),
          Effect.asVoid
        ))
      const feedback = Step.make(
        "feedback",
        { on: Event.HumanResponseEvent, emits: [Event.StopEvent] },
        (ev) => Effect.succeed(new Event.StopEvent({ result: ev.response }))
      )
      const wf = Workflow.make({ name: "late-answer", steps: [ask, feedback], timeout: null, validation: false })
      // without a pause: the wait times out, the late answer goes to `feedback`
      const plain = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf)
        yield* TestClock.adjust("11 seconds")
        yield* handler.sendEvent(new Event.HumanResponseEvent({ response: "late" }))
        return yield* handler.result
      }))
      expect(plain).toBe("late")
      const json = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf)
        yield* TestClock.adjust("1 second")
        yield* handler.cancel
        return Snapshot.toJson(yield* handler.snapshot)
      }))
      expect(JSON.parse(json).steps.ask.waiters).toHaveLength(1)
      const outcome = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.resume(wf, json)
        // the re-executed wait times out; the step has completed: nothing waits any more
        yield* TestClock.adjust("11 seconds")
        const waiters = (yield* handler.snapshot).steps.ask?.waiters ?? []
        yield* handler.sendEvent(new Event.HumanResponseEvent({ response: "late" }))
        yield* TestClock.adjust("1 second")
        const done = yield* handler.isDone
        return { waiters, result: done ? yield* Effect.exit(handler.result) : "still running" }
      }))
      expect(outcome).toEqual({ waiters: [], result: Exit.succeed("late") })
    }))

  it.effect("concurrent waits of one execution: a second wait begun while the first queues for the slot does not hang", () =>
    Effect.gen(function*() {
      class Go extends Schema.TaggedClass<Go>()("Go", {}) {}
      class Also extends Schema.TaggedClass<Also>()("Also", {}) {}
      const start = Step.make("start", { on: Event.StartEvent, emits: [Item] }, (_, ctx) =>
        Effect.zipRight(ctx.sendEvent(new Item({ n: 0 })), ctx.sendEvent(new Item({ n: 1 }))))
      const work = Step.make("work", { on: Item, emits: [Event.StopEvent], workers: 1 }, (ev, ctx) =>
        ev.n === 1
          // holds the only slot for 10 s
          ? Effect.as(Effect.sleep("10 seconds"), undefined)
          : Effect.map(
            Effect.all([
              ctx.waitForEvent(Go),
              Effect.zipRight(Effect.sleep("2 seconds"), ctx.waitForEvent(Also))
            ], { concurrency: "unbounded" }),
            ([go, also]) => new Event.StopEvent({ result: [go._tag, also._tag] })
          ))
      const wf = Workflow.make({ name: "two-waits", steps: [start, work], timeout: null, validation: false, events: [Go, Also] })
      // (a scope of its own, not closed when the run hangs: closing it would hang too)
      const scope = yield* Scope.make()
      const result = yield* Effect.gen(function*() {
        const handler = yield* Workflow.start(wf)
        yield* TestClock.adjust("1 second")
        // the first wait ends while Item 1 holds the slot: it queues for it
        yield* handler.sendEvent(new Go())
        yield* TestClock.adjust("2 seconds")
        // the second wait (begun at 2 s) ends too
        yield* handler.sendEvent(new Also())
        yield* TestClock.adjust("20 seconds")
        const done = yield* handler.isDone
        return done ? yield* Effect.exit(handler.result) : "still running"
      }).pipe(Scope.extend(scope))
      expect(result).toEqual(Exit.succeed(["Go", "Also"]))
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("a wait forked by an execution that ends before it does not leave the step's slot taken", () =>
    Effect.gen(function*() {
      class Go extends Schema.TaggedClass<Go>()("Go", {}) {}
      const start = Step.make("start", { on: Event.StartEvent, emits: [Item] }, (_, ctx) =>
        Effect.zipRight(ctx.sendEvent(new Item({ n: 0 })), ctx.sendEvent(new Item({ n: 1 }))))
      const work = Step.make("work", { on: Item, emits: [Event.StopEvent], workers: 1 }, (ev, ctx) =>
        Effect.gen(function*() {
          if (ev.n === 0) {
            // a wait in a fiber of its own; the execution goes on and ends without it (the
            // fibers an execution forks end with it)
            yield* Effect.fork(ctx.waitForEvent(Go))
            yield* Effect.sleep("1 second")
            return undefined
          }
          yield* Effect.sleep("2 seconds")
          return ev.n === 2 ? new Event.StopEvent({ result: "done" }) : undefined
        }))
      const wf = Workflow.make({ name: "forked-wait", steps: [start, work], timeout: null, validation: false, events: [Go] })
      const result = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf)
        yield* TestClock.adjust("5 seconds")
        const running = yield* handler.runningSteps
        yield* handler.sendEvent(new Item({ n: 2 }))
        yield* TestClock.adjust("5 seconds")
        const done = yield* handler.isDone
        return { running, result: done ? yield* Effect.exit(handler.result) : "still running" }
      }))
      // at 5 s nothing runs; Item 2 then gets the slot
      expect(result).toEqual({ running: [], result: Exit.succeed("done") })
    }))

  it.effect("cancel while a waiting execution queues for its slot: the code after its wait does not run", () =>
    Effect.gen(function*() {
      class Go extends Schema.TaggedClass<Go>()("Go", {}) {}
      const ran: Array<string> = []
      const start = Step.make("start", { on: Event.StartEvent, emits: [Item] }, (_, ctx) =>
        Effect.zipRight(ctx.sendEvent(new Item({ n: 0 })), ctx.sendEvent(new Item({ n: 1 }))))
      const work = Step.make("work", { on: Item, emits: [Event.StopEvent], workers: 1 }, (ev, ctx) =>
        ev.n === 1
          // holds the only slot for 10 s
          ? Effect.as(Effect.sleep("10 seconds"), undefined)
          : Effect.gen(function*() {
            yield* ctx.waitForEvent(Go)
            ran.push("after the wait")
            yield* ctx.store.set("charged", true)
            return new Event.StopEvent({ result: "charged" })
          }))
      const wf = Workflow.make({ name: "cancel-queued", steps: [start, work], timeout: null, validation: false, events: [Go] })
      const snapshot = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf)
        yield* TestClock.adjust("1 second")
        // the wait ends while Item 1 holds the slot: Item 0 queues for it
        yield* handler.sendEvent(new Go())
        yield* TestClock.adjust("1 second")
        expect(ran).toEqual([])
        yield* handler.cancel
        return yield* handler.snapshot
      }))
      // cancelled before it got a slot back: it never went on, the state is as it was at the cancel
      expect({ ran, state: snapshot.state }).toEqual({ ran: [], state: {} })
    }))

  it.effect("an answer then a cancel at once: the cancel returns (a wait begun after the end does not hang the run)", () =>
    Effect.gen(function*() {
      class Go extends Schema.TaggedClass<Go>()("Go", {}) {}
      const ask = Step.make("ask", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
        Effect.gen(function*() {
          yield* ctx.waitForEvent(Go)
          const answer = yield* ctx.waitForEvent(Event.HumanResponseEvent)
          return new Event.StopEvent({ result: answer.response })
        }))
      const wf = Workflow.make({ name: "answer-then-cancel", steps: [ask], timeout: null, validation: false, events: [Go] })
      // (a scope of its own, not closed when the run hangs: closing it would hang too)
      const scope = yield* Scope.make()
      const handler = yield* Workflow.start(wf).pipe(Scope.extend(scope))
      yield* TestClock.adjust("1 second")
      // the first question is answered and the run paused right away (a server handling two requests)
      const cancelling = yield* Effect.fork(Effect.zipRight(handler.sendEvent(new Go()), handler.cancel))
      yield* TestClock.adjust("1 minute")
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
      const cancelled = yield* Fiber.poll(cancelling)
      expect(cancelled).toEqual(Option.some(Exit.void))
      yield* Scope.close(scope, Exit.void)
    }))

  it.effect("a step notifies a waiting step and stops the run: Workflow.run returns (the woken step's next wait does not hang it)", () =>
    Effect.gen(function*() {
      class A extends Schema.TaggedClass<A>()("A", {}) {}
      class B extends Schema.TaggedClass<B>()("B", {}) {}
      class Go extends Schema.TaggedClass<Go>()("Go", {}) {}
      const start = Step.make("start", { on: Event.StartEvent, emits: [A, B] }, (_, ctx) =>
        Effect.zipRight(ctx.sendEvent(new B()), ctx.sendEvent(new A())))
      const a = Step.make("a", { on: A, emits: [Event.StopEvent] }, (_, ctx) =>
        Effect.gen(function*() {
          yield* Effect.sleep("1 second")
          yield* ctx.sendEvent(new Go())
          return new Event.StopEvent({ result: "a" })
        }))
      const b = Step.make("b", { on: B, emits: [] }, (_, ctx) =>
        Effect.gen(function*() {
          yield* ctx.waitForEvent(Go)
          yield* ctx.waitForEvent(Event.HumanResponseEvent)
        }))
      const wf = Workflow.make({ name: "notify-and-stop", steps: [start, a, b], timeout: null, validation: false, events: [Go] })
      // a daemon: when the run hangs, nothing waits for it at the end of the test
      const fiber = yield* Effect.forkDaemon(Workflow.run(wf))
      yield* TestClock.adjust("1 minute")
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
      expect(yield* Fiber.poll(fiber)).toEqual(Option.some(Exit.succeed("a")))
    }))

  it.effect("after resume, a restored waiter whose step re-executes without waiting again is removed", () =>
    Effect.gen(function*() {
      const ask = Step.make("ask", { on: Event.StartEvent, emits: [] }, (_, ctx) =>
        Effect.gen(function*() {
          // an operator may switch the run to automatic approval while it waits
          if (yield* ctx.store.get("auto", false)) return undefined
          yield* ctx.waitForEvent(Event.HumanResponseEvent)
          return undefined
        }))
      const feedback = Step.make(
        "feedback",
        { on: Event.HumanResponseEvent, emits: [Event.StopEvent] },
        (ev) => Effect.succeed(new Event.StopEvent({ result: ev.response }))
      )
      const wf = Workflow.make({ name: "auto-approve", steps: [ask, feedback], timeout: null, validation: false })
      const json = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf)
        yield* TestClock.adjust("1 second")
        yield* handler.store.set("auto", true)
        yield* handler.cancel
        return Snapshot.toJson(yield* handler.snapshot)
      }))
      const outcome = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.resume(wf, json)
        // `ask` re-executes, does not wait, completes: nothing waits any more
        yield* TestClock.adjust("1 second")
        const waiters = (yield* handler.snapshot).steps.ask?.waiters ?? []
        yield* handler.sendEvent(new Event.HumanResponseEvent({ response: "feedback" }))
        yield* TestClock.adjust("1 second")
        const done = yield* handler.isDone
        return { waiters, result: done ? yield* Effect.exit(handler.result) : "still running" }
      }))
      expect(outcome).toEqual({ waiters: [], result: Exit.succeed("feedback") })
    }))
})
