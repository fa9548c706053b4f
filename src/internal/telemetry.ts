/**
 * Spans and log annotations of runs and step executions.
 *
 * Spans cost nothing when nobody reads them: whether a run makes any is decided once, when it
 * starts, from the calling fiber (a `Tracer` other than Effect's default one, tracing enabled).
 * A run then has a span `workflow <name>` under the caller's span, and each step execution a
 * span `step <name>` under it, which its body sees as its parent span. Log annotations are one
 * `FiberRefs` value per worker fiber and step (the worker's refs with the run's and the step's
 * annotations), made and set when a worker starts an execution of another step than its last
 * one, and restored, as every ref, when an execution ends (see isolation.ts); a run's state
 * keeps none of them.
 */
import type * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import type * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import type * as FiberId from "effect/FiberId"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import * as Hash from "effect/Hash"
import * as HashMap from "effect/HashMap"
import * as Option from "effect/Option"
import * as Tracer from "effect/Tracer"

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

const hashes = {
  workflow: Hash.hash(keys.workflow),
  runId: Hash.hash(keys.runId),
  step: Hash.hash(keys.step)
}

// `HashMap.set` with the key's hash computed once
const set = (
  map: HashMap.HashMap<string, unknown>,
  key: string,
  hash: number,
  value: unknown
): HashMap.HashMap<string, unknown> => HashMap.modifyHash(map, key, hash, () => Option.some(value))

/** The log annotations `base` with the run's. @internal */
export const runAnnotations = (
  base: HashMap.HashMap<string, unknown>,
  workflow: string,
  runId: string
): HashMap.HashMap<string, unknown> =>
  set(set(base, keys.workflow, hashes.workflow, workflow), keys.runId, hashes.runId, runId)

/** The log annotations of a run's with a step's. @internal */
export const stepAnnotations = (
  run: HashMap.HashMap<string, unknown>,
  step: string
): HashMap.HashMap<string, unknown> => set(run, keys.step, hashes.step, step)

/** The log annotations of a fiber's refs. @internal */
export const annotationsOf = (refs: FiberRefs.FiberRefs): HashMap.HashMap<string, unknown> =>
  FiberRefs.getOrDefault(refs, FiberRef.currentLogAnnotations)

/**
 * Sets `fiber`'s own log annotations in refs that nothing but the fiber holds, in place (Effect
 * 3 specific: a fiber's refs are one `Map` of stacks of values by fiber id, made for the fiber
 * when it is forked; the stacks may be shared, the map is not). @internal
 */
export const annotateInPlace = (
  refs: FiberRefs.FiberRefs,
  fiber: Fiber.RuntimeFiber<any, any>,
  value: HashMap.HashMap<string, unknown>
): void => {
  type Stack = readonly [readonly [FiberId.Single, unknown], ...Array<readonly [FiberId.Single, unknown]>]
  const locals = refs.locals as unknown as Map<FiberRef.FiberRef<any>, Stack>
  const id = fiber.id()
  const stack = locals.get(FiberRef.currentLogAnnotations)
  // a new array: the one there may be shared with other refs (a copy of these refs has it)
  const head = [id, value] as const
  let next: Stack
  if (stack === undefined || (stack.length === 1 && stack[0][0] === id)) next = [head]
  else if (stack[0][0] === id) next = [head, ...stack.slice(1)]
  else next = [head, ...stack]
  locals.set(FiberRef.currentLogAnnotations, next)
}
