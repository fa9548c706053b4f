import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { Event, RetryPolicy, StateStore, Step, Workflow, WorkflowError, type WorkflowHandler } from "effect-workflows"
import { collect, tags, waitFor, waitIdle } from "./utils/streams.js"

// -------------------------------------------------------------------------------------------------
// fixtures
// -------------------------------------------------------------------------------------------------

class Topic extends Schema.TaggedClass<Topic>()("Topic", { topic: Schema.String }) {}
class Done extends Schema.TaggedClass<Done>()("Done", { verdict: Schema.String }) {}
class Ping extends Schema.TaggedClass<Ping>()("Ping", { n: Schema.Number }) {}
/** Same fields as Ping, another tag. */
class Pong extends Schema.TaggedClass<Pong>()("Pong", { n: Schema.Number }) {}
class Ack extends Schema.TaggedClass<Ack>()("Ack", { side: Schema.String }) {}
class Item extends Schema.TaggedClass<Item>()("Item", { n: Schema.Number }) {}
class Finish extends Schema.TaggedClass<Finish>()("Finish", {}) {}
class Stray extends Schema.TaggedClass<Stray>()("Stray", {}) {}
class Progress extends Schema.TaggedClass<Progress>()("Progress", { n: Schema.Number }) {}
class Late extends Schema.TaggedClass<Late>()("Late", {}) {}

class Boom extends Data.TaggedError("Boom")<{ readonly reason: string }> {}

const { HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent } = Event

// -------------------------------------------------------------------------------------------------
// helpers
// -------------------------------------------------------------------------------------------------


const isRunning = (name: string) => (ev: Event.AnyEvent) =>
  Event.is(ev, Event.StepStateChanged) && ev.name === name && ev.stepState === "running"

/** StepStateChanged as a compact tuple: [name, state, workerId, input, output?]. */
const stateRows = (events: ReadonlyArray<Event.AnyEvent>) =>
  events.filter(Event.is(Event.StepStateChanged)).map((ev) =>
    ev.outputEventName === undefined
      ? [ev.name, ev.stepState, ev.workerId, ev.inputEventName]
      : [ev.name, ev.stepState, ev.workerId, ev.inputEventName, ev.outputEventName]
  )

/** The StepStateChanged rows of one step, in order: the engine promises each step's own sequence. */
const rowsOf = (events: ReadonlyArray<Event.AnyEvent>, name: string) =>
  stateRows(events).filter((row) => row[0] === name)

/**
 * The StepStateChanged rows between two WorkflowIdleEvents (and after the last), each part sorted:
 * what ran in each phase of a run the test drives from idle to idle, whatever the interleaving of
 * steps running at the same time.
 */
const rowsByIdlePhase = (events: ReadonlyArray<Event.AnyEvent>) => {
  const phases: Array<Array<Event.AnyEvent>> = [[]]
  for (const ev of events) {
    if (Event.is(ev, Event.WorkflowIdleEvent)) phases.push([])
    else phases[phases.length - 1].push(ev)
  }
  return phases.map((phase) => stateRows(phase).sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y))))
}

const stop = (result: unknown) => new StopEvent({ result })

// -------------------------------------------------------------------------------------------------
// run basics
// -------------------------------------------------------------------------------------------------

describe("Workflow.make", () => {
  it("defaults: StartEvent, StopEvent, 45 s timeout, unbounded runs, validation on", () => {
    const step = Step.make("a", { on: StartEvent, emits: [StopEvent] }, () => Effect.void)
    const wf = Workflow.make({ name: "defaults", steps: [step] })
    expect(wf.name).toBe("defaults")
    expect(wf.start).toBe(StartEvent)
    expect(wf.stop).toBe(StopEvent)
    expect(wf.steps).toEqual([step])
    expect(Duration.toMillis(Option.getOrThrow(wf.timeout))).toBe(45_000)
    expect(Option.isNone(wf.numConcurrentRuns)).toBe(true)
    expect(Option.isNone(wf.state)).toBe(true)
    expect(wf.validation).toBe(true)
    expect(Option.isNone(Workflow.make({ name: "n", steps: [step], timeout: null }).timeout)).toBe(true)
    expect(Workflow.isWorkflow(wf)).toBe(true)
    expect(Workflow.isWorkflow(step)).toBe(false)
  })
})

describe("Workflow.run", () => {
  it.effect("with the built-in StopEvent returns its result", () =>
    Effect.gen(function*() {
      const echo = Step.make("echo", { on: StartEvent, emits: [StopEvent] }, (ev) =>
        Effect.succeed(stop({ echoed: ev.input })))
      const wf = Workflow.make({ name: "echo", steps: [echo] })
      const result = yield* Workflow.run(wf, new StartEvent({ input: "hi" }))
      expectTypeOf(result).toEqualTypeOf<unknown>()
      expect(result).toEqual({ echoed: "hi" })
    }))

  it.effect("with a custom stop class returns the stop event instance", () =>
    Effect.gen(function*() {
      const judge = Step.make("judge", { on: StartEvent, emits: [Done] }, () => Effect.succeed(new Done({ verdict: "ok" })))
      const wf = Workflow.make({ name: "judge", stop: Done, steps: [judge] })
      const result = yield* Workflow.run(wf)
      expectTypeOf(result).toEqualTypeOf<Done>()
      expect(result).toBeInstanceOf(Done)
      expect(result).toEqual(new Done({ verdict: "ok" }))
    }))

  it.effect("without a start event sends new StartEvent({ input: undefined })", () =>
    Effect.gen(function*() {
      const echo = Step.make("echo", { on: StartEvent, emits: [StopEvent] }, (ev) => Effect.succeed(stop(ev)))
      const wf = Workflow.make({ name: "default-start", steps: [echo] })
      const result = yield* Workflow.run(wf)
      expect(result).toBeInstanceOf(StartEvent)
      expect(result).toEqual(new StartEvent({ input: undefined }))
    }))

  it.effect("with a custom start class", () =>
    Effect.gen(function*() {
      const draft = Step.make("draft", { on: Topic, emits: [Done] }, (ev) =>
        Effect.succeed(new Done({ verdict: `a joke about ${ev.topic}` })))
      const wf = Workflow.make({ name: "jokes", start: Topic, stop: Done, steps: [draft] })
      const done = yield* Workflow.run(wf, new Topic({ topic: "pirates" }))
      expect(done.verdict).toBe("a joke about pirates")
    }))

  it.effect("a start event of another tag fails with WorkflowConfigurationError", () =>
    Effect.gen(function*() {
      const executions = yield* Ref.make(0)
      const draft = Step.make("draft", { on: Topic, emits: [Done] }, () =>
        Effect.as(Ref.update(executions, (n) => n + 1), new Done({ verdict: "x" })))
      const wf = Workflow.make({ name: "jokes", start: Topic, stop: Done, steps: [draft] })
      const error = yield* Effect.flip(Workflow.run(wf, new StartEvent({ input: "pirates" }) as unknown as Topic))
      expect(error._tag).toBe("WorkflowConfigurationError")
      expect(error.message).toBe("The start event must be an instance of 'Topic', got 'StartEvent'.")
      expect(yield* Ref.get(executions)).toBe(0)
    }))

  it.effect("validates before the first run", () =>
    Effect.gen(function*() {
      const empty = Workflow.make({ name: "empty", steps: [] })
      const error = yield* Effect.flip(Workflow.run(empty))
      expect(error._tag).toBe("WorkflowConfigurationError")
      expect(error.message).toBe("Workflow 'empty' has no configured steps.")

      const executions = yield* Ref.make(0)
      const steps = [
        Step.make("start", { on: StartEvent, emits: [StopEvent] }, () =>
          Effect.as(Ref.update(executions, (n) => n + 1), stop("ran"))),
        Step.make("orphan", { on: Ping, emits: [StopEvent] }, () => Effect.void)
      ]
      const invalid = Workflow.make({ name: "invalid", steps })
      const validationError = yield* Effect.flip(Workflow.run(invalid))
      expect(validationError._tag).toBe("WorkflowValidationError")
      expect(validationError.message).toBe("The following events are consumed but never produced: Ping")
      const startError = yield* Effect.flip(
        Effect.scoped(Workflow.start(Workflow.make({ name: "invalid-start", steps })))
      )
      expect(startError.message).toBe("The following events are consumed but never produced: Ping")
      expect(yield* Ref.get(executions)).toBe(0)
    }))

  it.effect("validation: false skips validation at run time (Workflow.validate still checks)", () =>
    Effect.gen(function*() {
      const wf = Workflow.make({
        name: "unvalidated",
        validation: false,
        steps: [
          Step.make("start", { on: StartEvent, emits: [StopEvent] }, () => Effect.succeed(stop("ran"))),
          Step.make("orphan", { on: Ping, emits: [StopEvent] }, () => Effect.void)
        ]
      })
      expect(yield* Workflow.run(wf)).toBe("ran")
      const error = yield* Effect.flip(Workflow.validate(wf))
      expect(error.message).toBe("The following events are consumed but never produced: Ping")
    }))
})

// -------------------------------------------------------------------------------------------------
// routing
// -------------------------------------------------------------------------------------------------

describe("routing", () => {
  it.effect("by exact tag: an event with the same fields and another tag reaches nobody else", () =>
    Effect.gen(function*() {
      const pongs = yield* Ref.make(0)
      const wf = Workflow.make({
        name: "exact",
        validation: false,
        steps: [
          Step.make("start", { on: StartEvent, emits: [Ping] }, () => Effect.succeed(new Ping({ n: 1 }))),
          Step.make("pong", { on: Pong, emits: [StopEvent] }, () =>
            Effect.as(Ref.update(pongs, (n) => n + 1), stop("pong"))),
          Step.make("ping", { on: Ping, emits: [StopEvent] }, (ev) => Effect.succeed(stop(`ping ${ev.n}`)))
        ]
      })
      expect(yield* Workflow.run(wf)).toBe("ping 1")
      expect(yield* Ref.get(pongs)).toBe(0)
    }))

  it.effect("an untargeted event fans out to every accepting step", () =>
    Effect.gen(function*() {
      const wf = Workflow.make({
        name: "fan-out",
        steps: [
          Step.make("start", { on: StartEvent, emits: [Ping] }, () => Effect.succeed(new Ping({ n: 1 }))),
          Step.make("left", { on: Ping, emits: [Ack] }, () => Effect.succeed(new Ack({ side: "left" }))),
          Step.make("right", { on: Ping, emits: [Ack] }, () => Effect.succeed(new Ack({ side: "right" }))),
          Step.make("join", { on: Ack, emits: [StopEvent] }, (ev, ctx) =>
            Effect.map(ctx.collectEvents(ev, [Ack, Ack]), (acks) =>
              Option.isSome(acks) ? stop(acks.value.map((a) => a.side).sort()) : undefined))
        ]
      })
      const { internal, result } = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf)
        const result = yield* handler.result
        return { result, internal: yield* collect(handler.stream({ internal: true })) }
      }))
      expect(result).toEqual(["left", "right"])
      const pingRows = stateRows(internal).filter((row) => row[3] === "Ping" && row[1] === "running")
      expect(pingRows.map((row) => row[0]).sort()).toEqual(["left", "right"])
    }))

  it.scoped("handler.sendEvent: targeted, untargeted, and rejected sends", () =>
    Effect.gen(function*() {
      const left = yield* Ref.make(0)
      const right = yield* Ref.make(0)
      const wf = Workflow.make({
        name: "targeted",
        steps: [
          Step.make("start", { on: StartEvent, emits: [Ping, StopEvent] }, (_, ctx) =>
            Effect.as(ctx.waitForEvent(Finish), stop("finished"))),
          Step.make("left", { on: Ping, emits: [] }, () => Ref.update(left, (n) => n + 1)),
          Step.make("right", { on: Ping, emits: [] }, () => Ref.update(right, (n) => n + 1))
        ]
      })
      const handler = yield* Workflow.start(wf)
      yield* waitIdle(handler, 1)

      yield* handler.sendEvent(new Ping({ n: 1 }), { step: "right" })
      yield* waitIdle(handler, 2)
      expect([yield* Ref.get(left), yield* Ref.get(right)]).toEqual([0, 1])

      yield* handler.sendEvent(new Ping({ n: 2 }))
      yield* waitIdle(handler, 3)
      expect([yield* Ref.get(left), yield* Ref.get(right)]).toEqual([1, 2])

      const missing = yield* Effect.flip(handler.sendEvent(new Ping({ n: 3 }), { step: "nope" }))
      expect(missing._tag).toBe("WorkflowStepDoesNotExistError")
      expect(missing.message).toBe("Step nope does not exist")
      expect(missing).toBeInstanceOf(WorkflowError.WorkflowStepDoesNotExistError)

      const refused = yield* Effect.flip(handler.sendEvent(new Ping({ n: 4 }), { step: "start" }))
      expect(refused._tag).toBe("WorkflowRuntimeError")
      expect(refused.message).toBe("Step start does not accept event of type Ping")

      const unknownTarget = yield* Effect.flip(handler.sendEvent(new Finish(), { step: "left" }))
      expect(unknownTarget.message).toBe("Step left does not accept event of type Finish")

      yield* handler.sendEvent(new Finish())
      expect(yield* handler.result).toBe("finished")
      expect([yield* Ref.get(left), yield* Ref.get(right)]).toEqual([1, 2])

      const internal = yield* collect(handler.stream({ internal: true }))
      // nothing was enqueued by the rejected sends; the Finish was consumed by the waiter.
      // Each step's own sequence is exact; between steps only the phases the test waited for
      // (idle to idle) are ordered: "left" and "right" run at the same time in the third.
      expect(rowsOf(internal, "start")).toEqual([
        ["start", "running", "0", "StartEvent"],
        ["start", "not_running", "0", "StartEvent"],
        ["start", "running", "0", "StartEvent"],
        ["start", "not_running", "0", "StartEvent", "StopEvent"]
      ])
      expect(rowsOf(internal, "right")).toEqual([
        ["right", "running", "0", "Ping"],
        ["right", "not_running", "0", "Ping"],
        ["right", "running", "0", "Ping"],
        ["right", "not_running", "0", "Ping"]
      ])
      expect(rowsOf(internal, "left")).toEqual([
        ["left", "running", "0", "Ping"],
        ["left", "not_running", "0", "Ping"]
      ])
      expect(rowsByIdlePhase(internal)).toEqual([
        [["start", "not_running", "0", "StartEvent"], ["start", "running", "0", "StartEvent"]],
        [["right", "not_running", "0", "Ping"], ["right", "running", "0", "Ping"]],
        [
          ["left", "not_running", "0", "Ping"],
          ["left", "running", "0", "Ping"],
          ["right", "not_running", "0", "Ping"],
          ["right", "running", "0", "Ping"]
        ],
        [["start", "not_running", "0", "StartEvent", "StopEvent"], ["start", "running", "0", "StartEvent"]]
      ])
      expect(tags(internal).filter((tag) => tag === "UnhandledEvent")).toEqual([])
      expect(tags(internal).filter((tag) => tag === "WorkflowIdleEvent")).toHaveLength(3)
    }))

  it.scoped("an unhandled event publishes UnhandledEvent { eventType, idle } on the internal stream only", () =>
    Effect.gen(function*() {
      const wf = Workflow.make({
        name: "unhandled",
        steps: [
          Step.make("start", { on: StartEvent, emits: [StopEvent] }, (_, ctx) =>
            Effect.gen(function*() {
              yield* ctx.sendEvent(new Stray())
              yield* ctx.waitForEvent(Finish)
              return stop("done")
            }))
        ]
      })
      const handler = yield* Workflow.start(wf)
      yield* waitIdle(handler)
      yield* handler.sendEvent(new Stray())
      yield* handler.sendEvent(new Finish())
      expect(yield* handler.result).toBe("done")

      const internal = yield* collect(handler.stream({ internal: true }))
      expect(internal.filter(Event.is(Event.UnhandledEvent))).toEqual([
        new Event.UnhandledEvent({ eventType: "Stray", idle: false }),
        new Event.UnhandledEvent({ eventType: "Stray", idle: true })
      ])
      expect(internal.filter(Event.is(Event.UnhandledEvent)).map((ev) => "stepName" in ev)).toEqual([false, false])
      expect(tags(yield* collect(handler.events))).toEqual(["StopEvent"])
    }))
})

// -------------------------------------------------------------------------------------------------
// emits violations
// -------------------------------------------------------------------------------------------------

describe("emits violations", () => {
  const runBad = (name: string, step: Step.Any) =>
    Effect.scoped(Effect.gen(function*() {
      const wf = Workflow.make({ name, steps: [step], validation: false })
      const handler = yield* Workflow.start(wf)
      const error = yield* Effect.flip(handler.result)
      const events = yield* collect(handler.events)
      return { error, events }
    }))

  it.effect("returning a non-event fails the run with WorkflowRuntimeError (no retry)", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [unknown, string]> = [
        ["hello", "string"],
        [42, "number"],
        [null, "null"],
        [[new StopEvent({ result: 1 })], "array"],
        [{ result: 1 }, "object"],
        [true, "boolean"]
      ]
      for (const [value, described] of cases) {
        const executions = yield* Ref.make(0)
        const bad = Step.make("bad", { on: StartEvent, emits: [StopEvent], retry: Schedule.recurs(5) }, () =>
          Effect.as(Ref.update(executions, (n) => n + 1), value as Event.StopEvent))
        const { error, events } = yield* runBad(`non-event-${described}`, bad)
        const message = `Step function bad returned ${described} instead of an Event instance.`
        expect(error._tag).toBe("WorkflowRuntimeError")
        expect(error.message).toBe(message)
        expect(events).toEqual([
          new Event.WorkflowFailedEvent({ stepName: "bad", error, attempts: 1, elapsedSeconds: 0 })
        ])
        expect(yield* Ref.get(executions)).toBe(1)
      }
    }))

  it.effect("returning an undeclared event fails the run with WorkflowRuntimeError", () =>
    Effect.gen(function*() {
      const declared = Step.make("bad", { on: StartEvent, emits: [Ping, StopEvent], retry: Schedule.recurs(5) }, () =>
        Effect.succeed(new Pong({ n: 1 }) as unknown as Ping))
      const one = yield* runBad("undeclared", declared)
      expect(one.error._tag).toBe("WorkflowRuntimeError")
      expect(one.error.message).toBe(
        "Step function bad returned Pong instead of one of its declared events (Ping, StopEvent)."
      )
      expect(one.events).toHaveLength(1)
      expect(one.events[0]).toEqual(
        new Event.WorkflowFailedEvent({ stepName: "bad", error: one.error, attempts: 1, elapsedSeconds: 0 })
      )

      // even the stop event must be declared
      const none = Step.make("quiet", { on: StartEvent }, () => Effect.succeed(stop("x") as unknown as undefined))
      const two = yield* runBad("undeclared-none", none)
      expect(two.error.message).toBe(
        "Step function quiet returned StopEvent instead of one of its declared events (none)."
      )
      expect(tags(two.events)).toEqual(["WorkflowFailedEvent"])
    }))
})

// -------------------------------------------------------------------------------------------------
// streams
// -------------------------------------------------------------------------------------------------

describe("streams", () => {
  it.scoped("an InputRequiredEvent returned from a step is published on handler.events", () =>
    Effect.gen(function*() {
      const wf = Workflow.make({
        name: "ask",
        steps: [
          Step.make("ask", { on: StartEvent, emits: [InputRequiredEvent] }, () =>
            Effect.succeed(new InputRequiredEvent({ prefix: "Approve?" }))),
          Step.make("answer", { on: HumanResponseEvent, emits: [StopEvent] }, (ev) => Effect.succeed(stop(ev.response)))
        ]
      })
      const handler = yield* Workflow.start(wf)
      const first = yield* collect(handler.events.pipe(Stream.take(1)))
      expect(first).toEqual([new InputRequiredEvent({ prefix: "Approve?" })])
      yield* handler.sendEvent(new HumanResponseEvent({ response: "yes" }))
      expect(yield* handler.result).toBe("yes")
      expect(yield* collect(handler.events)).toEqual([new InputRequiredEvent({ prefix: "Approve?" }), stop("yes")])
      const internal = yield* collect(handler.stream({ internal: true }))
      expect(tags(internal).includes("UnhandledEvent")).toBe(false)
    }))

  it.scoped("handler.events ends after the stop event; subscribers before and after the end get the whole run", () =>
    Effect.gen(function*() {
      const wf = Workflow.make({
        name: "progress",
        steps: [
          Step.make("work", { on: StartEvent, emits: [StopEvent] }, (_, ctx) =>
            Effect.gen(function*() {
              yield* ctx.writeEventToStream(new Progress({ n: 1 }))
              yield* Effect.sleep("1 second")
              yield* ctx.writeEventToStream(new Progress({ n: 2 }))
              return stop("done")
            }))
        ]
      })
      const handler = yield* Workflow.start(wf)
      const early = yield* Effect.fork(collect(handler.events))
      yield* TestClock.adjust("1 second")
      expect(yield* handler.result).toBe("done")
      const expected = [new Progress({ n: 1 }), new Progress({ n: 2 }), stop("done")]
      expect(yield* Fiber.join(early)).toEqual(expected)
      expect(yield* collect(handler.events)).toEqual(expected)
      expect(tags(yield* collect(handler.stream()))).toEqual(["Progress", "Progress", "StopEvent"])
    }))

  it.scoped("stream({ internal: true }): StepStateChanged of a 2-worker step fed 5 events: slots, queue, hand-over", () =>
    Effect.gen(function*() {
      const processed = yield* Ref.make<ReadonlyArray<number>>([])
      const wf = Workflow.make({
        name: "workers",
        steps: [
          Step.make("producer", { on: StartEvent, emits: [Item] }, (_, ctx) =>
            Effect.forEach([1, 2, 3, 4, 5], (n) => ctx.sendEvent(new Item({ n })), { discard: true })),
          Step.make("consumer", { on: Item, emits: [StopEvent], workers: 2 }, (ev) =>
            Effect.map(
              Ref.updateAndGet(processed, (ns) => [...ns, ev.n]),
              (ns) => ns.length === 5 ? stop(ns) : undefined
            ))
        ]
      })
      const handler = yield* Workflow.start(wf)
      // Which slot takes which queued Item, and so the order in which the executions on the two
      // slots' worker fibers run, is up to the scheduling of those fibers. Promised: every Item
      // once, and a queued Item (3, 4, 5 leave the queue in that order) only starts once a slot
      // has freed: the j-th of them after j executions have ended.
      const result = (yield* handler.result) as ReadonlyArray<number>
      expect([...result].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5])
      for (const [j, n] of [3, 4, 5].entries()) expect(result.indexOf(n)).toBeGreaterThanOrEqual(j + 1)

      const internal = yield* collect(handler.stream({ internal: true }))
      expect(rowsOf(internal, "producer")).toEqual([
        ["producer", "running", "0", "StartEvent"],
        ["producer", "not_running", "0", "StartEvent"]
      ])
      const consumer = rowsOf(internal, "consumer")
      // the producer's five sends: the free slots, smallest first, then the step's queue
      expect(consumer.slice(0, 5)).toEqual([
        ["consumer", "running", "0", "Item"],
        ["consumer", "running", "1", "Item"],
        ["consumer", "preparing", "<enqueued>", "Item"],
        ["consumer", "preparing", "<enqueued>", "Item"],
        ["consumer", "preparing", "<enqueued>", "Item"]
      ])
      // then five ends and three starts; each queued Item starts at once on the slot just freed
      const rest = consumer.slice(5)
      expect(rest.map((row) => row[1]).sort()).toEqual([
        ...Array(5).fill("not_running"),
        ...Array(3).fill("running")
      ])
      rest.forEach((row, i) => {
        if (row[1] === "running") expect(rest[i - 1]?.slice(1, 3)).toEqual(["not_running", row[2]])
      })
      // each slot alternates running / not_running, starting with running and ending free
      for (const slot of ["0", "1"]) {
        const states = consumer.filter((row) => row[2] === slot).map((row) => row[1])
        expect(states.length % 2).toBe(0)
        expect(states).toEqual(states.map((_, i) => i % 2 === 0 ? "running" : "not_running"))
      }
      // the execution that saw the fifth Item ended the run: its row is the step's last
      expect(consumer.filter((row) => row.length === 5)).toEqual([consumer[consumer.length - 1]])
      expect(consumer[consumer.length - 1]).toEqual(
        ["consumer", "not_running", consumer[consumer.length - 1][2], "Item", "StopEvent"]
      )
      expect(tags(internal)).toEqual([...Array(15).fill("StepStateChanged"), "StopEvent"])
      expect(tags(yield* collect(handler.events))).toEqual(["StopEvent"])
    }))

  it.scoped("WorkflowIdleEvent when the run only waits for input", () =>
    Effect.gen(function*() {
      const wf = Workflow.make({
        name: "hitl",
        steps: [
          Step.make("ask", { on: StartEvent, emits: [StopEvent] }, (_, ctx) =>
            Effect.map(
              ctx.waitForEvent(HumanResponseEvent, { waiterEvent: new InputRequiredEvent({ prefix: "Name?" }) }),
              (ev) => stop(`hello ${ev.response}`)
            ))
        ]
      })
      const handler = yield* Workflow.start(wf)
      yield* waitIdle(handler)
      expect(yield* handler.isDone).toBe(false)
      expect(yield* handler.runningSteps).toEqual([])
      const beforeAnswer = yield* collect(handler.stream({ internal: true }).pipe(Stream.take(4)))
      expect(beforeAnswer).toEqual([
        new Event.StepStateChanged({ name: "ask", stepState: "running", workerId: "0", inputEventName: "StartEvent" }),
        new InputRequiredEvent({ prefix: "Name?" }),
        new Event.StepStateChanged({
          name: "ask",
          stepState: "not_running",
          workerId: "0",
          inputEventName: "StartEvent"
        }),
        new Event.WorkflowIdleEvent({})
      ])
      yield* handler.sendEvent(new HumanResponseEvent({ response: "Ada" }))
      expect(yield* handler.result).toBe("hello Ada")
      const internal = yield* collect(handler.stream({ internal: true }))
      expect(tags(internal)).toEqual([
        "StepStateChanged",
        "InputRequiredEvent",
        "StepStateChanged",
        "WorkflowIdleEvent",
        "StepStateChanged",
        "StepStateChanged",
        "StopEvent"
      ])
      expect(stateRows(internal).slice(2)).toEqual([
        ["ask", "running", "0", "StartEvent"],
        ["ask", "not_running", "0", "StartEvent", "StopEvent"]
      ])
      expect(tags(yield* collect(handler.events))).toEqual(["InputRequiredEvent", "StopEvent"])
    }))
})

// -------------------------------------------------------------------------------------------------
// terminal paths
// -------------------------------------------------------------------------------------------------

describe("step failure", () => {
  it.scoped("after retries: WorkflowFailedEvent last, result fails with the step's own typed error", () =>
    Effect.gen(function*() {
      const executions = yield* Ref.make(0)
      const flaky = Step.make(
        "flaky",
        { on: StartEvent, emits: [StopEvent], retry: RetryPolicy.constantDelay({ maximumAttempts: 3, delay: "5 seconds" }) },
        () =>
          Effect.gen(function*() {
            const n = yield* Ref.updateAndGet(executions, (k) => k + 1)
            yield* Effect.sleep("1 second")
            return yield* new Boom({ reason: `attempt ${n}` })
          })
      )
      const wf = Workflow.make({ name: "flaky", steps: [flaky] })
      const handler = yield* Workflow.start(wf)
      const fiber = yield* Effect.fork(Effect.flip(handler.result))
      // attempts at 0 s, 6 s, 12 s; each fails 1 s after it starts
      yield* TestClock.adjust("12 seconds")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      expectTypeOf(error).toEqualTypeOf<WorkflowError.WorkflowError | Boom>()
      expect(error._tag).toBe("Boom")
      expect(error).toBeInstanceOf(Boom)
      expect((error as Boom).reason).toBe("attempt 3")
      expect(yield* Ref.get(executions)).toBe(3)

      const events = yield* collect(handler.events)
      expect(events).toEqual([
        new Event.WorkflowFailedEvent({ stepName: "flaky", error, attempts: 3, elapsedSeconds: 13 })
      ])
      const failed = events[events.length - 1] as Event.WorkflowFailedEvent
      expect(failed.error).toBe(error)
      const internal = yield* collect(handler.stream({ internal: true }))
      expect(tags(internal)[internal.length - 1]).toBe("WorkflowFailedEvent")
    }))

  it.effect("without retry: attempts 1", () =>
    Effect.gen(function*() {
      const once = Step.make("once", { on: StartEvent, emits: [StopEvent] }, () => new Boom({ reason: "no" }))
      const wf = Workflow.make({ name: "once", steps: [once] })
      const { error, events } = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf)
        const error = yield* Effect.flip(handler.result)
        return { error, events: yield* collect(handler.events) }
      }))
      expect(error).toEqual(new Boom({ reason: "no" }))
      expect(events).toEqual([
        new Event.WorkflowFailedEvent({ stepName: "once", error, attempts: 1, elapsedSeconds: 0 })
      ])
    }))

  it.effect("a defect fails the run with a defect naming the step, the original as its cause (not retried)", () =>
    Effect.gen(function*() {
      const executions = yield* Ref.make(0)
      const defect = new Error("boom")
      const dying = Step.make("dying", { on: StartEvent, emits: [StopEvent], retry: Schedule.recurs(3) }, () =>
        Effect.zipRight(Ref.update(executions, (n) => n + 1), Effect.die(defect)))
      const wf = Workflow.make({ name: "dying", steps: [dying] })
      const { events, exit } = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf)
        const exit = yield* Effect.exit(handler.result)
        return { exit, events: yield* collect(handler.events) }
      }))
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const died = Option.getOrThrow(Cause.dieOption(exit.cause))
        expect(died).toBeInstanceOf(WorkflowError.WorkflowRuntimeError)
        expect((died as WorkflowError.WorkflowRuntimeError).message).toBe("Step dying failed with a defect: boom")
        expect((died as WorkflowError.WorkflowRuntimeError).cause).toBe(defect)
        expect(Option.isNone(Cause.failureOption(exit.cause))).toBe(true)
        expect(Cause.pretty(exit.cause)).toContain("WorkflowRuntimeError: Step dying failed with a defect: boom")
      }
      expect(yield* Ref.get(executions)).toBe(1)
      expect(events).toEqual([
        new Event.WorkflowFailedEvent({ stepName: "dying", error: defect, attempts: 1, elapsedSeconds: 0 })
      ])
      const viaRun = yield* Effect.exit(Workflow.run(wf))
      expect(
        Exit.isFailure(viaRun) && (Option.getOrThrow(Cause.dieOption(viaRun.cause)) as WorkflowError.WorkflowRuntimeError).cause
      ).toBe(defect)
    }))

  it.effect("a body that throws instead of returning an Effect fails the run at once, naming the step", () =>
    Effect.gen(function*() {
      const thrower = Step.make("thrower", { on: StartEvent, emits: [StopEvent] }, () => {
        throw new Error("kaboom")
      })
      const wf = Workflow.make({ name: "thrower", steps: [thrower] })
      const { events, exit } = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf)
        const exit = yield* Effect.exit(handler.result)
        return { exit, events: yield* collect(handler.events) }
      }))
      const died = Exit.isFailure(exit) ? Option.getOrThrow(Cause.dieOption(exit.cause)) : undefined
      expect(died).toBeInstanceOf(WorkflowError.WorkflowRuntimeError)
      expect((died as WorkflowError.WorkflowRuntimeError).message).toBe("Step thrower failed with a defect: kaboom")
      expect((died as WorkflowError.WorkflowRuntimeError).stack).toContain("Workflow.test.ts")
      expect(events.map(Event.tag)).toEqual(["WorkflowFailedEvent"])
    }))
})

describe("run timeout", () => {
  it.scoped("WorkflowTimedOutEvent { timeout, activeSteps } and WorkflowTimeoutError with the active steps", () =>
    Effect.gen(function*() {
      const wf = Workflow.make({
        name: "stuck",
        timeout: "10 seconds",
        steps: [
          Step.make("start", { on: StartEvent, emits: [Ping] }, () => Effect.succeed(new Ping({ n: 1 }))),
          Step.make("a", { on: Ping, emits: [StopEvent] }, () => Effect.never),
          Step.make("b", { on: Ping, emits: [] }, () => Effect.never)
        ]
      })
      const handler = yield* Workflow.start(wf)
      const fiber = yield* Effect.fork(Effect.flip(handler.result))
      yield* TestClock.adjust("9 seconds")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      expect(yield* handler.runningSteps).toEqual(["a", "b"])
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("WorkflowTimeoutError")
      expect(error.message).toBe("Operation timed out after 10 seconds. Currently active steps: a, b")
      expect(error).toBeInstanceOf(WorkflowError.WorkflowTimeoutError)
      expect((error as WorkflowError.WorkflowTimeoutError).activeSteps).toEqual(["a", "b"])
      expect(yield* collect(handler.events)).toEqual([
        new Event.WorkflowTimedOutEvent({ timeout: 10, activeSteps: ["a", "b"] })
      ])
      expect(yield* handler.isDone).toBe(true)
    }))

  it.scoped("a run that waits for an event times out with \"No steps active\"", () =>
    Effect.gen(function*() {
      const wf = Workflow.make({
        name: "waiting",
        timeout: "10 seconds",
        steps: [
          Step.make("wait", { on: StartEvent, emits: [StopEvent] }, (_, ctx) =>
            Effect.map(ctx.waitForEvent(HumanResponseEvent), (ev) => stop(ev.response)))
        ]
      })
      const handler = yield* Workflow.start(wf)
      const fiber = yield* Effect.fork(Effect.flip(handler.result))
      yield* TestClock.adjust("10 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("WorkflowTimeoutError")
      expect(error.message).toBe("Operation timed out after 10 seconds. No steps active")
      expect(yield* collect(handler.events)).toEqual([
        new Event.WorkflowTimedOutEvent({ timeout: 10, activeSteps: [] })
      ])
    }))

  it.scoped("timeout: null never times out", () =>
    Effect.gen(function*() {
      const wf = Workflow.make({
        name: "forever",
        timeout: null,
        steps: [Step.make("forever", { on: StartEvent, emits: [StopEvent] }, () => Effect.never)]
      })
      const handler = yield* Workflow.start(wf)
      const fiber = yield* Effect.fork(Effect.exit(handler.result))
      yield* TestClock.adjust("1 day")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      expect(yield* handler.isDone).toBe(false)
      expect(yield* handler.runningSteps).toEqual(["forever"])
      yield* handler.cancel
      const exit = yield* Fiber.join(fiber)
      expect(Exit.isFailure(exit) && Option.getOrThrow(Cause.failureOption(exit.cause))).toBeInstanceOf(
        WorkflowError.WorkflowCancelledByUser
      )
    }))

  it.scoped("the default timeout is 45 seconds", () =>
    Effect.gen(function*() {
      const wf = Workflow.make({
        name: "default-timeout",
        steps: [Step.make("slow", { on: StartEvent, emits: [StopEvent] }, () => Effect.never)]
      })
      const handler = yield* Workflow.start(wf)
      const fiber = yield* Effect.fork(Effect.flip(handler.result))
      yield* TestClock.adjust("44 seconds")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error.message).toBe("Operation timed out after 45 seconds. Currently active steps: slow")
      expect(yield* collect(handler.events)).toEqual([
        new Event.WorkflowTimedOutEvent({ timeout: 45, activeSteps: ["slow"] })
      ])
    }))
})

describe("run timeouts of many runs", () => {
  const waitingFor = (name: string, timeout: Duration.DurationInput) =>
    Workflow.make({
      name,
      timeout,
      steps: [
        Step.make("wait", { on: StartEvent, emits: [StopEvent] }, (_, ctx) =>
          Effect.map(ctx.waitForEvent(HumanResponseEvent), (ev) => stop(ev.response)))
      ]
    })

  it.scoped("each run times out at its own deadline, whatever order the runs started in", () =>
    Effect.gen(function*() {
      const long = yield* Workflow.start(waitingFor("long", "30 seconds"))
      yield* TestClock.adjust("5 seconds")
      const short = yield* Workflow.start(waitingFor("short", "10 seconds"))
      const alsoLong = yield* Workflow.start(waitingFor("long", "30 seconds"))
      const ended = (handler: WorkflowHandler.WorkflowHandler<any, any, any>) => handler.isDone
      yield* TestClock.adjust("9 seconds") // t = 14
      expect([yield* ended(long), yield* ended(short), yield* ended(alsoLong)]).toEqual([false, false, false])
      yield* TestClock.adjust("1 second") // t = 15: the short one, started at 5
      expect([yield* ended(long), yield* ended(short), yield* ended(alsoLong)]).toEqual([false, true, false])
      yield* TestClock.adjust("15 seconds") // t = 30
      expect([yield* ended(long), yield* ended(short), yield* ended(alsoLong)]).toEqual([true, true, false])
      yield* TestClock.adjust("5 seconds") // t = 35
      expect(yield* ended(alsoLong)).toBe(true)
      expect((yield* Effect.flip(short.result)).message).toBe("Operation timed out after 10 seconds. No steps active")
      expect((yield* Effect.flip(alsoLong.result)).message).toBe("Operation timed out after 30 seconds. No steps active")
    }))

  it.scoped("a run that ends before its deadline does not time out, and leaves no timer behind", () =>
    Effect.gen(function*() {
      const answered = yield* Workflow.start(waitingFor("answered", "10 seconds"))
      const unanswered = yield* Workflow.start(waitingFor("unanswered", "20 seconds"))
      yield* TestClock.adjust("5 seconds")
      yield* answered.sendEvent(new HumanResponseEvent({ response: "yes" }))
      expect(yield* answered.result).toBe("yes")
      yield* TestClock.adjust("10 seconds") // t = 15: past the answered run's deadline
      expect(yield* unanswered.isDone).toBe(false)
      yield* TestClock.adjust("5 seconds") // t = 20
      expect((yield* Effect.flip(unanswered.result))._tag).toBe("WorkflowTimeoutError")
      yield* Effect.yieldNow()
      expect(Array.from(yield* TestClock.sleeps())).toEqual([])
    }))

  it.scoped("a run whose steps do not wait sets no timer at all", () =>
    Effect.gen(function*() {
      const wf = Workflow.make({
        name: "quick",
        steps: [Step.make("quick", { on: StartEvent, emits: [StopEvent] }, () => Effect.succeed(stop(1)))]
      })
      const handler = yield* Workflow.start(wf)
      expect(yield* handler.result).toBe(1)
      expect(Array.from(yield* TestClock.sleeps())).toEqual([])
    }))
})

describe("cancel", () => {
  it.scoped("handler.cancel: WorkflowCancelledEvent, WorkflowCancelledByUser, running steps interrupted", () =>
    Effect.gen(function*() {
      const interrupted = yield* Ref.make(0)
      const started = yield* Deferred.make<void>()
      const wf = Workflow.make({
        name: "cancel",
        steps: [
          Step.make("slow", { on: StartEvent, emits: [StopEvent] }, () =>
            Deferred.succeed(started, undefined).pipe(
              Effect.zipRight(Effect.never),
              Effect.onInterrupt(() => Ref.update(interrupted, (n) => n + 1))
            ))
        ]
      })
      const handler = yield* Workflow.start(wf)
      yield* Deferred.await(started)
      expect(yield* handler.isDone).toBe(false)
      yield* handler.cancel
      expect(yield* handler.isDone).toBe(true)
      expect(yield* Ref.get(interrupted)).toBe(1)
      const error = yield* Effect.flip(handler.result)
      expect(error._tag).toBe("WorkflowCancelledByUser")
      expect(error.message).toBe("Workflow run cancelled by user")
      expect(yield* collect(handler.events)).toEqual([new Event.WorkflowCancelledEvent({})])
      expect(tags(yield* collect(handler.stream({ internal: true })))).toEqual([
        "StepStateChanged",
        "WorkflowCancelledEvent"
      ])

      // a second cancel is a no-op
      yield* handler.cancel
      expect((yield* Effect.flip(handler.result))._tag).toBe("WorkflowCancelledByUser")
      expect(yield* collect(handler.events)).toEqual([new Event.WorkflowCancelledEvent({})])
      expect(yield* Ref.get(interrupted)).toBe(1)
    }))

  it.scoped("cancel on a finished run is a no-op", () =>
    Effect.gen(function*() {
      const wf = Workflow.make({
        name: "finished",
        steps: [Step.make("done", { on: StartEvent, emits: [StopEvent] }, () => Effect.succeed(stop("ok")))]
      })
      const handler = yield* Workflow.start(wf)
      expect(yield* handler.result).toBe("ok")
      yield* handler.cancel
      expect(yield* handler.result).toBe("ok")
      expect(yield* handler.isDone).toBe(true)
      expect(yield* collect(handler.events)).toEqual([stop("ok")])
    }))
})

describe("the end of a run", () => {
  it.scoped("interrupts the other running steps before result completes; late writes never appear", () =>
    Effect.gen(function*() {
      const slowInterrupted = yield* Ref.make(false)
      const writerInterrupted = yield* Ref.make(false)
      const wf = Workflow.make({
        name: "race",
        steps: [
          Step.make("start", { on: StartEvent, emits: [Ping] }, () => Effect.succeed(new Ping({ n: 1 }))),
          Step.make("fast", { on: Ping, emits: [StopEvent] }, () => Effect.as(Effect.sleep("1 second"), stop("fast"))),
          Step.make("slow", { on: Ping, emits: [] }, () =>
            Effect.never.pipe(Effect.onInterrupt(() => Ref.set(slowInterrupted, true)))),
          Step.make("writer", { on: Ping, emits: [] }, (_, ctx) =>
            Effect.sleep("5 seconds").pipe(
              Effect.zipRight(ctx.writeEventToStream(new Late())),
              Effect.onInterrupt(() => Ref.set(writerInterrupted, true))
            ))
        ]
      })
      const handler = yield* Workflow.start(wf)
      const fiber = yield* Effect.fork(
        Effect.flatMap(handler.result, (result) =>
          Effect.map(Effect.all([Ref.get(slowInterrupted), Ref.get(writerInterrupted)]), (flags) => ({ result, flags })))
      )
      yield* TestClock.adjust("1 second")
      const { flags, result } = yield* Fiber.join(fiber)
      expect(result).toBe("fast")
      expect(flags).toEqual([true, true])
      yield* TestClock.adjust("10 seconds")
      expect(yield* collect(handler.events)).toEqual([stop("fast")])
      const internal = yield* collect(handler.stream({ internal: true }))
      expect(tags(internal).includes("Late")).toBe(false)
      expect(tags(internal)[internal.length - 1]).toBe("StopEvent")
    }))

  it.scoped("handler.runningSteps is empty once the run has ended (stop, timeout, cancel)", () =>
    Effect.gen(function*() {
      const start = Step.make("start", { on: StartEvent, emits: [Ping] }, () => Effect.succeed(new Ping({ n: 1 })))
      const fast = Step.make("fast", { on: Ping, emits: [StopEvent] }, () =>
        Effect.as(Effect.sleep("1 second"), stop("fast")))
      const stuck = Step.make("stuck", { on: Ping, emits: [StopEvent] }, () => Effect.never)

      const stopped = yield* Workflow.start(Workflow.make({ name: "ended-by-stop", steps: [start, fast, stuck] }))
      yield* waitFor(stopped, isRunning("stuck"))
      yield* TestClock.adjust("1 second")
      expect(yield* stopped.result).toBe("fast")
      const afterStop = yield* stopped.runningSteps

      const timedOut = yield* Workflow.start(
        Workflow.make({ name: "ended-by-timeout", timeout: "10 seconds", steps: [start, stuck] })
      )
      yield* waitFor(timedOut, isRunning("stuck"))
      const timeoutFiber = yield* Effect.fork(Effect.flip(timedOut.result))
      yield* TestClock.adjust("10 seconds")
      expect((yield* Fiber.join(timeoutFiber))._tag).toBe("WorkflowTimeoutError")
      const afterTimeout = yield* timedOut.runningSteps

      const cancelled = yield* Workflow.start(Workflow.make({ name: "ended-by-cancel", steps: [start, stuck] }))
      yield* waitFor(cancelled, isRunning("stuck"))
      yield* cancelled.cancel
      expect(yield* cancelled.isDone).toBe(true)
      const afterCancel = yield* cancelled.runningSteps

      expect({ afterStop, afterTimeout, afterCancel }).toEqual({ afterStop: [], afterTimeout: [], afterCancel: [] })
    }))

  it.effect("a run started in an uninterruptible region still has interruptible fibers", () =>
    Effect.gen(function*() {
      const ensured = yield* Ref.make(0)
      const wf = Workflow.make({
        name: "uninterruptible-start",
        steps: [
          Step.make("forever", { on: StartEvent, emits: [StopEvent] }, () =>
            Effect.never.pipe(Effect.ensuring(Ref.update(ensured, (n) => n + 1))))
        ]
      })
      // Workflow.run starts its run in an uninterruptible region of its own; the run's timeout
      // (45 s) and the step must still be interruptible for the run to end.
      const fiber = yield* Effect.fork(Effect.uninterruptible(Effect.flip(Workflow.run(wf))))
      yield* TestClock.adjust("45 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error._tag).toBe("WorkflowTimeoutError")
      expect(yield* Ref.get(ensured)).toBe(1)
    }))

  it.effect("closing the handler's scope interrupts the run's fibers", () =>
    Effect.gen(function*() {
      const ensured = yield* Ref.make(0)
      const ticks = yield* Ref.make(0)
      const wf = Workflow.make({
        name: "scoped",
        timeout: null,
        steps: [
          Step.make("forever", { on: StartEvent, emits: [StopEvent] }, () =>
            Effect.sleep("1 second").pipe(
              Effect.zipRight(Ref.update(ticks, (n) => n + 1)),
              Effect.forever,
              Effect.ensuring(Ref.update(ensured, (n) => n + 1))
            ))
        ]
      })
      const handler = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf)
        yield* waitFor(handler, isRunning("forever"))
        yield* TestClock.adjust("3 seconds")
        expect(yield* Ref.get(ticks)).toBe(3)
        expect(yield* Ref.get(ensured)).toBe(0)
        return handler
      }))
      expect(yield* Ref.get(ensured)).toBe(1)
      yield* TestClock.adjust("10 seconds")
      expect(yield* Ref.get(ticks)).toBe(3)
      expect(yield* Ref.get(ensured)).toBe(1)
      // closing the scope ends the run as a cancel does
      const exit = yield* Effect.exit(handler.result)
      expect(exit).toEqual(Exit.fail(new WorkflowError.WorkflowCancelledByUser()))
      const events = yield* collect(handler.events)
      expect(tags(events)).toEqual(["WorkflowCancelledEvent"])
    }))
})

// -------------------------------------------------------------------------------------------------
// concurrency and handler accessors
// -------------------------------------------------------------------------------------------------

/** A step that takes 1 s, counting how many of its executions overlap. */
const slowCounted = Effect.gen(function*() {
  const active = yield* Ref.make(0)
  const maxActive = yield* Ref.make(0)
  const slow = Step.make("slow", { on: StartEvent, emits: [StopEvent] }, (ev) =>
    Effect.gen(function*() {
      const now = yield* Ref.updateAndGet(active, (n) => n + 1)
      yield* Ref.update(maxActive, (m) => Math.max(m, now))
      yield* Effect.sleep("1 second")
      yield* Ref.update(active, (n) => n - 1)
      return stop(ev.input)
    }))
  return { active, maxActive, slow }
})

describe("numConcurrentRuns", () => {
  it.effect("numConcurrentRuns: 1 runs one at a time", () =>
    Effect.gen(function*() {
      const { active, maxActive, slow } = yield* slowCounted
      const wf = Workflow.make({ name: "limited", steps: [slow], numConcurrentRuns: 1 })
      expect(Option.getOrThrow(wf.numConcurrentRuns)).toBe(1)
      const fibers = yield* Effect.forEach([1, 2, 3], (i) => Effect.fork(Workflow.run(wf, new StartEvent({ input: i }))))

      yield* TestClock.adjust("1 second")
      const afterOne = yield* Effect.forEach(fibers, Fiber.poll)
      expect(afterOne.filter(Option.isSome)).toHaveLength(1)

      yield* TestClock.adjust("2 seconds")
      const afterThree = yield* Effect.forEach(fibers, Fiber.poll)
      expect(afterThree.filter(Option.isSome)).toHaveLength(3)
      expect((yield* Effect.forEach(fibers, Fiber.join)).slice().sort()).toEqual([1, 2, 3])
      expect(yield* Ref.get(maxActive)).toBe(1)
      expect(yield* Ref.get(active)).toBe(0)
    }))

  it.effect("without a limit the same runs overlap", () =>
    Effect.gen(function*() {
      const { maxActive, slow } = yield* slowCounted
      const wf = Workflow.make({ name: "unlimited", steps: [slow] })
      const fibers = yield* Effect.forEach([1, 2, 3], (i) => Effect.fork(Workflow.run(wf, new StartEvent({ input: i }))))
      yield* TestClock.adjust("1 second")
      const polled = yield* Effect.forEach(fibers, Fiber.poll)
      expect(polled.filter(Option.isSome)).toHaveLength(3)
      expect(yield* Ref.get(maxActive)).toBe(3)
    }))
})

describe("handler", () => {
  it.scoped("runningSteps while a step runs; isDone false then true", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const wf = Workflow.make({
        name: "gated",
        steps: [
          Step.make("busy", { on: StartEvent, emits: [StopEvent] }, () => Effect.as(Deferred.await(gate), stop("ok")))
        ]
      })
      const handler = yield* Workflow.start(wf)
      yield* waitFor(handler, isRunning("busy"))
      expect(yield* handler.runningSteps).toEqual(["busy"])
      expect(yield* handler.isDone).toBe(false)
      yield* Deferred.succeed(gate, undefined)
      expect(yield* handler.result).toBe("ok")
      expect(yield* handler.runningSteps).toEqual([])
      expect(yield* handler.isDone).toBe(true)
    }))

  it.scoped("runId: honoured when given, distinct by default", () =>
    Effect.gen(function*() {
      const wf = Workflow.make({
        name: "ids",
        steps: [Step.make("id", { on: StartEvent, emits: [StopEvent] }, (_, ctx) => Effect.succeed(stop(ctx.runId)))]
      })
      const named = yield* Workflow.start(wf, undefined, { runId: "run-42" })
      expect(named.runId).toBe("run-42")
      expect(yield* named.result).toBe("run-42")

      const one = yield* Workflow.start(wf)
      const two = yield* Workflow.start(wf)
      expect(typeof one.runId).toBe("string")
      expect(one.runId.length).toBeGreaterThan(0)
      expect(one.runId).not.toBe(two.runId)
      expect(yield* one.result).toBe(one.runId)
      expect(yield* two.result).toBe(two.runId)
    }))
})

// -------------------------------------------------------------------------------------------------
// state across runs
// -------------------------------------------------------------------------------------------------

describe("state", () => {
  it.effect("a store given to two runs carries the state over; without it each run starts empty", () =>
    Effect.gen(function*() {
      const counter = Step.make("count", { on: StartEvent, emits: [StopEvent] }, (_, ctx) =>
        Effect.map(
          ctx.store.edit((s) => ({ ...s, count: ((s.count as number | undefined) ?? 0) + 1 })),
          (s) => stop(s.count)
        ))
      const wf = Workflow.make({ name: "counter", steps: [counter] })
      const store = yield* StateStore.make()
      expect(yield* Workflow.run(wf, undefined, { store })).toBe(1)
      expect(yield* Workflow.run(wf, undefined, { store })).toBe(2)
      expect(yield* store.getState).toEqual({ count: 2 })
      expect(yield* Workflow.run(wf)).toBe(1)
      expect(yield* Workflow.run(wf)).toBe(1)
    }))

  it.scoped("typed state: ctx.store and handler.store are typed by the workflow's schema", () =>
    Effect.gen(function*() {
      class Counter extends Schema.Class<Counter>("Counter")({
        count: Schema.optionalWith(Schema.Number, { default: () => 0 }),
        label: Schema.optionalWith(Schema.String, { default: () => "none" })
      }) {}
      const inc = Step.make("inc", { on: StartEvent, emits: [StopEvent], state: Counter }, (ev, ctx) =>
        Effect.gen(function*() {
          expectTypeOf(ctx.store).toEqualTypeOf<StateStore.StateStore<Counter>>()
          const next = yield* ctx.store.edit((s) => new Counter({ count: s.count + 1, label: String(ev.input) }))
          return stop(next.count)
        }))
      const wf = Workflow.make({ name: "typed", state: Counter, steps: [inc] })

      const handler = yield* Workflow.start(wf, new StartEvent({ input: "first" }))
      expectTypeOf(handler.store).toEqualTypeOf<StateStore.StateStore<Counter>>()
      expect(yield* handler.result).toBe(1)
      const state = yield* handler.store.getState
      expect(state.count).toBe(1)
      expect(state.label).toBe("first")

      const shared = yield* StateStore.make(Counter)
      expect(yield* Workflow.run(wf, new StartEvent({ input: "a" }), { store: shared })).toBe(1)
      expect(yield* Workflow.run(wf, new StartEvent({ input: "b" }), { store: shared })).toBe(2)
      expect(yield* shared.getState).toEqual(new Counter({ count: 2, label: "b" }))
    }))
})
