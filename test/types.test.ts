/**
 * The typed surfaces: `Workflow.Handler` and its siblings, error channels that hold only the
 * errors an operation can raise, and `handler.events` typed as the union of the events a
 * workflow can publish. The `expectTypeOf` assertions and `@ts-expect-error` lines are checked
 * by the typecheck (`tsc --noEmit -p .`); the `it` blocks run the same workflows and check at
 * run time that what the types say is what happens.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Context from "effect/Context"
import * as Match from "effect/Match"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import { expectTypeOf } from "vitest"
import { Event, Step, Workflow, WorkflowContext, WorkflowError } from "effect-workflows"
import type { StateStore, WorkflowHandler } from "effect-workflows"

// -------------------------------------------------------------------------------------------------
// events
// -------------------------------------------------------------------------------------------------

class Topic extends Schema.TaggedClass<Topic>()("Topic", { topic: Schema.String }) {}
class Draft extends Schema.TaggedClass<Draft>()("Draft", { text: Schema.String }) {}
class Done extends Schema.TaggedClass<Done>()("Done", { verdict: Schema.String }) {}
class Progress extends Schema.TaggedClass<Progress>()("Progress", { percent: Schema.Number }) {}
class Ping extends Schema.TaggedClass<Ping>()("Ping", {}) {}
class Pong extends Schema.TaggedClass<Pong>()("Pong", {}) {}

type Ending = Event.WorkflowFailedEvent | Event.WorkflowTimedOutEvent | Event.WorkflowCancelledEvent

const collect = <A, E>(stream: Stream.Stream<A, E>) => Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

// -------------------------------------------------------------------------------------------------
// workflows
// -------------------------------------------------------------------------------------------------

/** DESIGN's example: `review` writes its input and a progress event. */
const draft = Step.make("draft", { on: Topic, emits: [Draft] }, (ev) =>
  Effect.succeed(new Draft({ text: `a joke about ${ev.topic}` })))

const review = Step.make("review", { on: Draft, emits: [Done] }, (ev, ctx) =>
  Effect.gen(function*() {
    yield* ctx.writeEventToStream(ev)
    yield* ctx.writeEventToStream(new Progress({ percent: 100 }))
    return new Done({ verdict: "ok" })
  }))

const jokes = Workflow.make({ name: "jokes", start: Topic, stop: Done, steps: [draft, review] })

/** Human in the loop both ways: a waiter's `waiterEvent`, and a returned InputRequiredEvent. */
class Asked extends Schema.TaggedClass<Asked>()("Asked", { first: Schema.String }) {}
const ask = Step.make("ask", { on: Event.StartEvent, emits: [Asked] }, (_, ctx) =>
  Effect.map(
    ctx.waitForEvent(Event.HumanResponseEvent, { waiterEvent: new Event.InputRequiredEvent({ prefix: "first?" }) }),
    (answer) => new Asked({ first: answer.response })
  ))
const askAgain = Step.make("askAgain", { on: Asked, emits: [Event.InputRequiredEvent] }, (asked) =>
  Effect.succeed(new Event.InputRequiredEvent({ prefix: "second?", payload: asked.first })))
const finish = Step.make("finish", { on: Event.HumanResponseEvent, emits: [Event.StopEvent] }, (answer) =>
  Effect.succeed(new Event.StopEvent({ result: `second: ${answer.response}` })))

const asking = Workflow.make({ name: "asking", steps: [ask, askAgain, finish] })

/** A step whose body only sends untargeted events and waits without a timeout. */
const quiet = Step.make("quiet", { on: Event.StartEvent, emits: [Ping, Event.StopEvent] }, (_, ctx) =>
  Effect.gen(function*() {
    yield* ctx.sendEvent(new Ping())
    const pong = yield* ctx.waitForEvent(Pong)
    const again = yield* ctx.waitForEvent(Pong, { waiterId: "again", timeout: null })
    return new Event.StopEvent({ result: [pong._tag, again._tag] })
  }))
const echo = Step.make("echo", { on: Ping, emits: [] }, (_, ctx) =>
  Effect.gen(function*() {
    // after `quiet` waits (TestClock drives the sleeps)
    yield* Effect.sleep("1 second")
    yield* ctx.sendEvent(new Pong())
    yield* Effect.sleep("1 second")
    yield* ctx.sendEvent(new Pong(), {})
  }))

const quietWorkflow = Workflow.make({ name: "quiet", steps: [quiet, echo], events: [Pong] })

// -------------------------------------------------------------------------------------------------
// 1. Workflow.Handler and its siblings
// -------------------------------------------------------------------------------------------------

describe("Workflow.Handler, Result, Error, Events", () => {
  it("name the types of a workflow's handler, result, error and events", () => {
    expectTypeOf<Workflow.Handler<typeof jokes>>().toEqualTypeOf<
      WorkflowHandler.WorkflowHandler<Done, never, StateStore.DictState, Draft | Progress | Done | Ending>
    >()
    expectTypeOf<Workflow.Result<typeof jokes>>().toEqualTypeOf<Done>()
    expectTypeOf<Workflow.Result<typeof asking>>().toEqualTypeOf<unknown>()
    expectTypeOf<Workflow.Error<typeof jokes>>().toEqualTypeOf<never>()
    expectTypeOf<Workflow.Events<typeof jokes>>().toEqualTypeOf<Draft | Progress | Done | Ending>()
    expectTypeOf<Workflow.Events<typeof jokes>>().not.toEqualTypeOf<Event.AnyEvent>()

    class Boom extends Schema.TaggedError<Boom>()("Boom", {}) {}
    const risky = Step.make("risky", { on: Event.StartEvent, emits: [Event.StopEvent], timeout: "1 second" }, () =>
      Effect.fail(new Boom()))
    const riskyWorkflow = Workflow.make({ name: "risky", steps: [risky] })
    expectTypeOf<Workflow.Error<typeof riskyWorkflow>>().toEqualTypeOf<Boom | import("effect/Cause").TimeoutException>()
    expectTypeOf(Workflow.run(riskyWorkflow)).toEqualTypeOf<
      Effect.Effect<unknown, WorkflowError.WorkflowError | Boom | import("effect/Cause").TimeoutException>
    >()

    // a typed state is part of the handler's type
    const Counter = Schema.Struct({ count: Schema.optionalWith(Schema.Number, { default: () => 0 }) })
    const count = Step.make("count", { on: Event.StartEvent, emits: [Event.StopEvent], state: Counter }, (_, ctx) =>
      Effect.map(ctx.store.getState, (state) => new Event.StopEvent({ result: state.count })))
    const counting = Workflow.make({ name: "counting", steps: [count], state: Counter })
    expectTypeOf<Workflow.Handler<typeof counting>["store"]>().toEqualTypeOf<
      StateStore.StateStore<{ readonly count: number }>
    >()

    // @ts-expect-error: not a workflow
    type NotAWorkflow = Workflow.Handler<string>
    expectTypeOf<NotAWorkflow>().toBeNever()
  })

  it.scoped("a Map<string, Workflow.Handler<typeof wf>> holds what Workflow.start and Workflow.resume give", () =>
    Effect.gen(function*() {
      const runs = new Map<string, Workflow.Handler<typeof jokes>>()
      const handler = yield* Workflow.start(jokes, new Topic({ topic: "pirates" }))
      expectTypeOf(handler).toEqualTypeOf<Workflow.Handler<typeof jokes>>()
      runs.set(handler.runId, handler)
      runs.set("again", yield* Workflow.start(jokes, new Topic({ topic: "ninjas" })))
      const saved = yield* handler.snapshot
      expectTypeOf(Workflow.resume(jokes, saved)).toEqualTypeOf<
        Effect.Effect<
          Workflow.Handler<typeof jokes>,
          | WorkflowError.ContextSerdeError
          | WorkflowError.WorkflowValidationError
          | WorkflowError.WorkflowConfigurationError,
          Scope.Scope
        >
      >()
      // a finished run's snapshot starts a new run (resume would need a start event without fields)
      const next = yield* Workflow.start(jokes, new Topic({ topic: "robots" }), { snapshot: saved })
      runs.set(next.runId, next)

      // a handler of another workflow does not fit
      const other = yield* Workflow.start(asking)
      // @ts-expect-error: Workflow.Handler<typeof asking> is not Workflow.Handler<typeof jokes>
      const wrong: Map<string, Workflow.Handler<typeof jokes>> = new Map([["other", other]])
      expect(wrong.size).toBe(1)
      yield* other.cancel

      const results = yield* Effect.forEach(runs.values(), (h) => h.result)
      expectTypeOf(results).toEqualTypeOf<Array<Done>>()
      expect(results.map((done) => done.verdict)).toEqual(["ok", "ok", "ok"])
    }))

  it.effect("the existing spellings keep working: five type parameters, Workflow.Any, the default handler", () =>
    Effect.gen(function*() {
      const loose: Workflow.Workflow<Topic, Done, never, never, StateStore.DictState> = jokes
      const any: Workflow.Any = jokes
      expect(any).toBe(loose)
      const result = yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(loose, new Topic({ topic: "cats" }))
        expectTypeOf(handler.events).toEqualTypeOf<Stream.Stream<Event.AnyEvent>>()
        const precise: Workflow.Handler<typeof jokes> = yield* Workflow.start(jokes, new Topic({ topic: "dogs" }))
        // a precise handler is a handler with the default events
        const general: WorkflowHandler.WorkflowHandler<Done> = precise
        const anything: WorkflowHandler.WorkflowHandler<any, any, any> = precise
        expect(anything).toBe(general)
        // @ts-expect-error: and not the other way around
        const back: Workflow.Handler<typeof jokes> = handler
        expect(back).toBe(handler)
        return yield* handler.result
      }))
      expect(result).toEqual(new Done({ verdict: "ok" }))
    }))
})

// -------------------------------------------------------------------------------------------------
// 2. context operations fail only with errors they can raise
// -------------------------------------------------------------------------------------------------

describe("error channels", () => {
  it.effect("ctx.sendEvent and ctx.waitForEvent: never, unless targeted or with a timeout", () =>
    Effect.gen(function*() {
      const probe = Step.make("probe", { on: Event.StartEvent, emits: [Ping, Event.StopEvent] }, (_, ctx) =>
        Effect.gen(function*() {
          const options: WorkflowContext.SendOptions = { step: "echo" }
          expectTypeOf(ctx.sendEvent(new Ping())).toEqualTypeOf<Effect.Effect<void>>()
          expectTypeOf(ctx.sendEvent(new Ping(), {})).toEqualTypeOf<Effect.Effect<void>>()
          expectTypeOf(ctx.sendEvent(new Ping(), { step: undefined })).toEqualTypeOf<Effect.Effect<void>>()
          expectTypeOf(ctx.sendEvent(new Ping(), { step: "echo" })).toEqualTypeOf<
            Effect.Effect<void, WorkflowError.WorkflowStepDoesNotExistError | WorkflowError.WorkflowRuntimeError>
          >()
          expectTypeOf(ctx.sendEvent(new Ping(), options)).toEqualTypeOf<
            Effect.Effect<void, WorkflowError.WorkflowStepDoesNotExistError | WorkflowError.WorkflowRuntimeError>
          >()

          expectTypeOf(ctx.waitForEvent(Pong)).toEqualTypeOf<Effect.Effect<Pong>>()
          expectTypeOf(ctx.waitForEvent(Pong, {})).toEqualTypeOf<Effect.Effect<Pong>>()
          expectTypeOf(ctx.waitForEvent(Pong, { waiterId: "w", timeout: null })).toEqualTypeOf<Effect.Effect<Pong>>()
          expectTypeOf(ctx.waitForEvent(Event.HumanResponseEvent, { requirements: { response: "yes" } }))
            .toEqualTypeOf<Effect.Effect<Event.HumanResponseEvent>>()
          expectTypeOf(ctx.waitForEvent(Pong, { timeout: "1 second" })).toEqualTypeOf<
            Effect.Effect<Pong, WorkflowError.WaitForEventTimeout>
          >()
          const maybeTimeout: "1 second" | null = null as "1 second" | null
          expectTypeOf(ctx.waitForEvent(Pong, { timeout: maybeTimeout })).toEqualTypeOf<
            Effect.Effect<Pong, WorkflowError.WaitForEventTimeout>
          >()
          // @ts-expect-error: the requirements are fields of the awaited event
          ctx.waitForEvent(Event.HumanResponseEvent, { requirements: { prefix: "no such field" } })

          // the same through the Tag
          const service = yield* WorkflowContext.WorkflowContext
          expectTypeOf(service.sendEvent(new Ping())).toEqualTypeOf<Effect.Effect<void>>()
          expectTypeOf(service.waitForEvent(Pong)).toEqualTypeOf<Effect.Effect<Pong>>()

          // nothing to catch where nothing can fail
          // @ts-expect-error: an untargeted send cannot fail
          ctx.sendEvent(new Ping()).pipe(Effect.catchTag("WorkflowRuntimeError", () => Effect.void))
          // @ts-expect-error: a wait without a timeout cannot time out
          ctx.waitForEvent(Pong).pipe(Effect.catchTag("WaitForEventTimeout", () => Effect.succeed(new Pong())))
          const timedOut = yield* ctx.waitForEvent(Pong, { timeout: "1 second" }).pipe(
            Effect.catchTag("WaitForEventTimeout", (error) => Effect.succeed(error.eventTag))
          )

          yield* ctx.sendEvent(new Ping())
          const pong = yield* ctx.waitForEvent(Pong)
          const missing = yield* ctx.sendEvent(new Ping(), { step: "nope" }).pipe(
            Effect.catchTag("WorkflowStepDoesNotExistError", "WorkflowRuntimeError", (error) => Effect.succeed(error._tag))
          )
          const refused = yield* ctx.sendEvent(new Ping(), { step: "probe" }).pipe(
            Effect.catchTag("WorkflowStepDoesNotExistError", "WorkflowRuntimeError", (error) => Effect.succeed(error._tag))
          )
          return new Event.StopEvent({ result: [timedOut, pong._tag, missing, refused] })
        }))
      const replier = Step.make("echo", { on: Ping, emits: [] }, (_, ctx) =>
        Effect.flatMap(Effect.sleep("2 seconds"), () => ctx.sendEvent(new Pong())))
      const wf = Workflow.make({ name: "probe", steps: [probe, replier], events: [Pong], timeout: null })
      expectTypeOf<Step.ErrorOf<typeof probe>>().toEqualTypeOf<never>()
      expectTypeOf<Workflow.Error<typeof wf>>().toEqualTypeOf<never>()
      const fiber = yield* Effect.fork(Workflow.run(wf))
      yield* TestClock.adjust("3 seconds")
      const exit = yield* fiber.await
      expect(exit).toEqual(Exit.succeed(["Pong", "Pong", "WorkflowStepDoesNotExistError", "WorkflowRuntimeError"]))
    }))

  it.effect("a step that only sends untargeted events and waits without a timeout: E is never", () =>
    Effect.gen(function*() {
      expectTypeOf<Step.ErrorOf<typeof quiet>>().toEqualTypeOf<never>()
      expectTypeOf<Step.ErrorOf<typeof echo>>().toEqualTypeOf<never>()
      expectTypeOf(quiet).toEqualTypeOf<Step.Step<"quiet", Event.StartEvent, Ping | Event.StopEvent, never, never>>()
      expectTypeOf<Workflow.Error<typeof quietWorkflow>>().toEqualTypeOf<never>()
      const result = Workflow.run(quietWorkflow)
      expectTypeOf(result).toEqualTypeOf<Effect.Effect<unknown, WorkflowError.WorkflowError>>()
      const fiber = yield* Effect.fork(result)
      yield* TestClock.adjust("2 seconds")
      expect(yield* fiber.await).toEqual(Exit.succeed(["Pong", "Pong"]))
    }))

  it.scoped("handler.sendEvent: WorkflowRuntimeError untargeted (an ended run), both errors targeted", () =>
    Effect.gen(function*() {
      const handler = yield* Workflow.start(quietWorkflow)
      expectTypeOf(handler.sendEvent(new Pong())).toEqualTypeOf<Effect.Effect<void, WorkflowError.WorkflowRuntimeError>>()
      expectTypeOf(handler.sendEvent(new Pong(), {})).toEqualTypeOf<
        Effect.Effect<void, WorkflowError.WorkflowRuntimeError>
      >()
      expectTypeOf(handler.sendEvent(new Pong(), { step: "quiet" })).toEqualTypeOf<
        Effect.Effect<void, WorkflowError.WorkflowStepDoesNotExistError | WorkflowError.WorkflowRuntimeError>
      >()
      // @ts-expect-error: an untargeted send names no step that could be missing
      handler.sendEvent(new Pong()).pipe(Effect.catchTag("WorkflowStepDoesNotExistError", () => Effect.void))
      yield* TestClock.adjust("2 seconds")
      expect(yield* handler.result).toEqual(["Pong", "Pong"])
      const ended = yield* Effect.flip(handler.sendEvent(new Pong()))
      expect(ended._tag).toBe("WorkflowRuntimeError")
      const missing = yield* Effect.flip(handler.sendEvent(new Pong(), { step: "nope" }))
      expect(missing._tag).toBe("WorkflowRuntimeError") // the run has ended: checked first
    }))
})

// -------------------------------------------------------------------------------------------------
// 3. handler.events: the union of what the workflow can publish
// -------------------------------------------------------------------------------------------------

/** Every case of the jokes workflow's events, or it does not compile. */
const describeJoke = Match.type<Workflow.Events<typeof jokes>>().pipe(
  Match.tag("Draft", (ev) => `draft: ${ev.text}`),
  Match.tag("Progress", (ev) => `progress: ${ev.percent}%`),
  Match.tag("Done", (ev) => `done: ${ev.verdict}`),
  Match.tag("WorkflowFailedEvent", (ev) => `failed in ${ev.stepName}`),
  Match.tag("WorkflowTimedOutEvent", (ev) => `timed out after ${ev.timeout}s`),
  Match.tag("WorkflowCancelledEvent", () => "cancelled"),
  Match.exhaustive
)

describe("handler.events", () => {
  it.scoped("carries the union of the written events, the stop event and the endings; Match.exhaustive compiles", () =>
    Effect.gen(function*() {
      const handler = yield* Workflow.start(jokes, new Topic({ topic: "pirates" }))
      expectTypeOf(handler.events).toEqualTypeOf<Stream.Stream<Draft | Progress | Done | Ending>>()
      expectTypeOf(handler.stream()).toEqualTypeOf<Stream.Stream<Draft | Progress | Done | Ending>>()
      expectTypeOf(handler.stream({})).toEqualTypeOf<Stream.Stream<Draft | Progress | Done | Ending>>()
      expectTypeOf(handler.stream({ internal: false })).toEqualTypeOf<Stream.Stream<Draft | Progress | Done | Ending>>()
      expectTypeOf(handler.stream({ internal: true })).toEqualTypeOf<
        Stream.Stream<
          | Draft
          | Progress
          | Done
          | Ending
          | Event.StepStateChanged
          | Event.WorkflowIdleEvent
          | Event.UnhandledEvent
        >
      >()
      const options: WorkflowHandler.StreamOptions = { internal: false }
      expectTypeOf(handler.stream(options)).toEqualTypeOf<Stream.Stream<Workflow.Events<typeof jokes> | Event.InternalEvent>>()

      const described = yield* collect(Stream.map(handler.events, describeJoke))
      expect(described).toEqual(["draft: a joke about pirates", "progress: 100%", "done: ok"])

      // internal events need their own cases
      const internal = yield* collect(handler.stream({ internal: true }))
      const kinds = internal.map(
        Match.type<Workflow.Events<typeof jokes> | Event.InternalEvent>().pipe(
          Match.tag("StepStateChanged", "WorkflowIdleEvent", "UnhandledEvent", () => "internal"),
          Match.orElse((ev) => describeJoke(ev))
        )
      )
      expect(kinds.filter((kind) => kind !== "internal")).toEqual(described)
    }))

  it("a Match that misses a case, or names an event the workflow never publishes, does not compile", () => {
    Match.type<Workflow.Events<typeof jokes>>().pipe(
      Match.tag("Draft", "Progress", "Done", () => "normal"),
      Match.tag("WorkflowFailedEvent", "WorkflowTimedOutEvent", () => "abnormal"),
      // @ts-expect-error: WorkflowCancelledEvent is not handled
      Match.exhaustive
    )
    Match.type<Workflow.Events<typeof jokes>>().pipe(
      // @ts-expect-error: the start event is routed, never published
      Match.tag("Topic", () => "start"),
      Match.orElse(() => "other")
    )
    // steps' returned events that are neither the stop event nor InputRequiredEvent are not published
    expectTypeOf<Extract<Workflow.Events<typeof jokes>, Topic>>().toBeNever()
    expectTypeOf<Extract<Workflow.Events<typeof asking>, Asked | Event.HumanResponseEvent>>().toBeNever()
  })

  it.scoped("waiter events and returned InputRequiredEvents are in the union", () =>
    Effect.gen(function*() {
      expectTypeOf<Step.PublishedOf<typeof ask>>().toEqualTypeOf<Event.InputRequiredEvent>()
      expectTypeOf<Step.PublishedOf<typeof askAgain>>().toEqualTypeOf<Event.InputRequiredEvent>()
      expectTypeOf<Step.PublishedOf<typeof finish>>().toBeNever()
      expectTypeOf<Workflow.Events<typeof asking>>().toEqualTypeOf<
        Event.InputRequiredEvent | Event.StopEvent | Ending
      >()
      const handler = yield* Workflow.start(asking)
      const answered = yield* handler.events.pipe(
        Stream.tap(
          Match.type<Workflow.Events<typeof asking>>().pipe(
            Match.tag("InputRequiredEvent", (prompt) =>
              handler.sendEvent(new Event.HumanResponseEvent({ response: prompt.prefix.replace("?", "!") }))),
            Match.tag("StopEvent", () => Effect.void),
            Match.tag("WorkflowFailedEvent", "WorkflowTimedOutEvent", "WorkflowCancelledEvent", (ev) =>
              Effect.dieMessage(ev._tag)),
            Match.exhaustive
          )
        ),
        collect
      )
      expect(answered.map(Event.tag)).toEqual(["InputRequiredEvent", "InputRequiredEvent", "StopEvent"])
      expect(yield* handler.result).toBe("second: second!")
    }))

  it.scoped("the endings are in every workflow's union: failed, timed out, cancelled", () =>
    Effect.gen(function*() {
      const endingOf = Match.type<Event.StopEvent | Ending>().pipe(
        Match.tag("StopEvent", () => "stopped"),
        Match.tag("WorkflowFailedEvent", () => "failed"),
        Match.tag("WorkflowTimedOutEvent", () => "timedOut"),
        Match.tag("WorkflowCancelledEvent", () => "cancelled"),
        Match.exhaustive
      )
      const failing = Workflow.make({
        name: "failing",
        steps: [Step.make("fail", { on: Event.StartEvent, emits: [Event.StopEvent] }, () => Effect.fail("boom" as const))]
      })
      const slow = Workflow.make({
        name: "slow",
        timeout: "1 second",
        steps: [Step.make("slow", { on: Event.StartEvent, emits: [Event.StopEvent] }, () => Effect.never)]
      })
      expectTypeOf<Workflow.Events<typeof failing>>().toEqualTypeOf<Event.StopEvent | Ending>()
      expectTypeOf<Workflow.Events<typeof slow>>().toEqualTypeOf<Event.StopEvent | Ending>()

      const failed = yield* Workflow.start(failing)
      expect(yield* collect(Stream.map(failed.events, endingOf))).toEqual(["failed"])
      expect(yield* Effect.flip(failed.result)).toBe("boom")

      const timedOut = yield* Workflow.start(slow)
      yield* TestClock.adjust("1 second")
      expect(yield* collect(Stream.map(timedOut.events, endingOf))).toEqual(["timedOut"])

      const cancelled = yield* Workflow.start(slow)
      yield* cancelled.cancel
      expect(yield* collect(Stream.map(cancelled.events, endingOf))).toEqual(["cancelled"])
    }))

  it.scoped("what a helper writes is in its type: Publishes<A> in R, taken out by Step.make", () =>
    Effect.gen(function*() {
      const report = (percent: number): Effect.Effect<
        void,
        never,
        WorkflowContext.WorkflowContext | WorkflowContext.Publishes<Progress>
      > => Effect.flatMap(WorkflowContext.WorkflowContext, (ctx) => ctx.writeEventToStream(new Progress({ percent })))

      const silent = (): Effect.Effect<void, never, WorkflowContext.WorkflowContext> =>
        // @ts-expect-error: a helper that writes must say so
        Effect.flatMap(WorkflowContext.WorkflowContext, (ctx) => ctx.writeEventToStream(new Progress({ percent: 0 })))
      expect(silent).toBeTypeOf("function")

      class Clock extends Context.Tag("test/Clock")<Clock, { readonly now: number }>() {}
      const work = Step.make("work", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
        Effect.gen(function*() {
          const clock = yield* Clock
          yield* report(50)
          expectTypeOf(ctx.writeEventToStream(new Ping())).toEqualTypeOf<
            Effect.Effect<void, never, WorkflowContext.Publishes<Ping>>
          >()
          expectTypeOf(ctx.waitForEvent(Pong, { waiterEvent: new Ping() })).toEqualTypeOf<
            Effect.Effect<Pong, never, WorkflowContext.Publishes<Ping>>
          >()
          yield* ctx.writeEventToStream(new Ping())
          return new Event.StopEvent({ result: clock.now })
        }))
      // the markers leave R (only Clock is required) and become the step's published events
      expectTypeOf(work).toEqualTypeOf<Step.Step<"work", Event.StartEvent, Event.StopEvent, never, Clock, Progress | Ping>>()
      const provided = Step.provide(work, Layer.succeed(Clock, { now: 7 }))
      expectTypeOf(provided).toEqualTypeOf<
        Step.Step<"work", Event.StartEvent, Event.StopEvent, never, never, Progress | Ping>
      >()
      const wf = Workflow.make({ name: "work", steps: [provided] })
      expectTypeOf<Workflow.Events<typeof wf>>().toEqualTypeOf<Progress | Ping | Event.StopEvent | Ending>()
      const handler = yield* Workflow.start(wf)
      expect((yield* collect(handler.events)).map(Event.tag)).toEqual(["Progress", "Ping", "StopEvent"])
      expect(yield* handler.result).toBe(7)

      // an event of an unknown type leaves the union open, as it is
      const forward = Step.make("forward", { on: Event.StartEvent, emits: [Event.StopEvent] }, (ev, ctx) =>
        Effect.as(ctx.writeEventToStream(ev.input as Event.AnyEvent), new Event.StopEvent({ result: null })))
      expectTypeOf<Step.PublishedOf<typeof forward>>().toEqualTypeOf<Event.AnyEvent>()
    }))

  it("an effect that publishes cannot be run outside a step", () => {
    const outside = (ctx: WorkflowContext.WorkflowContext) => {
      // @ts-expect-error: Publishes<Ping> is a requirement nothing provides
      Effect.runFork(ctx.writeEventToStream(new Ping()))
      // @ts-expect-error: so is the Publishes of a waiter event
      Effect.runFork(ctx.waitForEvent(Pong, { waiterEvent: new Ping() }))
      Effect.runFork(ctx.waitForEvent(Pong))
      Effect.runFork(ctx.sendEvent(new Ping()))
    }
    expect(outside).toBeTypeOf("function")
  })
})

// -------------------------------------------------------------------------------------------------
// 4. Step.make: the compile error of a body that returns an event missing from `emits`
// -------------------------------------------------------------------------------------------------

describe("Step.make", () => {
  it("a body that returns an event missing from `emits` does not compile, and the error says so", () => {
    const ok = Step.make("ok", { on: Topic, emits: [Draft] }, (ev) =>
      ev.topic === "" ? Effect.succeed(undefined) : Effect.succeed(new Draft({ text: ev.topic })))
    expectTypeOf(ok).toEqualTypeOf<Step.Step<"ok", Topic, Draft, never, never, never>>()

    // Without the @ts-expect-error, `tsc --noEmit -p .` prints (on `Effect.gen`):
    //   error TS2375: Type 'Effect<Draft | Done, never, never>' is not assignable to type 'Effect<Draft | { readonly _tag: "Done"; readonly "Step.make: the body returns events missing from `emits`": Done; }, never, never>' with 'exactOptionalPropertyTypes: true'. Consider adding 'undefined' to the types of the target's properties.
    //     Type 'Draft | Done' is not assignable to type 'Draft | { readonly _tag: "Done"; readonly "Step.make: the body returns events missing from `emits`": Done; }'.
    //       Type 'Done' is not assignable to type 'Draft | { readonly _tag: "Done"; readonly "Step.make: the body returns events missing from `emits`": Done; }'.
    //         Property '"Step.make: the body returns events missing from `emits`"' is missing in type 'Done' but required in type '{ readonly _tag: "Done"; readonly "Step.make: the body returns events missing from `emits`": Done; }'.
    const undeclared = Step.make("undeclared", { on: Topic, emits: [Draft] }, (ev) =>
      // @ts-expect-error: Done is not in `emits`
      Effect.gen(function*() {
        if (ev.topic === "") return new Draft({ text: "" })
        return new Done({ verdict: ev.topic })
      }))
    expect(Step.isStep(undeclared)).toBe(true)
  })
})
