import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import * as Schema from "effect/Schema"
import { Event } from "effect-workflows"

class Topic extends Schema.TaggedClass<Topic>()("Topic", { topic: Schema.String }) {}
// Same fields as the built-in StopEvent, another tag.
class MyStop extends Schema.TaggedClass<MyStop>()("MyStop", { result: Schema.Unknown }) {}

describe("Event.is", () => {
  it("data-first: matches the exact tag of the class", () => {
    expect(Event.is(new Event.StopEvent({ result: 1 }), Event.StopEvent)).toBe(true)
    expect(Event.is(new Event.StartEvent({ input: 1 }), Event.StopEvent)).toBe(false)
    expect(Event.is(new Topic({ topic: "pirates" }), Topic)).toBe(true)
    expect(Event.is(new Topic({ topic: "pirates" }), Event.StartEvent)).toBe(false)
  })

  it("data-last: returns a refinement", () => {
    const isStop = Event.is(Event.StopEvent)
    expect(typeof isStop).toBe("function")
    expect(isStop(new Event.StopEvent({ result: "done" }))).toBe(true)
    expect(isStop(new Event.StartEvent({ input: "done" }))).toBe(false)
    const events: ReadonlyArray<Event.AnyEvent> = [
      new Event.StartEvent({ input: 1 }),
      new Event.StopEvent({ result: 2 }),
      new MyStop({ result: 3 })
    ]
    expect(events.filter(Event.is(Event.StopEvent))).toEqual([new Event.StopEvent({ result: 2 })])
  })

  it("compares tags, not classes: same fields with another tag do not match, a bare object with the tag does", () => {
    expect(Event.is(new MyStop({ result: 1 }), Event.StopEvent)).toBe(false)
    expect(Event.is(Event.StopEvent)(new MyStop({ result: 1 }))).toBe(false)
    expect(Event.is({ _tag: "StopEvent", result: 1 }, Event.StopEvent)).toBe(true)
    expect(Event.is({ _tag: "MyStop" }, MyStop)).toBe(true)
    expect(Event.is({ _tag: "stopevent" }, Event.StopEvent)).toBe(false)
  })

  it("rejects non-events", () => {
    for (const u of [null, undefined, "StopEvent", 1, {}, { _tag: 1 }, [Event.StopEvent]]) {
      expect(Event.is(u, Event.StopEvent)).toBe(false)
    }
  })

  it("narrows the type", () => {
    const u: unknown = new Topic({ topic: "pirates" })
    if (Event.is(u, Topic)) {
      expectTypeOf(u).toEqualTypeOf<Topic>()
      expect(u.topic).toBe("pirates")
    } else {
      expect.fail("expected a Topic")
    }
    const isTopic = Event.is(Topic)
    if (isTopic(u)) {
      expectTypeOf(u).toEqualTypeOf<Topic>()
    }
  })
})

describe("Event.tag", () => {
  it("reads the tag of a class and of an instance", () => {
    expect(Event.tag(Event.StopEvent)).toBe("StopEvent")
    expect(Event.tag(new Event.StopEvent({ result: 1 }))).toBe("StopEvent")
    expect(Event.tag(Topic)).toBe("Topic")
    expect(Event.tag(new Topic({ topic: "x" }))).toBe("Topic")
    expect(Event.tag(MyStop)).toBe("MyStop")
  })
})

describe("Event.isEvent", () => {
  it("accepts objects with a string _tag", () => {
    expect(Event.isEvent(new Event.StartEvent({ input: 1 }))).toBe(true)
    expect(Event.isEvent(new Topic({ topic: "x" }))).toBe(true)
    expect(Event.isEvent({ _tag: "Anything" })).toBe(true)
  })

  it("rejects everything else", () => {
    for (const u of ["hello", 1, null, undefined, {}, { _tag: 1 }, { tag: "StopEvent" }, [], () => 1]) {
      expect(Event.isEvent(u)).toBe(false)
    }
  })
})

describe("built-in events", () => {
  it("StartEvent carries an unknown input", () => {
    const ev = new Event.StartEvent({ input: { query: "pirates" } })
    expect(ev._tag).toBe("StartEvent")
    expect(ev.input).toEqual({ query: "pirates" })
    expect(new Event.StartEvent({ input: undefined }).input).toBeUndefined()
    expect(Event.StartEvent._tag).toBe("StartEvent")
  })

  it("StopEvent carries an unknown result", () => {
    const ev = new Event.StopEvent({ result: [1, 2] })
    expect(ev._tag).toBe("StopEvent")
    expect(ev.result).toEqual([1, 2])
  })

  it("InputRequiredEvent: prefix, optional payload", () => {
    const ev = new Event.InputRequiredEvent({ prefix: "Approve?" })
    expect(ev._tag).toBe("InputRequiredEvent")
    expect(ev.prefix).toBe("Approve?")
    expect(ev.payload).toBeUndefined()
    expect("payload" in ev).toBe(false)
    expect(new Event.InputRequiredEvent({ prefix: "p", payload: { a: 1 } }).payload).toEqual({ a: 1 })
    expect(() => new Event.InputRequiredEvent({ prefix: 1 as unknown as string })).toThrow()
  })

  it("HumanResponseEvent: response, optional payload", () => {
    const ev = new Event.HumanResponseEvent({ response: "yes" })
    expect(ev._tag).toBe("HumanResponseEvent")
    expect(ev.response).toBe("yes")
    expect("payload" in ev).toBe(false)
    expect(new Event.HumanResponseEvent({ response: "no", payload: [1] }).payload).toEqual([1])
    expect(() => new Event.HumanResponseEvent({} as unknown as { response: string })).toThrow()
  })

  it("lifecycle events have their tags and fields", () => {
    const changed = new Event.StepStateChanged({
      name: "draft",
      stepState: "not_running",
      workerId: "0",
      inputEventName: "StartEvent",
      outputEventName: "Draft"
    })
    expect(changed._tag).toBe("StepStateChanged")
    expect(changed.outputEventName).toBe("Draft")
    expect(
      "outputEventName" in
        new Event.StepStateChanged({ name: "a", stepState: "running", workerId: "1", inputEventName: "StartEvent" })
    ).toBe(false)
    expect(() =>
      new Event.StepStateChanged({
        name: "a",
        stepState: "sleeping" as "running",
        workerId: "0",
        inputEventName: "StartEvent"
      })
    ).toThrow()

    expect(new Event.WorkflowIdleEvent({})._tag).toBe("WorkflowIdleEvent")
    const unhandled = new Event.UnhandledEvent({ eventType: "Stray", idle: true })
    expect(unhandled._tag).toBe("UnhandledEvent")
    expect(unhandled.eventType).toBe("Stray")
    expect(unhandled.idle).toBe(true)
    expect(unhandled.stepName).toBeUndefined()

    const error = new Error("boom")
    const failed = new Event.WorkflowFailedEvent({ stepName: "a", error, attempts: 3, elapsedSeconds: 1.5 })
    expect(failed._tag).toBe("WorkflowFailedEvent")
    expect(failed.error).toBe(error)
    expect(failed.attempts).toBe(3)
    expect(failed.elapsedSeconds).toBe(1.5)

    const timedOut = new Event.WorkflowTimedOutEvent({ timeout: 10, activeSteps: ["a", "b"] })
    expect(timedOut._tag).toBe("WorkflowTimedOutEvent")
    expect(timedOut.timeout).toBe(10)
    expect(timedOut.activeSteps).toEqual(["a", "b"])

    expect(new Event.WorkflowCancelledEvent({})._tag).toBe("WorkflowCancelledEvent")
  })

  it("encodes to JSON with its tag and decodes back", () => {
    const encoded = Schema.encodeSync(Event.StopEvent)(new Event.StopEvent({ result: { answer: 42 } }))
    expect(encoded).toEqual({ _tag: "StopEvent", result: { answer: 42 } })
    const decoded = Schema.decodeUnknownSync(Event.InputRequiredEvent)({ _tag: "InputRequiredEvent", prefix: "ok?" })
    expect(decoded).toBeInstanceOf(Event.InputRequiredEvent)
    expect(decoded.prefix).toBe("ok?")
    expect(() => Schema.decodeUnknownSync(Event.StopEvent)({ _tag: "StartEvent", result: 1 })).toThrow()
  })
})

describe("tag sets", () => {
  it("internalTags: the three internal lifecycle events", () => {
    expect([...Event.internalTags].sort()).toEqual(["StepStateChanged", "UnhandledEvent", "WorkflowIdleEvent"])
    expect(Event.internalTags.has(Event.StepStateChanged._tag)).toBe(true)
    expect(Event.internalTags.has("WorkflowFailedEvent")).toBe(false)
    expect(Event.internalTags.has("InputRequiredEvent")).toBe(false)
  })

  it("terminalTags: StopEvent and the three abnormal endings", () => {
    expect([...Event.terminalTags].sort()).toEqual([
      "StopEvent",
      "WorkflowCancelledEvent",
      "WorkflowFailedEvent",
      "WorkflowTimedOutEvent"
    ])
    expect(Event.terminalTags.has("StartEvent")).toBe(false)
    expect(Event.terminalTags.has("WorkflowIdleEvent")).toBe(false)
    expect(Event.terminalTags.has("MyStop")).toBe(false)
  })
})
