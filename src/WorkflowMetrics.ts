/**
 * The metrics the engine keeps, as Effect `Metric`s (in Effect's global metric registry): runs
 * started and ended by outcome, step execution durations, and the events waiting for a worker.
 * Every metric is tagged with `workflow` (the workflow's name); the step duration also with
 * `step`. Read one with `Metric.value` on the metric tagged the same way, or export them all
 * with a metrics layer (`@effect/opentelemetry`'s `Resource` and `Metrics`, Prometheus, ...).
 *
 * Their names, as exporters show them: `effect_workflows_runs_started`, `_runs_completed`,
 * `_runs_failed`, `_runs_cancelled`, `_runs_timed_out` (counters), `_step_duration_ms` (a
 * histogram) and `_queue_depth` (a gauge).
 *
 * They are opt-in, as Effect's own runtime metrics are: a run updates them when the fiber that
 * starts it has them enabled (`WorkflowMetrics.enable`, a layer, or `withEnabled`), decided once
 * when it starts. A run started without them costs nothing for them (a step execution's
 * duration, a counter and a gauge update per queued event are small, but not nothing).
 *
 * The engine updates them directly (not through the calling fiber), so the metric labels a
 * caller sets with `Effect.tagMetrics` are not added to them.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as FiberRef from "effect/FiberRef"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Metric from "effect/Metric"
import type * as MetricBoundaries from "effect/MetricBoundaries"
import type * as MetricLabel from "effect/MetricLabel"
import * as internal from "./internal/metrics.js"

/**
 * Whether the runs a fiber starts update the metrics: `false` unless enabled.
 *
 * @example
 * ```ts
 * import { Effect, FiberRef } from "effect"
 * import { WorkflowMetrics } from "effect-workflows"
 *
 * const on = FiberRef.get(WorkflowMetrics.enabled) // Effect<boolean>: false by default
 * ```
 *
 * @since 0.1.0
 * @category enabling
 */
export const enabled: FiberRef.FiberRef<boolean> = internal.enabled

/**
 * Runs the effect with the metrics of the runs it starts enabled or not.
 *
 * @example
 * ```ts
 * import { Workflow, WorkflowMetrics } from "effect-workflows"
 * import { jokes } from "./jokes.js"
 *
 * // this run updates the metrics; a run started inside one of its steps does too
 * const counted = Workflow.run(jokes).pipe(WorkflowMetrics.withEnabled(true))
 * ```
 *
 * @since 0.1.0
 * @category enabling
 */
export const withEnabled: {
  (enabled: boolean): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: Effect.Effect<A, E, R>, enabled: boolean): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: Effect.Effect<A, E, R>, on: boolean): Effect.Effect<A, E, R> => Effect.locally(self, enabled, on)
)

/**
 * A layer that enables the metrics of the runs started by what it is provided to (a server's
 * runs too).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { WorkflowMetrics } from "effect-workflows"
 * import { program } from "./program.js"
 *
 * Effect.runPromise(Effect.provide(program, WorkflowMetrics.enable))
 * ```
 *
 * @since 0.1.0
 * @category enabling
 */
export const enable: Layer.Layer<never> = Layer.locallyScoped(enabled, true)

/**
 * Runs started (a run resumed from a snapshot counts as a start). Every run started ends as
 * exactly one of completed, failed, cancelled or timed out.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { WorkflowMetrics } from "effect-workflows"
 *
 * const started = Metric.value(WorkflowMetrics.forWorkflow(WorkflowMetrics.runsStarted, "jokes"))
 * // Effect<MetricState.Counter<number>>: { count }
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const runsStarted: Metric.Metric.Counter<number> = Metric.fromMetricKey(internal.keys.runsStarted)

/**
 * Runs that ended with their stop event.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { WorkflowMetrics } from "effect-workflows"
 *
 * const completed = Effect.map(
 *   Metric.value(WorkflowMetrics.forWorkflow(WorkflowMetrics.runsCompleted, "jokes")),
 *   (state) => state.count
 * )
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const runsCompleted: Metric.Metric.Counter<number> = Metric.fromMetricKey(internal.keys.runsCompleted)

/**
 * Runs that failed: a step failed for good (and no error handler recovered it), or a handler
 * failed.
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { WorkflowMetrics } from "effect-workflows"
 *
 * const failed = Metric.value(WorkflowMetrics.forWorkflow(WorkflowMetrics.runsFailed, "jokes"))
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const runsFailed: Metric.Metric.Counter<number> = Metric.fromMetricKey(internal.keys.runsFailed)

/**
 * Runs cancelled: `handler.cancel`, or the scope of a run still going closed.
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { WorkflowMetrics } from "effect-workflows"
 *
 * const cancelled = Metric.value(WorkflowMetrics.forWorkflow(WorkflowMetrics.runsCancelled, "jokes"))
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const runsCancelled: Metric.Metric.Counter<number> = Metric.fromMetricKey(internal.keys.runsCancelled)

/**
 * Runs ended by their run timeout.
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { WorkflowMetrics } from "effect-workflows"
 *
 * const timedOut = Metric.value(WorkflowMetrics.forWorkflow(WorkflowMetrics.runsTimedOut, "jokes"))
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const runsTimedOut: Metric.Metric.Counter<number> = Metric.fromMetricKey(internal.keys.runsTimedOut)

/**
 * The boundaries of `stepDuration`, in milliseconds: 1, 2, 4, ... 2^19 (about 9 minutes).
 *
 * @example
 * ```ts
 * import { WorkflowMetrics } from "effect-workflows"
 *
 * WorkflowMetrics.stepDurationBoundaries.values.slice(0, 3) // [1, 2, 4]
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const stepDurationBoundaries: MetricBoundaries.MetricBoundaries = internal.stepDurationBoundaries

/**
 * The Clock time of each step execution, in milliseconds, from its start to its end (success,
 * failure before a retry, or final failure; a wait for an event is part of it), tagged with
 * `workflow` and `step`. An execution interrupted (its run ended) is not recorded.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { WorkflowMetrics } from "effect-workflows"
 *
 * const executions = Effect.map(
 *   Metric.value(WorkflowMetrics.forStep(WorkflowMetrics.stepDuration, "jokes", "draft")),
 *   (state) => state.count
 * )
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const stepDuration: Metric.Metric.Histogram<number> = Metric.fromMetricKey(internal.keys.stepDuration)

/**
 * The events waiting for a worker slot in the queues of the workflow's steps, over all its runs
 * going on in this process (an event queued when every worker of its step is busy, until a
 * worker takes it; the queues of a run that ends are emptied).
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { WorkflowMetrics } from "effect-workflows"
 *
 * const depth = Metric.value(WorkflowMetrics.forWorkflow(WorkflowMetrics.queueDepth, "jokes"))
 * // Effect<MetricState.Gauge<number>>: { value }
 * ```
 *
 * @since 0.1.0
 * @category metrics
 */
export const queueDepth: Metric.Metric.Gauge<number> = Metric.fromMetricKey(internal.keys.queueDepth)

/**
 * The name of the tag carrying the workflow's name.
 *
 * @example
 * ```ts
 * import { WorkflowMetrics } from "effect-workflows"
 *
 * WorkflowMetrics.workflowTag // "workflow"
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export const workflowTag: "workflow" = internal.workflowTag

/**
 * The name of the tag carrying the step's name (on `stepDuration`).
 *
 * @example
 * ```ts
 * import { WorkflowMetrics } from "effect-workflows"
 *
 * WorkflowMetrics.stepTag // "step"
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export const stepTag: "step" = internal.stepTag

/**
 * A metric tagged with a workflow's name, as the engine updates it: `Metric.value` of it reads
 * that workflow's figures.
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { WorkflowMetrics } from "effect-workflows"
 *
 * const completed = Metric.value(WorkflowMetrics.forWorkflow(WorkflowMetrics.runsCompleted, "jokes"))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const forWorkflow = <Type, In, Out>(
  metric: Metric.Metric<Type, In, Out>,
  workflow: string
): Metric.Metric<Type, In, Out> => Metric.taggedWithLabels(metric, workflowLabels(workflow))

/**
 * A metric tagged with a workflow's and a step's names (for `stepDuration`).
 *
 * @example
 * ```ts
 * import { Metric } from "effect"
 * import { WorkflowMetrics } from "effect-workflows"
 *
 * const draft = Metric.value(WorkflowMetrics.forStep(WorkflowMetrics.stepDuration, "jokes", "draft"))
 * ```
 *
 * @since 0.1.0
 * @category combinators
 */
export const forStep = <Type, In, Out>(
  metric: Metric.Metric<Type, In, Out>,
  workflow: string,
  step: string
): Metric.Metric<Type, In, Out> => Metric.taggedWithLabels(metric, stepLabels(workflow, step))

/**
 * The labels of a workflow's metrics.
 *
 * @example
 * ```ts
 * import { WorkflowMetrics } from "effect-workflows"
 *
 * WorkflowMetrics.workflowLabels("jokes").map((label) => [label.key, label.value]) // [["workflow", "jokes"]]
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export const workflowLabels: (workflow: string) => ReadonlyArray<MetricLabel.MetricLabel> = internal.workflowLabels

/**
 * The labels of a step's metrics.
 *
 * @example
 * ```ts
 * import { WorkflowMetrics } from "effect-workflows"
 *
 * WorkflowMetrics.stepLabels("jokes", "draft").map((label) => label.value) // ["jokes", "draft"]
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export const stepLabels: (workflow: string, step: string) => ReadonlyArray<MetricLabel.MetricLabel> =
  internal.stepLabels
