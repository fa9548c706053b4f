/**
 * The workflow server: the protocol (`WorkflowApi`), the server (`WorkflowServer`) and where it
 * keeps its handlers (`HandlerStore`).
 *
 * @since 0.1.0
 */

/**
 * @since 0.1.0
 */
export * as HandlerStore from "./HandlerStore.js"

/**
 * @since 0.1.0
 */
export * as SqlHandlerStore from "./SqlHandlerStore.js"

/**
 * @since 0.1.0
 */
export * as WorkflowApi from "./WorkflowApi.js"

/**
 * @since 0.1.0
 */
export * as WorkflowServer from "./WorkflowServer.js"
