/**
 * Edge cases found by a review of the run engine: interrupted and concurrent waits, events sent
 * before a limited run begins, closing a run's scope, the first subscribers, retries of a
 * completed collection, failure accounting. (The `actual:` comments say how the engine failed
 * each one before it was fixed.)
 */
import { describe, expect, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Scheduler from "effect/Scheduler"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { Event, type StateStore, Step, Workflow, WorkflowError } from "effect-workflows"
import { collect, tags, waitIdle } from "./utils/streams.js"

class Answer extends Schema.TaggedClass<Answer>()("Answer", { text: Schema.String }) {}
class A extends Schema.TaggedClass<A>()("A", { n: Schema.Number }) {}
class B extends Schema.TaggedClass<B>()("B", { n: Schema.Number }) {}
class Job extends Schema.TaggedClass<Job>()("Job", { id: Schema.Number }) {}
class Ping extends Schema.TaggedClass<Ping>()("Ping", {}) {}
class Go extends Schema.TaggedClass<Go>()("Go", {}) {}

const { StartEvent, StopEvent } = Event
const stop = (result: unknown) => new StopEvent({ result })


// -------------------------------------------------------------------------------------------------
// waitForEvent interrupted (user timeout / race / the step's own `timeout`)
// -------------------------------------------------------------------------------------------------

describe("waitForEvent interrupted", () => {
  it.effect("a wait abandoned by Effect.timeoutOption leaves no waiter behind: a later event of its tag is routed", () =>
    Effect.gen(function*() {
      const ask = Step.make("ask", { on: StartEvent, emits: [Answer] }, (_, ctx) =>
        Effect.gen(function*() {
          const got = yield* ctx.waitForEvent(Answer).pipe(Effect.timeoutOption("1 second"))
          // nobody answered in time: answer ourselves
          if (Option.isNone(got)) yield* ctx.sendEvent(new Answer({ text: "self" }))
        }))
      const finish = Step.make("finish", { on: Answer, emits: [StopEvent] }, (ev) => Effect.succeed(stop(ev.text)))
      const wf = Workflow.make({ name: "abandoned-wait", steps: [ask, finish], validation: false, timeout: "10 seconds" })

      const fiber = yield* Effect.fork(Workflow.run(wf))
      yield* TestClock.adjust("11 seconds")
      const exit = yield* Fiber.await(fiber)
      // actual: the dead waiter swallows the Answer; the run times out after 10 s
      expect(exit).toEqual(Exit.succeed("self"))
    }))

  it.effect("an abandoned wait does not let a workers: 1 step run two executions at once", () =>
    Effect.gen(function*() {
      const active = yield* Ref.make(0)
      const maxActive = yield* Ref.make(0)
      const busy = (duration: Duration.DurationInput) =>
        Effect.gen(function*() {
          const now = yield* Ref.updateAndGet(active, (n) => n + 1)
          yield* Ref.update(maxActive, (m) => Math.max(m, now))
          yield* Effect.sleep(duration)
          yield* Ref.update(active, (n) => n - 1)
        })
      const start = Step.make("start", { on: StartEvent, emits: [Job] }, (_, ctx) =>
        Effect.zipRight(ctx.sendEvent(new Job({ id: 1 })), ctx.sendEvent(new Job({ id: 2 }))))
      const work = Step.make("work", { on: Job, emits: [StopEvent], workers: 1 }, (ev, ctx) =>
        Effect.gen(function*() {
          if (ev.id === 1) {
            // waiting frees the slot (Job 2 takes it); giving up must take a slot again
            yield* Effect.timeoutOption(ctx.waitForEvent(Answer), "1 second")
            yield* busy("5 seconds")
            return undefined
          }
          yield* busy("10 seconds")
          return stop("done")
        }))
      const wf = Workflow.make({ name: "oversubscribed", steps: [start, work], validation: false, timeout: null })

      const fiber = yield* Effect.fork(Workflow.run(wf))
      yield* TestClock.adjust("20 seconds")
      expect(yield* Fiber.join(fiber)).toBe("done")
      // actual: 2 (Job 1 continues after its abandoned wait without a slot)
      expect(yield* Ref.get(maxActive)).toBe(1)
    }))

  it.scoped("a step `timeout` that fires during waitForEvent keeps runningSteps right for the retried attempt", () =>
    Effect.gen(function*() {
      const ask = Step.make(
        "ask",
        { on: StartEvent, emits: [StopEvent], workers: 1, timeout: "10 seconds", retry: Schedule.recurs(1) },
        (_, ctx) =>
          Effect.gen(function*() {
            if (ctx.retryInfo.attempt === 1) yield* ctx.waitForEvent(Answer) // nobody answers: times out
            yield* Effect.sleep("5 seconds")
            return stop("second attempt")
          })
      )
      const wf = Workflow.make({ name: "step-timeout-wait", steps: [ask], validation: false, timeout: null })
      const handler = yield* Workflow.start(wf)
      yield* TestClock.adjust("12 seconds") // attempt 2 started at 10 s and runs until 15 s
      // actual: [] (the timed-out attempt released its slot a second time: busy is 0 while one runs)
      expect(yield* handler.runningSteps).toEqual(["ask"])
      yield* TestClock.adjust("5 seconds")
      expect(yield* handler.result).toBe("second attempt")
    }))

  it.scoped("two concurrent waits in one execution (workers: 1) both resume", () =>
    Effect.gen(function*() {
      const both = Step.make("both", { on: StartEvent, emits: [StopEvent], workers: 1 }, (_, ctx) =>
        Effect.all([ctx.waitForEvent(A), ctx.waitForEvent(B)], { concurrency: "unbounded" }).pipe(
          Effect.map(([a, b]) => stop(a.n + b.n))
        ))
      const wf = Workflow.make({ name: "two-waits", steps: [both], validation: false, timeout: "10 seconds" })
      const handler = yield* Workflow.start(wf)
      yield* waitIdle(handler)
      yield* handler.sendEvent(new A({ n: 1 }))
      yield* handler.sendEvent(new B({ n: 2 }))
      const fiber = yield* Effect.fork(handler.result)
      yield* TestClock.adjust("11 seconds")
      // actual: the second wait queues for the slot its own execution holds: deadlock, run timeout
      expect(yield* Fiber.await(fiber)).toEqual(Exit.succeed(3))
    }))
})

// -------------------------------------------------------------------------------------------------
// numConcurrentRuns
// -------------------------------------------------------------------------------------------------

describe("numConcurrentRuns", () => {
  it.scoped("an event sent to a run that waits for its permit does not run before the run begins", () =>
    Effect.gen(function*() {
      const pings = yield* Ref.make<Array<string>>([])
      const gate = Step.make("gate", { on: StartEvent, emits: [StopEvent] }, (ev, ctx) =>
        Effect.map(ctx.waitForEvent(Go), () => stop(ev.input)))
      const side = Step.make("side", { on: Ping }, (_, ctx) => Ref.update(pings, (list) => [...list, ctx.runId]))
      const wf = Workflow.make({
        name: "limited-send",
        steps: [gate, side],
        numConcurrentRuns: 1,
        validation: false,
        timeout: null
      })
      const first = yield* Workflow.start(wf, new StartEvent({ input: 1 }), { runId: "first" })
      yield* waitIdle(first)
      const second = yield* Workflow.start(wf, new StartEvent({ input: 2 }), { runId: "second" })
      yield* second.sendEvent(new Ping())
      yield* TestClock.adjust("1 second")
      // actual: ["second"]: the second run's step ran while the first run holds the only permit
      expect(yield* Ref.get(pings)).toEqual([])
      yield* first.sendEvent(new Go())
      expect(yield* first.result).toBe(1)
      yield* waitIdle(second)
      yield* second.sendEvent(new Go())
      expect(yield* second.result).toBe(2)
      expect(yield* Ref.get(pings)).toEqual(["second"])
    }))
})

// -------------------------------------------------------------------------------------------------
// the stream and the handler after the handler's scope has closed
// -------------------------------------------------------------------------------------------------

describe("after the scope closes", () => {
  it.effect("a subscriber of an unfinished run whose scope has closed does not wait forever", () =>
    Effect.gen(function*() {
      const step = Step.make("s", { on: StartEvent, emits: [StopEvent] }, (_, ctx) =>
        Effect.map(ctx.waitForEvent(Go), () => stop("ok")))
      const wf = Workflow.make({ name: "closed-unfinished", steps: [step], validation: false, timeout: null })
      const handler = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf)
        yield* TestClock.adjust("1 second") // the step runs and waits; nobody has subscribed
        expect(yield* handler.runningSteps).toEqual([])
        return handler
      }))
      const fiber = yield* Effect.fork(Effect.exit(collect(handler.events)))
      yield* TestClock.adjust("1 hour")
      // actual: None (nobody had subscribed before the close, so the PubSub made now is never shut down)
      expect(Option.isSome(yield* Fiber.poll(fiber))).toBe(true)
    }))

  it.effect("the result of a run that ended is not turned into an interruption by closing the scope", () =>
    Effect.gen(function*() {
      const fast = Step.make("fast", { on: StartEvent, emits: [StopEvent] }, () => Effect.succeed(stop("fast")))
      // a step with some cleanup to do when it is interrupted
      const slow = Step.make("slow", { on: StartEvent }, () =>
        Effect.never.pipe(Effect.onInterrupt(() => Effect.sleep("1 second"))))
      const wf = Workflow.make({ name: "close-after-end", steps: [fast, slow], validation: false, timeout: null })
      const scope = yield* Scope.make()
      const handler = yield* Scope.extend(Workflow.start(wf), scope)
      const events = yield* collect(handler.events) // the run has ended: its stop event is out
      expect(tags(events)).toEqual(["StopEvent"])
      expect(yield* handler.isDone).toBe(true)
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(closing)
      // actual: interrupted (close completes the result with an interruption before the run's end does)
      expect(yield* Effect.exit(handler.result)).toEqual(Exit.succeed("fast"))
    }))
})

describe("a scope that has closed already", () => {
  it.effect("a run started in it is cancelled once its first step waits", () =>
    Effect.gen(function*() {
      const step = Step.make("s", { on: StartEvent, emits: [StopEvent] }, (_, ctx) =>
        Effect.map(ctx.waitForEvent(Go), () => stop("ok")))
      const wf = Workflow.make({ name: "closed-before-start", steps: [step] })
      const scope = yield* Scope.make()
      yield* Scope.close(scope, Exit.void)
      const handler = yield* Scope.extend(Workflow.start(wf), scope)
      const exit = yield* Effect.exit(handler.result)
      expect(exit).toEqual(Exit.fail(new WorkflowError.WorkflowCancelledByUser()))
      expect(yield* handler.isDone).toBe(true)
      expect(yield* handler.runningSteps).toEqual([])
    }))

  it.effect("a run started in it whose steps do not wait ends as usual", () =>
    Effect.gen(function*() {
      const step = Step.make("s", { on: StartEvent, emits: [StopEvent] }, () => Effect.succeed(stop("done")))
      const wf = Workflow.make({ name: "closed-quick", steps: [step] })
      const scope = yield* Scope.make()
      yield* Scope.close(scope, Exit.void)
      const handler = yield* Scope.extend(Workflow.start(wf), scope)
      expect(yield* handler.result).toBe("done")
    }))
})

// -------------------------------------------------------------------------------------------------
// the first subscribers
// -------------------------------------------------------------------------------------------------

describe("stream subscribers", () => {
  it.scoped("two subscribers that come at once both see the events published after them", () =>
    Effect.gen(function*() {
      const step = Step.make("s", { on: StartEvent, emits: [StopEvent] }, (_, ctx) =>
        Effect.map(ctx.waitForEvent(Go), () => stop("ok")))
      const wf = Workflow.make({ name: "two-subscribers", steps: [step], validation: false, timeout: null })
      const handler = yield* Workflow.start(wf)
      // A fiber may yield anywhere (after 2048 operations by default); 16 puts a yield inside the
      // first subscriber's PubSub.unbounded() (any value from 10 to 30 does, on effect 3.22.4).
      const subscriber = collect(handler.events).pipe(Effect.withMaxOpsBeforeYield(16))
      const fibers = yield* Effect.forEach([1, 2], () => Effect.fork(subscriber))
      yield* TestClock.adjust("1 second")
      yield* handler.sendEvent(new Go())
      expect(yield* handler.result).toBe("ok")
      yield* TestClock.adjust("1 second")
      const polled = yield* Effect.forEach(fibers, Fiber.poll)
      // actual: one subscriber subscribed to a PubSub that the other replaced: it never ends
      expect(polled.map(Option.isSome)).toEqual([true, true])
    }))
})

// -------------------------------------------------------------------------------------------------
// fibers forked by a step body
// -------------------------------------------------------------------------------------------------

describe("fibers forked in a step body", () => {
  // A worker fiber runs many executions in turn, but each is isolated as if it had a fiber of
  // its own: what it forks is interrupted when it ends.
  it.effect("a fiber forked with Effect.fork is interrupted when its execution ends", () =>
    Effect.gen(function*() {
      const ticks = yield* Ref.make(0)
      const first = Step.make("first", { on: StartEvent, emits: [Job] }, () =>
        Effect.gen(function*() {
          yield* Effect.fork(Effect.forever(Effect.zipRight(Effect.sleep("1 second"), Ref.update(ticks, (n) => n + 1))))
          yield* Effect.sleep("3500 millis")
          return new Job({ id: 1 })
        }))
      const second = Step.make("second", { on: Job, emits: [StopEvent] }, () =>
        Effect.as(Effect.sleep("10 seconds"), stop("ok")))
      const wf = Workflow.make({ name: "forked-child", steps: [first, second], validation: false, timeout: null })
      const fiber = yield* Effect.fork(Workflow.run(wf))
      yield* TestClock.adjust("5 seconds")
      // three ticks while "first" ran, none after it returned
      expect(yield* Ref.get(ticks)).toBe(3)
      yield* TestClock.adjust("10 seconds")
      expect(yield* Fiber.join(fiber)).toBe("ok")
      expect(yield* Ref.get(ticks)).toBe(3)
    }))
})

// -------------------------------------------------------------------------------------------------
// retries, closing, failure accounting
// -------------------------------------------------------------------------------------------------

describe("collectEvents and retries", () => {
  it.effect("a retried execution that had completed its collection gets the collected events again", () =>
    Effect.gen(function*() {
      const calls = yield* Ref.make(0)
      const start = Step.make("start", { on: StartEvent, emits: [A, B] }, (_, ctx) =>
        Effect.zipRight(ctx.sendEvent(new A({ n: 1 })), ctx.sendEvent(new B({ n: 2 }))))
      const join = Step.make(
        "join",
        { on: [A, B], emits: [StopEvent], workers: 1, retry: Schedule.recurs(1) },
        (ev, ctx) =>
          Effect.gen(function*() {
            const all = yield* ctx.collectEvents(ev, [A, B])
            if (Option.isNone(all)) return undefined
            // a flaky call with the collected events: fails once, then succeeds
            if ((yield* Ref.getAndUpdate(calls, (n) => n + 1)) === 0) return yield* Effect.fail("flaky")
            const [a, b] = all.value
            return stop(a.n + b.n)
          })
      )
      const wf = Workflow.make({ name: "collect-retry", steps: [start, join], validation: false, timeout: "10 seconds" })
      const fiber = yield* Effect.fork(Effect.exit(Workflow.run(wf)))
      yield* TestClock.adjust("11 seconds")
      // actual: the failed execution had already taken the set out of the buffer; the retry gets None: run timeout
      expect(yield* Fiber.join(fiber)).toEqual(Exit.succeed(3))
    }))
})

describe("closing a run", () => {
  it.effect("interrupting Workflow.run returns even when an uninterruptible step sends an event meanwhile", () =>
    Effect.gen(function*() {
      const a = Step.make("a", { on: StartEvent, emits: [Ping] }, (_, ctx) =>
        Effect.uninterruptible(Effect.zipRight(Effect.sleep("1 second"), ctx.sendEvent(new Ping()))))
      const b = Step.make("b", { on: Ping, emits: [StopEvent] }, () => Effect.as(Effect.sleep("1 hour"), stop("b")))
      const wf = Workflow.make({ name: "close-spawn", steps: [a, b], validation: false, timeout: null })
      const run = yield* Effect.forkDaemon(Workflow.run(wf))
      yield* TestClock.adjust("100 millis")
      const interrupting = yield* Effect.forkDaemon(Fiber.interrupt(run))
      yield* TestClock.adjust("2 seconds")
      const returned = Option.isSome(yield* Fiber.poll(interrupting))
      yield* TestClock.adjust("1 hour") // lets "b" end, and with it the close
      // actual: false (close awaits the fiber that "a" started for "b" while the run was closing)
      expect(returned).toBe(true)
    }))
})

describe("WorkflowFailedEvent", () => {
  it.scoped("attempts counts every execution when the last one returns a non-event after failed ones", () =>
    Effect.gen(function*() {
      const executions = yield* Ref.make(0)
      const flaky = Step.make(
        "flaky",
        { on: StartEvent, emits: [StopEvent], retry: Schedule.spaced("1 second").pipe(Schedule.intersect(Schedule.recurs(2))) },
        () =>
          Effect.gen(function*() {
            const n = yield* Ref.updateAndGet(executions, (k) => k + 1)
            if (n < 3) return yield* Effect.fail("transient")
            return "not an event" as unknown as Event.StopEvent
          })
      )
      const wf = Workflow.make({ name: "bad-return-after-retries", steps: [flaky], validation: false, timeout: null })
      const handler = yield* Workflow.start(wf)
      yield* TestClock.adjust("2 seconds")
      const error = yield* Effect.flip(handler.result)
      expect(error).toMatchObject({ _tag: "WorkflowRuntimeError" })
      expect(yield* Ref.get(executions)).toBe(3)
      const failed = (yield* collect(handler.events)).at(-1) as Event.WorkflowFailedEvent
      // actual: attempts 2, elapsedSeconds 1 (the third execution's failure is not counted)
      expect({ attempts: failed.attempts, elapsedSeconds: failed.elapsedSeconds }).toEqual({ attempts: 3, elapsedSeconds: 2 })
    }))
})

// -------------------------------------------------------------------------------------------------
// runs that begin in place (found by a review of the engine's performance changes)
// -------------------------------------------------------------------------------------------------

class Depth extends Schema.TaggedClass<Depth>()("Depth", { n: Schema.Number }) {}

describe("runs that begin in place", () => {
  it.effect("a Workflow.start interrupted while its run begins still leaves the run to its scope", () =>
    Effect.gen(function*() {
      let alive = 0
      let caller: Fiber.RuntimeFiber<unknown, unknown> | undefined
      const step = Step.make("s", { on: StartEvent, emits: [StopEvent] }, () =>
        Effect.gen(function*() {
          alive++
          // the caller is interrupted while its start of this run is under way
          caller!.unsafeInterruptAsFork(caller!.id())
          return yield* Effect.never
        }).pipe(Effect.ensuring(Effect.sync(() => alive--))))
      const wf = Workflow.make({ name: "interrupted-start", steps: [step] })
      const fiber = yield* Effect.fork(Effect.scoped(Effect.gen(function*() {
        caller = yield* Effect.withFiberRuntime<Fiber.RuntimeFiber<unknown, unknown>>((self) => Effect.succeed(self))
        yield* Workflow.start(wf)
        return yield* Effect.never
      })))
      const exit = yield* Fiber.await(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      // actual: 1 (the run began, the caller was interrupted before the scope knew of the run)
      expect(alive).toBe(0)
    }))

  it.effect("runs nested 1,000 deep (a step that runs its own workflow) do not overflow the stack", () =>
    Effect.gen(function*() {
      const recursive: Workflow.Workflow<Depth, unknown, WorkflowError.WorkflowError, never, StateStore.DictState> = Workflow
        .make({
        name: "recursive",
        start: Depth,
        steps: [
          Step.make(
            "s",
            { on: Depth, emits: [StopEvent] },
            (ev: Depth): Effect.Effect<Event.StopEvent, WorkflowError.WorkflowError> =>
              ev.n === 0
                ? Effect.succeed(stop(0))
                : Effect.map(Workflow.run(recursive, new Depth({ n: ev.n - 1 })), (inner) => stop(Number(inner) + 1))
          )
        ]
      })
      // actual: a RangeError defect, or a run that hangs
      expect(yield* Effect.exit(Workflow.run(recursive, new Depth({ n: 1000 })))).toEqual(Exit.succeed(1000))
    }))

  it.effect("the run timeouts of a clock do not depend on the scheduler of the run that set one first", () =>
    Effect.gen(function*() {
      const waiting = (name: string, timeout: Duration.DurationInput) =>
        Workflow.make({
          name,
          timeout,
          steps: [Step.make("s", { on: StartEvent, emits: [StopEvent] }, (_, ctx) =>
            Effect.map(ctx.waitForEvent(Go), () => stop("go")))]
        })
      const stalled = new Scheduler.ControlledScheduler() // never stepped
      const scopeA = yield* Scope.make()
      const scopeB = yield* Scope.make()
      yield* Scope.extend(Workflow.start(waiting("a", "1 second")), scopeA).pipe(Effect.withScheduler(stalled))
      const b = yield* Scope.extend(Workflow.start(waiting("b", "10 seconds")), scopeB)
      yield* TestClock.adjust("11 seconds")
      // actual: false (the one timer fiber ran on the stalled scheduler of the first run)
      expect(yield* b.isDone).toBe(true)
      expect((yield* Effect.flip(b.result))._tag).toBe("WorkflowTimeoutError")
      yield* Scope.close(scopeB, Exit.void)
    }))
})
