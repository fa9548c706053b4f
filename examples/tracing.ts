/**
 * Tracing with OpenTelemetry, log annotations and metrics: a three-step workflow whose search
 * step fails once and is retried, and whose summary step fails for good and is recovered by a
 * `Step.catchError` handler. The spans are exported with `@effect/opentelemetry` to an
 * in-memory exporter and printed as a tree (a span per run under the caller's span, a span per
 * step execution under it, failed attempts marked); the logs written inside the steps carry the
 * workflow, the run id and the step; the run counters, enabled with `WorkflowMetrics.enable`, are
 * read from `WorkflowMetrics`.
 *
 * Run with: npx tsx examples/tracing.ts
 */
import { NodeSdk } from "@effect/opentelemetry"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Console, Data, Effect, HashMap, Logger, Metric, Schedule, Schema } from "effect"
import { Event, Step, Workflow, WorkflowMetrics } from "effect-workflows"
import { isMain } from "./main.js"

class Query extends Schema.TaggedClass<Query>()("Query", { text: Schema.String }) {}
class Found extends Schema.TaggedClass<Found>()("Found", { hits: Schema.Number }) {}
class Unavailable extends Data.TaggedError("Unavailable")<{ readonly service: string }> {}

let searches = 0

const plan = Step.make("plan", { on: Event.StartEvent, emits: [Query] }, (ev) =>
  Effect.as(Effect.log("planning"), new Query({ text: String(ev.input) })))

// fails on its first attempt, succeeds on its second
const search = Step.make("search", { on: Query, emits: [Found], retry: Schedule.recurs(1) }, (query) =>
  Effect.gen(function*() {
    yield* Effect.log(`searching for ${query.text}`)
    if (++searches === 1) return yield* new Unavailable({ service: "index" })
    // a span of the step's own: a child of the step's span
    return yield* Effect.withSpan(Effect.succeed(new Found({ hits: 3 })), "index.query")
  }))

// fails for good: its handler answers instead
const summarize = Step.make("summarize", { on: Found, emits: [Event.StopEvent] }, () =>
  Effect.zipRight(Effect.log("summarizing"), new Unavailable({ service: "llm" })))

const fallback = Step.catchError(
  "fallback",
  { forSteps: [summarize], emits: [Event.StopEvent] },
  (failed) =>
    Effect.as(
      Effect.logWarning(`${failed.stepName} failed: ${failed.error._tag}`),
      new Event.StopEvent({ result: `${failed.inputEvent.hits} hits, no summary (${failed.error._tag})` })
    )
)

export const research = Workflow.make({ name: "research", steps: [plan, search, summarize, fallback] })

// -------------------------------------------------------------------------------------------------
// printing
// -------------------------------------------------------------------------------------------------

const exporter = new InMemorySpanExporter()

const TracingLive = NodeSdk.layer(() => ({
  resource: { serviceName: "tracing-example" },
  spanProcessor: new SimpleSpanProcessor(exporter)
}))

/** Prints each log line with its annotations, without the time (the output stays the same). */
const PrintLogs = Logger.replace(
  Logger.defaultLogger,
  Logger.make(({ annotations, logLevel, message }) => {
    const text = Array.isArray(message) ? message.join(" ") : String(message)
    const fields = HashMap.toEntries(annotations).sort(([a], [b]) => a.localeCompare(b))
    globalThis.console.log(`log ${logLevel.label}: ${text} {${fields.map(([k, v]) => `${k}=${String(v)}`).join(", ")}}`)
  })
)

const describeSpan = (span: ReadableSpan): string => {
  const attributes = span.attributes
  const attempt = attributes["workflow.step.attempt"]
  const details = [
    attempt === undefined ? undefined : `attempt ${attempt}`,
    attributes["workflow.step.input_event"] === undefined
      ? undefined
      : `${attributes["workflow.step.input_event"]} -> ${attributes["workflow.step.output_event"] ?? "nothing"}`,
    attributes["workflow.outcome"] === undefined ? undefined : `outcome ${attributes["workflow.outcome"]}`,
    span.status.code === 2 ? "error" : undefined
  ].filter((detail) => detail !== undefined)
  return details.length === 0 ? span.name : `${span.name} (${details.join(", ")})`
}

/** The finished spans as a tree: children under their parent, in the order they started. */
const spanTree = (spans: ReadonlyArray<ReadableSpan>): Array<string> => {
  const ids = new Set(spans.map((span) => span.spanContext().spanId))
  const started = (span: ReadableSpan) => span.startTime[0] * 1e9 + span.startTime[1]
  const children = (parent: string | undefined) =>
    spans
      .filter((span) => {
        const id = span.parentSpanContext?.spanId
        return parent === undefined ? id === undefined || !ids.has(id) : id === parent
      })
      .sort((a, b) => started(a) - started(b) || a.name.localeCompare(b.name))
  const lines: Array<string> = []
  const visit = (span: ReadableSpan, depth: number) => {
    lines.push(`${"  ".repeat(depth)}${describeSpan(span)}`)
    for (const child of children(span.spanContext().spanId)) visit(child, depth + 1)
  }
  for (const root of children(undefined)) visit(root, 0)
  return lines
}

const program = Effect.gen(function*() {
  const result = yield* Workflow.run(research, new Event.StartEvent({ input: "effect tracing" }), {
    runId: "run-1"
  }).pipe(Effect.withSpan("main"))
  yield* Console.log(`result: ${String(result)}`)

  const spans = exporter.getFinishedSpans()
  const run = spans.find((span) => span.name === "workflow research")!
  const { "workflow.name": name, "workflow.run_id": runId } = run.attributes
  yield* Console.log(`run span: workflow.name=${name}, workflow.run_id=${runId}`)
  for (const line of spanTree(spans)) yield* Console.log(`span: ${line}`)

  const completed = yield* Metric.value(WorkflowMetrics.forWorkflow(WorkflowMetrics.runsCompleted, "research"))
  const durations = yield* Metric.value(WorkflowMetrics.forStep(WorkflowMetrics.stepDuration, "research", "search"))
  yield* Console.log(`metrics: runs completed ${completed.count}, search executions ${durations.count}`)
  // metrics are opt-in: `WorkflowMetrics.enable` turns them on for the runs started below it
}).pipe(Effect.provide([TracingLive, PrintLogs, WorkflowMetrics.enable]))

if (isMain(import.meta.url)) Effect.runPromise(program)
