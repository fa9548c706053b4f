/**
 * The keys of the engine's metrics and the hooks it updates them through.
 *
 * Metrics are opt-in, like Effect's own runtime metrics: a run decides when it starts, from the
 * fiber that starts it, whether it updates them. The engine updates a metric's hook directly, found once per workflow value (in its plan):
 * `Metric.unsafeUpdate` with labels would look the hook up on every update.
 */
import * as FiberRef from "effect/FiberRef"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import type * as MetricHook from "effect/MetricHook"
import * as MetricKey from "effect/MetricKey"
import type * as MetricKeyType from "effect/MetricKeyType"
import * as MetricLabel from "effect/MetricLabel"

/** Whether the runs a fiber starts update the metrics. @internal */
export const enabled: FiberRef.FiberRef<boolean> = FiberRef.unsafeMake(false)

/** @internal */
export const workflowTag = "workflow" as const

/** @internal */
export const stepTag = "step" as const

/** @internal */
export const workflowLabels = (workflow: string): ReadonlyArray<MetricLabel.MetricLabel> => [
  MetricLabel.make(workflowTag, workflow)
]

/** @internal */
export const stepLabels = (workflow: string, step: string): ReadonlyArray<MetricLabel.MetricLabel> => [
  MetricLabel.make(workflowTag, workflow),
  MetricLabel.make(stepTag, step)
]

/** @internal */
export const stepDurationBoundaries: MetricBoundaries.MetricBoundaries = MetricBoundaries.exponential({
  start: 1,
  factor: 2,
  count: 20
})

// a counter of runs, tagged with the workflow
const runCounter = (name: string, what: string) =>
  MetricKey.counter(`effect_workflows_runs_${name}`, {
    description: `Workflow runs ${what} (tagged with workflow)`,
    incremental: true
  })

/** @internal */
export const keys = {
  runsStarted: runCounter("started", "started"),
  runsCompleted: runCounter("completed", "completed"),
  runsFailed: runCounter("failed", "failed"),
  runsCancelled: runCounter("cancelled", "cancelled"),
  runsTimedOut: runCounter("timed_out", "timed out"),
  stepDuration: MetricKey.histogram(
    "effect_workflows_step_duration_ms",
    stepDurationBoundaries,
    "Duration of step executions in milliseconds (tagged with workflow and step)"
  ),
  queueDepth: MetricKey.gauge("effect_workflows_queue_depth", {
    description: "Events waiting for a worker slot (tagged with workflow)"
  })
} as const

type HookOf<Type extends MetricKeyType.MetricKeyType<any, any>> = MetricHook.MetricHook<
  MetricKeyType.MetricKeyType.InType<Type>,
  MetricKeyType.MetricKeyType.OutType<Type>
>

/** The hook of a metric tagged with `labels`: the one `Metric.value` of the tagged metric reads. */
const hookOf = <Type extends MetricKeyType.MetricKeyType<any, any>>(
  key: MetricKey.MetricKey<Type>,
  labels: ReadonlyArray<MetricLabel.MetricLabel>
): HookOf<Type> => Metric.globalMetricRegistry.get(MetricKey.taggedWithLabels(key, labels))

/** The hooks of one workflow's metrics. @internal */
export interface WorkflowHooks {
  readonly runsStarted: MetricHook.MetricHook.Counter<number>
  /** The counter of each way a run ends. */
  readonly ended: {
    readonly completed: MetricHook.MetricHook.Counter<number>
    readonly failed: MetricHook.MetricHook.Counter<number>
    readonly cancelled: MetricHook.MetricHook.Counter<number>
    readonly timedOut: MetricHook.MetricHook.Counter<number>
  }
  readonly queueDepth: MetricHook.MetricHook.Gauge<number>
}

/** @internal */
export const workflowHooks = (workflow: string): WorkflowHooks => {
  const labels = workflowLabels(workflow)
  return {
    runsStarted: hookOf(keys.runsStarted, labels),
    ended: {
      completed: hookOf(keys.runsCompleted, labels),
      failed: hookOf(keys.runsFailed, labels),
      cancelled: hookOf(keys.runsCancelled, labels),
      timedOut: hookOf(keys.runsTimedOut, labels)
    },
    queueDepth: hookOf(keys.queueDepth, labels)
  }
}

/** The hook of a step's execution durations. @internal */
export const stepDurationHook = (workflow: string, step: string): MetricHook.MetricHook.Histogram =>
  hookOf(keys.stepDuration, stepLabels(workflow, step))
