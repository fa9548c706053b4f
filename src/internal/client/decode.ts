/**
 * Envelopes the server streams, decoded into a workflow's own event instances.
 *
 * - The workflow's events (its start, stop, steps' events, `events`, `InputRequiredEvent`,
 *   `HumanResponseEvent`, `StopEvent`) go through `envelope.decodeEvent`, the server's own
 *   decoder, which looks classes up only in the workflow's registry.
 * - The lifecycle events (`StepStateChanged`, `WorkflowIdleEvent`, `UnhandledEvent`,
 *   `WorkflowFailedEvent`, `WorkflowTimedOutEvent`, `WorkflowCancelledEvent`) travel with the
 *   Python field names (`step_state`, `exception`, ...), which `decodeEvent` refuses (a client may
 *   not send them): they are read here, the inverse of what `envelope.encode` writes. A
 *   `WorkflowFailedEvent`'s `error` becomes `{ _tag: exception_type, message: exception_message }`
 *   (the live error stays on the server), which encodes back to the same envelope.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Event from "../../Event.js"
import type * as Workflow from "../../Workflow.js"
import * as envelope from "../server/envelope.js"
import { registryOf } from "../snapshotCodec.js"

/** An envelope as it comes off the wire. @internal */
export interface WireEnvelope {
  readonly type: string
  readonly value: unknown
  readonly qualified_name: string | null
  readonly types: ReadonlyArray<string> | null
}

const OptionalString = Schema.optional(Schema.NullOr(Schema.String))

const orUndefined = <A>(value: A | null | undefined): A | undefined => value ?? undefined

const lifecycleDecoders: ReadonlyMap<Event.Any, (value: unknown) => Either.Either<Event.AnyEvent, ParseResult.ParseError>> =
  new Map<Event.Any, (value: unknown) => Either.Either<Event.AnyEvent, ParseResult.ParseError>>([
    [
      Event.StepStateChanged,
      (value) =>
        Either.map(
          Schema.decodeUnknownEither(Schema.Struct({
            name: Schema.String,
            step_state: Schema.Literal("preparing", "running", "not_running"),
            worker_id: Schema.String,
            input_event_name: Schema.String,
            output_event_name: OptionalString
          }))(value),
          (wire) => {
            const outputEventName = orUndefined(wire.output_event_name)
            return new Event.StepStateChanged({
              name: wire.name,
              stepState: wire.step_state,
              workerId: wire.worker_id,
              inputEventName: wire.input_event_name,
              ...(outputEventName === undefined ? {} : { outputEventName })
            })
          }
        )
    ],
    [
      Event.WorkflowIdleEvent,
      (value) => Either.map(Schema.decodeUnknownEither(Schema.Struct({}))(value), () => new Event.WorkflowIdleEvent())
    ],
    [
      Event.UnhandledEvent,
      (value) =>
        Either.map(
          Schema.decodeUnknownEither(Schema.Struct({
            event_type: Schema.String,
            step_name: OptionalString,
            idle: Schema.Boolean
          }))(value),
          (wire) => {
            const stepName = orUndefined(wire.step_name)
            return new Event.UnhandledEvent({
              eventType: wire.event_type,
              idle: wire.idle,
              ...(stepName === undefined ? {} : { stepName })
            })
          }
        )
    ],
    [
      Event.WorkflowFailedEvent,
      (value) =>
        Either.map(
          Schema.decodeUnknownEither(Schema.Struct({
            step_name: Schema.String,
            exception: Schema.Struct({ exception_type: Schema.String, exception_message: Schema.String }),
            attempts: Schema.Number,
            elapsed_seconds: Schema.Number
          }))(value),
          (wire) =>
            new Event.WorkflowFailedEvent({
              stepName: wire.step_name,
              error: { _tag: wire.exception.exception_type, message: wire.exception.exception_message },
              attempts: wire.attempts,
              elapsedSeconds: wire.elapsed_seconds
            })
        )
    ],
    [
      Event.WorkflowTimedOutEvent,
      (value) =>
        Either.map(
          Schema.decodeUnknownEither(Schema.Struct({
            timeout: Schema.Number,
            active_steps: Schema.Array(Schema.String)
          }))(value),
          (wire) => new Event.WorkflowTimedOutEvent({ timeout: wire.timeout, activeSteps: wire.active_steps })
        )
    ],
    [
      Event.WorkflowCancelledEvent,
      (value) =>
        Either.map(Schema.decodeUnknownEither(Schema.Struct({}))(value), () => new Event.WorkflowCancelledEvent())
    ]
  ])

/**
 * An envelope decoded into an event of `workflow`, or why it could not be (a message).
 *
 * @internal
 */
export const decode = (workflow: Workflow.Any, wire: WireEnvelope): Either.Either<Event.AnyEvent, string> => {
  const eventClass = registryOf(workflow).get(wire.type)
  const lifecycle = eventClass === undefined ? undefined : lifecycleDecoders.get(eventClass)
  if (lifecycle !== undefined) {
    return Either.mapLeft(
      lifecycle(wire.value ?? {}),
      (error) => `Failed to deserialize event: ${ParseResult.TreeFormatter.formatErrorSync(error)}`
    )
  }
  return Either.mapLeft(
    envelope.decodeEvent(workflow, { type: wire.type, value: wire.value }, { start: false }),
    (error) => error.message
  )
}

/**
 * The `{type, value}` a client sends for an event instance of `workflow` (its value encoded
 * with the class's Schema, through the workflow's registry).
 *
 * @internal
 */
export const toWire = (workflow: Workflow.Any, event: Event.AnyEvent): { readonly type: string; readonly value: unknown } => {
  const encoded = envelope.encode(workflow, event)
  return { type: encoded.type, value: encoded.value }
}

/**
 * Whether an envelope ends its stream: any StopEvent (`type` or `types`).
 *
 * @internal
 */
export const isTerminal = (wire: WireEnvelope): boolean => envelope.isTerminalEnvelope(wire)
