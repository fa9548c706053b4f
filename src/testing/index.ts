/**
 * effect-workflows/testing: helpers for testing workflows under `TestClock`.
 *
 * @since 0.1.0
 */

/**
 * Wait until a run is idle, answer its prompts, collect its stream, run a workflow once and get
 * its result and events.
 *
 * @example
 * ```ts
 * import type { WorkflowHandler } from "effect-workflows"
 * import { WorkflowTest } from "effect-workflows/testing"
 *
 * declare const handler: WorkflowHandler.WorkflowHandler
 * const idle = WorkflowTest.untilIdle(handler) // Effect<void, ContextSerdeError>
 * const events = WorkflowTest.collect(handler, { internal: true })
 * ```
 *
 * @since 0.1.0
 * @category testing
 */
export * as WorkflowTest from "./WorkflowTest.js"
