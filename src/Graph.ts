/**
 * A workflow as a bipartite graph of steps and events: structural validation, a JSON
 * representation, and Mermaid / Graphviz DOT renderings.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as internal from "./internal/graph.js"
import type * as Workflow from "./Workflow.js"
import type * as WorkflowError from "./WorkflowError.js"

/**
 * The graph checks run by `validate` (names as in the validation messages); each can be skipped
 * with `Workflow.make({ validation: { skipGraphChecks: [...] } })`.
 *
 * @example
 * ```ts
 * import type { Graph } from "effect-workflows"
 *
 * const skip: ReadonlyArray<Graph.CheckName> = ["dead_end"]
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type CheckName = "reachability" | "terminal_event" | "dead_end"

/**
 * A node of the graph: a step (`step:<name>`), an event (`event:<Tag>`), or an event that comes
 * from outside the workflow (`HumanResponseEvent`, or consumed and never produced by any step).
 *
 * @example
 * ```ts
 * import type { Graph } from "effect-workflows"
 *
 * const node: Graph.Node = { id: "step:draft", kind: "step", label: "draft" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Node {
  readonly id: string
  readonly kind: "step" | "event" | "external"
  readonly label: string
}

/**
 * An edge: event → step for an accepted event, step → event for an emitted one, and step →
 * handler step (`kind: "catch"`) from each step to the `Step.catchError` handler that receives
 * its failures (a handler's own `StepFailedEvent` input is drawn as these edges only).
 *
 * @example
 * ```ts
 * import type { Graph } from "effect-workflows"
 *
 * const edge: Graph.Edge = { source: "event:StartEvent", target: "step:draft" }
 * const onFailure: Graph.Edge = { source: "step:draft", target: "step:recover", kind: "catch" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Edge {
  readonly source: string
  readonly target: string
  /** `catch`: the source step's failures, once its retries are exhausted, go to the target handler. */
  readonly kind?: "catch"
}

/**
 * The JSON graph of a workflow: steps in declaration order, then events in first-seen order.
 *
 * @example
 * ```ts
 * import type { Graph } from "effect-workflows"
 *
 * const empty: Graph.WorkflowGraph = { nodes: [], edges: [] }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface WorkflowGraph {
  readonly nodes: ReadonlyArray<Node>
  readonly edges: ReadonlyArray<Edge>
}

/**
 * The JSON graph of a workflow's steps and events.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event, Graph, Step, Workflow } from "effect-workflows"
 *
 * const echo = Step.make("echo", { on: Event.StartEvent, emits: [Event.StopEvent] }, (ev) =>
 *   Effect.succeed(new Event.StopEvent({ result: ev.input })))
 * const graph = Graph.representation(Workflow.make({ name: "echo", steps: [echo] }))
 * // nodes: step:echo, event:StartEvent, event:StopEvent
 * ```
 *
 * @since 0.1.0
 * @category graph
 */
export const representation: (self: Workflow.Any) => WorkflowGraph = internal.representation

/**
 * The workflow as a Mermaid `flowchart TD`: steps as rectangles, events as stadiums, with the
 * start, stop and external events styled by the classes `start`, `stop` and `external`; a
 * dotted edge labelled "on failure" goes from each step to its `Step.catchError` handler.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event, Graph, Step, Workflow } from "effect-workflows"
 *
 * const echo = Step.make("echo", { on: Event.StartEvent, emits: [Event.StopEvent] }, (ev) =>
 *   Effect.succeed(new Event.StopEvent({ result: ev.input })))
 * console.log(Graph.toMermaid(Workflow.make({ name: "echo", steps: [echo] })))
 * ```
 *
 * @since 0.1.0
 * @category graph
 */
export const toMermaid: (self: Workflow.Any) => string = internal.toMermaid

/**
 * The workflow as a Graphviz DOT `digraph`: steps as boxes, events as ellipses; a dashed edge
 * labelled "on failure" goes from each step to its `Step.catchError` handler.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Event, Graph, Step, Workflow } from "effect-workflows"
 *
 * const echo = Step.make("echo", { on: Event.StartEvent, emits: [Event.StopEvent] }, (ev) =>
 *   Effect.succeed(new Event.StopEvent({ result: ev.input })))
 * console.log(Graph.toDot(Workflow.make({ name: "echo", steps: [echo] })))
 * ```
 *
 * @since 0.1.0
 * @category graph
 */
export const toDot: (self: Workflow.Any) => string = internal.toDot

/**
 * Structural validation of a workflow; the first failing rule wins, except the graph checks,
 * which accumulate into one error.
 *
 * **Details**
 * - Step declarations: unique names, `workers` an integer > 0, a non-empty `on`, a `state`
 *   schema (if any) identical to the workflow's; known `skipGraphChecks` names.
 * - At least one step; the start class accepted by some step, the stop class emitted by some
 *   step (`WorkflowConfigurationError`).
 * - No step accepts the stop class; every consumed event is produced (except the start class,
 *   `HumanResponseEvent` and `StepFailedEvent`); every produced event is consumed (except the
 *   stop class, `InputRequiredEvent` and `HumanResponseEvent`).
 * - The `Step.catchError` handlers, every finding in one `WorkflowValidationError` (joined by
 *   "\n"): "Only one wildcard Step.catchError handler is allowed per workflow, found 2: a, b";
 *   "Step.catchError handler 'h': forSteps must be undefined or a list of step names";
 *   "Step.catchError handler 'h' lists unknown step 'x' in forSteps."; "Step.catchError
 *   handler 'h' cannot cover another handler step 'x'."; "Step 'x' is claimed by two
 *   Step.catchError handlers: 'h1' and 'h2'."; "Step.catchError handler 'h' has
 *   maxRecoveries=0; must be an integer >= 1."
 * - Graph checks `reachability` (from the start class, `HumanResponseEvent` and the error
 *   handlers), `terminal_event`, `dead_end`, less the skipped ones (`WorkflowValidationError`
 *   "Graph validation failed: ...").
 *
 * @example
 * ```ts
 * import { Graph, Workflow } from "effect-workflows"
 *
 * const check = Graph.validate(Workflow.make({ name: "empty", steps: [] }))
 * // fails with WorkflowConfigurationError "Workflow 'empty' has no configured steps."
 * ```
 *
 * @since 0.1.0
 * @category validation
 */
export const validate: (
  self: Workflow.Any
) => Effect.Effect<void, WorkflowError.WorkflowValidationError | WorkflowError.WorkflowConfigurationError> =
  internal.validate
