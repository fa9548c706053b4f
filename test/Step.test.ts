import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { Event, type StateStore, Step, Workflow, WorkflowContext, WorkflowError } from "effect-workflows"

class A extends Schema.TaggedClass<A>()("A", {}) {}
class B extends Schema.TaggedClass<B>()("B", {}) {}
class Job extends Schema.TaggedClass<Job>()("Job", { n: Schema.Number }) {}
class Next extends Schema.TaggedClass<Next>()("Next", { first: Schema.Number }) {}

class Conn extends Context.Tag("test/Step/Conn")<Conn, { readonly id: number }>() {}
class ConnError extends Data.TaggedError("ConnError")<{}> {}

/** A scoped Layer that counts its acquisitions (the instance id) and releases. */
const connLayer = (acquired: Ref.Ref<number>, released: Ref.Ref<number>) =>
  Layer.scoped(
    Conn,
    Effect.acquireRelease(
      Effect.map(Ref.updateAndGet(acquired, (n) => n + 1), (id) => ({ id })),
      () => Ref.update(released, (n) => n + 1)
    )
  )

const { StartEvent, StopEvent } = Event

describe("Step.make", () => {
  it("defaults: workers 4, emits [], no retry, no timeout, no state", () => {
    const step = Step.make("a", { on: StartEvent }, () => Effect.void)
    expect(step.name).toBe("a")
    expect(step.on).toEqual([StartEvent])
    expect(step.on[0]).toBe(StartEvent)
    expect(step.emits).toEqual([])
    expect(step.workers).toBe(4)
    expect(Option.isNone(step.retry)).toBe(true)
    expect(Option.isNone(step.timeout)).toBe(true)
    expect(Option.isNone(step.state)).toBe(true)
  })

  it("on: a single class becomes a one-element array, an array is kept in order", () => {
    const single = Step.make("single", { on: A, emits: [B] }, () => Effect.succeed(new B()))
    expect(single.on).toEqual([A])
    const many = Step.make("many", { on: [B, A, StartEvent], emits: [StopEvent] }, () => Effect.void)
    expect(many.on.map(Event.tag)).toEqual(["B", "A", "StartEvent"])
    expect(many.emits).toEqual([StopEvent])
    expectTypeOf(many).toEqualTypeOf<Step.Step<"many", B | A | Event.StartEvent, Event.StopEvent, never, never>>()
  })

  it("keeps the given options", () => {
    const retry = Schedule.recurs(2)
    const State = Schema.Struct({ n: Schema.optionalWith(Schema.Number, { default: () => 0 }) })
    const step = Step.make(
      "configured",
      { on: A, emits: [B, StopEvent], workers: 2, retry, timeout: "10 seconds", state: State },
      () => Effect.succeed(new B())
    )
    expect(step.workers).toBe(2)
    expect(step.emits).toEqual([B, StopEvent])
    expect(Option.getOrThrow(step.retry)).toBe(retry)
    expect(Duration.toMillis(Option.getOrThrow(step.timeout))).toBe(10_000)
    expect(Option.getOrThrow(step.state)).toBe(State)
    // A timeout adds Cause.TimeoutException to the step's error.
    expectTypeOf(step).toEqualTypeOf<Step.Step<"configured", A, B | Event.StopEvent, Cause.TimeoutException, never>>()
  })

  it("the body's requirements become the step's, minus the WorkflowContext", () => {
    const step = Step.make("conn", { on: StartEvent, emits: [StopEvent] }, () =>
      Effect.gen(function*() {
        const ctx = yield* WorkflowContext.WorkflowContext
        const conn = yield* Conn
        if (conn.id < 0) return yield* new ConnError()
        return new StopEvent({ result: ctx.runId })
      }))
    expectTypeOf(step).toEqualTypeOf<Step.Step<"conn", Event.StartEvent, Event.StopEvent, ConnError, Conn>>()
    expectTypeOf<Step.RequirementsOf<typeof step>>().toEqualTypeOf<Conn>()
    expectTypeOf<Step.ErrorOf<typeof step>>().toEqualTypeOf<ConnError>()
  })

  it.effect("the body sees the WorkflowContext as its argument and as a service", () =>
    Effect.gen(function*() {
      const step = Step.make("ctx", { on: StartEvent, emits: [StopEvent] }, (_, ctx) =>
        Effect.map(WorkflowContext.WorkflowContext, (fromEnv) => new StopEvent({ result: [ctx.runId, fromEnv.runId] })))
      const wf = Workflow.make({ name: "ctx", steps: [step] })
      const result = yield* Workflow.run(wf, undefined, { runId: "run-ctx" })
      expect(result).toEqual(["run-ctx", "run-ctx"])
    }))

  it.effect("timeout bounds each attempt with Cause.TimeoutException", () =>
    Effect.gen(function*() {
      const executions = yield* Ref.make(0)
      const slow = Step.make("slow", { on: StartEvent, emits: [StopEvent], timeout: "1 second" }, () =>
        Effect.zipRight(Ref.update(executions, (n) => n + 1), Effect.as(Effect.sleep("5 seconds"), new StopEvent({ result: 1 }))))
      const wf = Workflow.make({ name: "slow", steps: [slow] })
      const fiber = yield* Effect.fork(Effect.flip(Workflow.run(wf)))
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      expect(Cause.isTimeoutException(error)).toBe(true)
      expect(yield* Ref.get(executions)).toBe(1)
    }))
})

describe("Step.withState", () => {
  class Tally extends Schema.Class<Tally>("Tally")({
    count: Schema.optionalWith(Schema.Number, { default: () => 0 }),
    seen: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
  }) {}
  const step = Step.withState(Tally)

  it.effect("steps made with it see the state type without naming it, and validate against the workflow", () =>
    Effect.gen(function*() {
      const count = step("count", { on: Event.StartEvent, emits: [Event.StopEvent] }, (event, ctx) => {
        expectTypeOf(ctx.store).toEqualTypeOf<StateStore.StateStore<Tally>>()
        return Effect.gen(function*() {
          yield* ctx.store.set("seen", [String(event.input)])
          const count = yield* ctx.store.get("count")
          expectTypeOf(count).toEqualTypeOf<number>()
          return new Event.StopEvent({ result: count + 1 })
        })
      })
      const wf = Workflow.make({ name: "tally", state: Tally, steps: [count] })
      expect(yield* Workflow.run(wf, new Event.StartEvent({ input: "a" }))).toBe(1)

      const untyped = Workflow.make({ name: "untyped", steps: [count] })
      const error = yield* Effect.flip(Workflow.validate(untyped))
      expect(error).toBeInstanceOf(WorkflowError.WorkflowConfigurationError)
      expect(error.message).toBe("Step 'count' declares a state schema that is not the workflow's state schema")
    }))
})

describe("Step.isStep", () => {
  it("recognises steps only", () => {
    const step = Step.make("a", { on: StartEvent, emits: [StopEvent] }, () => Effect.void)
    expect(Step.isStep(step)).toBe(true)
    expect(Step.isStep(Step.provide(step, Layer.empty))).toBe(true)
    expect(Step.isStep({})).toBe(false)
    expect(Step.isStep(null)).toBe(false)
    expect(Step.isStep("a")).toBe(false)
    expect(Step.isStep({ name: "a", on: [StartEvent], emits: [], workers: 4 })).toBe(false)
    expect(Step.isStep(Workflow.make({ name: "wf", steps: [step] }))).toBe(false)
  })
})

describe("pipeable", () => {
  it("pipe applies functions in order", () => {
    const step = Step.make("a", { on: StartEvent, emits: [StopEvent] }, () => Effect.void)
    expect(step.pipe((s) => s.name)).toBe("a")
    expect(step.pipe((s) => s.workers, (n) => n * 10)).toBe(40)
    const provided = step.pipe(Step.provide(Layer.empty))
    expect(Step.isStep(provided)).toBe(true)
    expect(provided.name).toBe("a")
  })
})

describe("Step.provide", () => {
  const useConn = Step.make("job", { on: Job, emits: [StopEvent] }, (ev) =>
    Effect.map(Conn, (conn) => new StopEvent({ result: [ev.n, conn.id] })))

  it("types: removes the provided service, adds the layer's error and requirements", () => {
    expectTypeOf(useConn).toEqualTypeOf<Step.Step<"job", Job, Event.StopEvent, never, Conn>>()
    const live = Layer.succeed(Conn, { id: 1 })
    expectTypeOf(Step.provide(useConn, live)).toEqualTypeOf<Step.Step<"job", Job, Event.StopEvent, never, never>>()
    expectTypeOf(useConn.pipe(Step.provide(live))).toEqualTypeOf<
      Step.Step<"job", Job, Event.StopEvent, never, never>
    >()
    const failing: Layer.Layer<Conn, ConnError, A> = Layer.fail(new ConnError())
    expectTypeOf(Step.provide(useConn, failing)).toEqualTypeOf<
      Step.Step<"job", Job, Event.StopEvent, ConnError, A>
    >()
    const other = Layer.succeed(Context.GenericTag<"Other", number>("Other"), 1)
    expectTypeOf(Step.provide(useConn, other)).toEqualTypeOf<Step.Step<"job", Job, Event.StopEvent, never, Conn>>()
  })

  it("keeps the step's declaration", () => {
    const step = Step.make("kept", { on: [A, B], emits: [StopEvent], workers: 3, timeout: "2 seconds" }, () =>
      Effect.void)
    const provided = Step.provide(step, Layer.empty)
    expect(provided.name).toBe("kept")
    expect(provided.on).toEqual([A, B])
    expect(provided.emits).toEqual([StopEvent])
    expect(provided.workers).toBe(3)
    expect(Duration.toMillis(Option.getOrThrow(provided.timeout))).toBe(2000)
  })

  it.effect("builds a fresh layer per execution: 3 executions, 3 acquisitions, 3 releases", () =>
    Effect.gen(function*() {
      const acquired = yield* Ref.make(0)
      const released = yield* Ref.make(0)
      const seen = yield* Ref.make<ReadonlyArray<number>>([])
      const start = Step.make("start", { on: StartEvent, emits: [Job] }, (_, ctx) =>
        Effect.forEach([1, 2, 3], (n) => ctx.sendEvent(new Job({ n })), { discard: true }))
      const job = Step.make("job", { on: Job, emits: [StopEvent] }, () =>
        Effect.gen(function*() {
          const conn = yield* Conn
          const all = yield* Ref.updateAndGet(seen, (ids) => [...ids, conn.id])
          return all.length === 3 ? new StopEvent({ result: [...all].sort() }) : undefined
        })).pipe(Step.provide(connLayer(acquired, released)))
      const wf = Workflow.make({ name: "fresh-per-execution", steps: [start, job] })

      const ids = yield* Workflow.run(wf)
      expect(ids).toEqual([1, 2, 3])
      expect(yield* Ref.get(acquired)).toBe(3)
      expect(yield* Ref.get(released)).toBe(3)
    }))

  it.effect("a Layer provided to Workflow.run is built once, shared by all steps and by consecutive runs", () =>
    Effect.gen(function*() {
      const acquired = yield* Ref.make(0)
      const released = yield* Ref.make(0)
      const first = Step.make("first", { on: StartEvent, emits: [Next] }, () =>
        Effect.map(Conn, (conn) => new Next({ first: conn.id })))
      const second = Step.make("second", { on: Next, emits: [StopEvent] }, (ev) =>
        Effect.map(Conn, (conn) => new StopEvent({ result: [ev.first, conn.id] })))
      const wf = Workflow.make({ name: "shared-layer", steps: [first, second] })
      expectTypeOf(Workflow.run(wf)).toEqualTypeOf<Effect.Effect<unknown, WorkflowError.WorkflowError, Conn>>()

      const results = yield* Effect.gen(function*() {
        const one = yield* Workflow.run(wf)
        const two = yield* Workflow.run(wf)
        expect(yield* Ref.get(released)).toBe(0)
        return [one, two]
      }).pipe(Effect.provide(connLayer(acquired, released)))

      expect(results).toEqual([[1, 1], [1, 1]])
      expect(yield* Ref.get(acquired)).toBe(1)
      expect(yield* Ref.get(released)).toBe(1)
    }))

  it.effect("a failing layer fails the execution with the layer's error", () =>
    Effect.gen(function*() {
      const step = Step.make("job", { on: StartEvent, emits: [StopEvent] }, () =>
        Effect.map(Conn, (conn) => new StopEvent({ result: conn.id }))).pipe(Step.provide(Layer.fail(new ConnError())))
      const wf = Workflow.make({ name: "failing-layer", steps: [step] })
      const error = yield* Effect.flip(Workflow.run(wf))
      expect(error._tag).toBe("ConnError")
      expect(error).toBeInstanceOf(ConnError)
    }))
})
