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
 * An edge: event → step for an accepted event, step → event for an emitted one.
 *
 * @example
 * ```ts
 * import type { Graph } from "effect-workflows"
 *
 * const edge: Graph.Edge = { source: "event:StartEvent", target: "step:draft" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Edge {
  readonly source: string
  readonly target: string
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
 * start, stop and external events styled by the classes `start`, `stop` and `external`.
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
 * The workflow as a Graphviz DOT `digraph`: steps as boxes, events as ellipses.
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
 * - No step accepts the stop class; every consumed event is produced (except the start class
 *   and `HumanResponseEvent`); every produced event is consumed (except the stop class,
 *   `InputRequiredEvent` and `HumanResponseEvent`).
 * - Graph checks `reachability`, `terminal_event`, `dead_end`, less the skipped ones
 *   (`WorkflowValidationError` "Graph validation failed: ...").
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
