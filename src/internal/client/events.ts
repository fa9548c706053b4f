/**
 * A handler's event stream (`GET /events/{handler_id}`) as server-sent events, parsed with
 * `@effect/experimental`'s SSE parser, resumed with `Last-Event-ID` after a dropped connection.
 *
 * @internal
 */
import * as Sse from "@effect/experimental/Sse"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientError from "@effect/platform/HttpClientError"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as Effect from "effect/Effect"
import * as Schedule from "effect/Schedule"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as WorkflowClient from "../../client/WorkflowClient.js"
import * as Api from "../../server/WorkflowApi.js"
import { isTerminal } from "./decode.js"

/** One SSE event of the protocol: `id` the sequence, `data` the envelope's JSON. */
const SseEnvelope = Schema.Struct({
  id: Schema.compose(Schema.NumberFromString, Schema.NonNegativeInt),
  data: Schema.parseJson(Api.EventEnvelope)
})

const decodeSseEnvelope = Schema.decodeUnknown(SseEnvelope)

/** A connection that ended (or could not be made) for a reason worth reconnecting for. */
const isDropped = (error: unknown): boolean =>
  HttpClientError.isHttpClientError(error) &&
  ((error._tag === "RequestError" && error.reason === "Transport") ||
    (error._tag === "ResponseError" && error.reason === "Decode"))

/** The SSE events of a body, through one parser per connection. */
const sseEvents = <E>(
  body: Stream.Stream<Uint8Array, E>,
  maxEventSize: number | undefined
): Stream.Stream<Sse.Event, E | Sse.SseError> =>
  Stream.suspend(() => {
    const parsed: Array<Sse.Event> = []
    const parser = Sse.makeParser((event) => {
      if (event._tag === "Event") parsed.push(event)
    }, { maxEventSize })
    return body.pipe(
      Stream.decodeText(),
      Stream.mapConcatEffect((text) => {
        const error = parser.feed(text)
        const events = parsed.splice(0)
        return error === undefined ? Effect.succeed(events) : Effect.fail(error)
      })
    )
  })

/** @internal */
export const stream = (
  httpClient: HttpClient.HttpClient,
  handlerId: string,
  options?: WorkflowClient.EventsOptions
): Stream.Stream<WorkflowClient.SequencedEnvelope, WorkflowClient.EventsError> =>
  Stream.unwrap(Effect.gen(function*() {
    const driver = yield* Schedule.driver(options?.retry ?? WorkflowClient.defaultRetry)
    let last: number | undefined = undefined

    const disconnected = (cause: unknown) => new WorkflowClient.StreamDisconnected({ handlerId, lastSequence: last, cause })

    const request = () => {
      const request = HttpClientRequest.get(`/events/${encodeURIComponent(handlerId)}`).pipe(
        HttpClientRequest.setUrlParams({
          sse: "true",
          include_internal: String(options?.includeInternal ?? false),
          include_qualified_name: String(options?.includeQualifiedName ?? true),
          after_sequence: String(options?.afterSequence ?? -1)
        }),
        HttpClientRequest.accept("text/event-stream")
      )
      return last === undefined ? request : HttpClientRequest.setHeader(request, "Last-Event-ID", String(last))
    }

    const envelopes = (response: HttpClientResponse.HttpClientResponse) =>
      sseEvents(response.stream, options?.maxEventSize).pipe(
        Stream.mapEffect((event) => decodeSseEnvelope(event)),
        Stream.filter((event) => last === undefined || event.id > last),
        Stream.mapEffect((event) =>
          Effect.as(
            Effect.zipRight(Effect.sync(() => (last = event.id)), driver.reset),
            { sequence: event.id, ...event.data } satisfies WorkflowClient.SequencedEnvelope
          )
        ),
        // the body ending before the terminal event (which ends the stream further out) is a drop
        Stream.concat(Stream.fail(disconnected("The event stream ended before the terminal event"))),
        Stream.catchAll((error) => Stream.fail(isDropped(error) ? disconnected(error) : error))
      )

    const connect: Stream.Stream<
      WorkflowClient.SequencedEnvelope,
      WorkflowClient.EventsError
    > = Stream.unwrap(
      Effect.suspend(() => httpClient.execute(request())).pipe(
        Effect.mapError((error) => (isDropped(error) ? disconnected(error) : error)),
        Effect.flatMap(HttpClientResponse.matchStatus({
          200: (response) => Effect.succeed(envelopes(response)),
          204: (response) => Effect.as(Effect.ignore(response.arrayBuffer), Stream.empty),
          400: (response) => Effect.flatMap(HttpClientResponse.schemaBodyJson(Api.BadRequest)(response), Effect.fail),
          404: (response) => Effect.flatMap(HttpClientResponse.schemaBodyJson(Api.NotFound)(response), Effect.fail),
          orElse: (response) =>
            Effect.fail(
              new HttpClientError.ResponseError({
                request: response.request,
                response,
                reason: "StatusCode",
                description: `Unexpected status ${response.status} for the event stream`
              })
            )
        }))
      )
    )

    const withRetries: Stream.Stream<WorkflowClient.SequencedEnvelope, WorkflowClient.EventsError> = Stream.catchAll(
      connect,
      (error) =>
        error._tag === "StreamDisconnected"
          ? Stream.unwrap(Effect.match(driver.next(error), {
            onFailure: () => Stream.fail(error),
            onSuccess: () => withRetries
          }))
          : Stream.fail(error)
    )

    return Stream.takeUntil(withRetries, isTerminal)
  }))
