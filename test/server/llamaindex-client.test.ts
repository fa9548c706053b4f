/**
 * The real `@llamaindex/workflows-client` (the TypeScript SDK generated from the Python server's
 * OpenAPI document) against our server, unchanged: list, run with streamed events,
 * human-in-the-loop, cancel and the handler list.
 */
import { describe, expect, it } from "@effect/vitest"
import {
  type Client,
  createClient,
  createConfig,
  type EventEnvelopeWithMetadata,
  getEventsByHandlerId,
  getHandlers,
  getHandlersByHandlerId,
  getHealth,
  getWorkflows,
  postEventsByHandlerId,
  postHandlersByHandlerIdCancel,
  postWorkflowsByNameRun,
  postWorkflowsByNameRunNowait
} from "@llamaindex/workflows-client"
import { Effect } from "effect"
import { serve, slow, workflows } from "./fixtures.js"

const served = { ...workflows, slow: slow(3) }

const clientFor = (baseUrl: string): Client => createClient(createConfig({ baseUrl }))

/**
 * Reads a handler's event stream through the client's SSE API until the server ends it, calling
 * `onEvent` on each envelope. The client retries a failed or empty (204) stream forever by
 * default, so its retries are capped, and a timeout keeps a stuck stream from hanging the test.
 */
const readEvents = (
  client: Client,
  handlerId: string,
  onEvent: (envelope: EventEnvelopeWithMetadata) => Promise<void> = async () => {}
) =>
  Effect.promise(async () => {
    const errors: Array<unknown> = []
    const { stream } = await getEventsByHandlerId({
      client,
      path: { handler_id: handlerId },
      query: { after_sequence: -1 },
      sseMaxRetryAttempts: 1,
      onSseError: (error) => void errors.push(error),
      signal: AbortSignal.timeout(20_000)
    })
    const envelopes: Array<EventEnvelopeWithMetadata> = []
    for await (const data of stream) {
      const envelope = data as EventEnvelopeWithMetadata
      envelopes.push(envelope)
      await onEvent(envelope)
    }
    return { envelopes, errors }
  })

describe("@llamaindex/workflows-client against WorkflowServer", () => {
  it.live("checks health and lists the workflows", () =>
    Effect.scoped(Effect.gen(function*() {
      const client = clientFor(yield* serve(served))
      const health = yield* Effect.promise(() => getHealth({ client, throwOnError: true }))
      expect(health.response.status).toBe(200)
      expect(health.data).toEqual({ status: "healthy" })
      const listed = yield* Effect.promise(() => getWorkflows({ client, throwOnError: true }))
      expect(listed.response.status).toBe(200)
      expect(listed.data.workflows).toEqual(["greet", "typed", "hitl", "waiter", "fails", "slow"])
    })))

  it.live("runs greet and waits for its result", () =>
    Effect.scoped(Effect.gen(function*() {
      const client = clientFor(yield* serve(served))
      const run = yield* Effect.promise(() =>
        postWorkflowsByNameRun({ client, path: { name: "greet" }, body: { start_event: { name: "bob" } } })
      )
      expect(run.response.status).toBe(200)
      expect(run.error).toBeUndefined()
      expect(run.data).toMatchObject({
        workflow_name: "greet",
        status: "completed",
        error: null,
        result: { type: "StopEvent", value: { result: "hello bob" }, qualified_name: "workflows.events.StopEvent" }
      })
      expect(run.data!.handler_id).toMatch(/^\S{10}$/)
    })))

  it.live("starts greet without waiting and streams Progress then StopEvent", () =>
    Effect.scoped(Effect.gen(function*() {
      const client = clientFor(yield* serve(served))
      const started = yield* Effect.promise(() =>
        postWorkflowsByNameRunNowait({
          client,
          path: { name: "greet" },
          body: { start_event: { name: "ada" } },
          throwOnError: true
        })
      )
      expect(started.data).toMatchObject({ workflow_name: "greet", status: "running", result: null })
      const handlerId = started.data.handler_id

      const { envelopes, errors } = yield* readEvents(client, handlerId)
      expect(errors).toEqual([])
      expect(envelopes.map((e) => e.type)).toEqual(["Progress", "StopEvent"])
      expect(envelopes[0]!.value).toEqual({ message: "greeting ada" })
      expect(envelopes[1]).toEqual({
        type: "StopEvent",
        value: { result: "hello ada" },
        qualified_name: "workflows.events.StopEvent",
        types: null
      })

      const handler = yield* Effect.promise(() =>
        getHandlersByHandlerId({ client, path: { handler_id: handlerId }, throwOnError: true })
      )
      expect(handler.response.status).toBe(200)
      expect(handler.data).toMatchObject({
        handler_id: handlerId,
        workflow_name: "greet",
        status: "completed",
        error: null,
        result: { type: "StopEvent", value: { result: "hello ada" } }
      })
      expect(handler.data.completed_at).toEqual(expect.any(String))

      // With internal events the stream also shows the steps running, in order.
      const internal = yield* Effect.promise(async () => {
        const { stream } = await getEventsByHandlerId({
          client,
          path: { handler_id: handlerId },
          query: { after_sequence: -1, include_internal: true },
          sseMaxRetryAttempts: 1,
          signal: AbortSignal.timeout(20_000)
        })
        const all: Array<EventEnvelopeWithMetadata> = []
        for await (const data of stream) all.push(data as EventEnvelopeWithMetadata)
        return all
      })
      const steps = internal
        .filter((e) => e.type === "StepStateChanged")
        .map((e) => `${e.value["name"]}:${e.value["step_state"]}`)
      expect(steps).toEqual(["first:running", "first:not_running", "second:running", "second:not_running"])
      expect(internal.at(-1)!.type).toBe("StopEvent")
    })))

  for (const name of ["hitl", "waiter"] as const) {
    it.live(`answers ${name}'s InputRequiredEvent with a HumanResponseEvent`, () =>
      Effect.scoped(Effect.gen(function*() {
        const client = clientFor(yield* serve(served))
        const started = yield* Effect.promise(() =>
          postWorkflowsByNameRunNowait({ client, path: { name }, body: {}, throwOnError: true })
        )
        const handlerId = started.data.handler_id
        const sent: Array<unknown> = []

        const { envelopes, errors } = yield* readEvents(client, handlerId, async (envelope) => {
          if (envelope.type !== "InputRequiredEvent") return
          const reply = await postEventsByHandlerId({
            client,
            path: { handler_id: handlerId },
            body: { event: { type: "HumanResponseEvent", value: { response: "alice" } } },
            throwOnError: true
          })
          sent.push(reply.data)
        })
        expect(errors).toEqual([])
        expect(sent).toEqual([{ status: "sent" }])
        expect(envelopes.map((e) => e.type)).toEqual(["InputRequiredEvent", "StopEvent"])
        expect(envelopes[0]!.value).toEqual({
          _data: { prefix: name === "hitl" ? "What is your name?" : "Your name?" }
        })
        expect(envelopes[1]!.value).toEqual({ result: "hello alice" })

        const handler = yield* Effect.promise(() =>
          getHandlersByHandlerId({ client, path: { handler_id: handlerId }, throwOnError: true })
        )
        expect(handler.data).toMatchObject({
          status: "completed",
          result: { type: "StopEvent", value: { result: "hello alice" } }
        })
      })))
  }

  it.live("cancels a slow run", () =>
    Effect.scoped(Effect.gen(function*() {
      const client = clientFor(yield* serve(served))
      const started = yield* Effect.promise(() =>
        postWorkflowsByNameRunNowait({ client, path: { name: "slow" }, body: {}, throwOnError: true })
      )
      const handlerId = started.data.handler_id
      const cancelled: Array<unknown> = []

      const { envelopes, errors } = yield* readEvents(client, handlerId, async (envelope) => {
        if (envelope.type !== "Tick" || envelope.value["n"] !== 0) return
        const answer = await postHandlersByHandlerIdCancel({
          client,
          path: { handler_id: handlerId },
          throwOnError: true
        })
        cancelled.push(answer.data)
      })
      expect(errors).toEqual([])
      expect(cancelled).toEqual([{ status: "cancelled" }])
      expect(envelopes[0]).toMatchObject({ type: "Tick", value: { n: 0 } })
      expect(envelopes.at(-1)).toMatchObject({ type: "WorkflowCancelledEvent", value: {} })
      expect(envelopes.filter((e) => e.type === "Tick").length).toBeLessThan(3)

      // Past the run's 3 seconds it has still not completed: it is cancelled, with no result,
      // and GET /handlers/{id} answers 500 with the handler (as the Python server does).
      yield* Effect.sleep("3500 millis")
      const handler = yield* Effect.promise(() => getHandlersByHandlerId({ client, path: { handler_id: handlerId } }))
      expect(handler.response.status).toBe(500)
      expect(handler.error).toMatchObject({
        handler_id: handlerId,
        workflow_name: "slow",
        status: "cancelled",
        error: null,
        result: null
      })

      // With purge the finished handler is deleted.
      const purged = yield* Effect.promise(() =>
        postHandlersByHandlerIdCancel({
          client,
          path: { handler_id: handlerId },
          query: { purge: true },
          throwOnError: true
        })
      )
      expect(purged.data).toEqual({ status: "deleted" })
      const listed = yield* Effect.promise(() => getHandlers({ client, throwOnError: true }))
      expect(listed.data.handlers.map((h) => h.handler_id)).not.toContain(handlerId)
    })))

  it.live("lists handlers, filtered by status and workflow name", () =>
    Effect.scoped(Effect.gen(function*() {
      const client = clientFor(yield* serve(served))
      const greeted = yield* Effect.promise(() =>
        postWorkflowsByNameRun({ client, path: { name: "greet" }, body: { start_event: { name: "x" } }, throwOnError: true })
      )
      const failed = yield* Effect.promise(() => postWorkflowsByNameRun({ client, path: { name: "fails" }, body: {} }))
      expect(failed.response.status).toBe(500)
      expect(failed.error).toMatchObject({ status: "failed", error: "boom", result: null })
      const failedId = (failed.error as { handler_id: string }).handler_id
      const waiting = yield* Effect.promise(() =>
        postWorkflowsByNameRunNowait({ client, path: { name: "waiter" }, body: {}, throwOnError: true })
      )

      const all = yield* Effect.promise(() => getHandlers({ client, throwOnError: true }))
      const summary = all.data.handlers
        .map((h) => ({ id: h.handler_id, workflow: h.workflow_name, status: h.status }))
        .sort((a, b) => a.workflow.localeCompare(b.workflow))
      expect(summary).toEqual([
        { id: failedId, workflow: "fails", status: "failed" },
        { id: greeted.data.handler_id, workflow: "greet", status: "completed" },
        { id: waiting.data.handler_id, workflow: "waiter", status: "running" }
      ])

      const running = yield* Effect.promise(() =>
        getHandlers({ client, query: { status: ["running"] }, throwOnError: true })
      )
      expect(running.data.handlers.map((h) => h.handler_id)).toEqual([waiting.data.handler_id])

      const terminal = yield* Effect.promise(() =>
        getHandlers({ client, query: { status: ["completed", "failed"] }, throwOnError: true })
      )
      expect(terminal.data.handlers.map((h) => h.handler_id).sort()).toEqual(
        [greeted.data.handler_id, failedId].sort()
      )

      const byName = yield* Effect.promise(() =>
        getHandlers({ client, query: { workflow_name: ["greet"] }, throwOnError: true })
      )
      expect(byName.data.handlers).toHaveLength(1)
      expect(byName.data.handlers[0]).toMatchObject({
        handler_id: greeted.data.handler_id,
        status: "completed",
        result: { type: "StopEvent", value: { result: "hello x" } }
      })
    })))
  it.live("gets the protocol's error statuses and details", () =>
    Effect.scoped(Effect.gen(function*() {
      const client = clientFor(yield* serve(served))
      const finished = yield* Effect.promise(() =>
        postWorkflowsByNameRun({ client, path: { name: "greet" }, body: {}, throwOnError: true })
      )
      const id = finished.data.handler_id
      const statusOf = (r: { response: Response; error?: unknown }) => ({ status: r.response.status, error: r.error })

      // an event to a finished run: 409
      const late = yield* Effect.promise(() =>
        postEventsByHandlerId({
          client,
          path: { handler_id: id },
          body: { event: { type: "HumanResponseEvent", value: { response: "late" } } }
        })
      )
      expect(statusOf(late)).toEqual({ status: 409, error: { detail: "Workflow already completed" } })
      // cancelling a finished run without purge: 409 (the Python server answers 404 "Handler not
      // found" for a handler it still returns, PROTOCOL.md 8); an unknown one: 404
      const again = yield* Effect.promise(() => postHandlersByHandlerIdCancel({ client, path: { handler_id: id } }))
      expect(statusOf(again)).toEqual({ status: 409, error: { detail: `Handler '${id}' is already completed` } })
      const unknownCancel = yield* Effect.promise(() =>
        postHandlersByHandlerIdCancel({ client, path: { handler_id: "nope" } })
      )
      expect(statusOf(unknownCancel)).toEqual({ status: 404, error: { detail: "Handler not found" } })
      const unknown = yield* Effect.promise(() => getHandlersByHandlerId({ client, path: { handler_id: "nope" } }))
      expect(statusOf(unknown)).toEqual({ status: 404, error: { detail: "Handler not found" } })
      const noWorkflow = yield* Effect.promise(() => postWorkflowsByNameRun({ client, path: { name: "nope" }, body: {} }))
      expect(statusOf(noWorkflow)).toEqual({ status: 404, error: { detail: "Workflow not found" } })
      // a bad event type: 400
      const badEvent = yield* Effect.promise(() =>
        postWorkflowsByNameRunNowait({ client, path: { name: "greet" }, body: { start_event: { type: "Nope" } } })
      )
      expect(badEvent.response.status).toBe(400)
      expect(badEvent.error).toEqual({
        detail: expect.stringMatching(/^Validation error for 'start_event': Invalid event type: Nope\. Expected one of /)
      })
    })))
})
