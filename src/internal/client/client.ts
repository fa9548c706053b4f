/**
 * The implementation of `WorkflowClient`: the JSON routes through a client derived from the
 * `WorkflowApi` definition (`HttpApiClient.make`), the event stream through `./events.js`.
 *
 * @internal
 */
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Stream from "effect/Stream"
import type * as Event from "../../Event.js"
import * as WorkflowClient from "../../client/WorkflowClient.js"
import * as Api from "../../server/WorkflowApi.js"
import * as Workflow from "../../Workflow.js"
import * as decode from "./decode.js"
import * as events from "./events.js"

/** @internal */
export const isTerminal = (envelope: Api.EventEnvelope): boolean => decode.isTerminal(envelope)

const envelopeOnly = (envelope: Api.EventEnvelope): Api.EventEnvelope => ({
  type: envelope.type,
  value: envelope.value,
  qualified_name: envelope.qualified_name,
  types: envelope.types
})

const decodeWith = (
  workflow: Workflow.Any,
  envelope: Api.EventEnvelope,
  sequence: number | undefined
): Either.Either<Event.AnyEvent, WorkflowClient.EventDecodeError> =>
  Either.mapLeft(
    decode.decode(workflow, envelope),
    (message) => new WorkflowClient.EventDecodeError({ envelope: envelopeOnly(envelope), sequence, message })
  )

/** @internal */
export const decodeEnvelope = <W extends Workflow.Any>(
  workflow: W,
  envelope: Api.EventEnvelope
): Either.Either<Workflow.Events<W> | Event.InternalEvent, WorkflowClient.EventDecodeError> =>
  decodeWith(workflow, envelope, undefined) as Either.Either<
    Workflow.Events<W> | Event.InternalEvent,
    WorkflowClient.EventDecodeError
  >

type RunPayload = typeof Api.RunRequest.Type

/** The served name and the body of a run request, from either form of `run`. */
const runArguments = (args: ReadonlyArray<unknown>): { readonly name: string; readonly payload: RunPayload } => {
  const [first, second, third, fourth] = args
  if (Workflow.isWorkflow(first)) {
    const options = fourth as { readonly handlerId?: string | undefined } | undefined
    return {
      name: second as string,
      payload: {
        ...(third === undefined ? {} : { start_event: decode.toWire(first, third as Event.AnyEvent) }),
        ...(options?.handlerId === undefined ? {} : { handler_id: options.handlerId })
      }
    }
  }
  const options = second as WorkflowClient.RunOptions | undefined
  return {
    name: first as string,
    payload: {
      ...(options?.startEvent === undefined ? {} : { start_event: options.startEvent }),
      ...(options?.kwargs === undefined ? {} : { kwargs: options.kwargs }),
      ...(options?.handlerId === undefined ? {} : { handler_id: options.handlerId })
    }
  }
}

/** The handler id, the body and the options of either form of `sendEvent`. */
const sendArguments = (args: ReadonlyArray<unknown>) => {
  const [first, second, third, fourth] = args
  if (Workflow.isWorkflow(first)) {
    return {
      handlerId: second as string,
      event: decode.toWire(first, third as Event.AnyEvent) as unknown,
      options: fourth as WorkflowClient.SendEventOptions | undefined
    }
  }
  return {
    handlerId: first as string,
    event: second,
    options: third as WorkflowClient.SendEventOptions | undefined
  }
}

const nonEmpty = <A>(values: ReadonlyArray<A> | undefined): ReadonlyArray<A> | undefined =>
  values === undefined || values.length === 0 ? undefined : values

/** @internal */
export const make = (options: WorkflowClient.Options): Effect.Effect<WorkflowClient.Service, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const baseUrl = options.baseUrl.toString()
    const transform = options.transformClient ?? ((client: HttpClient.HttpClient) => client)
    const api = yield* HttpApiClient.make(Api.WorkflowApi, { baseUrl, transformClient: transform })
    const httpClient = transform(yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest(HttpClientRequest.prependUrl(baseUrl))
    )
    const path = (name: string) => ({ name: encodeURIComponent(name) })
    const handlerPath = (handlerId: string) => ({ handler_id: encodeURIComponent(handlerId) })

    const run = (...args: ReadonlyArray<unknown>) => {
      const { name, payload } = runArguments(args)
      return api.workflows.run({ path: path(name), payload })
    }

    const runNowait = (...args: ReadonlyArray<unknown>) => {
      const { name, payload } = runArguments(args)
      return api.workflows.runNowait({ path: path(name), payload })
    }

    const sendEvent = (...args: ReadonlyArray<unknown>) => {
      const { event, handlerId, options } = sendArguments(args)
      return Effect.asVoid(api.events.send({
        path: handlerPath(handlerId),
        payload: { event, ...(options?.step === undefined ? {} : { step: options.step }) }
      }))
    }

    const eventsOf = (workflow: Workflow.Any, handlerId: string, options?: WorkflowClient.EventsOptions) =>
      events.stream(httpClient, handlerId, options).pipe(
        Stream.mapEffect((envelope) => decodeWith(workflow, envelope, envelope.sequence))
      )

    const service: WorkflowClient.Service = {
      health: api.health(),
      listWorkflows: Effect.map(api.workflows.list(), (body) => body.workflows),
      run: run as WorkflowClient.Service["run"],
      runNowait: runNowait as WorkflowClient.Service["runNowait"],
      schema: (name) => api.workflows.schema({ path: path(name) }),
      representation: (name) => Effect.map(api.workflows.representation({ path: path(name) }), (body) => body.graph),
      workflowEvents: (name) => Effect.map(api.workflows.events({ path: path(name) }), (body) => body.events),
      handlers: (filter) => {
        const status = nonEmpty(filter?.status)
        const workflowName = nonEmpty(filter?.workflowName)
        return Effect.map(
          api.handlers.list({
            urlParams: {
              ...(status === undefined ? {} : { status }),
              ...(workflowName === undefined ? {} : { workflow_name: workflowName })
            }
          }),
          (body) => body.handlers
        )
      },
      handler: (handlerId) => api.handlers.get({ path: handlerPath(handlerId) }),
      result: (handlerId) => api.handlers.result({ path: handlerPath(handlerId) }),
      cancel: (handlerId, cancelOptions) =>
        Effect.map(
          api.handlers.cancel({
            path: handlerPath(handlerId),
            urlParams: cancelOptions?.purge === true ? { purge: "true" } : {}
          }),
          (body) => body.status
        ),
      sendEvent: sendEvent as WorkflowClient.Service["sendEvent"],
      events: (handlerId, eventsOptions) => events.stream(httpClient, handlerId, eventsOptions),
      eventsOf: eventsOf as WorkflowClient.Service["eventsOf"]
    }
    return service
  })
