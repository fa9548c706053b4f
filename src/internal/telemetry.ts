/**
 * Spans and log annotations of runs and step executions.
 *
 * Spans cost nothing when nobody reads them: whether a run makes any is decided once, when it
 * starts, from the calling fiber (a `Tracer` other than Effect's default one, tracing enabled).
 * A run then has a span `workflow <name>` under the caller's span, and each step execution a
 * span `step <name>` under it, which its body sees as its parent span.
 *
 * Log annotations cost nothing until a step logs: a run's fibers start with the caller's
 * loggers, each made to add the annotations of the step execution that logs (found in the
 * logging fiber's context) to what it is given. Nothing is set per execution, and a run's id
 * is made only when something reads it. The price: `Logger.replace` inside a step body cannot
 * find the logger it replaces (the run has its annotating copy), so that copy logs too.
 */
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as HashMap from "effect/HashMap"
import * as HashSet from "effect/HashSet"
import * as Logger from "effect/Logger"
import type * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"
import * as WorkflowContext from "../WorkflowContext.js"
import { CurrentContext } from "./context.js"
import * as isolation from "./isolation.js"

/** The names of the span attributes and log annotations. @internal */
export const keys = {
  workflow: "workflow.name",
  runId: "workflow.run_id",
  outcome: "workflow.outcome",
  step: "workflow.step",
  attempt: "workflow.step.attempt",
  workerId: "workflow.step.worker_id",
  input: "workflow.step.input_event",
  output: "workflow.step.output_event"
} as const

/** Effect's default tracer: its spans go nowhere. */
const nativeTracer: Tracer.Tracer = Context.get(DefaultServices.liveServices, Tracer.Tracer)

/** What a run traces with. @internal */
export interface Tracing {
  readonly tracer: Tracer.Tracer
  /** The caller's span: the run's span is its child. */
  readonly parent: Option.Option<Tracer.AnySpan>
  readonly timing: boolean
}

/**
 * What a run started from `fiber` traces with, or `undefined` when its spans would go nowhere
 * (Effect's default tracer, or tracing disabled). @internal
 */
export const tracingOf = (fiber: Fiber.RuntimeFiber<any, any>): Tracing | undefined => {
  const tracer = Context.get(fiber.currentDefaultServices, Tracer.Tracer)
  if (tracer === nativeTracer || !fiber.getFiberRef(FiberRef.currentTracerEnabled)) return undefined
  return {
    tracer,
    parent: Context.getOption(fiber.currentContext, Tracer.ParentSpan),
    timing: fiber.getFiberRef(FiberRef.currentTracerTimingEnabled)
  }
}

const bigint0 = BigInt(0)

/** Starts a span. @internal */
export const startSpan = (
  tracing: Tracing,
  clock: Clock.Clock,
  name: string,
  parent: Option.Option<Tracer.AnySpan>
): Tracer.Span =>
  tracing.tracer.span(
    name,
    parent,
    Context.empty(),
    [],
    tracing.timing ? clock.unsafeCurrentTimeNanos() : bigint0,
    "internal"
  )

/** Ends a span (once). @internal */
export const endSpan = (
  tracing: Tracing,
  clock: Clock.Clock,
  span: Tracer.Span,
  exit: Exit.Exit<unknown, unknown>
): void => {
  if (span.status._tag === "Ended") return
  span.end(tracing.timing ? clock.unsafeCurrentTimeNanos() : bigint0, exit)
}

type Loggers = HashSet.HashSet<Logger.Logger<unknown, any>>

/**
 * Adds the annotations of the step execution whose fiber logs (its context's `WorkflowContext`
 * is a worker's), where the fiber has not set them itself.
 */
const withStepAnnotations = (options: Logger.Logger.Options<unknown>): Logger.Logger.Options<unknown> => {
  const context = FiberRefs.getOrDefault(options.context, FiberRef.currentContext)
  const current = Context.getOrElse(context, WorkflowContext.WorkflowContext, () => undefined)
  if (!(current instanceof CurrentContext)) return options
  const execution = current.current
  const annotations = stepAnnotations(
    options.annotations,
    execution.run.state.workflow.name,
    execution.run.state,
    execution.step.step.name
  )
  return annotations === options.annotations ? options : { ...options, annotations }
}

/** The log annotations of a step execution added to what its fiber set (which wins). */
const stepAnnotations = (
  base: HashMap.HashMap<string, unknown>,
  workflow: string,
  run: { readonly runId: string },
  step: string
): HashMap.HashMap<string, unknown> => {
  let annotations = base
  if (!HashMap.has(annotations, keys.workflow)) annotations = HashMap.set(annotations, keys.workflow, workflow)
  if (!HashMap.has(annotations, keys.runId)) annotations = HashMap.set(annotations, keys.runId, run.runId)
  if (!HashMap.has(annotations, keys.step)) annotations = HashMap.set(annotations, keys.step, step)
  return annotations
}

// every set of loggers a run started with, and its annotating counterpart (made once)
const annotatingSets = new WeakMap<Loggers, Loggers>()
const annotating = new WeakSet<Loggers>()

const annotatingLoggers = (loggers: Loggers): Loggers => {
  if (annotating.has(loggers)) return loggers
  let set = annotatingSets.get(loggers)
  if (set === undefined) {
    set = HashSet.map(loggers, Logger.mapInputOptions(withStepAnnotations))
    annotatingSets.set(loggers, set)
    annotating.add(set)
  }
  return set
}

// the fiber refs of a caller and what its runs start from (the same while the caller sets no ref)
const runRefs = new WeakMap<FiberRefs.FiberRefs, FiberRefs.FiberRefs>()

/**
 * The fiber refs a run's fibers start from: the caller's, with its loggers made to add the
 * annotations of the step execution that logs. Read from the fiber as they are (a fiber's refs
 * are never changed in place, and `getFiberRefs()` would first make a copy to write its runtime
 * flags, which a run's fibers take from their runtime), so that the runs a fiber starts one after
 * another share one value. @internal
 */
export const runFiberRefs = (fiber: Fiber.RuntimeFiber<any, any>): FiberRefs.FiberRefs => {
  const refs = isolation.save(fiber)
  let forRuns = runRefs.get(refs)
  if (forRuns === undefined) {
    const loggers = FiberRefs.getOrDefault(refs, FiberRef.currentLoggers)
    const annotatingSet = annotatingLoggers(loggers)
    forRuns = annotatingSet === loggers
      ? refs
      : FiberRefs.updateAs(refs, { fiberId: fiber.id(), fiberRef: FiberRef.currentLoggers, value: annotatingSet })
    runRefs.set(refs, forRuns)
  }
  return forRuns
}
