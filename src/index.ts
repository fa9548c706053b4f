/**
 * effect-workflows: event-driven, step-based workflows (the LlamaIndex Workflows model) for
 * Effect.
 *
 * @since 0.1.0
 */

/**
 * Built-in events, lifecycle events and event helpers.
 *
 * @since 0.1.0
 */
export * as Event from "./Event.js"

/**
 * Graph validation and drawing of workflows.
 *
 * @since 0.1.0
 */
export * as Graph from "./Graph.js"

/**
 * Seed-compatible retry policies, as Schedules.
 *
 * @since 0.1.0
 */
export * as RetryPolicy from "./RetryPolicy.js"

/**
 * Serializers of dict state values for snapshots (json, structured).
 *
 * @since 0.1.0
 */
export * as Serializer from "./Serializer.js"

/**
 * A run as a versioned JSON document: Schema, decoding, JSON text.
 *
 * @since 0.1.0
 */
export * as Snapshot from "./Snapshot.js"

/**
 * The state of a run: dict or Schema-typed, with dot paths.
 *
 * @since 0.1.0
 */
export * as StateStore from "./StateStore.js"

/**
 * Steps: Effect programs from an event to events.
 *
 * @since 0.1.0
 */
export * as Step from "./Step.js"

/**
 * Workflows: make, validate, run, start, draw.
 *
 * @since 0.1.0
 */
export * as Workflow from "./Workflow.js"

/**
 * The in-step service.
 *
 * @since 0.1.0
 */
export * as WorkflowContext from "./WorkflowContext.js"

/**
 * Tagged errors.
 *
 * @since 0.1.0
 */
export * as WorkflowError from "./WorkflowError.js"

/**
 * The handle on a running workflow.
 *
 * @since 0.1.0
 */
export * as WorkflowHandler from "./WorkflowHandler.js"

/**
 * The engine's metrics: runs started and ended by outcome, step durations, queue depth.
 *
 * @since 0.1.0
 */
export * as WorkflowMetrics from "./WorkflowMetrics.js"
