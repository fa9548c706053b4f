/**
 * Spans, log annotations and metrics of runs and step executions.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"
import * as Metric from "effect/Metric"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import * as Tracer from "effect/Tracer"
import { Event, Step, Workflow, WorkflowMetrics } from "effect-workflows"
import * as WorkflowMetricsModule from "effect-workflows/WorkflowMetrics"
import { WorkflowTest } from "effect-workflows/testing"

class Item extends Schema.TaggedClass<Item>()("Item", { n: Schema.Number }) {}
class Next extends Schema.TaggedClass<Next>()("Next", { n: Schema.Number }) {}
class Flaky extends Schema.TaggedClass<Flaky>()("Flaky", {}) {}

const { HumanResponseEvent, StartEvent, StopEvent } = Event

// -------------------------------------------------------------------------------------------------
// a tracer that keeps its spans
// -------------------------------------------------------------------------------------------------

class TestSpan implements Tracer.Span {
  readonly _tag = "Span"
  readonly traceId = "trace"
  readonly sampled = true
  readonly attributes = new Map<string, unknown>()
  status: Tracer.SpanStatus
  links: Array<Tracer.SpanLink>
  constructor(
    readonly spanId: string,
    readonly name: string,
    readonly parent: Option.Option<Tracer.AnySpan>,
    readonly context: Context.Context<never>,
    links: ReadonlyArray<Tracer.SpanLink>,
    startTime: bigint,
    readonly kind: Tracer.SpanKind
  ) {
    this.status = { _tag: "Started", startTime }
    this.links = [...links]
  }
  end(endTime: bigint, exit: Exit.Exit<unknown, unknown>) {
    if (this.status._tag === "Started") this.status = { _tag: "Ended", startTime: this.status.startTime, endTime, exit }
  }
  attribute(key: string, value: unknown) {
    this.attributes.set(key, value)
  }
  event() {}
  addLinks(links: ReadonlyArray<Tracer.SpanLink>) {
    this.links.push(...links)
  }
}

const makeTracer = () => {
  const spans: Array<TestSpan> = []
  const tracer = Tracer.make({
    span: (name, parent, context, links, startTime, kind) => {
      const span = new TestSpan(`span-${spans.length + 1}`, name, parent, context, links, startTime, kind)
      spans.push(span)
      return span
    },
    context: (f) => f()
  })
  return { tracer, spans }
}

const parentName = (span: TestSpan, spans: ReadonlyArray<TestSpan>): string | undefined =>
  Option.match(span.parent, {
    onNone: () => undefined,
    onSome: (parent) => spans.find((s) => s.spanId === parent.spanId)?.name ?? `external ${parent.spanId}`
  })

/** The spans as an indented tree, children in the order they started. */
const tree = (spans: ReadonlyArray<TestSpan>): Array<string> => {
  const lines: Array<string> = []
  const visit = (span: TestSpan, depth: number) => {
    const attempt = span.attributes.get("workflow.step.attempt")
    lines.push(`${"  ".repeat(depth)}${span.name}${attempt === undefined ? "" : ` #${attempt}`}`)
    for (const child of spans) {
      if (Option.isSome(child.parent) && child.parent.value.spanId === span.spanId) visit(child, depth + 1)
    }
  }
  for (const span of spans) if (Option.isNone(span.parent)) visit(span, 0)
  return lines
}

const exitOf = (span: TestSpan) => span.status._tag === "Ended" ? span.status.exit : undefined

// -------------------------------------------------------------------------------------------------
// spans
// -------------------------------------------------------------------------------------------------

describe("spans", () => {
  const flakyStep = () => {
    let calls = 0
    return Step.make("flaky", { on: Flaky, emits: [StopEvent], retry: Schedule.recurs(1) }, () =>
      Effect.suspend(() =>
        ++calls === 1
          ? Effect.fail("first attempt fails" as const)
          : Effect.withSpan(Effect.succeed(new StopEvent({ result: "done" })), "inner")
      ))
  }
  const startStep = Step.make("start", { on: StartEvent, emits: [Flaky] }, () => Effect.succeed(new Flaky()))

  it.effect("a run's span under the caller's, one per step execution under it, a failure on its span", () =>
    Effect.gen(function*() {
      const { spans, tracer } = makeTracer()
      const wf = Workflow.make({ name: "traced", steps: [startStep, flakyStep()] })
      const result = yield* Workflow.run(wf, undefined, { runId: "run-1" }).pipe(
        Effect.withSpan("caller"),
        Effect.withTracer(tracer)
      )
      expect(result).toBe("done")
      expect(tree(spans)).toEqual([
        "caller",
        "  workflow traced",
        "    step start #1",
        "    step flaky #1",
        "    step flaky #2",
        "      inner"
      ])
      const [, run, start, failed, retried] = spans
      expect(Object.fromEntries(run!.attributes)).toEqual({
        "workflow.name": "traced",
        "workflow.run_id": "run-1",
        "workflow.outcome": "completed"
      })
      expect(Object.fromEntries(start!.attributes)).toEqual({
        "workflow.name": "traced",
        "workflow.run_id": "run-1",
        "workflow.step": "start",
        "workflow.step.attempt": 1,
        "workflow.step.worker_id": "0",
        "workflow.step.input_event": "StartEvent",
        "workflow.step.output_event": "Flaky"
      })
      expect([failed!.attributes.get("workflow.step.attempt"), failed!.attributes.get("workflow.step.output_event")])
        .toEqual([1, undefined])
      expect(exitOf(failed!)).toEqual(Exit.fail("first attempt fails"))
      expect(retried!.attributes.get("workflow.step.attempt")).toBe(2)
      expect(exitOf(retried!)).toEqual(Exit.succeed(new StopEvent({ result: "done" })))
      expect(exitOf(run!)).toEqual(Exit.succeed("done"))
      expect(spans.every((span) => span.status._tag === "Ended")).toBe(true)
    }))

  it.effect("a failed run's span records its failure and outcome", () =>
    Effect.gen(function*() {
      const { spans, tracer } = makeTracer()
      const fails = Step.make("fails", { on: StartEvent, emits: [StopEvent] }, () => Effect.fail("boom" as const))
      const wf = Workflow.make({ name: "traced-failure", steps: [fails] })
      const exit = yield* Effect.exit(Workflow.run(wf).pipe(Effect.withTracer(tracer)))
      expect(exit).toEqual(Exit.fail("boom"))
      expect(tree(spans)).toEqual(["workflow traced-failure", "  step fails #1"])
      expect(spans.map(exitOf)).toEqual([Exit.fail("boom"), Exit.fail("boom")])
      expect(spans[0]!.attributes.get("workflow.outcome")).toBe("failed")
    }))

  it.effect("with Effect's default tracer no span is made: a step sees the caller's span", () =>
    Effect.gen(function*() {
      const seen: Array<string> = []
      const look = Step.make("look", { on: StartEvent, emits: [StopEvent] }, () =>
        Effect.map(Effect.currentSpan, (span) => {
          seen.push(span.name)
          return new StopEvent({ result: null })
        }))
      const wf = Workflow.make({ name: "untraced", steps: [look] })
      yield* Workflow.run(wf).pipe(Effect.withSpan("caller"))
      expect(seen).toEqual(["caller"])
      const { tracer } = makeTracer()
      yield* Workflow.run(wf).pipe(Effect.withSpan("caller"), Effect.withTracer(tracer))
      expect(seen).toEqual(["caller", "step look"])
    }))

  it.effect("tracing disabled: no span", () =>
    Effect.gen(function*() {
      const { spans, tracer } = makeTracer()
      const echo = Step.make("echo", { on: StartEvent, emits: [StopEvent] }, () => Effect.succeed(new StopEvent({ result: null })))
      yield* Workflow.run(Workflow.make({ name: "disabled", steps: [echo] })).pipe(
        Effect.withTracerEnabled(false),
        Effect.withTracer(tracer)
      )
      expect(spans).toEqual([])
    }))

  it.effect("a run started inside a step is traced under that step's span", () =>
    Effect.gen(function*() {
      const { spans, tracer } = makeTracer()
      const leaf = Step.make("leaf", { on: StartEvent, emits: [StopEvent] }, () => Effect.succeed(new StopEvent({ result: null })))
      const inner = Workflow.make({ name: "inner", steps: [leaf] })
      const outerStep = Step.make("outer", { on: StartEvent, emits: [StopEvent] }, () =>
        Effect.map(Workflow.run(inner), () => new StopEvent({ result: null })))
      yield* Workflow.run(Workflow.make({ name: "outer", steps: [outerStep] })).pipe(Effect.withTracer(tracer))
      expect(tree(spans)).toEqual(["workflow outer", "  step outer #1", "    workflow inner", "      step leaf #1"])
    }))

  it.scoped("a span made current by one execution is not seen by the next on the same worker", () =>
    Effect.gen(function*() {
      const { spans, tracer } = makeTracer()
      const seen: Array<string> = []
      const step = Step.make("s", { on: Item, emits: [], workers: 1 }, () =>
        Effect.gen(function*() {
          seen.push((yield* Effect.currentSpan).name)
          const leaked = yield* Effect.makeSpan("leaked")
          yield* FiberRef.update(FiberRef.currentContext, Context.add(Tracer.ParentSpan, leaked))
        }))
      const start = Step.make("start", { on: StartEvent, emits: [Item] }, (_, ctx) =>
        Effect.forEach([1, 2, 3], (n) => ctx.sendEvent(new Item({ n })), { discard: true }))
      // runs until cancelled: not a valid workflow (nothing stops it), not validated
      const wf = Workflow.make({ name: "span-isolation", steps: [start, step], validation: false })
      const handler = yield* Workflow.start(wf).pipe(Effect.withTracer(tracer))
      yield* WorkflowTest.untilIdle(handler)
      expect(seen).toEqual(["step s", "step s", "step s"])
      expect(spans.filter((span) => span.name === "step s").map((span) => parentName(span, spans))).toEqual([
        "workflow span-isolation",
        "workflow span-isolation",
        "workflow span-isolation"
      ])
      yield* handler.cancel
      expect(spans[0]!.attributes.get("workflow.outcome")).toBe("cancelled")
    }))

  it.effect("the span of an execution interrupted by the run's end is ended as interrupted", () =>
    Effect.gen(function*() {
      const { spans, tracer } = makeTracer()
      const start = Step.make("start", { on: StartEvent, emits: [Item, Next] }, (_, ctx) =>
        Effect.zipRight(ctx.sendEvent(new Item({ n: 1 })), ctx.sendEvent(new Next({ n: 2 }))))
      const slow = Step.make("slow", { on: Item, emits: [StopEvent] }, () => Effect.as(Effect.never, new StopEvent({ result: null })))
      const fast = Step.make("fast", { on: Next, emits: [StopEvent] }, () =>
        Effect.as(Effect.sleep("1 second"), new StopEvent({ result: "fast" })))
      const wf = Workflow.make({ name: "interrupted-span", steps: [start, slow, fast] })
      const run = yield* Effect.fork(Workflow.run(wf).pipe(Effect.withTracer(tracer)))
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(run)).toBe("fast")
      const slowSpan = spans.find((span) => span.name === "step slow")!
      const exit = exitOf(slowSpan)
      expect(exit !== undefined && Exit.isFailure(exit) && Cause.isInterruptedOnly(exit.cause)).toBe(true)
    }))
})

// -------------------------------------------------------------------------------------------------
// log annotations
// -------------------------------------------------------------------------------------------------

interface Captured {
  readonly message: unknown
  readonly annotations: Record<string, unknown>
}

const captureLogs = () => {
  const logs: Array<Captured> = []
  const logger = Logger.make(({ annotations, message }) => {
    logs.push({
      message: Array.isArray(message) && message.length === 1 ? message[0] : message,
      annotations: Object.fromEntries(HashMap.toEntries(annotations))
    })
  })
  return { logs, layer: Logger.add(logger) }
}

describe("log annotations", () => {
  it.scoped("a run without a given id gets a random version 4 UUID, in its logs too", () =>
    Effect.gen(function*() {
      const { layer, logs } = captureLogs()
      const echo = Step.make("echo", { on: StartEvent, emits: [StopEvent] }, () =>
        Effect.as(Effect.log("echo"), new StopEvent({ result: null })))
      const wf = Workflow.make({ name: "uuid", steps: [echo] })
      const ids: Array<string> = []
      for (let i = 0; i < 300; i++) {
        const handler = yield* Workflow.start(wf).pipe(Effect.provide(layer))
        yield* handler.result
        ids.push(handler.runId)
      }
      const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
      expect(ids.filter((id) => !uuid.test(id))).toEqual([])
      expect(new Set(ids).size).toBe(300)
      expect(logs.map((log) => log.annotations["workflow.run_id"])).toEqual(ids)
    }))


  it.effect("every log in a step has the workflow, the run id and the step, besides the caller's", () =>
    Effect.gen(function*() {
      const { layer, logs } = captureLogs()
      const draft = Step.make("draft", { on: StartEvent, emits: [Next] }, () =>
        Effect.as(Effect.log("drafting"), new Next({ n: 1 })))
      const review = Step.make("review", { on: Next, emits: [StopEvent] }, () =>
        Effect.as(Effect.logWarning("reviewing"), new StopEvent({ result: null })))
      const wf = Workflow.make({ name: "logged", steps: [draft, review] })
      yield* Effect.gen(function*() {
        yield* Effect.log("before")
        yield* Workflow.run(wf, undefined, { runId: "run-7" })
        yield* Effect.log("after")
      }).pipe(Effect.annotateLogs("request", "r1"), Effect.provide(layer))
      const run = { "request": "r1", "workflow.name": "logged", "workflow.run_id": "run-7" }
      expect(logs).toEqual([
        { message: "before", annotations: { request: "r1" } },
        { message: "drafting", annotations: { ...run, "workflow.step": "draft" } },
        { message: "reviewing", annotations: { ...run, "workflow.step": "review" } },
        { message: "after", annotations: { request: "r1" } }
      ])
    }))

  it.scoped("annotations set by one execution are not seen by the next on the same worker", () =>
    Effect.gen(function*() {
      const { layer, logs } = captureLogs()
      const step = Step.make("s", { on: Item, emits: [Next], workers: 1 }, (item) =>
        Effect.gen(function*() {
          yield* Effect.log(`item ${item.n}`)
          yield* FiberRef.update(FiberRef.currentLogAnnotations, HashMap.set<string, unknown>("leaked", item.n))
          yield* Effect.log(`item ${item.n} annotated`)
          return new Next({ n: item.n })
        }))
      const after = Step.make("after", { on: Next, emits: [], workers: 1 }, (next) => Effect.log(`next ${next.n}`))
      const start = Step.make("start", { on: StartEvent, emits: [Item] }, (_, ctx) =>
        Effect.forEach([1, 2], (n) => ctx.sendEvent(new Item({ n })), { discard: true }))
      const wf = Workflow.make({ name: "log-isolation", steps: [start, step, after], validation: false })
      const handler = yield* Workflow.start(wf, undefined, { runId: "run-8" }).pipe(Effect.provide(layer))
      yield* WorkflowTest.untilIdle(handler)
      const base = { "workflow.name": "log-isolation", "workflow.run_id": "run-8" }
      const s = { ...base, "workflow.step": "s" }
      const next = { ...base, "workflow.step": "after" }
      expect([...logs].sort((a, b) => String(a.message).localeCompare(String(b.message)))).toEqual([
        { message: "item 1", annotations: s },
        { message: "item 1 annotated", annotations: { ...s, leaked: 1 } },
        { message: "item 2", annotations: s },
        { message: "item 2 annotated", annotations: { ...s, leaked: 2 } },
        { message: "next 1", annotations: next },
        { message: "next 2", annotations: next }
      ])
      yield* handler.cancel
    }))

  it.effect("a fiber a step forks logs as its step; a run started by a step has its own; a step's own annotation wins", () =>
    Effect.gen(function*() {
      const { layer, logs } = captureLogs()
      const inner = Step.make("inner", { on: StartEvent, emits: [StopEvent] }, () =>
        Effect.as(Effect.log("inner"), new StopEvent({ result: 1 })))
      const innerWf = Workflow.make({ name: "inner-wf", steps: [inner] })
      const outer = Step.make("outer", { on: StartEvent, emits: [StopEvent] }, () =>
        Effect.gen(function*() {
          yield* Fiber.join(yield* Effect.fork(Effect.log("forked")))
          const result = yield* Workflow.run(innerWf, undefined, { runId: "inner-1" })
          yield* Effect.log("after inner").pipe(Effect.annotateLogs("workflow.step", "renamed"))
          return new StopEvent({ result })
        }))
      const outerWf = Workflow.make({ name: "outer-wf", steps: [outer] })
      yield* Workflow.run(outerWf, undefined, { runId: "outer-1" }).pipe(Effect.provide(layer))
      const outerRun = { "workflow.name": "outer-wf", "workflow.run_id": "outer-1" }
      expect(logs).toEqual([
        { message: "forked", annotations: { ...outerRun, "workflow.step": "outer" } },
        {
          message: "inner",
          annotations: { "workflow.name": "inner-wf", "workflow.run_id": "inner-1", "workflow.step": "inner" }
        },
        { message: "after inner", annotations: { ...outerRun, "workflow.step": "renamed" } }
      ])
    }))
})

// -------------------------------------------------------------------------------------------------
// metrics
// -------------------------------------------------------------------------------------------------

describe("metrics", () => {
  it("the module is exported under its own path and from the index", () => {
    expect(WorkflowMetricsModule.runsCompleted).toBe(WorkflowMetrics.runsCompleted)
    expect(WorkflowMetrics.workflowLabels("w").map((label) => [label.key, label.value])).toEqual([["workflow", "w"]])
  })

  it.effect("runs by outcome and step durations, tagged with the workflow (and the step)", () =>
    Effect.gen(function*() {
      const work = Step.make("work", { on: StartEvent, emits: [StopEvent] }, (ev, ctx) => {
        switch (ev.input) {
          case "fail":
            return Effect.fail("failed" as const)
          case "slow":
            return Effect.as(Effect.sleep("250 millis"), new StopEvent({ result: "slow" }))
          case "wait":
            return Effect.map(ctx.waitForEvent(HumanResponseEvent), (answer) => new StopEvent({ result: answer.response }))
          default:
            return Effect.succeed(new StopEvent({ result: ev.input }))
        }
      })
      const wf = Workflow.make({ name: "metered", steps: [work], timeout: "10 seconds" })
      const value = <Out>(metric: Metric.Metric<any, any, Out>) =>
        Metric.value(WorkflowMetrics.forWorkflow(metric, "metered"))

      for (const input of ["a", "b", "c"]) yield* Workflow.run(wf, new StartEvent({ input }))
      const slow = yield* Effect.fork(Workflow.run(wf, new StartEvent({ input: "slow" })))
      yield* TestClock.adjust("250 millis")
      yield* Fiber.join(slow)
      yield* Effect.exit(Workflow.run(wf, new StartEvent({ input: "fail" })))
      yield* Effect.scoped(Effect.gen(function*() {
        const handler = yield* Workflow.start(wf, new StartEvent({ input: "wait" }))
        yield* WorkflowTest.untilIdle(handler)
        yield* handler.cancel
      }))
      const timedOut = yield* Effect.fork(Effect.exit(Workflow.run(wf, new StartEvent({ input: "wait" }))))
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(timedOut)

      expect((yield* value(WorkflowMetrics.runsStarted)).count).toBe(7)
      expect((yield* value(WorkflowMetrics.runsCompleted)).count).toBe(4)
      expect((yield* value(WorkflowMetrics.runsFailed)).count).toBe(1)
      expect((yield* value(WorkflowMetrics.runsCancelled)).count).toBe(1)
      expect((yield* value(WorkflowMetrics.runsTimedOut)).count).toBe(1)
      // the waiting executions were interrupted: not recorded
      const durations = yield* Metric.value(WorkflowMetrics.forStep(WorkflowMetrics.stepDuration, "metered", "work"))
      expect([durations.count, durations.sum, durations.max]).toEqual([5, 250, 250])
      // another workflow's figures are apart
      expect((yield* Metric.value(WorkflowMetrics.forWorkflow(WorkflowMetrics.runsCompleted, "nope"))).count).toBe(0)
    }).pipe(WorkflowMetrics.withEnabled(true)))

  it.effect("the metrics' names and tags, as an exporter sees them", () =>
    Effect.gen(function*() {
      const only = Step.make("only", { on: StartEvent, emits: [StopEvent] }, () =>
        Effect.succeed(new StopEvent({ result: null })))
      yield* Workflow.run(Workflow.make({ name: "exported", steps: [only] })).pipe(WorkflowMetrics.withEnabled(true))
      const pairs = (yield* Metric.snapshot).filter((pair) =>
        pair.metricKey.tags.some((tag) => tag.key === "workflow" && tag.value === "exported")
      )
      expect(
        pairs.map((pair) => [pair.metricKey.name, pair.metricKey.tags.map((tag) => `${tag.key}=${tag.value}`)]).sort()
      ).toEqual([
        ["effect_workflows_queue_depth", ["workflow=exported"]],
        ["effect_workflows_runs_cancelled", ["workflow=exported"]],
        ["effect_workflows_runs_completed", ["workflow=exported"]],
        ["effect_workflows_runs_failed", ["workflow=exported"]],
        ["effect_workflows_runs_started", ["workflow=exported"]],
        ["effect_workflows_runs_timed_out", ["workflow=exported"]],
        ["effect_workflows_step_duration_ms", ["workflow=exported", "step=only"]]
      ])
    }))

  it.effect("off unless enabled: runs started without them update none; the layer and withEnabled turn them on", () =>
    Effect.gen(function*() {
      const item = Step.make("item", { on: StartEvent, emits: [Item] }, () => Effect.succeed(new Item({ n: 1 })))
      const done = Step.make("done", { on: Item, emits: [StopEvent] }, (ev) => Effect.succeed(new StopEvent({ result: ev.n })))
      const wf = Workflow.make({ name: "opt-in", steps: [item, done] })
      const started = Effect.map(Metric.value(WorkflowMetrics.forWorkflow(WorkflowMetrics.runsStarted, "opt-in")), (s) =>
        s.count)
      const executions = Effect.map(
        Metric.value(WorkflowMetrics.forStep(WorkflowMetrics.stepDuration, "opt-in", "done")),
        (s) => s.count
      )

      const exported = Effect.map(Metric.snapshot, (pairs) =>
        pairs.filter((pair) => pair.metricKey.tags.some((tag) => tag.value === "opt-in")).length)
      expect(yield* FiberRef.get(WorkflowMetrics.enabled)).toBe(false)
      yield* Workflow.run(wf)
      // not even a series at 0 for an exporter to show
      expect(yield* exported).toBe(0)
      expect([yield* started, yield* executions]).toEqual([0, 0])
      yield* Effect.provide(Workflow.run(wf), WorkflowMetrics.enable)
      expect([yield* started, yield* executions]).toEqual([1, 1])
      yield* WorkflowMetrics.withEnabled(Workflow.run(wf), true)
      // the innermost setting around the start wins
      yield* Workflow.run(wf).pipe(WorkflowMetrics.withEnabled(false), WorkflowMetrics.withEnabled(true))
      expect([yield* started, yield* executions]).toEqual([2, 2])
    }))

  it.effect("a run started by a step of a metered run is metered too", () =>
    Effect.gen(function*() {
      const inner = Workflow.make({
        name: "nested-inner",
        steps: [Step.make("i", { on: StartEvent, emits: [StopEvent] }, () => Effect.succeed(new StopEvent({ result: 1 })))]
      })
      const outer = Workflow.make({
        name: "nested-outer",
        steps: [Step.make("o", { on: StartEvent, emits: [StopEvent] }, () =>
          Effect.map(Workflow.run(inner), (result) => new StopEvent({ result })))]
      })
      const completed = (name: string) =>
        Effect.map(Metric.value(WorkflowMetrics.forWorkflow(WorkflowMetrics.runsCompleted, name)), (s) => s.count)
      yield* Workflow.run(outer).pipe(WorkflowMetrics.withEnabled(true))
      expect([yield* completed("nested-outer"), yield* completed("nested-inner")]).toEqual([1, 1])
    }))

  it.scoped("queue depth: events waiting for a worker, back to 0 when taken or when the run ends", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const started: Array<number> = []
      const slow = Step.make("slow", { on: Item, emits: [], workers: 1 }, (item) =>
        Effect.zipRight(Effect.sync(() => started.push(item.n)), Deferred.await(gate)))
      const start = Step.make("start", { on: StartEvent, emits: [Item] }, (_, ctx) =>
        Effect.forEach([1, 2, 3], (n) => ctx.sendEvent(new Item({ n })), { discard: true }))
      const wf = Workflow.make({ name: "queued", steps: [start, slow], validation: false })
      const depth = Effect.map(Metric.value(WorkflowMetrics.forWorkflow(WorkflowMetrics.queueDepth, "queued")), (s) =>
        s.value)

      const first = yield* Workflow.start(wf)
      yield* Effect.yieldNow()
      expect([started, yield* depth]).toEqual([[1], 2])
      const second = yield* Workflow.start(wf)
      yield* Effect.yieldNow()
      expect(yield* depth).toBe(4)
      // the second run ends with two events queued: they leave the queue depth
      yield* second.cancel
      expect(yield* depth).toBe(2)
      yield* Deferred.succeed(gate, undefined)
      yield* WorkflowTest.untilIdle(first)
      expect([started, yield* depth]).toEqual([[1, 1, 2, 3], 0])
      yield* first.cancel
    }).pipe(WorkflowMetrics.withEnabled(true)))

  it.scoped("queue depth: a run resumed from a snapshot counts the events its snapshot had queued", () =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<void>()
      const slow = Step.make("slow", { on: Item, emits: [], workers: 1 }, () => Deferred.await(gate))
      const start = Step.make("start", { on: StartEvent, emits: [Item] }, (_, ctx) =>
        Effect.forEach([1, 2, 3], (n) => ctx.sendEvent(new Item({ n })), { discard: true }))
      const wf = Workflow.make({ name: "requeued", steps: [start, slow], validation: false })
      const depth = Effect.map(Metric.value(WorkflowMetrics.forWorkflow(WorkflowMetrics.queueDepth, "requeued")), (s) =>
        s.value)

      // not metered: taken, snapshotted and cancelled without a trace in the gauge
      const first = yield* Workflow.start(wf)
      yield* Effect.yieldNow()
      const snapshot = yield* first.snapshot
      yield* first.cancel
      expect(yield* depth).toBe(0)

      // resumed metered: the slow step's execution runs again, two events wait behind it
      const resumed = yield* WorkflowMetrics.withEnabled(Workflow.resume(wf, snapshot), true)
      yield* Effect.yieldNow()
      expect(yield* depth).toBe(2)
      yield* Deferred.succeed(gate, undefined)
      yield* WorkflowTest.untilIdle(resumed)
      expect(yield* depth).toBe(0)
      yield* resumed.cancel
    }))
})
