/**
 * Transition tests of the run's state (src/internal/run.ts) on plain values: no fibers, no
 * runtime. Each test builds a `RunState`, calls transitions, and reads the state and the
 * commands its outbox holds.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Event from "../src/Event.js"
import * as run_ from "../src/internal/run.js"
import * as stateStore from "../src/internal/stateStore.js"
import * as Step from "../src/Step.js"
import * as Workflow from "../src/Workflow.js"

// -------------------------------------------------------------------------------------------------
// fixtures
// -------------------------------------------------------------------------------------------------

class Item extends Schema.TaggedClass<Item>()("Item", { n: Schema.Number }) {}
class Other extends Schema.TaggedClass<Other>()("Other", { n: Schema.Number }) {}
class Answer extends Schema.TaggedClass<Answer>()("Answer", { id: Schema.Number }) {}
class Stray extends Schema.TaggedClass<Stray>()("Stray", {}) {}
class A extends Schema.TaggedClass<A>()("A", { n: Schema.Number }) {}
class B extends Schema.TaggedClass<B>()("B", { n: Schema.Number }) {}
class C extends Schema.TaggedClass<C>()("C", { n: Schema.Number }) {}
class X extends Schema.TaggedClass<X>()("X", {}) {}
class Done extends Schema.TaggedClass<Done>()("Done", { verdict: Schema.String }) {}

const { HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent } = Event

const start = new StartEvent({ input: null })
const ask = new InputRequiredEvent({ prefix: "?" })

const step = (name: string, on: Step.On, options: { emits?: ReadonlyArray<Event.Any>; workers?: number } = {}) =>
  Step.make(name, { on, emits: options.emits ?? [], workers: options.workers ?? 4 }, () => Effect.void)

/** A run of a workflow of `steps`, not yet begun (`Pending`). */
const pendingRun = (
  steps: ReadonlyArray<Step.Any>,
  options: { stop?: Event.Any; published?: number } = {}
): run_.RunState => {
  const workflow = Workflow.make({ name: "wf", steps, validation: false, stop: options.stop })
  return new run_.RunState("run-1", workflow, () => stateStore.unsafeMake({}, Option.none()), options.published ?? 0)
}

/** A run that has begun (its start event routed), with an empty outbox. */
const begun = (
  steps: ReadonlyArray<Step.Any>,
  options: { stop?: Event.Any; journaled?: boolean; startEvent?: Event.AnyEvent } = {}
): run_.RunState => {
  const state = pendingRun(steps, options)
  state.journaled = options.journaled ?? false
  state.early = [{ event: options.startEvent ?? start, target: undefined }]
  run_.begin(state, 1000)
  state.outbox.length = 0
  return state
}

const stepOf = (state: run_.RunState, name: string): run_.StepState => state.stepNamed(name)!

/** The execution holding `slot` of step `name`. */
const slotOf = (state: run_.RunState, name: string, slot: number): run_.Execution => stepOf(state, name).slots[slot]!

/** A command as a compact row. */
const summary = (command: run_.Command): ReadonlyArray<unknown> => {
  switch (command._op) {
    case "publish": {
      const item = command.item
      if (item instanceof run_.StepStateRecord) {
        const row: Array<unknown> = ["publish", item.stepState, item.name, item.workerId, item.input._tag]
        if (item.output !== undefined) row.push(item.output._tag)
        return row
      }
      return ["publish", item._tag]
    }
    case "run":
      return ["run", command.step.step.name, command.execution.slot, command.execution.attempt.event._tag]
    case "resolve":
      return ["resolve", command.waiter.id, command.waiter.resolved?._tag]
    case "wake":
      return ["wake", command.execution.slot, command.execution.attempt.event._tag]
    case "timer":
      return ["timer", command.step.step.name, command.attempt.retryAt]
    case "end":
      return ["end", command.ending]
    case "started":
      return ["started", command.step.step.name, command.execution.slot]
    case "finished":
      return ["finished", command.step.step.name, command.execution.slot, command.outcome]
    case "waiterAdded":
      return ["waiterAdded", command.step.step.name, command.waiter.id]
  }
}

const ops = (state: run_.RunState) => state.outbox.map(summary)

/** The outbox as rows, emptied. */
const take = (state: run_.RunState) => {
  const rows = ops(state)
  state.outbox.length = 0
  return rows
}

/** The items the outbox publishes (events, not step-state records). */
const publishedEvents = (state: run_.RunState): Array<Event.AnyEvent> =>
  state.outbox.flatMap((command) =>
    command._op === "publish" && !(command.item instanceof run_.StepStateRecord) ? [command.item] : []
  )

const waitOptions = (
  id: string,
  requirements?: { readonly [key: string]: unknown },
  waiterEvent?: Event.AnyEvent
): run_.WaitOptions => ({ id, awaitedTag: "Answer", requirements, waiterEvent })

/** Routes `event` and returns the execution it started on `name` (the last `run` command's). */
const startOn = (state: run_.RunState, name: string, event: Event.AnyEvent): run_.Execution => {
  run_.route(state, event)
  const runs = state.outbox.filter((c): c is Extract<run_.Command, { _op: "run" }> =>
    c._op === "run" && c.step.step.name === name && c.execution.attempt.event === event
  )
  expect(runs).toHaveLength(1)
  state.outbox.length = 0
  return runs[0].execution
}

// -------------------------------------------------------------------------------------------------
// routing
// -------------------------------------------------------------------------------------------------

describe("route", () => {
  it("broadcasts an event to every step accepting its tag, one run command each", () => {
    const state = begun([step("a", Item), step("b", [Item, Other]), step("c", Other)])
    const item = new Item({ n: 1 })
    run_.route(state, item)
    expect(ops(state)).toEqual([
      ["publish", "running", "a", "0", "Item"],
      ["run", "a", 0, "Item"],
      ["publish", "running", "b", "0", "Item"],
      ["run", "b", 0, "Item"]
    ])
    expect(stepOf(state, "a").busy).toBe(1)
    expect(stepOf(state, "b").busy).toBe(1)
    expect(stepOf(state, "c").busy).toBe(0)
    // every step gets its own attempt of the same event
    const runs = state.outbox.filter((c) => c._op === "run") as Array<Extract<run_.Command, { _op: "run" }>>
    expect(runs[0].execution.attempt.event).toBe(item)
    expect(runs[1].execution.attempt.event).toBe(item)
    expect(runs[0].execution.attempt).not.toBe(runs[1].execution.attempt)
  })

  it("sends a targeted event only to its target", () => {
    const state = begun([step("a", Item), step("b", Item)])
    run_.route(state, new Item({ n: 1 }), stepOf(state, "b"))
    expect(ops(state)).toEqual([
      ["publish", "running", "b", "0", "Item"],
      ["run", "b", 0, "Item"]
    ])
    expect(stepOf(state, "a").busy).toBe(0)
  })

  it("publishes an UnhandledEvent (with idle) when no step accepts the event", () => {
    const state = begun([step("a", Item)])
    run_.route(state, new Stray())
    expect(ops(state)).toEqual([["publish", "UnhandledEvent"]])
    const [idle] = publishedEvents(state) as Array<Event.UnhandledEvent>
    expect(idle.eventType).toBe("Stray")
    expect(idle.idle).toBe(true)
    expect(idle.stepName).toBeUndefined()
    state.outbox.length = 0

    run_.route(state, new Item({ n: 1 }))
    state.outbox.length = 0
    run_.route(state, new Stray())
    const [busy] = publishedEvents(state) as Array<Event.UnhandledEvent>
    expect(busy.eventType).toBe("Stray")
    expect(busy.idle).toBe(false)
  })

  it("publishes no UnhandledEvent for an InputRequiredEvent nobody accepts", () => {
    const state = begun([step("a", Item)])
    run_.route(state, ask)
    expect(ops(state)).toEqual([])
  })

  it("numbers what it publishes from the run's published count", () => {
    const state = pendingRun([step("a", Item)], { published: 5 })
    state.early = [{ event: start, target: undefined }]
    run_.begin(state, 0)
    run_.route(state, new Stray())
    expect(state.outbox.map((c) => c._op === "publish" ? c.sequence : -1)).toEqual([5, 6])
    expect(state.published).toBe(7)
  })

  it("keeps events routed while Pending in state.early and routes them on begin", () => {
    const state = pendingRun([step("a", StartEvent), step("b", Item), step("c", Item)])
    const item = new Item({ n: 1 })
    const targeted = new Item({ n: 2 })
    state.early = [{ event: start, target: undefined }]
    run_.route(state, item)
    run_.route(state, targeted, stepOf(state, "c"))
    expect(ops(state)).toEqual([])
    expect(state.status._tag).toBe("Pending")
    expect(state.early).toEqual([
      { event: start, target: undefined },
      { event: item, target: undefined },
      { event: targeted, target: stepOf(state, "c") }
    ])
    run_.begin(state, 1234)
    expect(state.status._tag).toBe("Running")
    expect(state.startedAt).toBe(1234)
    expect(state.early).toBeUndefined()
    expect(ops(state)).toEqual([
      ["publish", "running", "a", "0", "StartEvent"],
      ["run", "a", 0, "StartEvent"],
      ["publish", "running", "b", "0", "Item"],
      ["run", "b", 0, "Item"],
      ["publish", "running", "c", "0", "Item"],
      ["run", "c", 0, "Item"],
      ["publish", "running", "c", "1", "Item"],
      ["run", "c", 1, "Item"]
    ])
    expect(slotOf(state, "c", 1).attempt.event).toBe(targeted)
    // begin runs once
    state.outbox.length = 0
    run_.begin(state, 9999)
    expect(ops(state)).toEqual([])
    expect(state.startedAt).toBe(1234)
  })

  it("begin queues restored attempts (before the early events) and times delayed ones", () => {
    const state = pendingRun([step("a", [StartEvent, Item], { workers: 1 })])
    const a = stepOf(state, "a")
    const inFlight = run_.makeAttempt(new Item({ n: 1 }))
    inFlight.failures = 2
    const delayed = { ...run_.makeAttempt(new Item({ n: 2 })), retryAt: 5000 }
    state.restored = [{ step: a, attempt: inFlight }, { step: a, attempt: delayed }]
    state.early = [{ event: start, target: undefined }]
    run_.begin(state, 1000)
    expect(ops(state)).toEqual([
      ["publish", "running", "a", "0", "Item"],
      ["run", "a", 0, "Item"],
      ["timer", "a", 5000],
      ["publish", "preparing", "a", "<enqueued>", "StartEvent"]
    ])
    expect(state.restored).toBeUndefined()
    expect(a.slots[0]!.attempt).toBe(inFlight)
    expect(inFlight.failures).toBe(2)
    expect([...a.delayed]).toEqual([delayed])
  })
})

describe("route: waiters", () => {
  it("a resolved waiter consumes the event: a resolve command, no step gets it", () => {
    const state = begun([step("a", Item), step("b", Answer)])
    const execution = startOn(state, "a", new Item({ n: 1 }))
    const waiter = run_.wait(state, stepOf(state, "a"), execution, waitOptions("w"))
    expect(state.waiterCount).toBe(1)
    state.outbox.length = 0
    const answer = new Answer({ id: 7 })
    run_.route(state, answer)
    expect(ops(state)).toEqual([["resolve", "w", "Answer"]])
    expect(waiter.resolved).toBe(answer)
    expect(state.waiterCount).toBe(0)
    expect(stepOf(state, "b").busy).toBe(0)
    // the next one goes to the step again
    state.outbox.length = 0
    run_.route(state, new Answer({ id: 8 }))
    expect(ops(state)).toEqual([
      ["publish", "running", "b", "0", "Answer"],
      ["run", "b", 0, "Answer"]
    ])
  })

  it("waiters come before a target", () => {
    const state = begun([step("a", Item), step("b", Answer)])
    const execution = startOn(state, "a", new Item({ n: 1 }))
    run_.wait(state, stepOf(state, "a"), execution, waitOptions("w"))
    state.outbox.length = 0
    run_.route(state, new Answer({ id: 1 }), stepOf(state, "b"))
    expect(ops(state)).toEqual([["resolve", "w", "Answer"]])
  })

  it("an event failing the requirements does not resolve the waiter", () => {
    const state = begun([step("a", Item), step("b", Answer)])
    const execution = startOn(state, "a", new Item({ n: 1 }))
    const waiter = run_.wait(state, stepOf(state, "a"), execution, waitOptions("w", { id: 1 }))
    state.outbox.length = 0
    run_.route(state, new Answer({ id: 2 }))
    expect(ops(state)).toEqual([
      ["publish", "running", "b", "0", "Answer"],
      ["run", "b", 0, "Answer"]
    ])
    expect(waiter.resolved).toBeUndefined()
    expect(state.waiterCount).toBe(1)
    state.outbox.length = 0
    const match = new Answer({ id: 1 })
    run_.route(state, match)
    expect(ops(state)).toEqual([["resolve", "w", "Answer"]])
    expect(waiter.resolved).toBe(match)
  })

  it("compares requirements structurally: plain objects", () => {
    const state = begun([step("a", Item)])
    const execution = startOn(state, "a", new Item({ n: 1 }))
    const waiter = run_.wait(state, stepOf(state, "a"), execution, {
      id: "w",
      awaitedTag: "HumanResponseEvent",
      requirements: { payload: { id: 1 } },
      waiterEvent: undefined
    })
    state.outbox.length = 0
    run_.route(state, new HumanResponseEvent({ response: "no", payload: { id: 2 } }))
    run_.route(state, new HumanResponseEvent({ response: "no", payload: { id: 1, extra: true } }))
    run_.route(state, new HumanResponseEvent({ response: "no" }))
    expect(waiter.resolved).toBeUndefined()
    expect(ops(state)).toEqual([
      ["publish", "UnhandledEvent"],
      ["publish", "UnhandledEvent"],
      ["publish", "UnhandledEvent"]
    ])
    state.outbox.length = 0
    const yes = new HumanResponseEvent({ response: "yes", payload: { id: 1 } })
    run_.route(state, yes)
    expect(ops(state)).toEqual([["resolve", "w", "HumanResponseEvent"]])
    expect(waiter.resolved).toBe(yes)
  })

  it("compares requirements structurally: arrays", () => {
    const state = begun([step("a", Item)])
    const execution = startOn(state, "a", new Item({ n: 1 }))
    const waiter = run_.wait(state, stepOf(state, "a"), execution, {
      id: "w",
      awaitedTag: "HumanResponseEvent",
      requirements: { payload: [1, { k: "v" }] },
      waiterEvent: undefined
    })
    run_.route(state, new HumanResponseEvent({ response: "x", payload: [1, { k: "w" }] }))
    run_.route(state, new HumanResponseEvent({ response: "x", payload: [1] }))
    run_.route(state, new HumanResponseEvent({ response: "x", payload: { 0: 1, 1: { k: "v" } } }))
    expect(waiter.resolved).toBeUndefined()
    const yes = new HumanResponseEvent({ response: "x", payload: [1, { k: "v" }] })
    run_.route(state, yes)
    expect(waiter.resolved).toBe(yes)
    expect(run_.equivalent([1, [2, { a: [3] }]], [1, [2, { a: [3] }]])).toBe(true)
    expect(run_.equivalent({ a: 1 }, { a: 1, b: undefined })).toBe(false)
    expect(run_.equivalent(new Item({ n: 1 }), new Item({ n: 1 }))).toBe(true)
    expect(run_.equivalent(new Item({ n: 1 }), { _tag: "Item", n: 1 })).toBe(false)
  })

  it("two waits with one id and different requirements are two waiters; an answer resolves the one it meets", () => {
    const state = begun([step("a", Item, { workers: 2 })])
    const a = stepOf(state, "a")
    run_.route(state, new Item({ n: 1 }))
    run_.route(state, new Item({ n: 2 }))
    state.outbox.length = 0
    const first = run_.wait(state, a, slotOf(state, "a", 0), waitOptions("w", { id: 1 }, ask))
    const second = run_.wait(state, a, slotOf(state, "a", 1), waitOptions("w", { id: 2 }, ask))
    expect(first).not.toBe(second)
    expect(a.waiters).toEqual([first, second])
    expect(state.waiterCount).toBe(2)
    // the id's waiterEvent is published once
    expect(ops(state)).toEqual([["publish", "InputRequiredEvent"]])
    expect(first.waiterEventPublished).toBe(true)
    expect(second.waiterEventPublished).toBe(false)
    state.outbox.length = 0
    const answer = new Answer({ id: 2 })
    run_.route(state, answer)
    expect(ops(state)).toEqual([["resolve", "w", "Answer"]])
    expect(state.outbox[0]._op === "resolve" && state.outbox[0].waiter).toBe(second)
    expect(second.resolved).toBe(answer)
    expect(first.resolved).toBeUndefined()
    expect(state.waiterCount).toBe(1)
  })

  it("two equal waits share one waiter and one waiterEvent publish", () => {
    const state = begun([step("a", Item, { workers: 2 })], { journaled: true })
    const a = stepOf(state, "a")
    run_.route(state, new Item({ n: 1 }))
    run_.route(state, new Item({ n: 2 }))
    state.outbox.length = 0
    const e0 = slotOf(state, "a", 0)
    const e1 = slotOf(state, "a", 1)
    const first = run_.wait(state, a, e0, waitOptions("w", { id: 1 }, ask))
    const second = run_.wait(state, a, e1, waitOptions("w", { id: 1 }, new InputRequiredEvent({ prefix: "again" })))
    expect(second).toBe(first)
    expect(a.waiters).toHaveLength(1)
    expect(first.executions).toEqual([e0, e1])
    expect(e0.joined).toEqual([first])
    expect(e1.joined).toEqual([first])
    expect(state.waiterCount).toBe(1)
    expect(ops(state)).toEqual([["waiterAdded", "a", "w"], ["publish", "InputRequiredEvent"]])
    expect((publishedEvents(state)[0] as Event.InputRequiredEvent).prefix).toBe("?")
    state.outbox.length = 0
    run_.route(state, new Answer({ id: 1 }))
    expect(ops(state)).toEqual([["resolve", "w", "Answer"]])
    expect(state.waiterCount).toBe(0)
  })

  it("one event resolves every waiter it matches, in every step", () => {
    const state = begun([step("a", Item), step("b", Other)])
    const ea = startOn(state, "a", new Item({ n: 1 }))
    const eb = startOn(state, "b", new Other({ n: 1 }))
    const wa = run_.wait(state, stepOf(state, "a"), ea, waitOptions("wa"))
    const wb = run_.wait(state, stepOf(state, "b"), eb, waitOptions("wb", { id: 3 }))
    const answer = new Answer({ id: 3 })
    run_.route(state, answer)
    expect(ops(state)).toEqual([["resolve", "wa", "Answer"], ["resolve", "wb", "Answer"]])
    expect(wa.resolved).toBe(answer)
    expect(wb.resolved).toBe(answer)
    expect(state.waiterCount).toBe(0)
  })

  it("abandonWait leaves the waiter, which goes once nobody waits on it", () => {
    const state = begun([step("a", Item, { workers: 2 })])
    const a = stepOf(state, "a")
    run_.route(state, new Item({ n: 1 }))
    run_.route(state, new Item({ n: 2 }))
    const e0 = slotOf(state, "a", 0)
    const e1 = slotOf(state, "a", 1)
    const waiter = run_.wait(state, a, e0, waitOptions("w"))
    run_.wait(state, a, e1, waitOptions("w"))
    run_.abandonWait(state, a, waiter, e0)
    expect(e0.joined).toEqual([])
    expect(waiter.executions).toEqual([e1])
    expect(a.waiters).toEqual([waiter])
    expect(state.waiterCount).toBe(1)
    run_.abandonWait(state, a, waiter, e1)
    expect(a.waiters).toEqual([])
    expect(state.waiterCount).toBe(0)
    // nothing resolves it any more
    state.outbox.length = 0
    run_.route(state, new Answer({ id: 1 }))
    expect(ops(state)).toEqual([["publish", "UnhandledEvent"]])
    expect(waiter.resolved).toBeUndefined()
  })

  it("abandonWait keeps a resolved waiter for its execution's end", () => {
    const state = begun([step("a", Item)])
    const a = stepOf(state, "a")
    const execution = startOn(state, "a", new Item({ n: 1 }))
    const waiter = run_.wait(state, a, execution, waitOptions("w"))
    run_.route(state, new Answer({ id: 1 }))
    run_.abandonWait(state, a, waiter, execution)
    expect(a.waiters).toEqual([waiter])
    expect(execution.joined).toEqual([waiter])
    expect(state.waiterCount).toBe(0)
  })
})

// -------------------------------------------------------------------------------------------------
// worker slots
// -------------------------------------------------------------------------------------------------

describe("worker slots", () => {
  it("workers: 2 runs two events and queues the third; releaseSlot hands the slot over", () => {
    const state = begun([step("a", Item, { workers: 2 })])
    const a = stepOf(state, "a")
    const third = new Item({ n: 3 })
    run_.route(state, new Item({ n: 1 }))
    run_.route(state, new Item({ n: 2 }))
    run_.route(state, third)
    expect(take(state)).toEqual([
      ["publish", "running", "a", "0", "Item"],
      ["run", "a", 0, "Item"],
      ["publish", "running", "a", "1", "Item"],
      ["run", "a", 1, "Item"],
      ["publish", "preparing", "a", "<enqueued>", "Item"]
    ])
    expect(a.busy).toBe(2)
    expect(a.hasQueued).toBe(true)
    expect(a.queued().map((item) => "event" in item && item.event)).toEqual([third])
    const e0 = slotOf(state, "a", 0)
    const e1 = slotOf(state, "a", 1)
    expect(e0.holdsSlot && e1.holdsSlot).toBe(true)

    const next = run_.releaseSlot(state, a, e0)
    expect(next).toBeDefined()
    expect(next!.slot).toBe(0)
    expect(next!.attempt.event).toBe(third)
    expect(next!.holdsSlot).toBe(true)
    expect(e0.holdsSlot).toBe(false)
    expect(a.slots[0]).toBe(next)
    expect(a.busy).toBe(2)
    expect(a.hasQueued).toBe(false)
    expect(run_.inFlight(a)).toEqual([e1, next])
    // the calling worker runs it: no run command
    expect(take(state)).toEqual([["publish", "running", "a", "0", "Item"]])

    expect(run_.releaseSlot(state, a, e1)).toBeUndefined()
    expect(a.busy).toBe(1)
    expect(a.slots).toEqual([next, undefined])
    expect(ops(state)).toEqual([])
    // releasing twice frees nothing twice
    expect(run_.releaseSlot(state, a, e1)).toBeUndefined()
    expect(a.busy).toBe(1)
  })

  it("suspend frees the slot of a waiting execution for the queued attempt", () => {
    const state = begun([step("a", Item, { workers: 1 })])
    const a = stepOf(state, "a")
    const first = new Item({ n: 1 })
    const second = new Item({ n: 2 })
    run_.route(state, first)
    run_.route(state, second)
    state.outbox.length = 0
    const e0 = slotOf(state, "a", 0)
    run_.wait(state, a, e0, waitOptions("w"))
    const next = run_.suspend(state, a, e0)
    expect(next).toBeDefined()
    expect(next!.attempt.event).toBe(second)
    expect(next!.slot).toBe(0)
    expect(e0.holdsSlot).toBe(false)
    expect(e0.waits).toBe(1)
    expect(a.busy).toBe(1)
    expect(take(state)).toEqual([
      ["publish", "not_running", "a", "0", "Item"],
      ["publish", "running", "a", "0", "Item"]
    ])
    // a second concurrent wait of the same execution frees nothing more
    expect(run_.suspend(state, a, e0)).toBeUndefined()
    expect(e0.waits).toBe(2)
    expect(a.busy).toBe(1)
    expect(ops(state)).toEqual([])
  })

  it("reacquireSlot queues a resumption that a later releaseSlot hands over with a wake", () => {
    const state = begun([step("a", Item, { workers: 1 })])
    const a = stepOf(state, "a")
    run_.route(state, new Item({ n: 1 }))
    run_.route(state, new Item({ n: 2 }))
    const e0 = slotOf(state, "a", 0)
    run_.wait(state, a, e0, waitOptions("w"))
    const next = run_.suspend(state, a, e0)!
    run_.route(state, new Answer({ id: 1 }))
    state.outbox.length = 0

    expect(run_.reacquireSlot(state, a, e0)).toBe(false)
    expect(e0.handed).toBe(false)
    expect(e0.holdsSlot).toBe(false)
    expect(a.queued()).toEqual([{ resumption: e0 }])
    expect(take(state)).toEqual([["publish", "preparing", "a", "<enqueued>", "Item"]])

    expect(run_.releaseSlot(state, a, next)).toBeUndefined()
    expect(e0.handed).toBe(true)
    expect(e0.holdsSlot).toBe(true)
    expect(e0.slot).toBe(0)
    expect(a.slots[0]).toBe(e0)
    expect(a.busy).toBe(1)
    expect(a.hasQueued).toBe(false)
    expect(take(state)).toEqual([
      ["publish", "running", "a", "0", "Item"],
      ["wake", 0, "Item"]
    ])
    expect(state.outbox).toEqual([])
  })

  it("reacquireSlot takes a free slot at once", () => {
    const state = begun([step("a", Item, { workers: 2 })])
    const a = stepOf(state, "a")
    run_.route(state, new Item({ n: 1 }))
    run_.route(state, new Item({ n: 2 }))
    const e0 = slotOf(state, "a", 0)
    const e1 = slotOf(state, "a", 1)
    run_.wait(state, a, e0, waitOptions("w"))
    expect(run_.suspend(state, a, e0)).toBeUndefined()
    expect(a.slots).toEqual([undefined, e1])
    state.idleAnnounced = true
    state.outbox.length = 0
    // it takes the free slot, whatever slot it held before
    run_.releaseSlot(state, a, e1)
    expect(run_.reacquireSlot(state, a, e0)).toBe(true)
    expect(e0.slot).toBe(0)
    expect(e0.holdsSlot).toBe(true)
    expect(e0.handed).toBe(false)
    expect(a.busy).toBe(1)
    expect(state.idleAnnounced).toBe(false)
    expect(take(state)).toEqual([["publish", "running", "a", "0", "Item"]])
  })

  it("inFlight lists running, waiting and queued-to-resume executions in start order", () => {
    const state = begun([step("a", Item, { workers: 2 })])
    const a = stepOf(state, "a")
    run_.route(state, new Item({ n: 1 }))
    run_.route(state, new Item({ n: 2 }))
    run_.route(state, new Item({ n: 3 }))
    run_.route(state, new Item({ n: 4 }))
    const e0 = slotOf(state, "a", 0)
    const e1 = slotOf(state, "a", 1)
    expect(e1.seq).toBeGreaterThan(e0.seq)
    // queued attempts are not executions yet
    expect(run_.inFlight(a)).toEqual([e0, e1])
    run_.wait(state, a, e0, waitOptions("w"))
    const e2 = run_.suspend(state, a, e0)!
    expect(e2.slot).toBe(0)
    expect(run_.inFlight(a)).toEqual([e0, e1, e2])
    run_.route(state, new Answer({ id: 1 }))
    expect(run_.reacquireSlot(state, a, e0)).toBe(false)
    // e0: resolved and queued for a slot
    expect(run_.inFlight(a)).toEqual([e0, e1, e2])
    const e3 = run_.releaseSlot(state, a, e1)!
    expect(e3.attempt.event).toEqual(new Item({ n: 4 }))
    expect(run_.inFlight(a)).toEqual([e0, e2, e3])
    expect(run_.releaseSlot(state, a, e2)).toBeUndefined()
    expect(a.slots).toEqual([e0, e3])
    expect(run_.inFlight(a)).toEqual([e0, e3])
    run_.succeeded(state, a, e0, undefined, () => 2000)
    run_.releaseSlot(state, a, e0)
    expect(run_.inFlight(a)).toEqual([e3])
  })

  it("inFlight keeps an execution whose wait timed out while it queues for a slot", () => {
    const state = begun([step("a", Item, { workers: 1 })])
    const a = stepOf(state, "a")
    run_.route(state, new Item({ n: 1 }))
    run_.route(state, new Item({ n: 2 }))
    const e0 = slotOf(state, "a", 0)
    const waiter = run_.wait(state, a, e0, waitOptions("w"))
    const e1 = run_.suspend(state, a, e0)!
    run_.abandonWait(state, a, waiter, e0)
    expect(a.waiters).toEqual([])
    expect(run_.reacquireSlot(state, a, e0)).toBe(false)
    expect(run_.inFlight(a)).toEqual([e0, e1])
  })

  it("runningSteps and isIdle", () => {
    const state = begun([step("a", Item, { workers: 1 }), step("b", Other), step("c", Stray)])
    expect(run_.runningSteps(state)).toEqual([])
    expect(run_.isIdle(state)).toBe(true)
    run_.route(state, new Item({ n: 1 }))
    run_.route(state, new Other({ n: 1 }))
    expect(run_.runningSteps(state)).toEqual(["a", "b"])
    expect(run_.isIdle(state)).toBe(false)
    run_.releaseSlot(state, stepOf(state, "b"), slotOf(state, "b", 0))
    expect(run_.runningSteps(state)).toEqual(["a"])
    // a waiting execution does not count
    const a = stepOf(state, "a")
    const e0 = slotOf(state, "a", 0)
    run_.wait(state, a, e0, waitOptions("w"))
    run_.suspend(state, a, e0)
    expect(run_.runningSteps(state)).toEqual([])
    expect(run_.isIdle(state)).toBe(true)
    expect(run_.inFlight(a)).toEqual([e0])
    // a waiting execution that holds a slot again does
    run_.route(state, new Answer({ id: 0 }))
    expect(run_.reacquireSlot(state, a, e0)).toBe(true)
    expect(run_.runningSteps(state)).toEqual(["a"])
    expect(run_.isIdle(state)).toBe(false)
    run_.releaseSlot(state, a, e0)
    expect(run_.isIdle(state)).toBe(true)
  })

  it("isIdle is false while an attempt waits out a retry delay", () => {
    const state = begun([step("a", Item)])
    const a = stepOf(state, "a")
    const execution = startOn(state, "a", new Item({ n: 1 }))
    run_.failed(state, a, execution, Option.some("boom"), 2000)
    run_.retryAt(state, a, execution, 3000, 2000)
    run_.releaseSlot(state, a, execution)
    expect(a.busy).toBe(0)
    expect(run_.isIdle(state)).toBe(false)
    expect(run_.runningSteps(state)).toEqual([])
  })

  it("announceIdle publishes one WorkflowIdleEvent per idle period", () => {
    const pending = pendingRun([step("a", Item)])
    run_.announceIdle(pending)
    expect(ops(pending)).toEqual([])

    const state = begun([step("a", Item)])
    const a = stepOf(state, "a")
    // the start event was unhandled: the run is idle
    run_.announceIdle(state)
    run_.announceIdle(state)
    expect(take(state)).toEqual([["publish", "WorkflowIdleEvent"]])
    expect(state.idleAnnounced).toBe(true)

    const execution = startOn(state, "a", new Item({ n: 1 }))
    expect(state.idleAnnounced).toBe(false)
    run_.announceIdle(state)
    expect(ops(state)).toEqual([])
    run_.releaseSlot(state, a, execution)
    run_.announceIdle(state)
    run_.announceIdle(state)
    expect(take(state)).toEqual([["publish", "WorkflowIdleEvent"]])
  })

  it("suspend announces the idle period it starts", () => {
    const state = begun([step("a", Item)])
    const a = stepOf(state, "a")
    const execution = startOn(state, "a", new Item({ n: 1 }))
    run_.wait(state, a, execution, waitOptions("w", undefined, ask))
    run_.suspend(state, a, execution)
    expect(ops(state)).toEqual([
      ["publish", "InputRequiredEvent"],
      ["publish", "not_running", "a", "0", "Item"],
      ["publish", "WorkflowIdleEvent"]
    ])
  })
})

// -------------------------------------------------------------------------------------------------
// collect buffers
// -------------------------------------------------------------------------------------------------

describe("collect", () => {
  const collectRun = () => {
    const state = begun([step("s", [A, B, C])])
    return stepOf(state, "s")
  }
  const attempt = (event: Event.AnyEvent) => run_.makeAttempt(event)
  const collectOwn = (s: run_.StepState, event: Event.AnyEvent, expected: ReadonlyArray<Event.Any>, bufferId = "default") =>
    run_.collect(s, attempt(event), event, expected, bufferId)

  it("returns undefined until the set is complete, then the events ordered by expected", () => {
    const s = collectRun()
    const expected = [A, B]
    const b1 = new B({ n: 1 })
    const a1 = new A({ n: 1 })
    expect(collectOwn(s, b1, expected)).toBeUndefined()
    expect(s.collected.get("default")!.events).toEqual([b1])
    const last = attempt(a1)
    const result = run_.collect(s, last, a1, expected, "default")
    expect(result).toEqual([a1, b1])
    expect(result![0]).toBe(a1)
    expect(result![1]).toBe(b1)
    expect(s.collected.has("default")).toBe(false)
    // what it took from the buffer, other than its own event
    expect(last.taken).toEqual([{ bufferId: "default", events: [b1] }])
  })

  it("orders same-tag events in arrival order", () => {
    const s = collectRun()
    const expected = [A, B, A]
    const a1 = new A({ n: 1 })
    const b1 = new B({ n: 1 })
    const a2 = new A({ n: 2 })
    expect(collectOwn(s, a1, expected)).toBeUndefined()
    expect(collectOwn(s, b1, expected)).toBeUndefined()
    const result = collectOwn(s, a2, expected)!
    expect(result).toHaveLength(3)
    expect(result[0]).toBe(a1)
    expect(result[1]).toBe(b1)
    expect(result[2]).toBe(a2)
  })

  it("drops events of unexpected or already-satisfied tags", () => {
    const s = collectRun()
    const expected = [A, B]
    const a1 = new A({ n: 1 })
    const b1 = new B({ n: 1 })
    expect(collectOwn(s, a1, expected)).toBeUndefined()
    expect(collectOwn(s, new A({ n: 2 }), expected)).toBeUndefined()
    expect(collectOwn(s, new C({ n: 1 }), expected)).toBeUndefined()
    expect(s.collected.get("default")!.events).toEqual([a1])
    const result = collectOwn(s, b1, expected)!
    expect(result[0]).toBe(a1)
    expect(result[1]).toBe(b1)
  })

  it("works the same when each call passes a new expected array", () => {
    const s = collectRun()
    const a1 = new A({ n: 1 })
    const b1 = new B({ n: 1 })
    expect(collectOwn(s, a1, [A, B])).toBeUndefined()
    expect(collectOwn(s, new A({ n: 2 }), [A, B])).toBeUndefined()
    const result = collectOwn(s, b1, [A, B])!
    expect(result[0]).toBe(a1)
    expect(result[1]).toBe(b1)
  })

  it("keeps buffers apart by id, and expected [] returns [] at once", () => {
    const s = collectRun()
    const expected = [A, B]
    expect(collectOwn(s, new A({ n: 1 }), expected, "x")).toBeUndefined()
    expect(collectOwn(s, new B({ n: 1 }), expected, "y")).toBeUndefined()
    expect([...s.collected.keys()]).toEqual(["x", "y"])
    expect(collectOwn(s, new A({ n: 2 }), [], "x")).toEqual([])
    expect(s.collected.get("x")!.events).toHaveLength(1)
    const result = collectOwn(s, new B({ n: 2 }), expected, "x")!
    expect(result.map((ev) => [ev._tag, (ev as A).n])).toEqual([["A", 1], ["B", 2]])
    expect([...s.collected.keys()]).toEqual(["y"])
  })

  it("an attempt that completed a set gets the same set again, whatever arrived since", () => {
    const s = collectRun()
    const expected = [A, B]
    const a1 = new A({ n: 1 })
    const b1 = new B({ n: 1 })
    const a2 = new A({ n: 2 })
    expect(collectOwn(s, a1, expected)).toBeUndefined()
    const completing = attempt(b1)
    expect(run_.collect(s, completing, b1, expected, "default")).toEqual([a1, b1])
    expect(completing.taken).toEqual([{ bufferId: "default", events: [a1] }])
    // a newer event starts a new buffer
    expect(collectOwn(s, a2, expected)).toBeUndefined()
    // the attempt runs again (a retry, or after a resume): its set, the buffer untouched
    const again = run_.collect(s, completing, b1, expected, "default")!
    expect(again[0]).toBe(a1)
    expect(again[1]).toBe(b1)
    expect(s.collected.get("default")!.events).toEqual([a2])
    // and a later B completes the newer set
    const b2 = new B({ n: 2 })
    expect(run_.collect(s, attempt(b2), b2, expected, "default")).toEqual([a2, b2])
  })

  it("takeBackAdded takes out what an attempt added without completing a set", () => {
    const s = collectRun()
    const expected = [A, B, C]
    const a1 = new A({ n: 1 })
    const adding = attempt(a1)
    expect(run_.collect(s, adding, a1, expected, "default")).toBeUndefined()
    expect(adding.added).toEqual([{ bufferId: "default", event: a1 }])
    const c1 = new C({ n: 1 })
    collectOwn(s, c1, expected)
    run_.takeBackAdded(s, adding)
    expect(adding.added).toBeUndefined()
    expect(s.collected.get("default")!.events).toEqual([c1])
    // run anew, the attempt adds its event once
    expect(run_.collect(s, adding, a1, expected, "default")).toBeUndefined()
    const b1 = new B({ n: 1 })
    expect(run_.collect(s, attempt(b1), b1, expected, "default")).toEqual([a1, b1, c1])
  })
})

// -------------------------------------------------------------------------------------------------
// retries
// -------------------------------------------------------------------------------------------------

describe("retry bookkeeping", () => {
  it("failed counts the failure and keeps its time and error", () => {
    const state = begun([step("a", Item)])
    const a = stepOf(state, "a")
    const execution = startOn(state, "a", new Item({ n: 1 }))
    run_.failed(state, a, execution, Option.some("boom"), 2000)
    expect(execution.attempt.failures).toBe(1)
    expect(execution.attempt.lastFailedAt).toBe(2000)
    expect(execution.attempt.lastError).toEqual(Option.some("boom"))
    expect(take(state)).toEqual([["publish", "not_running", "a", "0", "Item"]])
    run_.failed(state, a, execution, Option.none(), 2500)
    expect(execution.attempt.failures).toBe(2)
    expect(execution.attempt.lastFailedAt).toBe(2500)
    expect(Option.isNone(execution.attempt.lastError)).toBe(true)
  })

  it("retryAt a future time delays the attempt with a timer; retryDue queues it again", () => {
    const state = begun([step("a", Item, { workers: 1 })])
    const a = stepOf(state, "a")
    const execution = startOn(state, "a", new Item({ n: 1 }))
    const attempt = execution.attempt
    run_.failed(state, a, execution, Option.some("boom"), 2000)
    state.outbox.length = 0
    run_.retryAt(state, a, execution, 5000, 2000)
    expect(attempt.retryAt).toBe(5000)
    expect([...a.delayed]).toEqual([attempt])
    expect(take(state)).toEqual([["timer", "a", 5000]])
    // the slot is the worker's to release, once
    expect(a.busy).toBe(1)
    expect(run_.releaseSlot(state, a, execution)).toBeUndefined()
    expect(a.busy).toBe(0)
    expect(run_.releaseSlot(state, a, execution)).toBeUndefined()
    expect(a.busy).toBe(0)
    expect(a.slots).toEqual([undefined])
    expect(run_.inFlight(a)).toEqual([])

    run_.retryDue(state, a, attempt)
    expect(attempt.retryAt).toBeUndefined()
    expect(a.hasDelayed).toBe(false)
    const runs = state.outbox.filter((c) => c._op === "run") as Array<Extract<run_.Command, { _op: "run" }>>
    expect(take(state)).toEqual([
      ["publish", "running", "a", "0", "Item"],
      ["run", "a", 0, "Item"]
    ])
    expect(runs[0].execution.attempt).toBe(attempt)
    expect(runs[0].execution).not.toBe(execution)
    expect(attempt.failures).toBe(1)
    expect(attempt.lastFailedAt).toBe(2000)
    // due twice: nothing more
    run_.retryDue(state, a, attempt)
    expect(ops(state)).toEqual([])
    expect(a.busy).toBe(1)
  })

  it("retryDue queues the attempt when every slot is busy", () => {
    const state = begun([step("a", Item, { workers: 1 })])
    const a = stepOf(state, "a")
    const execution = startOn(state, "a", new Item({ n: 1 }))
    run_.failed(state, a, execution, Option.some("boom"), 2000)
    run_.retryAt(state, a, execution, 5000, 2000)
    run_.releaseSlot(state, a, execution)
    run_.route(state, new Item({ n: 2 }))
    state.outbox.length = 0
    run_.retryDue(state, a, execution.attempt)
    expect(take(state)).toEqual([["publish", "preparing", "a", "<enqueued>", "Item"]])
    expect(a.queued()).toEqual([execution.attempt])
  })

  it("retryAt at or before now enqueues at once", () => {
    const state = begun([step("a", Item, { workers: 1 })])
    const a = stepOf(state, "a")
    const execution = startOn(state, "a", new Item({ n: 1 }))
    const attempt = execution.attempt
    run_.failed(state, a, execution, Option.some("boom"), 2000)
    state.outbox.length = 0
    run_.retryAt(state, a, execution, 2000, 2000)
    expect(attempt.retryAt).toBeUndefined()
    expect(a.hasDelayed).toBe(false)
    // its own slot is still held: it waits for it
    expect(take(state)).toEqual([["publish", "preparing", "a", "<enqueued>", "Item"]])
    const next = run_.releaseSlot(state, a, execution)!
    expect(next.attempt).toBe(attempt)
    expect(next.slot).toBe(0)
    expect(attempt.failures).toBe(1)
    expect(a.busy).toBe(1)
  })

  it("retryAt keeps the set the attempt collected for its retry and leaves its waiters", () => {
    const state = begun([step("a", [A, B])])
    const a = stepOf(state, "a")
    const a1 = new A({ n: 1 })
    run_.route(state, a1)
    expect(run_.collect(a, slotOf(state, "a", 0).attempt, a1, [A, B], "default")).toBeUndefined()
    const b1 = new B({ n: 1 })
    const execution = startOn(state, "a", b1)
    expect(run_.collect(a, execution.attempt, b1, [A, B], "default")).toEqual([a1, b1])
    const waiter = run_.wait(state, a, execution, waitOptions("w"))
    run_.failed(state, a, execution, Option.some("boom"), 2000)
    run_.retryAt(state, a, execution, 3000, 2000)
    expect(execution.attempt.taken).toEqual([{ bufferId: "default", events: [a1] }])
    expect(a.collected.has("default")).toBe(false)
    expect(execution.joined).toBeUndefined()
    expect(a.waiters).toEqual([])
    expect(waiter.executions).toEqual([])
    expect(state.waiterCount).toBe(0)
  })
})

// -------------------------------------------------------------------------------------------------
// the end
// -------------------------------------------------------------------------------------------------

describe("succeeded", () => {
  it("with the stop event: Stopping (completed), the stop event published, an end command", () => {
    const state = begun([step("a", StartEvent, { emits: [StopEvent] })])
    const a = stepOf(state, "a")
    const execution = slotOf(state, "a", 0)
    const stop = new StopEvent({ result: 42 })
    expect(run_.succeeded(state, a, execution, stop, () => 2000)).toBeUndefined()
    expect(state.status._tag).toBe("Stopping")
    expect(state.status).toEqual({ _tag: "Stopping", ending: "completed", exit: Exit.succeed(42) })
    expect(ops(state)).toEqual([
      ["publish", "not_running", "a", "0", "StartEvent", "StopEvent"],
      ["publish", "StopEvent"],
      ["end", "completed"]
    ])
    expect(publishedEvents(state)[0]).toBe(stop)
    expect(state.active).toBe(false)
    expect(state.done).toBe(true)
  })

  it("with a custom stop event: the run's result is the event", () => {
    const state = begun([step("a", StartEvent, { emits: [Done] })], { stop: Done })
    const done = new Done({ verdict: "ok" })
    run_.succeeded(state, stepOf(state, "a"), slotOf(state, "a", 0), done, () => 2000)
    expect(state.status).toEqual({ _tag: "Stopping", ending: "completed", exit: Exit.succeed(done) })
    expect(ops(state).slice(1)).toEqual([["publish", "Done"], ["end", "completed"]])
  })

  it("with nothing: the execution is done, nothing routed", () => {
    const state = begun([step("a", StartEvent)])
    const a = stepOf(state, "a")
    const execution = slotOf(state, "a", 0)
    expect(run_.succeeded(state, a, execution, undefined, () => 2000)).toBeUndefined()
    expect(ops(state)).toEqual([["publish", "not_running", "a", "0", "StartEvent"]])
    // the slot is the worker's to release
    expect(a.busy).toBe(1)
    expect(run_.releaseSlot(state, a, execution)).toBeUndefined()
    expect(a.busy).toBe(0)
    expect(run_.inFlight(a)).toEqual([])
    expect(state.status._tag).toBe("Running")
  })

  it("with an event: routes it; the first execution it starts is handed to the calling worker", () => {
    const state = begun([step("a", StartEvent, { emits: [Item] }), step("b", Item), step("c", Item)])
    const execution = slotOf(state, "a", 0)
    const item = new Item({ n: 1 })
    expect(run_.succeeded(state, stepOf(state, "a"), execution, item, () => 2000)).toBeUndefined()
    expect(ops(state)).toEqual([
      ["publish", "not_running", "a", "0", "StartEvent", "Item"],
      ["publish", "running", "b", "0", "Item"],
      ["publish", "running", "c", "0", "Item"],
      ["run", "c", 0, "Item"]
    ])
    expect(state.handoff?.step).toBe(stepOf(state, "b"))
    expect(state.handoff?.execution).toBe(slotOf(state, "b", 0))
    expect(state.accepting).toBe(false)
  })

  it("with an InputRequiredEvent: published, and not unhandled when nobody accepts it", () => {
    const state = begun([step("a", StartEvent, { emits: [InputRequiredEvent] })])
    run_.succeeded(state, stepOf(state, "a"), slotOf(state, "a", 0), ask, () => 2000)
    expect(ops(state)).toEqual([
      ["publish", "not_running", "a", "0", "StartEvent", "InputRequiredEvent"],
      ["publish", "InputRequiredEvent"]
    ])
  })

  it("with a value that is no event: InvalidReturn, counted as a failure", () => {
    const state = begun([step("a", StartEvent, { emits: [StopEvent] })])
    const a = stepOf(state, "a")
    const execution = slotOf(state, "a", 0)
    expect(run_.succeeded(state, a, execution, "text", () => 2000)).toEqual({
      _tag: "InvalidReturn",
      message: "Step function a returned string instead of an Event instance."
    })
    expect(execution.attempt.failures).toBe(1)
    expect(execution.attempt.lastFailedAt).toBe(2000)
    expect(ops(state)).toEqual([["publish", "not_running", "a", "0", "StartEvent"]])
    expect(state.status._tag).toBe("Running")
    expect(run_.succeeded(state, a, execution, null, () => 2000)?.message).toBe(
      "Step function a returned null instead of an Event instance."
    )
    expect(run_.succeeded(state, a, execution, [new StopEvent({ result: 1 })], () => 2000)?.message).toBe(
      "Step function a returned array instead of an Event instance."
    )
    expect(run_.succeeded(state, a, execution, 3, () => 2000)?.message).toBe(
      "Step function a returned number instead of an Event instance."
    )
    expect(execution.attempt.failures).toBe(4)
  })

  it("with an undeclared event: InvalidReturn naming the declared events", () => {
    const state = begun([step("a", StartEvent, { emits: [A, B] }), step("n", StartEvent), step("x", X)])
    const a = stepOf(state, "a")
    const execution = slotOf(state, "a", 0)
    expect(run_.succeeded(state, a, execution, new X(), () => 2000)).toEqual({
      _tag: "InvalidReturn",
      message: "Step function a returned X instead of one of its declared events (A, B)."
    })
    expect(execution.attempt.failures).toBe(1)
    // not routed
    expect(ops(state)).toEqual([["publish", "not_running", "a", "0", "StartEvent", "X"]])
    expect(stepOf(state, "x").busy).toBe(0)
    expect(run_.succeeded(state, stepOf(state, "n"), slotOf(state, "n", 0), new X(), () => 2000)?.message).toBe(
      "Step function n returned X instead of one of its declared events (none)."
    )
    expect(state.status._tag).toBe("Running")
  })

  it("leaves the waiters its execution joined: a resolved waiter goes once its execution completes", () => {
    const state = begun([step("a", Item)])
    const a = stepOf(state, "a")
    const execution = startOn(state, "a", new Item({ n: 1 }))
    const waiter = run_.wait(state, a, execution, waitOptions("w", { id: 1 }))
    run_.suspend(state, a, execution)
    const answer = new Answer({ id: 1 })
    run_.route(state, answer)
    expect(waiter.resolved).toBe(answer)
    // resolved, not yet removed
    expect(a.waiters).toEqual([waiter])
    expect(execution.joined).toEqual([waiter])
    expect(state.waiterCount).toBe(0)
    expect(run_.reacquireSlot(state, a, execution)).toBe(true)
    // another execution waiting with the same id gets a new waiter (the resolved one is done with)
    const other = startOn(state, "a", new Item({ n: 2 }))
    const fresh = run_.wait(state, a, other, waitOptions("w", { id: 1 }))
    expect(fresh).not.toBe(waiter)
    expect(fresh.resolved).toBeUndefined()
    expect(state.waiterCount).toBe(1)
    run_.succeeded(state, a, execution, undefined, () => 2000)
    expect(a.waiters).toEqual([fresh])
    expect(execution.joined).toBeUndefined()
    expect(state.waiterCount).toBe(1)
  })
})

describe("end", () => {
  const endings = [
    {
      ending: "failed" as const,
      exit: Exit.fail("boom"),
      terminal: new Event.WorkflowFailedEvent({ stepName: "a", error: "boom", attempts: 1, elapsedSeconds: 0 })
    },
    {
      ending: "timedOut" as const,
      exit: Exit.fail("timeout"),
      terminal: new Event.WorkflowTimedOutEvent({ timeout: 1, activeSteps: ["a"] })
    },
    { ending: "cancelled" as const, exit: Exit.fail("cancel"), terminal: new Event.WorkflowCancelledEvent() }
  ]

  for (const { ending, exit, terminal } of endings) {
    it(`${ending}: publishes the terminal event once; then publish, route and enqueue do nothing`, () => {
      const state = begun([step("a", Item, { workers: 1 })])
      const a = stepOf(state, "a")
      run_.route(state, new Item({ n: 1 }))
      state.outbox.length = 0
      expect(run_.end(state, ending, exit, terminal)).toBe(true)
      expect(state.status).toEqual({ _tag: "Stopping", ending, exit })
      expect(ops(state)).toEqual([["publish", terminal._tag], ["end", ending]])
      expect(publishedEvents(state)[0]).toBe(terminal)
      state.outbox.length = 0

      run_.publish(state, new Stray())
      run_.route(state, new Item({ n: 2 }))
      run_.route(state, new Stray())
      run_.enqueue(state, a, run_.makeAttempt(new Item({ n: 3 })))
      expect(run_.end(state, "completed", Exit.succeed(1), new StopEvent({ result: 1 }))).toBe(false)
      expect(ops(state)).toEqual([])
      expect(state.status).toEqual({ _tag: "Stopping", ending, exit })
      expect(a.hasQueued).toBe(false)
      expect(a.busy).toBe(1)
      expect(run_.runningSteps(state)).toEqual([])
      expect(run_.isResumable(state)).toBe(ending === "cancelled")

      const result = Exit.fail("result")
      run_.ended(state, result)
      expect(state.status).toEqual({ _tag: "Ended", ending, exit: result })
      expect(run_.isResumable(state)).toBe(ending === "cancelled")
    })
  }

  it("wakes the executions queued as resumptions", () => {
    const state = begun([step("a", Item, { workers: 1 }), step("b", Other, { workers: 1 })])
    const a = stepOf(state, "a")
    run_.route(state, new Item({ n: 1 }))
    run_.route(state, new Item({ n: 2 }))
    const e0 = slotOf(state, "a", 0)
    run_.wait(state, a, e0, waitOptions("w"))
    run_.suspend(state, a, e0)
    run_.route(state, new Answer({ id: 1 }))
    run_.reacquireSlot(state, a, e0)
    run_.route(state, new Item({ n: 3 }))
    state.outbox.length = 0
    expect(a.queued()).toHaveLength(2)
    expect(run_.end(state, "cancelled", Exit.fail("cancel"), new Event.WorkflowCancelledEvent())).toBe(true)
    expect(ops(state)).toEqual([
      ["publish", "WorkflowCancelledEvent"],
      ["wake", 0, "Item"],
      ["end", "cancelled"]
    ])
    expect(e0.handed).toBe(true)
    expect(e0.holdsSlot).toBe(false)
    // the queue stays, for a snapshot
    expect(a.queued()).toHaveLength(2)
  })

  it("after the end, releaseSlot, succeeded and failed leave the state as it was", () => {
    const state = begun([step("a", Item, { workers: 1 })])
    const a = stepOf(state, "a")
    run_.route(state, new Item({ n: 1 }))
    run_.route(state, new Item({ n: 2 }))
    const e0 = slotOf(state, "a", 0)
    run_.end(state, "timedOut", Exit.fail("t"), new Event.WorkflowTimedOutEvent({ timeout: 1, activeSteps: ["a"] }))
    state.outbox.length = 0
    expect(run_.succeeded(state, a, e0, new Item({ n: 9 }), () => 3000)).toBeUndefined()
    expect(run_.releaseSlot(state, a, e0)).toBeUndefined()
    expect(a.slots).toEqual([e0])
    expect(a.busy).toBe(1)
    expect(e0.holdsSlot).toBe(true)
    expect(run_.inFlight(a)).toEqual([e0])
    expect(a.queued()).toHaveLength(1)
    run_.failed(state, a, e0, Option.some("late"), 3000)
    run_.retryAt(state, a, e0, 4000, 3000)
    expect(a.hasDelayed).toBe(false)
    expect(run_.inFlight(a)).toEqual([e0])
    expect(ops(state)).toEqual([])
  })

  it("ended without a Stopping status is a cancel; isResumable for pending and running runs", () => {
    const pending = pendingRun([step("a", Item)])
    expect(run_.isResumable(pending)).toBe(true)
    const state = begun([step("a", Item)])
    expect(run_.isResumable(state)).toBe(true)
    const exit = Exit.fail("interrupted")
    run_.ended(state, exit)
    expect(state.status).toEqual({ _tag: "Ended", ending: "cancelled", exit })
    expect(run_.isResumable(state)).toBe(true)

    const completed = begun([step("a", StartEvent, { emits: [StopEvent] })])
    run_.succeeded(completed, stepOf(completed, "a"), slotOf(completed, "a", 0), new StopEvent({ result: 1 }), () => 2000)
    expect(run_.isResumable(completed)).toBe(false)
    run_.ended(completed, Exit.succeed(1))
    expect(completed.status).toEqual({ _tag: "Ended", ending: "completed", exit: Exit.succeed(1) })
    expect(run_.isResumable(completed)).toBe(false)
  })
})

// -------------------------------------------------------------------------------------------------
// the journal
// -------------------------------------------------------------------------------------------------

describe("journal-only commands", () => {
  it("none without a journal", () => {
    const state = begun([step("a", Item, { workers: 1 })])
    const a = stepOf(state, "a")
    const execution = startOn(state, "a", new Item({ n: 1 }))
    run_.route(state, new Item({ n: 2 }))
    run_.wait(state, a, execution, waitOptions("w"))
    run_.suspend(state, a, execution)
    expect(state.outbox.map((c) => c._op).filter((op) => op === "started" || op === "finished" || op === "waiterAdded"))
      .toEqual([])
  })

  it("started when an execution gets a slot, by enqueue or by releaseSlot", () => {
    const state = begun([step("a", Item, { workers: 1 })], { journaled: true })
    const a = stepOf(state, "a")
    run_.route(state, new Item({ n: 1 }))
    run_.route(state, new Item({ n: 2 }))
    expect(take(state)).toEqual([
      ["publish", "running", "a", "0", "Item"],
      ["started", "a", 0],
      ["run", "a", 0, "Item"],
      ["publish", "preparing", "a", "<enqueued>", "Item"]
    ])
    const e0 = slotOf(state, "a", 0)
    run_.succeeded(state, a, e0, undefined, () => 2000)
    expect(take(state)).toEqual([
      ["publish", "not_running", "a", "0", "Item"],
      ["finished", "a", 0, "succeeded"]
    ])
    const next = run_.releaseSlot(state, a, e0)!
    expect(ops(state)).toEqual([
      ["publish", "running", "a", "0", "Item"],
      ["started", "a", 0]
    ])
    expect(state.outbox[1]._op === "started" && state.outbox[1].execution).toBe(next)
  })

  it("started for the execution handed to the routing worker too", () => {
    const state = begun([step("a", StartEvent, { emits: [Item] }), step("b", Item)], { journaled: true })
    run_.succeeded(state, stepOf(state, "a"), slotOf(state, "a", 0), new Item({ n: 1 }), () => 2000)
    expect(ops(state)).toEqual([
      ["publish", "not_running", "a", "0", "StartEvent", "Item"],
      ["finished", "a", 0, "succeeded"],
      ["publish", "running", "b", "0", "Item"],
      ["started", "b", 0]
    ])
    expect(state.handoff?.execution).toBe(slotOf(state, "b", 0))
  })

  it("finished with outcome succeeded (an event returned)", () => {
    const state = begun([step("a", Item, { emits: [Other] })], { journaled: true })
    const a = stepOf(state, "a")
    const execution = startOn(state, "a", new Item({ n: 1 }))
    run_.succeeded(state, a, execution, new Other({ n: 1 }), () => 2000)
    expect(ops(state)).toEqual([
      ["publish", "not_running", "a", "0", "Item", "Other"],
      ["finished", "a", 0, "succeeded"],
      ["publish", "UnhandledEvent"]
    ])
  })

  it("finished with outcome retrying", () => {
    const state = begun([step("a", Item)], { journaled: true })
    const a = stepOf(state, "a")
    const execution = startOn(state, "a", new Item({ n: 1 }))
    run_.failed(state, a, execution, Option.some("boom"), 2000)
    run_.retryAt(state, a, execution, 3000, 2000)
    expect(ops(state)).toEqual([
      ["publish", "not_running", "a", "0", "Item"],
      ["finished", "a", 0, "retrying"],
      ["timer", "a", 3000]
    ])
  })

  it("waiterAdded for a new waiter, finished with outcome waiting when the execution suspends", () => {
    const state = begun([step("a", Item, { workers: 2 })], { journaled: true })
    const a = stepOf(state, "a")
    run_.route(state, new Item({ n: 1 }))
    run_.route(state, new Item({ n: 2 }))
    state.outbox.length = 0
    const e0 = slotOf(state, "a", 0)
    const e1 = slotOf(state, "a", 1)
    const waiter = run_.wait(state, a, e0, waitOptions("w", { id: 1 }, ask))
    expect(run_.suspend(state, a, e0)).toBeUndefined()
    expect(ops(state)).toEqual([
      ["waiterAdded", "a", "w"],
      ["publish", "InputRequiredEvent"],
      ["finished", "a", 0, "waiting"],
      ["publish", "not_running", "a", "0", "Item"]
    ])
    expect(state.outbox[0]._op === "waiterAdded" && state.outbox[0].waiter).toBe(waiter)
    state.outbox.length = 0
    // joining an existing waiter adds none
    run_.wait(state, a, e1, waitOptions("w", { id: 1 }, ask))
    expect(ops(state)).toEqual([])
  })
})

// -------------------------------------------------------------------------------------------------
// restored waiters
// -------------------------------------------------------------------------------------------------

describe("restored waiters", () => {
  const restored = (
    input: Event.AnyEvent,
    overrides: Partial<Parameters<typeof run_.restoreWaiter>[2]> = {}
  ): Parameters<typeof run_.restoreWaiter>[2] => ({
    id: "w",
    awaitedTag: "Answer",
    requirements: { id: 1 },
    hasRequirements: true,
    waiterEventPublished: true,
    resolved: undefined,
    input,
    ...overrides
  })

  it("is armed at once; a later wait joins it and gets the event without publishing waiterEvent again", () => {
    const state = begun([step("a", Item), step("b", Answer)])
    const a = stepOf(state, "a")
    const input = new Item({ n: 1 })
    run_.restoreWaiter(state, a, restored(input))
    expect(state.waiterCount).toBe(1)
    const waiter = a.waiters[0]
    expect(waiter.input).toBe(input)
    expect(waiter.executions).toEqual([])

    const answer = new Answer({ id: 1 })
    run_.route(state, answer)
    expect(take(state)).toEqual([["resolve", "w", "Answer"]])
    expect(waiter.resolved).toBe(answer)
    expect(state.waiterCount).toBe(0)
    expect(stepOf(state, "b").busy).toBe(0)
    // still there for its step
    expect(a.waiters).toEqual([waiter])

    const execution = startOn(state, "a", input)
    const joined = run_.wait(state, a, execution, waitOptions("w", { id: 1 }, ask))
    expect(joined).toBe(waiter)
    expect(joined.resolved).toBe(answer)
    // restored until an execution that joined it completes
    expect(joined.input).toBe(input)
    expect(joined.executions).toEqual([execution])
    // the same execution waiting again with that id waits anew
    const again = run_.wait(state, a, execution, waitOptions("w", { id: 1 }, ask))
    expect(again).not.toBe(waiter)
    expect(again.resolved).toBeUndefined()
    run_.abandonWait(state, a, again, execution)
    state.outbox.length = 0
    expect(ops(state)).toEqual([])
    expect(state.waiterCount).toBe(0)

    run_.succeeded(state, a, execution, undefined, () => 2000)
    expect(a.waiters).toEqual([])
    expect(state.waiterCount).toBe(0)
  })

  it("an unresolved restored waiter, joined again, resolves and is removed with its execution", () => {
    const state = begun([step("a", Item)], { journaled: true })
    const a = stepOf(state, "a")
    const input = new Item({ n: 1 })
    run_.restoreWaiter(state, a, restored(input))
    const execution = startOn(state, "a", input)
    const joined = run_.wait(state, a, execution, waitOptions("w", { id: 1 }, ask))
    expect(joined).toBe(a.waiters[0])
    expect(a.waiters).toHaveLength(1)
    // no waiterAdded, no waiterEvent
    expect(ops(state)).toEqual([])
    expect(state.waiterCount).toBe(1)
    run_.route(state, new Answer({ id: 1 }))
    expect(state.waiterCount).toBe(0)
    run_.succeeded(state, a, execution, undefined, () => 2000)
    expect(a.waiters).toEqual([])
  })

  it("a restored waiter nobody joined is kept when an execution of its step completes", () => {
    const state = begun([step("a", Item)])
    const a = stepOf(state, "a")
    run_.restoreWaiter(state, a, restored(new Item({ n: 1 }), { resolved: new Answer({ id: 1 }) }))
    expect(state.waiterCount).toBe(0)
    const execution = startOn(state, "a", new Item({ n: 2 }))
    run_.succeeded(state, a, execution, undefined, () => 2000)
    expect(a.waiters).toHaveLength(1)
  })

  it("a restored waiter that lost its requirements matches nothing until a wait gives them back", () => {
    const state = begun([step("a", Item), step("b", Answer)])
    const a = stepOf(state, "a")
    const input = new Item({ n: 1 })
    run_.restoreWaiter(state, a, restored(input, { requirements: undefined, hasRequirements: true }))
    const waiter = a.waiters[0]
    expect(state.waiterCount).toBe(1)
    run_.route(state, new Answer({ id: 1 }))
    expect(take(state)).toEqual([
      ["publish", "running", "b", "0", "Answer"],
      ["run", "b", 0, "Answer"]
    ])
    expect(waiter.resolved).toBeUndefined()

    const execution = startOn(state, "a", input)
    const joined = run_.wait(state, a, execution, waitOptions("w", { id: 1 }, ask))
    expect(joined).toBe(waiter)
    expect(waiter.requirements).toEqual({ id: 1 })
    expect(waiter.input).toBe(input)
    expect(ops(state)).toEqual([])
    run_.route(state, new Answer({ id: 2 }))
    expect(waiter.resolved).toBeUndefined()
    state.outbox.length = 0
    const answer = new Answer({ id: 1 })
    run_.route(state, answer)
    expect(ops(state)).toEqual([["resolve", "w", "Answer"]])
    expect(waiter.resolved).toBe(answer)
  })

  it("a restored waiter without requirements matches any event of its tag", () => {
    const state = begun([step("a", Item)])
    const a = stepOf(state, "a")
    run_.restoreWaiter(state, a, restored(new Item({ n: 1 }), { requirements: undefined, hasRequirements: false }))
    const answer = new Answer({ id: 99 })
    run_.route(state, answer)
    expect(ops(state)).toEqual([["resolve", "w", "Answer"]])
    expect(a.waiters[0].resolved).toBe(answer)
  })

  it("a resolved restored waiter serves every re-executed execution that shared it", () => {
    const state = begun([step("a", Item, { workers: 2 }), step("b", Answer)])
    const a = stepOf(state, "a")
    const first = new Item({ n: 1 })
    const answer = new Answer({ id: 1 })
    run_.restoreWaiter(state, a, restored(first, { resolved: answer }))
    const waiter = a.waiters[0]
    const one = startOn(state, "a", first)
    const two = startOn(state, "a", new Item({ n: 2 }))
    expect(run_.wait(state, a, one, waitOptions("w", { id: 1 }, ask))).toBe(waiter)
    expect(run_.wait(state, a, two, waitOptions("w", { id: 1 }, ask))).toBe(waiter)
    expect(waiter.executions).toEqual([one, two])
    expect(publishedEvents(state).filter(Event.is(InputRequiredEvent))).toEqual([])
    run_.succeeded(state, a, one, undefined, () => 1)
    expect(a.waiters).toEqual([waiter])
    run_.succeeded(state, a, two, undefined, () => 2)
    expect(a.waiters).toEqual([])
  })

  it("a restored waiter whose step re-executes from its input and completes without waiting goes", () => {
    const state = begun([step("a", Item), step("b", Answer)])
    const a = stepOf(state, "a")
    const input = new Item({ n: 1 })
    run_.restoreWaiter(state, a, restored(input, { requirements: undefined, hasRequirements: false }))
    const execution = startOn(state, "a", input)
    run_.succeeded(state, a, execution, undefined, () => 1)
    expect(a.waiters).toEqual([])
    expect(state.waiterCount).toBe(0)
    state.outbox.length = 0
    // the answer now goes to the step that accepts it
    run_.route(state, new Answer({ id: 1 }))
    expect(stepOf(state, "b").busy).toBe(1)
  })

  it("a restored waiter that lost its requirements is not joined by a wait without requirements", () => {
    const state = begun([step("a", Item), step("b", Answer)])
    const a = stepOf(state, "a")
    const input = new Item({ n: 1 })
    run_.restoreWaiter(state, a, restored(input, { requirements: undefined, hasRequirements: true }))
    const waiter = a.waiters[0]
    const execution = startOn(state, "a", input)
    const joined = run_.wait(state, a, execution, waitOptions("w", undefined, ask))
    expect(joined).not.toBe(waiter)
    expect(joined.requirements).toBeUndefined()
  })

})

// -------------------------------------------------------------------------------------------------
// recovery (Step.catchError)
// -------------------------------------------------------------------------------------------------

describe("recover", () => {
  const handler = (name: string, options: { forSteps?: ReadonlyArray<string>; maxRecoveries?: number } = {}) =>
    Step.catchError(name, { ...options, emits: [Item] }, () => Effect.void)

  it("a failure goes to the handler covering the step, targeted, its lineage's count one more", () => {
    const state = begun([step("a", Item), handler("h", { maxRecoveries: 2 })], { journaled: true })
    const a = stepOf(state, "a")
    const execution = startOn(state, "a", new Item({ n: 1 }))
    // the worker stamps the first attempt's start
    execution.attempt.firstAttemptAt = 1000
    state.outbox.length = 0
    run_.failed(state, a, execution, Option.some("boom"), 1500)
    expect(run_.recover(state, a, execution, "boom")).toBe(true)
    expect(take(state)).toEqual([
      ["publish", "not_running", "a", "0", "Item"],
      ["finished", "a", 0, "recovered"],
      ["publish", "running", "h", "0", "StepFailedEvent"],
      ["started", "h", 0]
    ])
    // handed to the failed step's worker, to run next
    expect(state.handoff?.step.step.name).toBe("h")
    const attempt = slotOf(state, "h", 0).attempt
    expect(attempt.recoveries).toEqual({ h: 1 })
    expect(attempt.event).toEqual(
      new Event.StepFailedEvent({
        stepName: "a",
        inputEvent: new Item({ n: 1 }),
        error: "boom",
        attempts: 1,
        elapsedSeconds: 0.5,
        failedAt: 1500
      })
    )
  })

  it("the events that follow carry the lineage; an exhausted lineage is not recovered", () => {
    const state = begun([step("a", Item), handler("h")])
    const a = stepOf(state, "a")
    // an event routed from the handler's lineage
    run_.route(state, new Item({ n: 2 }), undefined, { h: 1 })
    const execution = slotOf(state, "a", 0)
    expect(execution.attempt.recoveries).toEqual({ h: 1 })
    run_.failed(state, a, execution, Option.some("again"), 1000)
    expect(run_.recover(state, a, execution, "again")).toBe(false)
    // a fresh lineage is recovered
    const fresh = startOn(state, "a", new Item({ n: 3 }))
    expect(fresh.attempt.recoveries).toBeUndefined()
    run_.failed(state, a, fresh, Option.some("once"), 1000)
    expect(run_.recover(state, a, fresh, "once")).toBe(true)
  })

  it("no handler, a handler step, or an ended run: not recovered", () => {
    const state = begun([step("a", Item), step("b", Other), handler("h", { forSteps: ["a"] })])
    const b = stepOf(state, "b")
    const onB = startOn(state, "b", new Other({ n: 1 }))
    expect(run_.recover(state, b, onB, "x")).toBe(false)
    const h = stepOf(state, "h")
    run_.route(state, new Event.StepFailedEvent({
      stepName: "a",
      inputEvent: new Item({ n: 1 }),
      error: "x",
      attempts: 1,
      elapsedSeconds: 0,
      failedAt: 0
    }), h)
    expect(run_.recover(state, h, slotOf(state, "h", 0), "handler failed")).toBe(false)
    const a = stepOf(state, "a")
    const onA = startOn(state, "a", new Item({ n: 1 }))
    run_.end(state, "cancelled", Exit.void, new Event.WorkflowCancelledEvent({}))
    expect(run_.recover(state, a, onA, "x")).toBe(false)
  })
})
