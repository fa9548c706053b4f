/**
 * `Step.catchError`: error handlers for steps that failed for good (the original's
 * `@catch_error`), their validation, their drawing, and their place in snapshots.
 */
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { Event, Graph, Snapshot, Step, Workflow, WorkflowError } from "effect-workflows"
import { WorkflowTest } from "effect-workflows/testing"
import { tags } from "./utils/streams.js"

class Job extends Schema.TaggedClass<Job>()("Job", { n: Schema.Number }) {}
class Retry extends Schema.TaggedClass<Retry>()("Retry", { n: Schema.Number }) {}
class Boom extends Data.TaggedError("Boom")<{ readonly reason: string }> {}
class Other extends Data.TaggedError("Other")<{}> {}

const { HumanResponseEvent, StartEvent, StopEvent } = Event

const stop = (result: unknown) => new StopEvent({ result })

// -------------------------------------------------------------------------------------------------
// recovery
// -------------------------------------------------------------------------------------------------

describe("Step.catchError", () => {
  it.effect("a step whose retries are exhausted goes to its handler, whose event continues the run", () =>
    Effect.gen(function*() {
      const received: Array<Event.StepFailedEvent> = []
      const fetch = Step.make("fetch", {
        on: StartEvent,
        emits: [StopEvent],
        retry: Schedule.addDelay(Schedule.recurs(2), () => "1 second")
      }, (ev) => Effect.fail(new Boom({ reason: `no ${String(ev.input)}` })))
      const fallback = Step.catchError("fallback", { forSteps: [fetch], emits: [StopEvent] }, (failed) =>
        Effect.sync(() => {
          received.push(failed)
          return stop(`cached after ${failed.attempts} attempts: ${failed.error._tag}`)
        }))
      const wf = Workflow.make({ name: "fallback", steps: [fetch, fallback] })
      const run = yield* Effect.fork(Workflow.run(wf, new StartEvent({ input: "data" })))
      yield* TestClock.adjust("1 second")
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(run)).toBe("cached after 3 attempts: Boom")
      expect(received.length).toBe(1)
      const failed = received[0]!
      expect(failed._tag).toBe("StepFailedEvent")
      expect(failed.stepName).toBe("fetch")
      expect(failed.inputEvent).toEqual(new StartEvent({ input: "data" }))
      expect(failed.error).toEqual(new Boom({ reason: "no data" }))
      expect(failed.attempts).toBe(3)
      expect(failed.elapsedSeconds).toBe(2)
      expect(failed.failedAt).toBe(2000)
    }))

  it("types the failure from the covered steps", () => {
    const fetch = Step.make("fetch", { on: StartEvent, emits: [StopEvent] }, () => Effect.fail(new Boom({ reason: "" })))
    const parse = Step.make("parse", { on: Job, emits: [StopEvent] }, () => Effect.fail(new Other()))
    Step.catchError("typed", { forSteps: [fetch, parse], emits: [StopEvent] }, (failed) => {
      expectTypeOf(failed.error).toEqualTypeOf<Boom | Other | WorkflowError.WorkflowRuntimeError>()
      expectTypeOf(failed.inputEvent).toEqualTypeOf<Event.StartEvent | Job>()
      return Effect.succeed(stop(failed.stepName))
    })
    Step.catchError("named", { forSteps: ["fetch"] }, (failed) => {
      expectTypeOf(failed.error).toEqualTypeOf<unknown>()
      expectTypeOf(failed.inputEvent).toEqualTypeOf<Event.AnyEvent>()
      return Effect.void
    })
    const wildcard = Step.catchError("any", { emits: [StopEvent] }, (failed) => {
      expectTypeOf(failed.error).toEqualTypeOf<unknown>()
      return Effect.fail(new Other())
    })
    expectTypeOf(wildcard).toEqualTypeOf<Step.Step<"any", Event.StepFailedEvent, Event.StopEvent, Other, never>>()
    // @ts-expect-error: Job is not in emits
    Step.catchError("undeclared", { emits: [StopEvent] }, () => Effect.succeed(new Job({ n: 1 })))
    expect(wildcard.on).toEqual([Event.StepFailedEvent])
    expect(Step.isErrorHandler(wildcard)).toBe(true)
    expect(Step.isErrorHandler(fetch)).toBe(false)
  })

  it.effect("the handler's event routes as any event: here back to another step", () =>
    Effect.gen(function*() {
      const work = Step.make("work", { on: StartEvent, emits: [StopEvent] }, () => Effect.fail("down" as const))
      const recover = Step.catchError("recover", { forSteps: [work], emits: [Retry] }, () =>
        Effect.succeed(new Retry({ n: 1 })))
      const again = Step.make("again", { on: Retry, emits: [StopEvent] }, (ev) => Effect.succeed(stop(`retried ${ev.n}`)))
      const wf = Workflow.make({ name: "reroute", steps: [work, recover, again] })
      expect(yield* Workflow.run(wf)).toBe("retried 1")
    }))

  it.effect("a handler that returns nothing ends that branch: the run goes on without it", () =>
    Effect.gen(function*() {
      const start = Step.make("start", { on: StartEvent, emits: [Job] }, (_, ctx) =>
        Effect.forEach([1, 2, 3], (n) => ctx.sendEvent(new Job({ n })), { discard: true }))
      const work = Step.make("work", { on: Job, emits: [Retry] }, (ev) =>
        ev.n === 2 ? Effect.fail("odd" as const) : Effect.succeed(new Retry({ n: ev.n })))
      const gather = Step.make("gather", { on: Retry, emits: [StopEvent] }, (ev, ctx) =>
        Effect.map(ctx.collectEvents(ev, [Retry, Retry]), (all) =>
          all._tag === "Some" ? stop(all.value.map((r) => r.n)) : undefined))
      const skip = Step.catchError("skip", { forSteps: [work] }, () => Effect.void)
      const wf = Workflow.make({ name: "skip-failed", steps: [start, work, gather, skip] })
      expect(yield* Workflow.run(wf)).toEqual([1, 3])
    }))

  it.effect("maxRecoveries counts per lineage: a loop of failure and recovery stops, then the run fails", () =>
    Effect.gen(function*() {
      let executions = 0
      let recoveries = 0
      const start = Step.make("start", { on: StartEvent, emits: [Job] }, () => Effect.succeed(new Job({ n: 0 })))
      const work = Step.make("work", { on: Job, emits: [StopEvent] }, (ev) =>
        Effect.sync(() => executions++).pipe(Effect.zipRight(Effect.fail(new Boom({ reason: `job ${ev.n}` })))))
      const retryJob = Step.catchError("retryJob", { forSteps: [work], maxRecoveries: 2, emits: [Job] }, (failed) =>
        Effect.sync(() => {
          recoveries++
          return new Job({ n: failed.inputEvent.n + 1 })
        }))
      const wf = Workflow.make({ name: "loop", steps: [start, work, retryJob] })
      const { events, result } = yield* WorkflowTest.runAndCollect(wf)
      expect(executions).toBe(3)
      expect(recoveries).toBe(2)
      expect(result).toEqual(Exit.fail(new Boom({ reason: "job 2" })))
      const last = events[events.length - 1]!
      expect(Event.is(last, Event.WorkflowFailedEvent) && [last.stepName, last.attempts]).toEqual(["work", 1])
    }))

  it.effect("the counts go with events sent by the handler too", () =>
    Effect.gen(function*() {
      let recoveries = 0
      const work = Step.make("work", { on: [StartEvent, Job], emits: [StopEvent] }, () => Effect.fail("no" as const))
      const resend = Step.catchError("resend", { forSteps: [work], maxRecoveries: 3, emits: [Job] }, (_, ctx) =>
        Effect.zipRight(Effect.sync(() => recoveries++), ctx.sendEvent(new Job({ n: recoveries }))))
      const wf = Workflow.make({ name: "resend", steps: [work, resend] })
      expect(yield* Effect.flip(Workflow.run(wf))).toBe("no")
      expect(recoveries).toBe(3)
    }))

  it.effect("separate lineages each have their own count", () =>
    Effect.gen(function*() {
      const start = Step.make("start", { on: StartEvent, emits: [Job] }, (_, ctx) =>
        Effect.forEach([1, 2, 3], (n) => ctx.sendEvent(new Job({ n })), { discard: true }))
      const work = Step.make("work", { on: Job, emits: [Retry] }, () => Effect.fail("flaky" as const))
      const recover = Step.catchError("recover", { forSteps: [work], emits: [Retry] }, (failed) =>
        Effect.succeed(new Retry({ n: failed.inputEvent.n })))
      const gather = Step.make("gather", { on: Retry, emits: [StopEvent] }, (ev, ctx) =>
        Effect.map(ctx.collectEvents(ev, [Retry, Retry, Retry]), (all) =>
          all._tag === "Some" ? stop(all.value.map((r) => r.n).sort()) : undefined))
      const wf = Workflow.make({ name: "lineages", steps: [start, work, recover, gather] })
      expect(yield* Workflow.run(wf)).toEqual([1, 2, 3])
    }))

  it.effect("a handler that fails fails the run with its own error, naming itself", () =>
    Effect.gen(function*() {
      const work = Step.make("work", { on: StartEvent, emits: [StopEvent] }, () => Effect.fail(new Boom({ reason: "x" })))
      const broken = Step.catchError("broken", { emits: [StopEvent] }, () => Effect.fail(new Other()))
      const wf = Workflow.make({ name: "broken-handler", steps: [work, broken] })
      const { events, result } = yield* WorkflowTest.runAndCollect(wf)
      expect(result).toEqual(Exit.fail(new Other()))
      const last = events[events.length - 1]!
      expect(Event.is(last, Event.WorkflowFailedEvent) && [last.stepName, last.error]).toEqual(["broken", new Other()])
    }))

  it.effect("a step that dies reaches its handler as a WorkflowRuntimeError naming it", () =>
    Effect.gen(function*() {
      const work = Step.make("work", { on: StartEvent, emits: [StopEvent] }, () => Effect.die(new Error("kaput")))
      const report = Step.catchError("report", { forSteps: [work], emits: [StopEvent] }, (failed) =>
        Effect.succeed(stop([failed.error._tag, failed.error.message, (failed.error.cause as Error).message])))
      const wf = Workflow.make({ name: "dies", steps: [work, report] })
      expect(yield* Workflow.run(wf)).toEqual(["WorkflowRuntimeError", "Step work failed with a defect: kaput", "kaput"])
    }))

  it.effect("a step returning an event it does not declare reaches its handler as a WorkflowRuntimeError", () =>
    Effect.gen(function*() {
      const work = Step.make("work", { on: StartEvent, emits: [StopEvent] }, () =>
        Effect.succeed(new Job({ n: 1 }) as unknown as Event.StopEvent))
      const report = Step.catchError("report", { forSteps: [work], emits: [StopEvent] }, (failed) =>
        Effect.succeed(stop(failed.error.message)))
      const wf = Workflow.make({ name: "undeclared", steps: [work, report] })
      expect(yield* Workflow.run(wf)).toBe("Step function work returned Job instead of one of its declared events (StopEvent).")
    }))

  it.effect("a step's own timeout is its error and is recovered; the run timeout never reaches a handler", () =>
    Effect.gen(function*() {
      let handled = 0
      const slow = Step.make("slow", { on: StartEvent, emits: [StopEvent], timeout: "1 second" }, () =>
        Effect.as(Effect.sleep("1 minute"), stop("late")))
      const onTimeout = Step.catchError("onTimeout", { emits: [StopEvent] }, (failed) =>
        Effect.sync(() => {
          handled++
          return stop(Cause.isTimeoutException(failed.error) ? "step timed out" : "other")
        }))
      const stepTimeout = Workflow.make({ name: "step-timeout", steps: [slow, onTimeout] })
      const first = yield* Effect.fork(Workflow.run(stepTimeout))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(first)).toBe("step timed out")

      const waits = Step.make("waits", { on: StartEvent, emits: [StopEvent] }, () =>
        Effect.as(Effect.sleep("1 minute"), stop("late")))
      const runTimeout = Workflow.make({ name: "run-timeout", steps: [waits, onTimeout], timeout: "10 seconds" })
      const second = yield* Effect.fork(Workflow.run(runTimeout))
      yield* TestClock.adjust("10 seconds")
      const error = yield* Effect.flip(Fiber.join(second))
      expect(error).toBeInstanceOf(WorkflowError.WorkflowTimeoutError)
      expect(handled).toBe(1)
    }))

  it.effect("the wildcard covers every step no other handler lists, never a handler", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const a = Step.make("a", { on: StartEvent, emits: [Job] }, () => Effect.fail("a failed" as const))
      const b = Step.make("b", { on: Job, emits: [StopEvent] }, () => Effect.fail("b failed" as const))
      const forA = Step.catchError("forA", { forSteps: ["a"], emits: [Job] }, (failed) =>
        Effect.sync(() => {
          seen.push(`forA: ${failed.stepName}`)
          return new Job({ n: 1 })
        }))
      const rest = Step.catchError("rest", { emits: [StopEvent] }, (failed) =>
        Effect.sync(() => {
          seen.push(`rest: ${failed.stepName}`)
          return stop(String(failed.error))
        }))
      const wf = Workflow.make({ name: "wildcard", steps: [a, b, forA, rest] })
      expect(yield* Workflow.run(wf)).toBe("b failed")
      expect(seen).toEqual(["forA: a", "rest: b"])
    }))

  it.effect("the StepFailedEvent is routed to the handler only, never published", () =>
    Effect.gen(function*() {
      const work = Step.make("work", { on: StartEvent, emits: [StopEvent] }, () => Effect.fail("x" as const))
      const recover = Step.catchError("recover", { emits: [StopEvent] }, () => Effect.succeed(stop("ok")))
      const wf = Workflow.make({ name: "unpublished", steps: [work, recover] })
      const { events } = yield* WorkflowTest.runAndCollect(wf, undefined, { internal: true })
      expect(tags(events)).toEqual([
        "StepStateChanged",
        "StepStateChanged",
        "StepStateChanged",
        "StepStateChanged",
        "StopEvent"
      ])
      expect(events.filter(Event.is(Event.StepStateChanged)).map((ev) => [ev.name, ev.stepState, ev.inputEventName]))
        .toEqual([
          ["work", "running", "StartEvent"],
          ["work", "not_running", "StartEvent"],
          ["recover", "running", "StepFailedEvent"],
          ["recover", "not_running", "StepFailedEvent"]
        ])
    }))
})

// -------------------------------------------------------------------------------------------------
// validation
// -------------------------------------------------------------------------------------------------

describe("Step.catchError validation", () => {
  const start = Step.make("start", { on: StartEvent, emits: [StopEvent] }, () => Effect.void)
  const other = Step.make("other", { on: Job, emits: [StopEvent] }, () => Effect.void)
  const feeder = Step.make("feeder", { on: StartEvent, emits: [Job] }, () => Effect.void)
  const handler = (name: string, options: { forSteps?: ReadonlyArray<string>; maxRecoveries?: number }) =>
    Step.catchError(name, options as {}, () => Effect.void)

  const messageOf = (steps: ReadonlyArray<Step.Any>) =>
    Effect.map(Effect.flip(Workflow.validate(Workflow.make({ name: "wf", steps }))), (error) => {
      expect(error).toBeInstanceOf(WorkflowError.WorkflowValidationError)
      return error.message
    })

  it.effect("one wildcard at most", () =>
    Effect.gen(function*() {
      expect(yield* messageOf([start, handler("h2", {}), handler("h1", {})])).toBe(
        "Only one wildcard Step.catchError handler is allowed per workflow, found 2: h1, h2"
      )
    }))

  it.effect("forSteps names known steps that are not handlers, each claimed once", () =>
    Effect.gen(function*() {
      expect(yield* messageOf([start, handler("h", { forSteps: ["nope"] })])).toBe(
        "Step.catchError handler 'h' lists unknown step 'nope' in forSteps."
      )
      expect(yield* messageOf([start, handler("h", { forSteps: ["g"] }), handler("g", { forSteps: ["start"] })])).toBe(
        "Step.catchError handler 'h' cannot cover another handler step 'g'."
      )
      expect(
        yield* messageOf([start, handler("h1", { forSteps: ["start"] }), handler("h2", { forSteps: ["start"] })])
      ).toBe("Step 'start' is claimed by two Step.catchError handlers: 'h1' and 'h2'.")
      expect(yield* messageOf([start, handler("h", { forSteps: "start" as unknown as Array<string> })])).toBe(
        "Step.catchError handler 'h': forSteps must be undefined or a list of step names"
      )
    }))

  it.effect("maxRecoveries is an integer >= 1", () =>
    Effect.gen(function*() {
      expect(yield* messageOf([start, handler("h", { maxRecoveries: 0 })])).toBe(
        "Step.catchError handler 'h' has maxRecoveries=0; must be an integer >= 1."
      )
      expect(yield* messageOf([start, handler("h", { maxRecoveries: 1.5 })])).toBe(
        "Step.catchError handler 'h' has maxRecoveries=1.5; must be an integer >= 1."
      )
      expect(yield* messageOf([start, handler("h", { maxRecoveries: "2" as unknown as number })])).toBe(
        `Step.catchError handler 'h' has maxRecoveries="2"; must be an integer >= 1.`
      )
    }))

  it.effect("every finding in one error, joined by newlines, in order", () =>
    Effect.gen(function*() {
      const steps = [
        feeder,
        other,
        handler("w1", {}),
        handler("w2", { maxRecoveries: -1 }),
        handler("a", { forSteps: ["other", "missing", "w1"] }),
        handler("b", { forSteps: ["other"], maxRecoveries: 0 })
      ]
      expect(yield* messageOf(steps)).toBe([
        "Only one wildcard Step.catchError handler is allowed per workflow, found 2: w1, w2",
        "Step.catchError handler 'a' lists unknown step 'missing' in forSteps.",
        "Step.catchError handler 'a' cannot cover another handler step 'w1'.",
        "Step 'other' is claimed by two Step.catchError handlers: 'a' and 'b'.",
        "Step.catchError handler 'w2' has maxRecoveries=-1; must be an integer >= 1.",
        "Step.catchError handler 'b' has maxRecoveries=0; must be an integer >= 1."
      ].join("\n"))
    }))

  it.effect("a handler consumes StepFailedEvent, which no step produces, and is reachable", () =>
    Effect.gen(function*() {
      // no "consumed but never produced", no "[reachability] Unreachable steps: h" for a handler,
      // and its own events reach further steps
      const h = Step.catchError("h", { emits: [Job] }, () => Effect.succeed(new Job({ n: 1 })))
      yield* Workflow.validate(Workflow.make({ name: "wf", steps: [start, h, other] }))
      // a plain step on StepFailedEvent is no handler: nothing reaches it
      const plain = Step.make("plain", { on: Event.StepFailedEvent, emits: [StopEvent] }, () => Effect.void)
      expect(yield* messageOf([start, plain])).toBe(
        "Graph validation failed:\n  - [reachability] Unreachable steps: plain\n" +
          "    Steps must be reachable from StartEvent or HumanResponseEvent."
      )
    }))

  it.effect("a run validates its handlers before it starts", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Workflow.run(Workflow.make({ name: "wf", steps: [start, handler("h", { maxRecoveries: 0 })] }))
      )
      expect(error.message).toBe("Step.catchError handler 'h' has maxRecoveries=0; must be an integer >= 1.")
    }))
})

// -------------------------------------------------------------------------------------------------
// graph
// -------------------------------------------------------------------------------------------------

describe("Step.catchError in the graph", () => {
  const fetch = Step.make("fetch", { on: StartEvent, emits: [Job] }, () => Effect.void)
  const parse = Step.make("parse", { on: Job, emits: [StopEvent] }, () => Effect.void)
  const fallback = Step.catchError("fallback", { forSteps: [fetch], emits: [StopEvent] }, () => Effect.void)
  const rest = Step.catchError("rest", {}, () => Effect.void)
  const wf = Workflow.make({ name: "graph", steps: [fetch, parse, fallback, rest] })

  it("representation: catch edges from covered steps to their handler, no StepFailedEvent node", () => {
    const graph = Graph.representation(wf)
    expect(graph.nodes.map((node) => node.id)).toEqual([
      "step:fetch",
      "step:parse",
      "step:fallback",
      "step:rest",
      "event:StartEvent",
      "event:Job",
      "event:StopEvent"
    ])
    expect(graph.edges.filter((edge) => edge.kind === "catch")).toEqual([
      { source: "step:fetch", target: "step:fallback", kind: "catch" },
      { source: "step:parse", target: "step:rest", kind: "catch" }
    ])
  })

  it("toMermaid: dotted edges labelled on failure", () => {
    expect(Graph.toMermaid(wf).split("\n").filter((line) => line.includes("on failure"))).toEqual([
      "  step_fetch -. on failure .-> step_fallback",
      "  step_parse -. on failure .-> step_rest"
    ])
    expect(Graph.toMermaid(wf)).not.toContain("StepFailedEvent")
  })

  it("toDot: dashed edges labelled on failure", () => {
    expect(Graph.toDot(wf).split("\n").filter((line) => line.includes("on failure"))).toEqual([
      `  "step:fetch" -> "step:fallback" [style=dashed, label="on failure"];`,
      `  "step:parse" -> "step:rest" [style=dashed, label="on failure"];`
    ])
  })
})

// -------------------------------------------------------------------------------------------------
// snapshots
// -------------------------------------------------------------------------------------------------

describe("Step.catchError and snapshots", () => {
  /** work fails on its Job; the handler waits for a human before it answers, so it is in flight. */
  const makeWorkflow = (onRecovered: () => void) => {
    const start = Step.make("start", { on: StartEvent, emits: [Job] }, () => Effect.succeed(new Job({ n: 1 })))
    const work = Step.make("work", { on: Job, emits: [StopEvent] }, (ev) =>
      Effect.fail(new Boom({ reason: `job ${ev.n}` })))
    const ask = Step.catchError("ask", { forSteps: [work], emits: [Job, StopEvent] }, (failed, ctx) =>
      Effect.gen(function*() {
        onRecovered()
        const answer = yield* ctx.waitForEvent(HumanResponseEvent)
        if (answer.response === "again") return new Job({ n: failed.inputEvent.n + 1 })
        return stop(`${failed.stepName}: ${JSON.stringify(failed.error)}`)
      }))
    return Workflow.make({ name: "recover-snapshot", steps: [start, work, ask] })
  }

  it.scoped("a StepFailedEvent in flight and its lineage's counts survive a snapshot and a resume", () =>
    Effect.gen(function*() {
      let recovered = 0
      const wf = makeWorkflow(() => recovered++)
      const handler = yield* Workflow.start(wf)
      yield* WorkflowTest.untilIdle(handler)
      const snapshot = yield* handler.snapshot
      yield* handler.cancel
      const json = JSON.parse(Snapshot.toJson(snapshot))
      expect(json.steps.ask.inProgress).toEqual([{
        event: {
          _tag: "StepFailedEvent",
          stepName: "work",
          inputEvent: { _tag: "Job", n: 1 },
          error: { _tag: "Boom", message: "", reason: "job 1" },
          attempts: 1,
          elapsedSeconds: 0,
          failedAt: 0
        },
        failures: 0,
        firstAttemptAt: 0,
        lastFailedAt: null,
        lastError: null,
        retryAt: null,
        recoveries: { ask: 1 }
      }])

      // resumed: the handler runs again with the decoded event; the error is its JSON form
      const resumed = yield* Workflow.resume(wf, Snapshot.toJson(snapshot))
      yield* WorkflowTest.untilIdle(resumed)
      expect(recovered).toBe(2)
      yield* resumed.sendEvent(new HumanResponseEvent({ response: "done" }))
      expect(yield* resumed.result).toBe(`work: {"_tag":"Boom","message":"","reason":"job 1"}`)

      // resumed again: its answer sends a Job of the same lineage; work fails again and the
      // restored count (1 of maxRecoveries 1) fails the run instead of a second recovery
      const again = yield* Workflow.resume(wf, snapshot)
      yield* WorkflowTest.untilIdle(again)
      yield* again.sendEvent(new HumanResponseEvent({ response: "again" }))
      expect(yield* Effect.exit(again.result)).toEqual(Exit.fail(new Boom({ reason: "job 2" })))
      expect(recovered).toBe(3)
    }))

  it.scoped("a StepFailedEvent queued for a busy handler survives a snapshot and a resume", () =>
    Effect.gen(function*() {
      const handled: Array<string> = []
      let busy = true
      const start = Step.make("start", { on: StartEvent, emits: [Job] }, (_, ctx) =>
        Effect.forEach([1, 2], (n) => ctx.sendEvent(new Job({ n })), { discard: true }))
      const work = Step.make("work", { on: Job, emits: [Retry] }, (ev) => Effect.fail(`job ${ev.n} failed`))
      // one worker, busy until the run is resumed: the second failure waits in the handler's queue
      const ask = Step.catchError("ask", { forSteps: [work], workers: 1, emits: [Retry] }, (failed) =>
        Effect.gen(function*() {
          if (busy) return yield* Effect.never
          handled.push(`${failed.stepName}: ${String(failed.error)}`)
          return new Retry({ n: failed.inputEvent.n })
        }))
      const gather = Step.make("gather", { on: Retry, emits: [StopEvent] }, (ev, ctx) =>
        Effect.map(ctx.collectEvents(ev, [Retry, Retry]), (all) =>
          all._tag === "Some" ? stop(all.value.map((r) => r.n).sort()) : undefined))
      const wf = Workflow.make({ name: "queued-failure", steps: [start, work, ask, gather] })
      const handler = yield* Workflow.start(wf)
      yield* Effect.yieldNow()
      const snapshot = yield* handler.snapshot
      yield* handler.cancel
      const failedEvent = (n: number) => ({
        _tag: "StepFailedEvent",
        stepName: "work",
        inputEvent: { _tag: "Job", n },
        error: `job ${n} failed`,
        attempts: 1,
        elapsedSeconds: 0,
        failedAt: 0
      })
      const { inProgress, queue } = snapshot.steps.ask!
      expect(inProgress.map((attempt) => [attempt.event, attempt.recoveries])).toEqual([[failedEvent(1), { ask: 1 }]])
      expect(queue.map((attempt) => [attempt.event, attempt.recoveries])).toEqual([[failedEvent(2), { ask: 1 }]])
      busy = false
      const resumed = yield* Workflow.resume(wf, Snapshot.toJson(snapshot))
      expect(yield* resumed.result).toEqual([1, 2])
      expect(handled).toEqual(["work: job 1 failed", "work: job 2 failed"])
    }))

  it.effect("recoveries in a document: optional, non-negative integers", () =>
    Effect.gen(function*() {
      const attempt = {
        event: { _tag: "Job", n: 1 },
        failures: 0,
        firstAttemptAt: null,
        lastFailedAt: null,
        lastError: null,
        retryAt: null
      }
      const document = (extra: object) => ({
        version: 1,
        workflow: "w",
        runId: "r",
        isRunning: true,
        state: {},
        streamSequence: 0,
        steps: { work: { queue: [{ ...attempt, ...extra }], inProgress: [], collected: {}, waiters: [] } }
      })
      expect(Snapshot.isSnapshot(document({}))).toBe(true)
      expect(Snapshot.isSnapshot(document({ recoveries: { ask: 2 } }))).toBe(true)
      const error = yield* Effect.flip(Snapshot.decodeUnknown(document({ recoveries: { ask: -1 } })))
      expect(error.message).toBe(
        "Invalid snapshot at steps.work.queue[0].recoveries.ask: expected a non-negative integer, got -1"
      )
    }))

  it.effect("a StepFailedEvent's input event decodes through the workflow's classes only", () =>
    Effect.gen(function*() {
      const wf = makeWorkflow(() => {})
      const document = {
        version: 1,
        workflow: "recover-snapshot",
        runId: "r",
        isRunning: true,
        state: {},
        streamSequence: 0,
        steps: {
          ask: {
            queue: [{
              event: {
                _tag: "StepFailedEvent",
                stepName: "work",
                inputEvent: { _tag: "Unknown" },
                error: "x",
                attempts: 1,
                elapsedSeconds: 0,
                failedAt: 0
              },
              failures: 0,
              firstAttemptAt: null,
              lastFailedAt: null,
              lastError: null,
              retryAt: null
            }],
            inProgress: [],
            collected: {},
            waiters: []
          }
        }
      }
      const error = yield* Effect.flip(Effect.scoped(Workflow.resume(wf, document)))
      expect(error.message).toBe("Unknown event type 'Unknown' at steps.ask.queue[0].event.inputEvent")
    }))
})
