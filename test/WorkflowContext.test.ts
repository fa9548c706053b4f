import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as FiberRef from "effect/FiberRef"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Tracer from "effect/Tracer"
import { Event, RetryPolicy, Step, Workflow, WorkflowContext, WorkflowError } from "effect-workflows"
import type { WorkflowHandler } from "effect-workflows"

// -------------------------------------------------------------------------------------------------
// events and errors
// -------------------------------------------------------------------------------------------------

class A extends Schema.TaggedClass<A>()("A", { n: Schema.Number }) {}
class B extends Schema.TaggedClass<B>()("B", { n: Schema.Number }) {}
class C extends Schema.TaggedClass<C>()("C", { n: Schema.Number }) {}
class Item extends Schema.TaggedClass<Item>()("Item", { n: Schema.Number }) {}
class Ping extends Schema.TaggedClass<Ping>()("Ping", {}) {}
class Done extends Schema.TaggedClass<Done>()("Done", { from: Schema.String }) {}
class Seen extends Schema.TaggedClass<Seen>()("Seen", {
  name: Schema.String,
  running: Schema.Array(Schema.String)
}) {}
class Input extends Schema.TaggedClass<Input>()("Input", { id: Schema.Number }) {}
class Answer extends Schema.TaggedClass<Answer>()("Answer", { id: Schema.Number, text: Schema.String }) {}
class Answered extends Schema.TaggedClass<Answered>()("Answered", { id: Schema.Number, text: Schema.String }) {}
class Progress extends Schema.TaggedClass<Progress>()("Progress", { percent: Schema.Number }) {}
class Next extends Schema.TaggedClass<Next>()("Next", {}) {}
class Job extends Schema.TaggedClass<Job>()("Job", { id: Schema.Number }) {}

class Boom extends Data.TaggedError("Boom")<{ readonly n: number }> {}

// -------------------------------------------------------------------------------------------------
// helpers
// -------------------------------------------------------------------------------------------------

/** Workflow options shared by these tests: graph checks are not the subject here. */
const base = { validation: false, timeout: null } as const

type Handler = WorkflowHandler.WorkflowHandler<any, any, any>

/** The whole published stream of a run (waits for its end). */
const published = (handler: Handler) =>
  Effect.map(Stream.runCollect(handler.events), Chunk.toReadonlyArray)

/** The whole internal stream of a run (waits for its end). */
const internal = (handler: Handler) =>
  Effect.map(Stream.runCollect(handler.stream({ internal: true })), Chunk.toReadonlyArray)

/** The internal stream up to (and including) the first `WorkflowIdleEvent`. */
const untilIdle = (handler: Handler) =>
  handler.stream({ internal: true }).pipe(
    Stream.takeUntil(Event.is(Event.WorkflowIdleEvent)),
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray)
  )

/** `StepStateChanged` events of one step, as "state:worker:input[->output]". */
const stepStates = (events: ReadonlyArray<Event.AnyEvent>, name: string): Array<string> =>
  events
    .filter(Event.is(Event.StepStateChanged))
    .filter((ev) => ev.name === name)
    .map((ev) =>
      `${ev.stepState}:${ev.workerId}:${ev.inputEventName}${
        ev.outputEventName === undefined ? "" : `->${ev.outputEventName}`
      }`
    )

const tags = (events: ReadonlyArray<Event.AnyEvent>): Array<string> => events.map((ev) => ev._tag)

type Numbered = A | B | C | Item

const show = (ev: Numbered): string => `${ev._tag}${ev.n}`

/**
 * Runs a workflow whose start step sends `sent` (in order, with `ctx.sendEvent`) to a one-worker
 * "collector" step that calls `collect` on every event it gets. Returns one record per execution
 * ("-" for None, else the collected events) and the arrival order.
 */
const runCollector = (
  sent: ReadonlyArray<A | B | C>,
  collect: (
    ev: A | B | C,
    ctx: WorkflowContext.WorkflowContext
  ) => Effect.Effect<Option.Option<ReadonlyArray<A | B | C>>>
) =>
  Effect.gen(function*() {
    const records: Array<string> = []
    const arrivals: Array<string> = []
    const start = Step.make(
      "start",
      { on: Event.StartEvent, emits: [A, B, C] },
      (_, ctx) => Effect.forEach(sent, (ev) => ctx.sendEvent(ev), { discard: true })
    )
    const collector = Step.make(
      "collector",
      { on: [A, B, C], emits: [Event.StopEvent], workers: 1 },
      (ev, ctx) =>
        Effect.gen(function*() {
          arrivals.push(show(ev))
          const out = yield* collect(ev, ctx)
          records.push(Option.match(out, { onNone: () => "-", onSome: (evs) => evs.map(show).join(",") }))
          if (records.length === sent.length) return new Event.StopEvent({ result: "collected" })
        })
    )
    const wf = Workflow.make({ name: "collect", steps: [start, collector], ...base })
    const result = yield* Workflow.run(wf)
    expect(result).toBe("collected")
    return { records, arrivals }
  })

// -------------------------------------------------------------------------------------------------
// tests
// -------------------------------------------------------------------------------------------------

describe("WorkflowContext", () => {
  describe("the service", () => {
    it.scoped("yield* WorkflowContext.WorkflowContext in a step body gives the ctx argument's members", () =>
      Effect.gen(function*() {
        // read from a helper defined outside the step: the service comes from the environment
        const runIdOfService = Effect.map(WorkflowContext.WorkflowContext, (ctx) => ctx.runId)
        const step = Step.make("step", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
          Effect.gen(function*() {
            const service = yield* WorkflowContext.WorkflowContext
            const { collectEvents, sendEvent } = service
            return new Event.StopEvent({
              result: {
                same: collectEvents === ctx.collectEvents && sendEvent === ctx.sendEvent &&
                  service.waitForEvent === ctx.waitForEvent && service.retryInfo === ctx.retryInfo &&
                  service.store === ctx.store && service.writeEventToStream === ctx.writeEventToStream,
                serviceRunId: service.runId,
                helperRunId: yield* runIdOfService,
                ctxRunId: ctx.runId
              }
            })
          }))
        const wf = Workflow.make({ name: "service", steps: [step], ...base })
        const handler = yield* Workflow.start(wf, undefined, { runId: "run-42" })
        expect(handler.runId).toBe("run-42")
        expect(yield* handler.result).toEqual({
          same: true,
          serviceRunId: "run-42",
          helperRunId: "run-42",
          ctxRunId: "run-42"
        })
      }))

    it.scoped("each step of a chain sees its own context through the service", () =>
      Effect.gen(function*() {
        const seen: Array<boolean> = []
        const check = (ctx: WorkflowContext.WorkflowContext) =>
          Effect.map(WorkflowContext.WorkflowContext, (service) => {
            seen.push(service.collectEvents === ctx.collectEvents && service.waitForEvent === ctx.waitForEvent)
          })
        const first = Step.make("first", { on: Event.StartEvent, emits: [Next] }, (_, ctx) =>
          Effect.as(check(ctx), new Next()))
        const second = Step.make("second", { on: Next, emits: [Event.StopEvent] }, (_, ctx) =>
          Effect.as(check(ctx), new Event.StopEvent({ result: "done" })))
        const wf = Workflow.make({ name: "service-chain", steps: [first, second], ...base })
        expect(yield* Workflow.run(wf)).toBe("done")
        expect(seen).toEqual([true, true])
      }))

    it.scoped("the runId is the handler's generated runId when none is given", () =>
      Effect.gen(function*() {
        const step = Step.make("step", { on: Event.StartEvent, emits: [Event.StopEvent] }, () =>
          Effect.map(WorkflowContext.WorkflowContext, (ctx) => new Event.StopEvent({ result: ctx.runId })))
        const wf = Workflow.make({ name: "service-id", steps: [step], ...base })
        const handler = yield* Workflow.start(wf)
        const runId = yield* handler.result
        expect(typeof runId).toBe("string")
        expect(runId).toBe(handler.runId)
        expect(handler.runId.length).toBeGreaterThan(0)
      }))
  })

  describe("collectEvents", () => {
    it.effect("returns the events ordered as expected, whatever the arrival order", () =>
      Effect.gen(function*() {
        const { arrivals, records } = yield* runCollector(
          [new C({ n: 0 }), new B({ n: 0 })],
          (ev, ctx) => ctx.collectEvents(ev, [B, C])
        )
        expect(arrivals).toEqual(["C0", "B0"])
        expect(records).toEqual(["-", "B0,C0"])
      }))

    it.effect("keeps same-tag events in arrival order", () =>
      Effect.gen(function*() {
        const { records } = yield* runCollector(
          [new A({ n: 0 }), new A({ n: 1 }), new A({ n: 2 })],
          (ev, ctx) => ctx.collectEvents(ev, [A, A, A])
        )
        expect(records).toEqual(["-", "-", "A0,A1,A2"])
      }))

    it.effect("places repeated tags of a multiset in arrival order around other tags", () =>
      Effect.gen(function*() {
        const { records } = yield* runCollector(
          [new A({ n: 0 }), new A({ n: 1 }), new B({ n: 0 })],
          (ev, ctx) => ctx.collectEvents(ev, [A, B, A])
        )
        expect(records).toEqual(["-", "-", "A0,B0,A1"])
      }))

    it.effect("ignores events whose tag is not expected (they do not count toward completion)", () =>
      Effect.gen(function*() {
        const { records } = yield* runCollector(
          [new A({ n: 0 }), new C({ n: 0 }), new C({ n: 1 }), new B({ n: 0 })],
          (ev, ctx) => ctx.collectEvents(ev, [A, B])
        )
        expect(records).toEqual(["-", "-", "-", "A0,B0"])
      }))

    it.effect("ignores events of an already satisfied tag, and clears the buffer on completion", () =>
      Effect.gen(function*() {
        const { records } = yield* runCollector(
          [new A({ n: 0 }), new A({ n: 1 }), new B({ n: 0 }), new B({ n: 1 }), new A({ n: 2 })],
          (ev, ctx) => ctx.collectEvents(ev, [A, B])
        )
        // A1 was not kept for the next round: B1 starts a new buffer, completed by A2
        expect(records).toEqual(["-", "-", "A0,B0", "-", "A2,B1"])
      }))

    it.effect("expected [] returns Some([]) at once, every time", () =>
      Effect.gen(function*() {
        const outcomes: Array<Option.Option<ReadonlyArray<Event.AnyEvent>>> = []
        const step = Step.make("step", { on: Event.StartEvent, emits: [Event.StopEvent] }, (ev, ctx) =>
          Effect.gen(function*() {
            outcomes.push(yield* ctx.collectEvents(ev, []))
            outcomes.push(yield* ctx.collectEvents(ev, []))
            return new Event.StopEvent({ result: "ok" })
          }))
        const wf = Workflow.make({ name: "collect-empty", steps: [step], ...base })
        expect(yield* Workflow.run(wf)).toBe("ok")
        expect(outcomes.length).toBe(2)
        for (const outcome of outcomes) {
          expect(Option.isSome(outcome)).toBe(true)
          expect(Option.getOrThrow(outcome)).toEqual([])
        }
      }))

    it.effect("one expected array reused across calls gives the same results as fresh arrays", () =>
      Effect.gen(function*() {
        const expected = [A, B, A] as const
        const { records } = yield* runCollector(
          [new B({ n: 0 }), new C({ n: 0 }), new A({ n: 0 }), new B({ n: 1 }), new A({ n: 1 }), new A({ n: 2 })],
          (ev, ctx) => ctx.collectEvents(ev, expected)
        )
        expect(records).toEqual(["-", "-", "-", "-", "A0,B0,A1", "-"])
      }))

    it.effect("a changed expected list is recounted against what is already buffered", () =>
      Effect.gen(function*() {
        const { records } = yield* runCollector(
          [new A({ n: 0 }), new B({ n: 0 }), new A({ n: 1 })],
          // the first call asks for [A, A, B]; later calls ask for [A, B] only
          (ev, ctx) => ctx.collectEvents(ev, ev.n === 0 && ev._tag === "A" ? [A, A, B] : [A, B])
        )
        expect(records).toEqual(["-", "A0,B0", "-"])
      }))

    it.effect("buffers per bufferId independently", () =>
      Effect.gen(function*() {
        const { records } = yield* runCollector(
          [new A({ n: 1 }), new A({ n: 11 }), new B({ n: 12 }), new B({ n: 2 })],
          (ev, ctx) => ctx.collectEvents(ev, [A, B], { bufferId: ev.n < 10 ? "low" : "high" })
        )
        expect(records).toEqual(["-", "-", "A11,B12", "A1,B2"])
      }))

    it.scoped("runs the body exactly once per delivered event with workers: 4, one Some", () =>
      Effect.gen(function*() {
        let executions = 0
        let finished = 0
        const outcomes: Array<string> = []
        const start = Step.make("start", { on: Event.StartEvent, emits: [A, B, C] }, (_, ctx) =>
          Effect.gen(function*() {
            yield* ctx.sendEvent(new A({ n: 0 }))
            yield* ctx.sendEvent(new B({ n: 0 }))
            yield* ctx.sendEvent(new C({ n: 0 }))
          }))
        const collector = Step.make("collector", { on: [A, B, C], emits: [Done], workers: 4 }, (ev, ctx) =>
          Effect.gen(function*() {
            executions++
            yield* Effect.yieldNow()
            const out = yield* ctx.collectEvents(ev, [A, B, C])
            outcomes.push(Option.match(out, { onNone: () => "-", onSome: (evs) => evs.map(show).join(",") }))
            return new Done({ from: show(ev) })
          }))
        const finisher = Step.make("finisher", { on: Done, emits: [Event.StopEvent], workers: 1 }, () =>
          Effect.sync(() => {
            finished++
            return finished === 3 ? new Event.StopEvent({ result: "done" }) : undefined
          }))
        const wf = Workflow.make({ name: "collect-once", steps: [start, collector, finisher], ...base })
        const handler = yield* Workflow.start(wf)
        expect(yield* handler.result).toBe("done")
        expect(executions).toBe(3)
        expect(outcomes.length).toBe(3)
        expect(outcomes.filter((o) => o !== "-")).toEqual(["A0,B0,C0"])
        // the three executions ran concurrently, on three slots
        const running = stepStates(yield* internal(handler), "collector").filter((s) => s.startsWith("running"))
        expect(running).toEqual(["running:0:A", "running:1:B", "running:2:C"])
      }))

    it.effect("collects a fan-out of 100 events sent from the start step into one list", () =>
      Effect.gen(function*() {
        const arrivals: Array<number> = []
        let somes = 0
        const expected = Array.from({ length: 100 }, () => Item)
        const start = Step.make("start", { on: Event.StartEvent, emits: [Item] }, (_, ctx) =>
          Effect.forEach(Array.from({ length: 100 }, (_, n) => n), (n) => ctx.sendEvent(new Item({ n })), {
            discard: true
          }))
        const gather = Step.make("gather", { on: Item, emits: [Event.StopEvent] }, (ev, ctx) =>
          Effect.gen(function*() {
            arrivals.push(ev.n)
            const out = yield* ctx.collectEvents(ev, expected)
            if (Option.isNone(out)) return
            somes++
            return new Event.StopEvent({ result: out.value.map((item) => item.n) })
          }))
        const wf = Workflow.make({ name: "fan-out", steps: [start, gather], ...base })
        const result = (yield* Workflow.run(wf)) as ReadonlyArray<number>
        expect(result.length).toBe(100)
        expect(somes).toBe(1)
        expect(arrivals.length).toBe(100)
        // every event once; the list is in the order the events reached the buffer, which with
        // four workers is not the order their executions started in (see the one-worker tests
        // above for the arrival order)
        const all = Array.from({ length: 100 }, (_, n) => n)
        expect([...result].sort((x, y) => x - y)).toEqual(all)
        expect([...arrivals].sort((x, y) => x - y)).toEqual(all)
      }))
  })

  describe("sendEvent", () => {
    it.scoped("untargeted: every step accepting the tag runs", () =>
      Effect.gen(function*() {
        const start = Step.make("start", { on: Event.StartEvent, emits: [Ping] }, (_, ctx) => ctx.sendEvent(new Ping()))
        const p1 = Step.make("p1", { on: Ping, emits: [Done] }, () => Effect.succeed(new Done({ from: "p1" })))
        const p2 = Step.make("p2", { on: Ping, emits: [Done] }, () => Effect.succeed(new Done({ from: "p2" })))
        const finish = Step.make("finish", { on: Done, emits: [Event.StopEvent], workers: 1 }, (ev, ctx) =>
          Effect.map(
            ctx.collectEvents(ev, [Done, Done]),
            Option.match({
              onNone: () => undefined,
              onSome: (evs) => new Event.StopEvent({ result: evs.map((d) => d.from).sort() })
            })
          ))
        const wf = Workflow.make({ name: "send-untargeted", steps: [start, p1, p2, finish], ...base })
        const handler = yield* Workflow.start(wf)
        expect(yield* handler.result).toEqual(["p1", "p2"])
        const events = yield* internal(handler)
        expect(stepStates(events, "p1")).toEqual(["running:0:Ping", "not_running:0:Ping->Done"])
        expect(stepStates(events, "p2")).toEqual(["running:0:Ping", "not_running:0:Ping->Done"])
      }))

    it.scoped("targeted: only the named step runs", () =>
      Effect.gen(function*() {
        let p1Runs = 0
        const start = Step.make("start", { on: Event.StartEvent, emits: [Ping] }, (_, ctx) =>
          ctx.sendEvent(new Ping(), { step: "p2" }))
        const p1 = Step.make("p1", { on: Ping }, () => Effect.sync(() => void p1Runs++))
        const p2 = Step.make("p2", { on: Ping, emits: [Event.StopEvent] }, () =>
          Effect.succeed(new Event.StopEvent({ result: "p2" })))
        const wf = Workflow.make({ name: "send-targeted", steps: [start, p1, p2], ...base })
        const handler = yield* Workflow.start(wf)
        expect(yield* handler.result).toBe("p2")
        expect(p1Runs).toBe(0)
        const events = yield* internal(handler)
        expect(stepStates(events, "p1")).toEqual([])
        expect(stepStates(events, "p2")).toEqual(["running:0:Ping", "not_running:0:Ping->StopEvent"])
      }))

    it.scoped("fails with WorkflowStepDoesNotExistError / WorkflowRuntimeError and enqueues nothing", () =>
      Effect.gen(function*() {
        let p1Runs = 0
        const start = Step.make("start", { on: Event.StartEvent, emits: [Ping, Event.StopEvent] }, (_, ctx) =>
          Effect.gen(function*() {
            const missing = yield* Effect.flip(ctx.sendEvent(new Ping(), { step: "nope" }))
            const refused = yield* Effect.flip(ctx.sendEvent(new Ping(), { step: "start" }))
            return new Event.StopEvent({ result: [missing, refused] })
          }))
        const p1 = Step.make("p1", { on: Ping }, () => Effect.sync(() => void p1Runs++))
        const wf = Workflow.make({ name: "send-errors", steps: [start, p1], ...base })
        const handler = yield* Workflow.start(wf)
        const [missing, refused] = (yield* handler.result) as ReadonlyArray<unknown>
        expect(missing).toBeInstanceOf(WorkflowError.WorkflowStepDoesNotExistError)
        expect(missing).toMatchObject({ _tag: "WorkflowStepDoesNotExistError", step: "nope" })
        expect((missing as WorkflowError.WorkflowStepDoesNotExistError).message).toBe("Step nope does not exist")
        expect(refused).toBeInstanceOf(WorkflowError.WorkflowRuntimeError)
        expect((refused as WorkflowError.WorkflowRuntimeError)._tag).toBe("WorkflowRuntimeError")
        expect((refused as WorkflowError.WorkflowRuntimeError).message).toBe(
          "Step start does not accept event of type Ping"
        )
        expect(p1Runs).toBe(0)
        const events = yield* internal(handler)
        expect(stepStates(events, "p1")).toEqual([])
        expect(events.filter(Event.is(Event.UnhandledEvent))).toEqual([])
      }))
  })

  describe("waitForEvent", () => {
    it.scoped("HITL round trip: waiterEvent published once, answer from handler.sendEvent", () =>
      Effect.gen(function*() {
        const ask = Step.make("ask", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
          Effect.gen(function*() {
            const answer = yield* ctx.waitForEvent(Event.HumanResponseEvent, {
              waiterEvent: new Event.InputRequiredEvent({ prefix: "Name?" })
            })
            return new Event.StopEvent({ result: `hello ${answer.response}` })
          }))
        const wf = Workflow.make({ name: "hitl", steps: [ask], ...base })
        const handler = yield* Workflow.start(wf)
        const request = yield* handler.events.pipe(Stream.filter(Event.is(Event.InputRequiredEvent)), Stream.runHead)
        expect(Option.map(request, (ev) => ev.prefix)).toEqual(Option.some("Name?"))
        expect(yield* handler.isDone).toBe(false)
        yield* handler.sendEvent(new Event.HumanResponseEvent({ response: "Ada" }))
        expect(yield* handler.result).toBe("hello Ada")
        const events = yield* published(handler)
        expect(tags(events)).toEqual(["InputRequiredEvent", "StopEvent"])
        expect(events[0]).toMatchObject({ _tag: "InputRequiredEvent", prefix: "Name?" })
        // the step was not re-executed: one running/not_running pair around the wait, one after
        expect(stepStates(yield* internal(handler), "ask")).toEqual([
          "running:0:StartEvent",
          "not_running:0:StartEvent",
          "running:0:StartEvent",
          "not_running:0:StartEvent->StopEvent"
        ])
      }))

    it.scoped("requirements: a non-matching event is not consumed (UnhandledEvent); the matching one resolves", () =>
      Effect.gen(function*() {
        const ask = Step.make("ask", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
          Effect.gen(function*() {
            const answer = yield* ctx.waitForEvent(Event.HumanResponseEvent, {
              requirements: { response: "yes" },
              waiterEvent: new Event.InputRequiredEvent({ prefix: "Sure?" })
            })
            return new Event.StopEvent({ result: answer.response })
          }))
        const wf = Workflow.make({ name: "requirements", steps: [ask], ...base })
        const handler = yield* Workflow.start(wf)
        yield* handler.events.pipe(Stream.filter(Event.is(Event.InputRequiredEvent)), Stream.runHead)
        yield* handler.sendEvent(new Event.HumanResponseEvent({ response: "no" }))
        expect(yield* handler.isDone).toBe(false)
        yield* handler.sendEvent(new Event.HumanResponseEvent({ response: "yes" }))
        expect(yield* handler.result).toBe("yes")
        const unhandled = (yield* internal(handler)).filter(Event.is(Event.UnhandledEvent))
        expect(unhandled.length).toBe(1)
        expect(unhandled[0]).toMatchObject({ eventType: "HumanResponseEvent", idle: true })
      }))

    it.scoped("requirements are compared with Equal.equals on each field", () =>
      Effect.gen(function*() {
        const step = Step.make("wait", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
          Effect.gen(function*() {
            const answer = yield* ctx.waitForEvent(Answer, {
              requirements: { id: 7 },
              waiterEvent: new Event.InputRequiredEvent({ prefix: "7?" })
            })
            return new Event.StopEvent({ result: answer.text })
          }))
        const wf = Workflow.make({ name: "requirements-eq", steps: [step], ...base })
        const handler = yield* Workflow.start(wf)
        yield* handler.events.pipe(Stream.filter(Event.is(Event.InputRequiredEvent)), Stream.runHead)
        yield* handler.sendEvent(new Answer({ id: 8, text: "wrong" }))
        yield* handler.sendEvent(new Answer({ id: 7, text: "right" }))
        expect(yield* handler.result).toBe("right")
      }))

    it.scoped("the resolving event is consumed by the waiter and not routed to a step accepting its tag", () =>
      Effect.gen(function*() {
        let otherRuns = 0
        const ask = Step.make("ask", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
          Effect.gen(function*() {
            const answer = yield* ctx.waitForEvent(Event.HumanResponseEvent, {
              waiterEvent: new Event.InputRequiredEvent({ prefix: "?" })
            })
            // give a (wrongly) routed event every chance to run before the run ends
            yield* Effect.yieldNow()
            yield* Effect.yieldNow()
            return new Event.StopEvent({ result: answer.response })
          }))
        const other = Step.make("other", { on: Event.HumanResponseEvent }, () => Effect.sync(() => void otherRuns++))
        const wf = Workflow.make({ name: "consumed", steps: [ask, other], ...base })
        const handler = yield* Workflow.start(wf)
        yield* handler.events.pipe(Stream.filter(Event.is(Event.InputRequiredEvent)), Stream.runHead)
        yield* handler.sendEvent(new Event.HumanResponseEvent({ response: "mine" }))
        expect(yield* handler.result).toBe("mine")
        expect(otherRuns).toBe(0)
        expect(stepStates(yield* internal(handler), "other")).toEqual([])
      }))

    it.scoped("the code before the wait runs once (no re-execution)", () =>
      Effect.gen(function*() {
        let before = 0
        let after = 0
        const ask = Step.make("ask", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
          Effect.gen(function*() {
            before++
            const answer = yield* ctx.waitForEvent(Event.HumanResponseEvent, {
              waiterEvent: new Event.InputRequiredEvent({ prefix: "?" })
            })
            after++
            return new Event.StopEvent({ result: answer.response })
          }))
        const wf = Workflow.make({ name: "once", steps: [ask], ...base })
        const handler = yield* Workflow.start(wf)
        yield* handler.events.pipe(Stream.filter(Event.is(Event.InputRequiredEvent)), Stream.runHead)
        expect(before).toBe(1)
        expect(after).toBe(0)
        yield* handler.sendEvent(new Event.HumanResponseEvent({ response: "ok" }))
        expect(yield* handler.result).toBe("ok")
        expect(before).toBe(1)
        expect(after).toBe(1)
      }))

    it.scoped("a waiting step does not hold a worker slot (workers: 1, three waiters)", () =>
      Effect.gen(function*() {
        const start = Step.make("start", { on: Event.StartEvent, emits: [Input] }, (_, ctx) =>
          Effect.forEach([0, 1, 2], (id) => ctx.sendEvent(new Input({ id })), { discard: true }))
        const wait = Step.make("wait", { on: Input, emits: [Answered], workers: 1 }, (ev, ctx) =>
          Effect.gen(function*() {
            const answer = yield* ctx.waitForEvent(Answer, {
              requirements: { id: ev.id },
              waiterEvent: new Event.InputRequiredEvent({ prefix: `q${ev.id}` })
            })
            return new Answered({ id: answer.id, text: answer.text })
          }))
        const finish = Step.make("finish", { on: Answered, emits: [Event.StopEvent], workers: 1 }, (ev, ctx) =>
          Effect.map(
            ctx.collectEvents(ev, [Answered, Answered, Answered]),
            Option.match({
              onNone: () => undefined,
              onSome: (evs) => new Event.StopEvent({ result: evs.map((a) => `${a.id}:${a.text}`) })
            })
          ))
        const wf = Workflow.make({ name: "slots", steps: [start, wait, finish], ...base })
        const handler = yield* Workflow.start(wf)

        const beforeAnswers = yield* untilIdle(handler)
        expect(
          beforeAnswers.filter(Event.is(Event.InputRequiredEvent)).map((ev) => ev.prefix)
        ).toEqual(["q0", "q1", "q2"])
        expect(yield* handler.runningSteps).toEqual([])
        const waitStates = stepStates(beforeAnswers, "wait")
        expect(waitStates.filter((s) => !s.startsWith("preparing"))).toEqual([
          "running:0:Input",
          "not_running:0:Input",
          "running:0:Input",
          "not_running:0:Input",
          "running:0:Input",
          "not_running:0:Input"
        ])

        yield* handler.sendEvent(new Answer({ id: 2, text: "c" }))
        yield* handler.sendEvent(new Answer({ id: 0, text: "a" }))
        yield* handler.sendEvent(new Answer({ id: 1, text: "b" }))
        const result = (yield* handler.result) as ReadonlyArray<string>
        expect([...result].sort()).toEqual(["0:a", "1:b", "2:c"])
      }))

    it.scoped("the same waiterId twice shares one waiter: one waiterEvent, one answer resumes both", () =>
      Effect.gen(function*() {
        const start = Step.make("start", { on: Event.StartEvent, emits: [Input] }, (_, ctx) =>
          Effect.forEach([0, 1], (id) => ctx.sendEvent(new Input({ id })), { discard: true }))
        const wait = Step.make("wait", { on: Input, emits: [Answered], workers: 2 }, (ev, ctx) =>
          Effect.gen(function*() {
            const answer = yield* ctx.waitForEvent(Event.HumanResponseEvent, {
              waiterId: "approval",
              waiterEvent: new Event.InputRequiredEvent({ prefix: "Approve?" })
            })
            return new Answered({ id: ev.id, text: answer.response })
          }))
        const finish = Step.make("finish", { on: Answered, emits: [Event.StopEvent], workers: 1 }, (ev, ctx) =>
          Effect.map(
            ctx.collectEvents(ev, [Answered, Answered]),
            Option.match({
              onNone: () => undefined,
              onSome: (evs) => new Event.StopEvent({ result: evs.map((a) => `${a.id}:${a.text}`).sort() })
            })
          ))
        const wf = Workflow.make({ name: "waiter-id", steps: [start, wait, finish], ...base })
        const handler = yield* Workflow.start(wf)
        const beforeAnswer = yield* untilIdle(handler)
        // both executions are suspended on the waiter: the two Inputs took slots 0 and 1; which
        // of the two executions (on two worker fibers) reached the wait first is not promised
        const waitStates = stepStates(beforeAnswer, "wait")
        expect(waitStates.slice(0, 2)).toEqual(["running:0:Input", "running:1:Input"])
        expect(waitStates.slice(2).sort()).toEqual(["not_running:0:Input", "not_running:1:Input"])
        expect(beforeAnswer.filter(Event.is(Event.InputRequiredEvent)).length).toBe(1)
        yield* handler.sendEvent(new Event.HumanResponseEvent({ response: "yes" }))
        expect(yield* handler.result).toEqual(["0:yes", "1:yes"])
        expect(tags(yield* published(handler))).toEqual(["InputRequiredEvent", "StopEvent"])
      }))

    it.scoped("timeout: WaitForEventTimeout inside the step, catchable in the body", () =>
      Effect.gen(function*() {
        const ask = Step.make("ask", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
          Effect.gen(function*() {
            const error = yield* Effect.flip(ctx.waitForEvent(Event.HumanResponseEvent, { timeout: "5 seconds" }))
            return new Event.StopEvent({
              result: {
                tag: error._tag,
                message: error.message,
                eventTag: error.eventTag,
                timeout: Duration.toMillis(error.timeout),
                at: yield* Clock.currentTimeMillis
              }
            })
          }))
        const wf = Workflow.make({ name: "wait-timeout", steps: [ask], ...base })
        const handler = yield* Workflow.start(wf)
        yield* untilIdle(handler)
        yield* TestClock.adjust("4999 millis")
        expect(yield* handler.isDone).toBe(false)
        yield* TestClock.adjust("1 millis")
        expect(yield* handler.result).toEqual({
          tag: "WaitForEventTimeout",
          message: "Timed out waiting for HumanResponseEvent",
          eventTag: "HumanResponseEvent",
          timeout: 5000,
          at: 5000
        })
      }))

    it.scoped("an uncaught wait timeout fails the run: WorkflowFailedEvent, then WaitForEventTimeout", () =>
      Effect.gen(function*() {
        const ask = Step.make("ask", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
          Effect.map(
            ctx.waitForEvent(Event.HumanResponseEvent, { timeout: "5 seconds" }),
            (answer) => new Event.StopEvent({ result: answer.response })
          ))
        const wf = Workflow.make({ name: "wait-timeout-fails", steps: [ask], ...base })
        const handler = yield* Workflow.start(wf)
        yield* untilIdle(handler)
        yield* TestClock.adjust("5 seconds")
        const error = yield* Effect.flip(handler.result)
        expect(error).toBeInstanceOf(WorkflowError.WaitForEventTimeout)
        expect(error._tag).toBe("WaitForEventTimeout")
        expect(error.message).toBe("Timed out waiting for HumanResponseEvent")
        const events = yield* published(handler)
        expect(tags(events)).toEqual(["WorkflowFailedEvent"])
        expect(events[0]).toMatchObject({ stepName: "ask", attempts: 1, elapsedSeconds: 5 })
        expect((events[0] as Event.WorkflowFailedEvent).error).toBe(error)
      }))
  })

  describe("waiters with requirements", () => {
    it.scoped("two waits with one waiterId and different requirements: each answer resolves only its own", () =>
      Effect.gen(function*() {
        const start = Step.make("start", { on: Event.StartEvent, emits: [Input] }, (_, ctx) =>
          Effect.forEach([1, 2], (id) => ctx.sendEvent(new Input({ id })), { discard: true }))
        const wait = Step.make("wait", { on: Input, emits: [Answered], workers: 2 }, (ev, ctx) =>
          Effect.map(
            ctx.waitForEvent(Answer, { waiterId: "shared", requirements: { id: ev.id } }),
            (answer) => new Answered({ id: ev.id, text: answer.text })
          ))
        const finish = Step.make("finish", { on: Answered, emits: [Event.StopEvent], workers: 1 }, (ev, ctx) =>
          Effect.map(
            ctx.collectEvents(ev, [Answered, Answered]),
            Option.match({
              onNone: () => undefined,
              onSome: (evs) => new Event.StopEvent({ result: evs.map((a) => `${a.id}:${a.text}`) })
            })
          ))
        const wf = Workflow.make({ name: "waiter-id-requirements", steps: [start, wait, finish], ...base })
        const handler = yield* Workflow.start(wf)
        yield* untilIdle(handler)
        yield* handler.sendEvent(new Answer({ id: 2, text: "two" }))
        // the first answer resolved the wait of id 2 only: one execution goes on and ends
        // (its Answered is routed to "finish" as it ends), the other still waits
        const answered = (ev: Event.AnyEvent) =>
          Event.is(ev, Event.StepStateChanged) && ev.name === "wait" && ev.outputEventName === "Answered"
        yield* handler.stream({ internal: true }).pipe(Stream.filter(answered), Stream.take(1), Stream.runDrain)
        expect(yield* handler.isDone).toBe(false)
        yield* handler.sendEvent(new Answer({ id: 1, text: "one" }))
        // each id got its own answer; "2:two" reached "finish" before "1:one" was even sent
        expect(yield* handler.result).toEqual(["2:two", "1:one"])
        expect((yield* internal(handler)).filter(answered).length).toBe(2)
      }))

    it.scoped("requirements compare structurally: an equal plain object matches", () =>
      Effect.gen(function*() {
        class Request extends Schema.TaggedClass<Request>()("Request", {
          payload: Schema.Struct({ id: Schema.Number, tags: Schema.Array(Schema.String) })
        }) {}
        const step = Step.make("wait", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
          Effect.map(
            ctx.waitForEvent(Request, { requirements: { payload: { id: 1, tags: ["a"] } } }),
            (request) => new Event.StopEvent({ result: request.payload.id })
          ))
        const wf = Workflow.make({ name: "requirements-structural", steps: [step], ...base })
        const handler = yield* Workflow.start(wf)
        yield* untilIdle(handler)
        yield* handler.sendEvent(new Request({ payload: { id: 1, tags: ["b"] } }))
        expect(yield* handler.isDone).toBe(false)
        yield* handler.sendEvent(new Request({ payload: { id: 1, tags: ["a"] } }))
        expect(yield* handler.result).toBe(1)
      }))
  })

  describe("each execution is isolated", () => {
    it.scoped("a FiberRef, log annotation or span set by one execution is not seen by the next on the same worker", () =>
      Effect.gen(function*() {
        const counter = FiberRef.unsafeMake(0)
        const seen: Array<unknown> = []
        const step = Step.make("s", { on: Input, emits: [], workers: 1 }, () =>
          Effect.gen(function*() {
            seen.push([
              yield* FiberRef.get(counter),
              yield* FiberRef.get(FiberRef.currentLogAnnotations).pipe(Effect.map((a) => [...HashMap.keys(a)].sort())),
              Option.isSome(yield* Effect.option(Effect.currentSpan))
            ])
            yield* FiberRef.update(counter, (n) => n + 1)
            yield* FiberRef.update(FiberRef.currentLogAnnotations, HashMap.set<string, unknown>("leaked", true))
            // a span made current for the rest of the fiber
            const span = yield* Effect.makeSpan("leaked")
            yield* FiberRef.update(FiberRef.currentContext, Context.add(Tracer.ParentSpan, span))
          }))
        const start = Step.make("start", { on: Event.StartEvent, emits: [Input] }, (_, ctx) =>
          Effect.forEach([1, 2, 3], (id) => ctx.sendEvent(new Input({ id })), { discard: true }))
        const wf = Workflow.make({ name: "isolated-refs", steps: [start, step], ...base })
        const handler = yield* Workflow.start(wf)
        yield* untilIdle(handler)
        // never "leaked" (the run's own annotations are added by its loggers when a step logs, not
        // set on the fiber: see test/observability.test.ts)
        expect(seen).toEqual([[0, [], false], [0, [], false], [0, [], false]])
        yield* handler.cancel
      }))
  })

  describe("the handler after the end", () => {
    it.scoped("sendEvent on a run that has ended fails with a WorkflowRuntimeError saying so", () =>
      Effect.gen(function*() {
        const echo = Step.make("echo", { on: Event.StartEvent, emits: [Event.StopEvent] }, () =>
          Effect.succeed(new Event.StopEvent({ result: "done" })))
        const wf = Workflow.make({ name: "ended-send", steps: [echo], ...base })
        const handler = yield* Workflow.start(wf, undefined, { runId: "run-1" })
        expect(yield* handler.result).toBe("done")
        const error = yield* Effect.flip(handler.sendEvent(new Ping()))
        expect(error._tag).toBe("WorkflowRuntimeError")
        expect(error.message).toBe("Workflow already completed: run run-1 accepts no more events")
      }))
  })

  describe("writeEventToStream", () => {
    it.scoped("publishes events in order without routing them", () =>
      Effect.gen(function*() {
        let listenerRuns = 0
        const work = Step.make("work", { on: Event.StartEvent, emits: [Next] }, (_, ctx) =>
          Effect.gen(function*() {
            yield* ctx.writeEventToStream(new Progress({ percent: 10 }))
            yield* ctx.writeEventToStream(new Progress({ percent: 50 }))
            yield* ctx.writeEventToStream(new Progress({ percent: 90 }))
            return new Next()
          }))
        const finish = Step.make("finish", { on: Next, emits: [Event.StopEvent] }, () =>
          Effect.succeed(new Event.StopEvent({ result: "done" })))
        const listener = Step.make("listener", { on: Progress }, () => Effect.sync(() => void listenerRuns++))
        const wf = Workflow.make({ name: "write", steps: [work, finish, listener], ...base })
        const handler = yield* Workflow.start(wf)
        expect(yield* handler.result).toBe("done")
        const events = yield* published(handler)
        expect(tags(events)).toEqual(["Progress", "Progress", "Progress", "StopEvent"])
        expect(events.filter(Event.is(Progress)).map((p) => p.percent)).toEqual([10, 50, 90])
        expect(listenerRuns).toBe(0)
        const all = yield* internal(handler)
        expect(stepStates(all, "listener")).toEqual([])
        expect(all.filter(Event.is(Event.UnhandledEvent))).toEqual([])
      }))
  })

  describe("runningSteps", () => {
    it.scoped("two steps running concurrently each see both names", () =>
      Effect.gen(function*() {
        /** Both executions wait here until the other one arrives (holding their slots). */
        const makeBarrier = Effect.gen(function*() {
          const arrived = yield* Ref.make(0)
          const bothIn = yield* Deferred.make<void>()
          return Effect.gen(function*() {
            const n = yield* Ref.updateAndGet(arrived, (k) => k + 1)
            if (n === 2) yield* Deferred.succeed(bothIn, undefined)
            yield* Deferred.await(bothIn)
          })
        })
        const beforeLook = yield* makeBarrier
        const afterLook = yield* makeBarrier
        const observe = (name: string) => (_: Ping, ctx: WorkflowContext.WorkflowContext) =>
          Effect.gen(function*() {
            yield* beforeLook
            const running = yield* ctx.runningSteps
            yield* afterLook
            return new Seen({ name, running })
          })
        const start = Step.make("start", { on: Event.StartEvent, emits: [Ping] }, (_, ctx) => ctx.sendEvent(new Ping()))
        const left = Step.make("left", { on: Ping, emits: [Seen] }, observe("left"))
        const right = Step.make("right", { on: Ping, emits: [Seen] }, observe("right"))
        const finish = Step.make("finish", { on: Seen, emits: [Event.StopEvent], workers: 1 }, (ev, ctx) =>
          Effect.map(
            ctx.collectEvents(ev, [Seen, Seen]),
            Option.match({
              onNone: () => undefined,
              onSome: (evs) =>
                new Event.StopEvent({
                  result: Object.fromEntries(evs.map((s) => [s.name, [...s.running].sort()]))
                })
            })
          ))
        const wf = Workflow.make({ name: "running", steps: [start, left, right, finish], ...base })
        const handler = yield* Workflow.start(wf)
        expect(yield* handler.result).toEqual({ left: ["left", "right"], right: ["left", "right"] })
        expect(yield* handler.runningSteps).toEqual([])
      }))
  })

  describe("retries in the engine", () => {
    it.effect("retry: Schedule.recurs(2), failing twice then succeeding: 3 executions, success", () =>
      Effect.gen(function*() {
        let executions = 0
        const step = Step.make(
          "flaky",
          { on: Event.StartEvent, emits: [Event.StopEvent], retry: Schedule.recurs(2) },
          () =>
            Effect.suspend(() => {
              executions++
              return executions <= 2
                ? Effect.fail(new Boom({ n: executions }))
                : Effect.succeed(new Event.StopEvent({ result: `ok after ${executions}` }))
            })
        )
        const wf = Workflow.make({ name: "recurs", steps: [step], ...base })
        expect(yield* Workflow.run(wf)).toBe("ok after 3")
        expect(executions).toBe(3)
      }))

    it.scoped("constantDelay: executions at 0, 5000, 10000 ms, then WorkflowFailedEvent and the typed error", () =>
      Effect.gen(function*() {
        const times: Array<number> = []
        const step = Step.make(
          "failing",
          {
            on: Event.StartEvent,
            emits: [Event.StopEvent],
            retry: RetryPolicy.constantDelay({ maximumAttempts: 3, delay: "5 seconds" })
          },
          () =>
            Effect.gen(function*() {
              times.push(yield* Clock.currentTimeMillis)
              return yield* Effect.fail(new Boom({ n: times.length }))
            })
        )
        const wf = Workflow.make({ name: "constant", steps: [step], ...base })
        const handler = yield* Workflow.start(wf)
        yield* TestClock.adjust("5 seconds")
        yield* TestClock.adjust("5 seconds")
        yield* TestClock.adjust("5 seconds")
        const error = yield* Effect.flip(handler.result)
        expect(times).toEqual([0, 5000, 10000])
        expect(error).toBeInstanceOf(Boom)
        expect(error).toMatchObject({ _tag: "Boom", n: 3 })
        const events = yield* published(handler)
        expect(tags(events)).toEqual(["WorkflowFailedEvent"])
        expect(events[0]).toMatchObject({ stepName: "failing", attempts: 3, elapsedSeconds: 10 })
        expect((events[0] as Event.WorkflowFailedEvent).error).toBe(error)
      }))

    it.scoped("fromNext gets attempts 1, 2, 3 and elapsed from the first attempt's start", () =>
      Effect.gen(function*() {
        const seen: Array<{ elapsed: number; attempts: number; error: number }> = []
        const starts: Array<number> = []
        const step = Step.make(
          "slow",
          {
            on: Event.StartEvent,
            emits: [Event.StopEvent],
            retry: RetryPolicy.fromNext<Boom>((elapsed, attempts, error) => {
              seen.push({ elapsed: Duration.toMillis(elapsed), attempts, error: error.n })
              return attempts >= 3 ? undefined : "2 seconds"
            })
          },
          () =>
            Effect.gen(function*() {
              starts.push(yield* Clock.currentTimeMillis)
              yield* Effect.sleep("1 second")
              return yield* Effect.fail(new Boom({ n: starts.length }))
            })
        )
        const wf = Workflow.make({ name: "from-next", steps: [step], ...base })
        const handler = yield* Workflow.start(wf)
        for (let i = 0; i < 10; i++) yield* TestClock.adjust("1 second")
        const error = yield* Effect.flip(handler.result)
        // attempt k starts at 3000 * (k - 1) and fails 1 s later
        expect(starts).toEqual([0, 3000, 6000])
        // "since the first failure" would give 0, 3000, 6000
        expect(seen).toEqual([
          { elapsed: 1000, attempts: 1, error: 1 },
          { elapsed: 4000, attempts: 2, error: 2 },
          { elapsed: 7000, attempts: 3, error: 3 }
        ])
        expect(error).toMatchObject({ _tag: "Boom", n: 3 })
        const events = yield* published(handler)
        expect(events[0]).toMatchObject({
          _tag: "WorkflowFailedEvent",
          stepName: "slow",
          attempts: 3,
          elapsedSeconds: 7
        })
      }))

    it.scoped("ctx.retryInfo: attempt, elapsed since the first attempt's start, previous error", () =>
      Effect.gen(function*() {
        const infos: Array<{ attempt: number; elapsed: number; lastError: number | undefined; same: boolean }> = []
        const step = Step.make(
          "flaky",
          {
            on: Event.StartEvent,
            emits: [Event.StopEvent],
            retry: RetryPolicy.constantDelay({ maximumAttempts: 3, delay: "1 second" })
          },
          (_, ctx) =>
            Effect.gen(function*() {
              const service = yield* WorkflowContext.WorkflowContext
              const info = ctx.retryInfo
              infos.push({
                attempt: info.attempt,
                elapsed: Duration.toMillis(info.elapsed),
                lastError: Option.getOrUndefined(Option.map(info.lastError, (e) => (e as Boom).n)),
                same: service.retryInfo === info
              })
              yield* Effect.sleep("1 second")
              if (info.attempt < 3) return yield* Effect.fail(new Boom({ n: info.attempt }))
              return new Event.StopEvent({ result: `ok on ${info.attempt}` })
            })
        )
        const wf = Workflow.make({ name: "retry-info", steps: [step], ...base })
        const handler = yield* Workflow.start(wf)
        for (let i = 0; i < 6; i++) yield* TestClock.adjust("1 second")
        expect(yield* handler.result).toBe("ok on 3")
        // attempt 1 at 0 (fails at 1000), attempt 2 at 2000 (fails at 3000), attempt 3 at 4000
        expect(infos).toEqual([
          { attempt: 1, elapsed: 0, lastError: undefined, same: true },
          { attempt: 2, elapsed: 2000, lastError: 1, same: true },
          { attempt: 3, elapsed: 4000, lastError: 2, same: true }
        ])
      }))

    it.scoped("a retry frees the slot: with workers: 1 a queued event runs before the retry", () =>
      Effect.gen(function*() {
        const log: Array<string> = []
        let failedOnce = false
        const start = Step.make("start", { on: Event.StartEvent, emits: [Job] }, (_, ctx) =>
          Effect.gen(function*() {
            yield* ctx.sendEvent(new Job({ id: 1 }))
            yield* ctx.sendEvent(new Job({ id: 2 }))
          }))
        const job = Step.make(
          "job",
          {
            on: Job,
            emits: [Done],
            workers: 1,
            retry: RetryPolicy.constantDelay({ maximumAttempts: 2, delay: "5 seconds" })
          },
          (ev) =>
            Effect.gen(function*() {
              log.push(`job${ev.id}@${yield* Clock.currentTimeMillis}`)
              if (ev.id === 1 && !failedOnce) {
                failedOnce = true
                return yield* Effect.fail(new Boom({ n: 1 }))
              }
              return new Done({ from: `job${ev.id}` })
            })
        )
        const finish = Step.make("finish", { on: Done, emits: [Event.StopEvent], workers: 1 }, (ev, ctx) =>
          Effect.map(
            ctx.collectEvents(ev, [Done, Done]),
            Option.match({
              onNone: () => undefined,
              onSome: (evs) => new Event.StopEvent({ result: evs.map((d) => d.from) })
            })
          ))
        const wf = Workflow.make({ name: "retry-slot", steps: [start, job, finish], ...base })
        const handler = yield* Workflow.start(wf)
        yield* TestClock.adjust("5 seconds")
        expect(yield* handler.result).toEqual(["job2", "job1"])
        expect(log).toEqual(["job1@0", "job2@0", "job1@5000"])
        expect(stepStates(yield* internal(handler), "job")).toEqual([
          "running:0:Job",
          "preparing:<enqueued>:Job",
          "not_running:0:Job",
          "running:0:Job",
          "not_running:0:Job->Done",
          "running:0:Job",
          "not_running:0:Job->Done"
        ])
      }))

    it.scoped("per-step timeout: the TimeoutException is retried with retry", () =>
      Effect.gen(function*() {
        const seen: Array<{ attempt: number; lastError: string | undefined; at: number }> = []
        const step = Step.make(
          "slow",
          { on: Event.StartEvent, emits: [Event.StopEvent], timeout: "1 second", retry: Schedule.recurs(1) },
          (_, ctx) =>
            Effect.gen(function*() {
              seen.push({
                attempt: ctx.retryInfo.attempt,
                lastError: Option.getOrUndefined(
                  Option.map(ctx.retryInfo.lastError, (e) => Cause.isTimeoutException(e) ? e.message : String(e))
                ),
                at: yield* Clock.currentTimeMillis
              })
              if (ctx.retryInfo.attempt === 1) yield* Effect.sleep("2 seconds")
              return new Event.StopEvent({ result: `done on ${ctx.retryInfo.attempt}` })
            })
        )
        const wf = Workflow.make({ name: "step-timeout-retry", steps: [step], ...base })
        const handler = yield* Workflow.start(wf)
        yield* TestClock.adjust("1 second")
        yield* TestClock.adjust("1 second")
        expect(yield* handler.result).toBe("done on 2")
        expect(seen).toEqual([
          { attempt: 1, lastError: undefined, at: 0 },
          { attempt: 2, lastError: "Operation timed out after '1s'", at: 1000 }
        ])
      }))

    it.scoped("per-step timeout without retry fails the run with Cause.TimeoutException", () =>
      Effect.gen(function*() {
        let executions = 0
        const step = Step.make(
          "slow",
          { on: Event.StartEvent, emits: [Event.StopEvent], timeout: "1 second" },
          () =>
            Effect.gen(function*() {
              executions++
              yield* Effect.sleep("2 seconds")
              return new Event.StopEvent({ result: "too late" })
            })
        )
        const wf = Workflow.make({ name: "step-timeout", steps: [step], ...base })
        const handler = yield* Workflow.start(wf)
        yield* TestClock.adjust("1 second")
        const error = yield* Effect.flip(handler.result)
        expect(Cause.isTimeoutException(error)).toBe(true)
        expect((error as Cause.TimeoutException).message).toBe("Operation timed out after '1s'")
        expect(executions).toBe(1)
        const events = yield* published(handler)
        expect(tags(events)).toEqual(["WorkflowFailedEvent"])
        expect(events[0]).toMatchObject({ stepName: "slow", attempts: 1, elapsedSeconds: 1 })
        expect((events[0] as Event.WorkflowFailedEvent).error).toBe(error)
      }))
  })

  describe("store", () => {
    it.scoped("ctx.store is shared by all steps of a run and is handler.store", () =>
      Effect.gen(function*() {
        const stores: Array<unknown> = []
        const first = Step.make("first", { on: Event.StartEvent, emits: [Next] }, (_, ctx) =>
          Effect.gen(function*() {
            stores.push(ctx.store)
            yield* ctx.store.set("a", 1)
            yield* ctx.store.set("nested.x", "y")
            return new Next()
          }))
        const second = Step.make("second", { on: Next, emits: [Event.StopEvent] }, (_, ctx) =>
          Effect.gen(function*() {
            stores.push(ctx.store)
            const a = (yield* ctx.store.get("a")) as number
            yield* ctx.store.set("b", a + 1)
            return new Event.StopEvent({ result: yield* ctx.store.getState })
          }))
        const wf = Workflow.make({ name: "store", steps: [first, second], ...base })
        const handler = yield* Workflow.start(wf)
        expect(yield* handler.result).toEqual({ a: 1, nested: { x: "y" }, b: 2 })
        expect(stores.length).toBe(2)
        expect(stores[0]).toBe(handler.store)
        expect(stores[1]).toBe(handler.store)
        expect(yield* handler.store.getState).toEqual({ a: 1, nested: { x: "y" }, b: 2 })
        expect(yield* handler.store.get("b")).toBe(2)
      }))
  })
})
