import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import { Event, Step, Workflow } from "effect-workflows"
import * as Envelope from "../../src/internal/server/envelope.js"

// -------------------------------------------------------------------------------------------------
// fixtures: the workflows of /work/shared/protocol/server_app.py
// -------------------------------------------------------------------------------------------------

const { HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent } = Event

class GreetStart extends Schema.TaggedClass<GreetStart>()("GreetStart", {
  name: Schema.optionalWith(Schema.String, { default: () => "world" })
}) {}
class Progress extends Schema.TaggedClass<Progress>()("Progress", { message: Schema.String }) {}
class Middle extends Schema.TaggedClass<Middle>()("Middle", { name: Schema.String }) {}
class GreetingResult extends Schema.TaggedClass<GreetingResult>()("GreetingResult", {
  greeting: Schema.String,
  length: Schema.Int
}) {}
class Pair extends Schema.TaggedClass<Pair>()("Pair", { left: Schema.String, right: Schema.Number }) {}
class Dated extends Schema.TaggedClass<Dated>()("Dated", { at: Schema.Date }) {}

class ValueError extends Data.TaggedError("ValueError")<{ readonly message: string }> {}
class Boom extends Data.TaggedError("Boom")<{ readonly reason: string }> {}

const first = Step.make("first", { on: GreetStart, emits: [Middle] }, (ev, ctx) =>
  Effect.gen(function*() {
    yield* ctx.writeEventToStream(new Progress({ message: `greeting ${ev.name}` }))
    return new Middle({ name: ev.name })
  }))
const second = Step.make("second", { on: Middle, emits: [StopEvent] }, (ev) =>
  Effect.succeed(new StopEvent({ result: `hello ${ev.name}` })))
const greet = Workflow.make({ name: "greet", start: GreetStart, steps: [first, second], events: [Progress, Pair, Dated] })

const only = Step.make("only", { on: GreetStart, emits: [GreetingResult] }, (ev) =>
  Effect.succeed(new GreetingResult({ greeting: `hello ${ev.name}`, length: `hello ${ev.name}`.length })))
const typed = Workflow.make({ name: "typed", start: GreetStart, stop: GreetingResult, steps: [only] })

const ask = Step.make("ask", { on: StartEvent, emits: [InputRequiredEvent] }, () =>
  Effect.succeed(new InputRequiredEvent({ prefix: "What is your name?" })))
const answer = Step.make("answer", { on: HumanResponseEvent, emits: [StopEvent] }, (ev) =>
  Effect.succeed(new StopEvent({ result: `hello ${ev.response}` })))
const hitl = Workflow.make({ name: "hitl", steps: [ask, answer] })

const explode = Step.make("explode", { on: StartEvent, emits: [StopEvent] }, () =>
  Effect.fail(new ValueError({ message: "boom" })))
const fails = Workflow.make({ name: "fails", steps: [explode] })

// -------------------------------------------------------------------------------------------------
// helpers
// -------------------------------------------------------------------------------------------------

/** One `data:` line of a recording, as an object. */
const recorded = (json: string): unknown => JSON.parse(json)

const decoded = (workflow: Workflow.Any, input: unknown, start = false) => {
  const result = Envelope.decodeEvent(workflow, input, { start })
  if (Either.isLeft(result)) throw new Error(`expected a decoded event, got: ${result.left.message}`)
  return result.right
}

const refused = (workflow: Workflow.Any, input: unknown, start = false) => {
  const result = Envelope.decodeEvent(workflow, input, { start })
  if (Either.isRight(result)) throw new Error(`expected an error, got: ${JSON.stringify(result.right)}`)
  return { reason: result.left.reason, message: result.left.message }
}

const collectEnvelopes = (workflow: Workflow.Any, stream: Stream.Stream<Event.AnyEvent>) =>
  Effect.map(Stream.runCollect(stream), (events) => Chunk.toReadonlyArray(events).map((ev) => Envelope.encode(workflow, ev)))

const greetTags = "GreetStart, StopEvent, Middle, Progress, Pair, Dated, StartEvent, InputRequiredEvent, HumanResponseEvent"
const hitlTags = "StartEvent, StopEvent, InputRequiredEvent, HumanResponseEvent"

// -------------------------------------------------------------------------------------------------
// encode
// -------------------------------------------------------------------------------------------------

describe("encode: built-in lifecycle events (Python wire names)", () => {
  it("StepStateChanged running is recording 24's first event", () => {
    const ev = new Event.StepStateChanged({ name: "first", stepState: "running", workerId: "0", inputEventName: "GreetStart" })
    expect(Envelope.encode(greet, ev)).toEqual(recorded(
      `{"value":{"name":"first","step_state":"running","worker_id":"0","input_event_name":"GreetStart","output_event_name":null},"qualified_name":"workflows.events.StepStateChanged","type":"StepStateChanged","types":["InternalDispatchEvent"]}`
    ))
  })

  it("StepStateChanged not_running names tags (the original prints <class '...'>)", () => {
    const ev = new Event.StepStateChanged({
      name: "first",
      stepState: "not_running",
      workerId: "0",
      inputEventName: "GreetStart",
      outputEventName: "Middle"
    })
    expect(Envelope.encode(greet, ev)).toEqual({
      value: {
        name: "first",
        step_state: "not_running",
        worker_id: "0",
        input_event_name: "GreetStart",
        output_event_name: "Middle"
      },
      qualified_name: "workflows.events.StepStateChanged",
      type: "StepStateChanged",
      types: ["InternalDispatchEvent"]
    })
  })

  it("WorkflowFailedEvent is recording 65's last event (exception_type is the error's tag)", () => {
    const ev = new Event.WorkflowFailedEvent({
      stepName: "explode",
      error: new ValueError({ message: "boom" }),
      attempts: 1,
      elapsedSeconds: 0.0013146400451660156
    })
    const expected = recorded(
      `{"value":{"step_name":"explode","exception":{"exception_type":"builtins.ValueError","exception_message":"boom"},"attempts":1,"elapsed_seconds":0.0013146400451660156},"qualified_name":"workflows.events.WorkflowFailedEvent","type":"WorkflowFailedEvent","types":["StopEvent"]}`
    ) as { value: { exception: { exception_type: string } } }
    expected.value.exception.exception_type = "ValueError"
    expect(Envelope.encode(fails, ev)).toEqual(expected)
  })

  it("WorkflowFailedEvent: exception type and message of every kind of error", () => {
    const exceptionOf = (error: unknown) => {
      const envelope = Envelope.encode(fails, new Event.WorkflowFailedEvent({ stepName: "s", error, attempts: 2, elapsedSeconds: 1.5 }))
      return (envelope.value as { exception: unknown }).exception
    }
    expect(exceptionOf(new TypeError("bad input"))).toEqual({ exception_type: "TypeError", exception_message: "bad input" })
    expect(exceptionOf(new Boom({ reason: "disk full" }))).toEqual({
      exception_type: "Boom",
      exception_message: `{"reason":"disk full"}`
    })
    expect(exceptionOf(new Error(""))).toEqual({ exception_type: "Error", exception_message: "Error" })
    expect(exceptionOf("oops")).toEqual({ exception_type: "string", exception_message: "oops" })
    expect(exceptionOf(42)).toEqual({ exception_type: "number", exception_message: "42" })
    expect(exceptionOf(null)).toEqual({ exception_type: "null", exception_message: "null" })
    expect(exceptionOf(undefined)).toEqual({ exception_type: "undefined", exception_message: "undefined" })
    expect(exceptionOf({ code: 7 })).toEqual({ exception_type: "Object", exception_message: `{"code":7}` })
    expect(exceptionOf({ _tag: "Custom", message: "tagged" })).toEqual({ exception_type: "Custom", exception_message: "tagged" })
    expect(exceptionOf("x".repeat(1500))).toEqual({ exception_type: "string", exception_message: `${"x".repeat(1000)}...` })
    const envelope = Envelope.encode(fails, new Event.WorkflowFailedEvent({ stepName: "s", error: 1, attempts: 2, elapsedSeconds: 1.5 }))
    expect(envelope.value).toEqual({
      step_name: "s",
      exception: { exception_type: "number", exception_message: "1" },
      attempts: 2,
      elapsed_seconds: 1.5
    })
  })

  it("WorkflowTimedOutEvent", () => {
    const ev = new Event.WorkflowTimedOutEvent({ timeout: 10, activeSteps: ["first", "second"] })
    expect(Envelope.encode(greet, ev)).toEqual({
      value: { timeout: 10, active_steps: ["first", "second"] },
      qualified_name: "workflows.events.WorkflowTimedOutEvent",
      type: "WorkflowTimedOutEvent",
      types: ["StopEvent"]
    })
  })

  it("WorkflowCancelledEvent is recording 73's last event", () => {
    expect(Envelope.encode(greet, new Event.WorkflowCancelledEvent())).toEqual(recorded(
      `{"value":{},"qualified_name":"workflows.events.WorkflowCancelledEvent","type":"WorkflowCancelledEvent","types":["StopEvent"]}`
    ))
  })

  it("WorkflowIdleEvent is recording 45's last event", () => {
    expect(Envelope.encode(hitl, new Event.WorkflowIdleEvent())).toEqual(recorded(
      `{"value":{},"qualified_name":"workflows.events.WorkflowIdleEvent","type":"WorkflowIdleEvent","types":["InternalDispatchEvent"]}`
    ))
  })

  it("UnhandledEvent, with and without a step name", () => {
    expect(Envelope.encode(hitl, new Event.UnhandledEvent({ eventType: "Middle", idle: true }))).toEqual({
      value: { event_type: "Middle", step_name: null, idle: true },
      qualified_name: "workflows.events.UnhandledEvent",
      type: "UnhandledEvent",
      types: ["InternalDispatchEvent"]
    })
    expect(Envelope.encode(hitl, new Event.UnhandledEvent({ eventType: "Middle", stepName: "ask", idle: false })).value)
      .toEqual({ event_type: "Middle", step_name: "ask", idle: false })
  })

  it("InputRequiredEvent is recording 44's event (fields under _data)", () => {
    expect(Envelope.encode(hitl, new InputRequiredEvent({ prefix: "What is your name?" }))).toEqual(recorded(
      `{"value":{"_data":{"prefix":"What is your name?"}},"qualified_name":"workflows.events.InputRequiredEvent","type":"InputRequiredEvent","types":null}`
    ))
    expect(Envelope.encode(hitl, new InputRequiredEvent({ prefix: "Pick", payload: { options: [1, 2] } })).value).toEqual({
      _data: { prefix: "Pick", payload: { options: [1, 2] } }
    })
  })

  it("HumanResponseEvent, dict-like in the original too, goes out under _data", () => {
    expect(Envelope.encode(hitl, new HumanResponseEvent({ response: "ada" }))).toEqual({
      value: { _data: { response: "ada" } },
      qualified_name: "workflows.events.HumanResponseEvent",
      type: "HumanResponseEvent",
      types: null
    })
  })
})

describe("encode: the workflow's events", () => {
  it("the built-in StopEvent is recording 23's last event (types null)", () => {
    expect(Envelope.encode(greet, new StopEvent({ result: "hello bob" }))).toEqual(recorded(
      `{"value":{"result":"hello bob"},"qualified_name":"workflows.events.StopEvent","type":"StopEvent","types":null}`
    ))
  })

  it("a custom event is recording 23's first event, qualified by the workflow's name", () => {
    expect(Envelope.encode(greet, new Progress({ message: "greeting bob" }))).toEqual(recorded(
      `{"value":{"message":"greeting bob"},"qualified_name":"greet.Progress","type":"Progress","types":null}`
    ))
  })

  it("a custom stop class has types [StopEvent] (recording 09's result)", () => {
    expect(Envelope.encode(typed, new GreetingResult({ greeting: "hello ty", length: 8 }))).toEqual(recorded(
      `{"value":{"greeting":"hello ty","length":8},"qualified_name":"typed.GreetingResult","type":"GreetingResult","types":["StopEvent"]}`
    ))
  })

  it("a custom start class has types [StartEvent]; the built-in StartEvent none", () => {
    expect(Envelope.encode(greet, new GreetStart({ name: "ada" }))).toEqual({
      value: { name: "ada" },
      qualified_name: "greet.GreetStart",
      type: "GreetStart",
      types: ["StartEvent"]
    })
    expect(Envelope.encode(hitl, new StartEvent({ input: { topic: "x" } }))).toEqual({
      value: { input: { topic: "x" } },
      qualified_name: "workflows.events.StartEvent",
      type: "StartEvent",
      types: null
    })
  })

  it("qualifiedName: false gives null (recording 33)", () => {
    expect(Envelope.encode(greet, new Progress({ message: "greeting bob" }), { qualifiedName: false })).toEqual(recorded(
      `{"value":{"message":"greeting bob"},"qualified_name":null,"type":"Progress","types":null}`
    ))
    expect(Envelope.encode(greet, new StopEvent({ result: "hello bob" }), { qualifiedName: false }).qualified_name).toBe(null)
    expect(Envelope.encode(greet, new StopEvent({ result: "hello bob" }), { qualifiedName: true }).qualified_name)
      .toBe("workflows.events.StopEvent")
  })

  it("fields go through the class's Schema (a Date is sent encoded)", () => {
    expect(Envelope.encode(greet, new Dated({ at: new Date(0) })).value).toEqual({ at: "1970-01-01T00:00:00.000Z" })
  })

  it("a value that is not JSON is sent best effort, never throwing", () => {
    const cyclic: Record<string, unknown> = { name: "loop" }
    cyclic.self = cyclic
    const result = {
      big: 10n,
      when: new Date(0),
      invalidDate: new Date(Number.NaN),
      fn: () => 1,
      missing: undefined,
      nan: Number.NaN,
      list: [undefined, Infinity, Symbol("s")],
      map: new Map([["k", 1]]),
      set: new Set(["a"]),
      error: new Error("bad"),
      cyclic
    }
    const envelope = Envelope.encode(greet, new StopEvent({ result }))
    expect(envelope.value).toEqual({
      result: {
        big: "10",
        when: "1970-01-01T00:00:00.000Z",
        invalidDate: null,
        nan: null,
        list: [null, null, null],
        map: [["k", 1]],
        set: ["a"],
        error: { name: "Error", message: "bad" },
        cyclic: { name: "loop", self: "[Circular]" }
      }
    })
    expect(JSON.parse(JSON.stringify(envelope)).value.result.big).toBe("10")
  })

  it("an event its Schema cannot encode is sent with its raw fields", () => {
    const broken = { _tag: "Dated", at: "not a date" }
    expect(Envelope.encode(greet, broken)).toEqual({
      value: { at: "not a date" },
      qualified_name: "greet.Dated",
      type: "Dated",
      types: null
    })
  })

  it("an event outside the registry is still sent", () => {
    expect(Envelope.encode(hitl, { _tag: "Stray", n: 1 } as Event.AnyEvent)).toEqual({
      value: { n: 1 },
      qualified_name: "hitl.Stray",
      type: "Stray",
      types: null
    })
  })
})

describe("isInternal / isTerminal / isTerminalEnvelope / typesOf", () => {
  it("internal envelopes are the InternalDispatchEvent ones", () => {
    const internal = [
      new Event.StepStateChanged({ name: "a", stepState: "running", workerId: "0", inputEventName: "StartEvent" }),
      new Event.WorkflowIdleEvent(),
      new Event.UnhandledEvent({ eventType: "X", idle: false })
    ]
    expect(internal.map((ev) => Envelope.isInternal(Envelope.encode(greet, ev)))).toEqual([true, true, true])
    const published = [new Progress({ message: "m" }), new StopEvent({ result: 1 }), new Event.WorkflowCancelledEvent()]
    expect(published.map((ev) => Envelope.isInternal(Envelope.encode(greet, ev)))).toEqual([false, false, false])
  })

  it("terminal events: the workflow's stop class and the three abnormal endings", () => {
    const events = [
      new StopEvent({ result: 1 }),
      new GreetingResult({ greeting: "g", length: 1 }),
      new Event.WorkflowFailedEvent({ stepName: "s", error: "e", attempts: 1, elapsedSeconds: 0 }),
      new Event.WorkflowTimedOutEvent({ timeout: 1, activeSteps: [] }),
      new Event.WorkflowCancelledEvent(),
      new Progress({ message: "m" }),
      new Event.WorkflowIdleEvent()
    ]
    expect(events.map((ev) => Envelope.isTerminal(greet, ev))).toEqual([true, false, true, true, true, false, false])
    expect(events.map((ev) => Envelope.isTerminal(typed, ev))).toEqual([false, true, true, true, true, false, false])
    expect(events.map((ev) => Envelope.isTerminalEnvelope(Envelope.encode(typed, ev))))
      .toEqual([true, true, true, true, true, false, false])
  })

  it("typesOf per class", () => {
    expect(Envelope.typesOf(typed, GreetingResult)).toEqual(["StopEvent"])
    expect(Envelope.typesOf(typed, GreetStart)).toEqual(["StartEvent"])
    expect(Envelope.typesOf(typed, StopEvent)).toBe(null)
    expect(Envelope.typesOf(greet, Middle)).toBe(null)
    expect(Envelope.typesOf(greet, Event.WorkflowIdleEvent)).toEqual(["InternalDispatchEvent"])
    expect(Envelope.typesOf(greet, Event.WorkflowTimedOutEvent)).toEqual(["StopEvent"])
  })
})

describe("encode: envelopes of real runs", () => {
  it.effect("greet, internal events included: recording 24 (NOT_RUNNING names are tags)", () =>
    Effect.scoped(Effect.gen(function*() {
      const handler = yield* Workflow.start(greet, decoded(greet, { name: "bob" }, true) as GreetStart)
      const envelopes = yield* collectEnvelopes(greet, handler.stream({ internal: true }))
      const ssc = (name: string, state: string, input: string, output: string | null) => ({
        value: { name, step_state: state, worker_id: "0", input_event_name: input, output_event_name: output },
        qualified_name: "workflows.events.StepStateChanged",
        type: "StepStateChanged",
        types: ["InternalDispatchEvent"]
      })
      expect(envelopes).toEqual([
        ssc("first", "running", "GreetStart", null),
        recorded(`{"value":{"message":"greeting bob"},"qualified_name":"greet.Progress","type":"Progress","types":null}`),
        ssc("first", "not_running", "GreetStart", "Middle"),
        ssc("second", "running", "Middle", null),
        ssc("second", "not_running", "Middle", "StopEvent"),
        recorded(`{"value":{"result":"hello bob"},"qualified_name":"workflows.events.StopEvent","type":"StopEvent","types":null}`)
      ])
      expect(envelopes.filter((envelope) => !Envelope.isInternal(envelope)).map((envelope) => envelope.type))
        .toEqual(["Progress", "StopEvent"])
    })))

  it.effect("hitl: the prompt is recording 44's event; recording 59's answer completes the run", () =>
    Effect.scoped(Effect.gen(function*() {
      const handler = yield* Workflow.start(hitl, decoded(hitl, {}, true) as Event.StartEvent)
      const prompt = yield* handler.events.pipe(Stream.filter(Event.is(InputRequiredEvent)), Stream.runHead)
      expect(prompt._tag).toBe("Some")
      if (prompt._tag === "Some") {
        expect(Envelope.encode(hitl, prompt.value)).toEqual(recorded(
          `{"value":{"_data":{"prefix":"What is your name?"}},"qualified_name":"workflows.events.InputRequiredEvent","type":"InputRequiredEvent","types":null}`
        ))
      }
      const body = recorded(
        `{"event": "{\\"type\\": \\"HumanResponseEvent\\", \\"data\\": {\\"response\\": \\"via-string\\"}}"}`
      ) as { event: unknown }
      yield* handler.sendEvent(decoded(hitl, body.event))
      expect(yield* handler.result).toBe("hello via-string")
    })))

  it.effect("fails: the last event is recording 65's, with our error's tag", () =>
    Effect.scoped(Effect.gen(function*() {
      const handler = yield* Workflow.start(fails)
      const envelopes = yield* collectEnvelopes(fails, handler.stream({ internal: true }))
      expect(envelopes.at(-1)).toEqual({
        value: {
          step_name: "explode",
          exception: { exception_type: "ValueError", exception_message: "boom" },
          attempts: 1,
          elapsed_seconds: 0
        },
        qualified_name: "workflows.events.WorkflowFailedEvent",
        type: "WorkflowFailedEvent",
        types: ["StopEvent"]
      })
      expect(envelopes.map((envelope) => Envelope.isTerminalEnvelope(envelope))).toEqual([false, false, true])
    })))
})

// -------------------------------------------------------------------------------------------------
// decodeEvent: accepted forms
// -------------------------------------------------------------------------------------------------

describe("decodeEvent: start events", () => {
  it("plain fields (recordings 03, 04)", () => {
    expect(decoded(greet, { name: "ada" }, true)).toEqual(new GreetStart({ name: "ada" }))
    expect(decoded(greet, { name: "kw" }, true)).toEqual(new GreetStart({ name: "kw" }))
  })

  it("nothing: the start class's defaults (recording 05)", () => {
    expect(decoded(greet, {}, true)).toEqual(new GreetStart({ name: "world" }))
    expect(decoded(greet, undefined, true)).toEqual(new GreetStart({ name: "world" }))
    expect(decoded(greet, null, true)).toEqual(new GreetStart({ name: "world" }))
    expect(decoded(greet, "{}", true)).toEqual(new GreetStart({ name: "world" }))
  })

  it("a start class without defaults fails clearly when given nothing", () => {
    const pairStart = Workflow.make({
      name: "pair",
      start: Pair,
      steps: [Step.make("p", { on: Pair, emits: [StopEvent] }, () => Effect.succeed(new StopEvent({ result: 1 })))]
    })
    expect(refused(pairStart, {}, true)).toEqual({
      reason: "DeserializeFailed",
      message: "Failed to deserialize event: 2 validation errors for Pair\nleft\n  is missing\nright\n  is missing"
    })
  })

  it("an envelope (recording 07)", () => {
    expect(decoded(greet, { type: "GreetStart", value: { name: "env" } }, true)).toEqual(new GreetStart({ name: "env" }))
    expect(decoded(greet, { type: "GreetStart", value: {} }, true)).toEqual(new GreetStart({ name: "world" }))
    expect(decoded(greet, { type: "GreetStart" }, true)).toEqual(new GreetStart({ name: "world" }))
  })

  it("a JSON string (recording 08) holding fields or an envelope", () => {
    expect(decoded(greet, "{\"name\": \"str\"}", true)).toEqual(new GreetStart({ name: "str" }))
    expect(decoded(greet, JSON.stringify({ type: "GreetStart", value: { name: "s2" } }), true))
      .toEqual(new GreetStart({ name: "s2" }))
  })

  it("an envelope with a value but no type is the start class", () => {
    expect(decoded(greet, { value: { name: "v" } }, true)).toEqual(new GreetStart({ name: "v" }))
  })

  it("qualified names: the one encode gives, or the bare tag", () => {
    expect(decoded(greet, { qualified_name: "greet.GreetStart", value: { name: "q" } }, true))
      .toEqual(new GreetStart({ name: "q" }))
    expect(decoded(greet, { qualified_name: "GreetStart", value: { name: "b" } }, true))
      .toEqual(new GreetStart({ name: "b" }))
    expect(decoded(greet, { __is_pydantic: true, qualified_name: "greet.GreetStart", value: { name: "p" } }, true))
      .toEqual(new GreetStart({ name: "p" }))
  })

  it("the built-in StartEvent: input, keyword fields as input, the _data form", () => {
    expect(decoded(hitl, {}, true)).toEqual(new StartEvent({ input: undefined }))
    expect(decoded(hitl, { input: 5 }, true)).toEqual(new StartEvent({ input: 5 }))
    expect(decoded(hitl, { name: "kw" }, true)).toEqual(new StartEvent({ input: { name: "kw" } }))
    expect(decoded(hitl, { type: "StartEvent", value: { _data: { name: "x" } } }, true))
      .toEqual(new StartEvent({ input: { name: "x" } }))
    expect(decoded(hitl, { qualified_name: "workflows.events.StartEvent", value: { input: [1] } }, true))
      .toEqual(new StartEvent({ input: [1] }))
  })
})

describe("decodeEvent: sent events", () => {
  it("an envelope (recording 53)", () => {
    const body = recorded(`{"event": {"type": "HumanResponseEvent", "value": {"response": "ada"}}}`) as { event: unknown }
    expect(decoded(hitl, body.event)).toEqual(new HumanResponseEvent({ response: "ada" }))
  })

  it("the legacy JSON string with data (recording 59, what the Workflow Debugger sends)", () => {
    const body = recorded(
      `{"event": "{\\"type\\": \\"HumanResponseEvent\\", \\"data\\": {\\"response\\": \\"via-string\\"}}"}`
    ) as { event: unknown }
    expect(decoded(hitl, body.event)).toEqual(new HumanResponseEvent({ response: "via-string" }))
  })

  it("legacy data as an object, and value winning over data", () => {
    expect(decoded(hitl, { type: "HumanResponseEvent", data: { response: "d" } }))
      .toEqual(new HumanResponseEvent({ response: "d" }))
    expect(decoded(hitl, { type: "HumanResponseEvent", value: { response: "v" }, data: { response: "d" } }))
      .toEqual(new HumanResponseEvent({ response: "v" }))
  })

  it("the client's own envelope, with null keys", () => {
    expect(decoded(hitl, { value: { response: "n" }, type: "HumanResponseEvent", qualified_name: null }))
      .toEqual(new HumanResponseEvent({ response: "n" }))
    expect(decoded(hitl, { value: { response: "q" }, type: null, qualified_name: "workflows.events.HumanResponseEvent" }))
      .toEqual(new HumanResponseEvent({ response: "q" }))
  })

  it("the legacy serializer form", () => {
    expect(decoded(hitl, {
      __is_pydantic: true,
      value: { response: "p" },
      qualified_name: "workflows.events.HumanResponseEvent"
    })).toEqual(new HumanResponseEvent({ response: "p" }))
  })

  it("the dict-like built-ins: flat fields or under _data", () => {
    expect(decoded(hitl, { type: "HumanResponseEvent", value: { _data: { response: "x", payload: { n: 1 } } } }))
      .toEqual(new HumanResponseEvent({ response: "x", payload: { n: 1 } }))
    expect(decoded(hitl, { type: "InputRequiredEvent", value: { _data: { prefix: "Name?" } } }))
      .toEqual(new InputRequiredEvent({ prefix: "Name?" }))
    expect(decoded(hitl, { type: "InputRequiredEvent", value: { prefix: "Flat?" } }))
      .toEqual(new InputRequiredEvent({ prefix: "Flat?" }))
  })

  it("what encode sends decodes back to the same event", () => {
    const events: ReadonlyArray<Event.AnyEvent> = [
      new Middle({ name: "m" }),
      new Dated({ at: new Date(0) }),
      new InputRequiredEvent({ prefix: "p", payload: [1] }),
      new HumanResponseEvent({ response: "r" }),
      new StopEvent({ result: { a: 1 } })
    ]
    for (const ev of events) {
      const envelope = Envelope.encode(greet, ev)
      expect(decoded(greet, envelope)).toEqual(ev)
      expect(decoded(greet, JSON.stringify(envelope))).toEqual(ev)
      expect(decoded(greet, { type: envelope.type, value: envelope.value })).toEqual(ev)
      expect(decoded(greet, { qualified_name: envelope.qualified_name, value: envelope.value })).toEqual(ev)
    }
  })

  it("the workflow's start class may be sent in too", () => {
    expect(decoded(greet, { type: "GreetStart", value: { name: "again" } })).toEqual(new GreetStart({ name: "again" }))
  })
})

// -------------------------------------------------------------------------------------------------
// decodeEvent: errors
// -------------------------------------------------------------------------------------------------

describe("decodeEvent: errors", () => {
  it("a wrong field (recording 13)", () => {
    const result = Envelope.decodeEvent(greet, { name: 123 }, { start: true })
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(result.left.reason).toBe("DeserializeFailed")
      expect(Envelope.startEventDetail(result.left)).toBe(
        "Validation error for 'start_event': Failed to deserialize event: 1 validation error for GreetStart\nname\n  Expected string, actual 123"
      )
    }
  })

  it("another class as the start event (recording 14), detail without prefix", () => {
    const result = Envelope.decodeEvent(greet, { type: "Middle", value: { name: "x" } }, { start: true })
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(result.left.reason).toBe("NotStartEvent")
      expect(Envelope.startEventDetail(result.left)).toBe("Start event must be an instance of GreetStart")
    }
    expect(refused(hitl, { type: "HumanResponseEvent", value: { response: "r" } }, true)).toEqual({
      reason: "NotStartEvent",
      message: "Start event must be an instance of StartEvent"
    })
  })

  it("an unknown type for a start event (recording 15)", () => {
    const result = Envelope.decodeEvent(greet, { type: "Nope", value: {} }, { start: true })
    expect(Either.isLeft(result)).toBe(true)
    if (Either.isLeft(result)) {
      expect(result.left.reason).toBe("InvalidEventType")
      expect(Envelope.startEventDetail(result.left)).toBe(
        `Validation error for 'start_event': Invalid event type: Nope. Expected one of ${greetTags}`
      )
    }
  })

  it("an unknown type for a sent event (recording 48): the registry without lifecycle events", () => {
    expect(refused(hitl, { type: "Nope", value: {} })).toEqual({
      reason: "InvalidEventType",
      message: `Invalid event type: Nope. Expected one of ${hitlTags}`
    })
    expect(Envelope.inboundTags(hitl).join(", ")).toBe(hitlTags)
    expect(Envelope.publicClasses(hitl)).toEqual([StartEvent, StopEvent, InputRequiredEvent, HumanResponseEvent])
  })

  it("a qualified name naming a module path (recording 49) is refused, nothing imported", () => {
    for (const qualifiedName of ["os.path", "node:child_process.exec", "../../src/index.js", "server_app.HumanResponseEvent"]) {
      expect(refused(hitl, { qualified_name: qualifiedName, value: {} })).toEqual({
        reason: "InvalidEventType",
        message: `Invalid event type: ${qualifiedName}. Expected one of ${hitlTags}`
      })
    }
    // another workflow's or another module's qualified name for a known tag
    expect(refused(greet, { qualified_name: "other.Middle", value: { name: "x" } }).message)
      .toBe(`Invalid event type: other.Middle. Expected one of ${greetTags}`)
    expect(refused(greet, { qualified_name: "workflows.events.Middle", value: { name: "x" } }).reason).toBe("InvalidEventType")
    expect(refused(greet, { qualified_name: "greet.StopEvent", value: {} }).reason).toBe("InvalidEventType")
    expect(decoded(greet, { qualified_name: "greet.Middle", value: { name: "x" } })).toEqual(new Middle({ name: "x" }))
  })

  it("lifecycle events cannot be sent in", () => {
    const lifecycle = [
      { type: "WorkflowFailedEvent", value: { stepName: "s", error: "e", attempts: 1, elapsedSeconds: 0 } },
      { type: "WorkflowTimedOutEvent", value: { timeout: 1, activeSteps: [] } },
      { type: "WorkflowCancelledEvent", value: {} },
      { type: "StepStateChanged", value: { name: "a", stepState: "running", workerId: "0", inputEventName: "X" } },
      { type: "WorkflowIdleEvent", value: {} },
      { type: "UnhandledEvent", value: { eventType: "X", idle: true } },
      { qualified_name: "workflows.events.WorkflowCancelledEvent", value: {} }
    ]
    for (const input of lifecycle) {
      const name = "type" in input ? input.type : input.qualified_name
      expect(refused(hitl, input)).toEqual({
        reason: "InvalidEventType",
        message: `Invalid event type: ${name}. Expected one of ${hitlTags}`
      })
    }
  })

  it("no event (recording 47)", () => {
    for (const input of [undefined, null, "", {}, "{}", "null"]) {
      expect(refused(hitl, input)).toEqual({ reason: "MissingEvent", message: "Event data is required" })
    }
    // a start event given as an empty string is no JSON object (the original refuses it too)
    expect(refused(greet, "", true).reason).toBe("NotAnObject")
    expect(decoded(greet, "null", true)).toEqual(new GreetStart({ name: "world" }))
  })

  it("not a JSON object", () => {
    const notAnObject = {
      reason: "NotAnObject",
      message: "Failed to deserialize event. Must be a json object, or stringified json object"
    }
    for (const input of [[1, 2], 42, true, "not json", "[1]", "\"{}\"", "{\"type\": "]) {
      expect(refused(hitl, input)).toEqual(notAnObject)
    }
    expect(refused(greet, [1], true)).toEqual(notAnObject)
    expect(refused(greet, "{bad", true)).toEqual(notAnObject)
  })

  it("a sent event without type or qualified name", () => {
    const missingType = { reason: "MissingType", message: "Invalid client data. Must have a type or a qualified name" }
    expect(refused(hitl, { value: { response: "x" } })).toEqual(missingType)
    expect(refused(hitl, { response: "x" })).toEqual(missingType)
    expect(refused(hitl, { data: { response: "x" } })).toEqual(missingType)
  })

  it("Schema failures: wrong type, missing field, several fields, a value that is not an object", () => {
    expect(refused(hitl, { type: "HumanResponseEvent", value: { response: 1 } })).toEqual({
      reason: "DeserializeFailed",
      message: "Failed to deserialize event: 1 validation error for HumanResponseEvent\nresponse\n  Expected string, actual 1"
    })
    expect(refused(greet, { type: "Middle", value: {} }).message)
      .toBe("Failed to deserialize event: 1 validation error for Middle\nname\n  is missing")
    expect(refused(greet, { type: "Pair", value: { left: 1 } }).message).toBe(
      "Failed to deserialize event: 2 validation errors for Pair\nleft\n  Expected string, actual 1\nright\n  is missing"
    )
    expect(refused(greet, { type: "Dated", value: { at: "yesterday" } }).message).toBe(
      "Failed to deserialize event: 1 validation error for Dated\nat\n  Expected a valid Date, actual Invalid Date"
    )
    expect(refused(greet, { type: "Middle", value: "x" })).toEqual({
      reason: "DeserializeFailed",
      message: "Failed to deserialize event: 1 validation error for Middle\n  Expected an object"
    })
    expect(refused(greet, { type: "Middle", value: [1] }).message)
      .toBe("Failed to deserialize event: 1 validation error for Middle\n  Expected an object")
  })

  it("messages and startEventDetail reproduce the recordings' details", () => {
    expect(Envelope.messages.invalidEventType("Nope", ["Middle", "StopEvent", "GreetStart"]))
      .toBe("Invalid event type: Nope. Expected one of Middle, StopEvent, GreetStart")
    expect(Envelope.startEventDetail(new Envelope.EnvelopeError({
      reason: "InvalidEventType",
      message: Envelope.messages.invalidEventType("Nope", ["Middle", "StopEvent", "GreetStart"])
    }))).toBe(
      "Validation error for 'start_event': Invalid event type: Nope. Expected one of Middle, StopEvent, GreetStart"
    )
    expect(Envelope.messages.notStartEvent("GreetStart")).toBe("Start event must be an instance of GreetStart")
    expect(Envelope.messages.deserializeFailed("x")).toBe("Failed to deserialize event: x")
    const error = new Envelope.EnvelopeError({ reason: "MissingEvent", message: Envelope.messages.missingEvent })
    expect([error._tag, error.message]).toEqual(["EnvelopeError", "Event data is required"])
  })
})

describe("decodeEvent: hostile keys", () => {
  it("__proto__ and constructor keys in a payload pollute nothing", () => {
    const payloads = [
      `{"type": "HumanResponseEvent", "value": {"response": "x", "__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}}`,
      `{"type": "HumanResponseEvent", "value": {"_data": {"response": "x", "__proto__": {"polluted": true}}}}`,
      `{"type": "HumanResponseEvent", "__proto__": {"polluted": true}, "value": {"response": "x"}}`
    ]
    for (const payload of payloads) {
      const ev = decoded(hitl, payload)
      expect(ev).toEqual(new HumanResponseEvent({ response: "x" }))
      expect(Object.getPrototypeOf(ev)).toBe(HumanResponseEvent.prototype)
      expect(Object.keys(ev).sort()).toEqual(["_tag", "response"])
      expect(({} as Record<string, unknown>).polluted).toBe(undefined)
      expect((Object.prototype as Record<string, unknown>).polluted).toBe(undefined)
    }
    const start = decoded(greet, `{"name": "n", "__proto__": {"polluted": true}}`, true)
    expect(start).toEqual(new GreetStart({ name: "n" }))
    expect(({} as Record<string, unknown>).polluted).toBe(undefined)
  })

  it("prototype names are not event types", () => {
    for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
      expect(refused(hitl, { type: name, value: {} })).toEqual({
        reason: "InvalidEventType",
        message: `Invalid event type: ${name}. Expected one of ${hitlTags}`
      })
      expect(refused(hitl, { qualified_name: name, value: {} }).reason).toBe("InvalidEventType")
    }
  })

  it("a __proto__ key in the built-in StartEvent's input stays plain data", () => {
    const ev = decoded(hitl, `{"__proto__": {"polluted": true}, "name": "kw"}`, true) as Event.StartEvent
    expect(Object.keys(ev.input as object).sort()).toEqual(["__proto__", "name"])
    expect(Object.getPrototypeOf(ev.input)).toBe(Object.prototype)
    expect(({} as Record<string, unknown>).polluted).toBe(undefined)
  })
})

// -------------------------------------------------------------------------------------------------
// jsonSchemaOf
// -------------------------------------------------------------------------------------------------

describe("jsonSchemaOf", () => {
  it("a defaulted field: recording 91's start schema", () => {
    expect(Envelope.jsonSchemaOf(GreetStart)).toEqual(recorded(
      `{"properties":{"name":{"default":"world","title":"Name","type":"string"}},"title":"GreetStart","type":"object"}`
    ))
  })

  it("required fields: recording 92's stop schema (plus Effect's description of an integer)", () => {
    expect(Envelope.jsonSchemaOf(GreetingResult)).toEqual({
      properties: {
        greeting: { title: "Greeting", type: "string" },
        length: { title: "Length", type: "integer", description: "an integer" }
      },
      required: ["greeting", "length"],
      title: "GreetingResult",
      type: "object"
    })
  })

  it("the built-in events", () => {
    expect(Envelope.jsonSchemaOf(StopEvent)).toEqual({ properties: { result: { title: "Result" } }, title: "StopEvent", type: "object" })
    expect(Envelope.jsonSchemaOf(StartEvent)).toEqual({ properties: { input: { title: "Input" } }, title: "StartEvent", type: "object" })
    expect(Envelope.jsonSchemaOf(HumanResponseEvent)).toEqual({
      properties: { response: { title: "Response", type: "string" }, payload: { title: "Payload" } },
      required: ["response"],
      title: "HumanResponseEvent",
      type: "object"
    })
    expect(Envelope.jsonSchemaOf(Event.WorkflowCancelledEvent)).toEqual({
      properties: {},
      title: "WorkflowCancelledEvent",
      type: "object"
    })
  })

  it("every kind of field, never throwing", () => {
    class Fn extends Schema.TaggedClass<Fn>()("Fn", {
      callback: Schema.declare((u): u is () => void => typeof u === "function"),
      firstName: Schema.String,
      snake_case_field: Schema.optional(Schema.Number),
      when: Schema.optionalWith(Schema.Date, { default: () => new Date(0) }),
      tags: Schema.Array(Schema.String),
      nested: Schema.Struct({ a: Schema.Number }),
      maybe: Schema.NullOr(Schema.String),
      anything: Schema.Unknown
    }, { description: "A kitchen sink" }) {}
    expect(Envelope.jsonSchemaOf(Fn)).toEqual({
      description: "A kitchen sink",
      properties: {
        callback: { title: "Callback" },
        firstName: { title: "First Name", type: "string" },
        snake_case_field: { title: "Snake Case Field", type: "number" },
        when: { title: "When", type: "string", description: "a string to be decoded into a Date", default: "1970-01-01T00:00:00.000Z" },
        tags: { title: "Tags", type: "array", items: { type: "string" } },
        nested: {
          title: "Nested",
          type: "object",
          required: ["a"],
          properties: { a: { type: "number" } },
          additionalProperties: false
        },
        maybe: { title: "Maybe", anyOf: [{ type: "string" }, { type: "null" }] },
        anything: { title: "Anything" }
      },
      required: ["callback", "firstName", "tags", "nested", "maybe"],
      title: "Fn",
      type: "object"
    })
  })

  it("a recursive field keeps its $ref, with the definition beside it", () => {
    interface TreeNode {
      readonly label: string
      readonly children: ReadonlyArray<TreeNode>
    }
    const TreeNode: Schema.Schema<TreeNode> = Schema.Struct({
      label: Schema.String,
      children: Schema.Array(Schema.suspend((): Schema.Schema<TreeNode> => TreeNode))
    }).annotations({ identifier: "TreeNode" })
    class Tree extends Schema.TaggedClass<Tree>()("Tree", { root: TreeNode }) {}
    expect(Envelope.jsonSchemaOf(Tree)).toEqual({
      properties: {
        root: {
          title: "Root",
          type: "object",
          required: ["label", "children"],
          properties: { label: { type: "string" }, children: { type: "array", items: { $ref: "#/$defs/TreeNode" } } },
          additionalProperties: false
        }
      },
      required: ["root"],
      title: "Tree",
      type: "object",
      $defs: {
        TreeNode: {
          type: "object",
          required: ["label", "children"],
          properties: { label: { type: "string" }, children: { type: "array", items: { $ref: "#/$defs/TreeNode" } } },
          additionalProperties: false
        }
      }
    })
  })
})
