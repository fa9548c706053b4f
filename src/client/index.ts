/**
 * A client of the workflow server protocol (`WorkflowClient`), for a `WorkflowServer` or the
 * original Python server.
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as WorkflowClient from "./WorkflowClient.js"
