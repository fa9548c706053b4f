/**
 * Events on the wire of the LlamaIndex workflow server protocol: the envelope the server sends
 * (`{value, qualified_name, type, types}`), the event forms clients send in, and the JSON Schema
 * of an event class. Events are encoded and decoded only through the workflow's own registry of
 * event classes (`registryOf`): nothing a client sends is ever imported, evaluated or looked up
 * anywhere else.
 *
 * @internal
 */
import * as Data from "effect/Data"
import * as Either from "effect/Either"
import * as JSONSchema from "effect/JSONSchema"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import * as Event from "../../Event.js"
import type * as Workflow from "../../Workflow.js"
import { builtIns, registryOf } from "../snapshotCodec.js"

// -------------------------------------------------------------------------------------------------
// built-in classes
// -------------------------------------------------------------------------------------------------

/** The original's module for its built-in events (clients match on it). */
const builtInModule = "workflows.events"

const builtInClasses: ReadonlySet<Event.Any> = new Set(builtIns)

/** Published by the runtime only (`types: ["InternalDispatchEvent"]` on the wire). */
const internalClasses: ReadonlySet<Event.Any> = new Set<Event.Any>([
  Event.StepStateChanged,
  Event.WorkflowIdleEvent,
  Event.UnhandledEvent
])

/** The abnormal endings (`types: ["StopEvent"]` on the wire). */
const endingClasses: ReadonlySet<Event.Any> = new Set<Event.Any>([
  Event.WorkflowFailedEvent,
  Event.WorkflowTimedOutEvent,
  Event.WorkflowCancelledEvent
])

const endingTags: ReadonlySet<string> = new Set(Array.from(endingClasses, (eventClass) => eventClass._tag))

/**
 * Lifecycle events are the runtime's to publish, and a `StepFailedEvent` its to make for a
 * recovery step: a client can never send one in (it could fake a failure).
 */
const isLifecycleClass = (eventClass: Event.Any): boolean =>
  internalClasses.has(eventClass) || endingClasses.has(eventClass) || eventClass === Event.StepFailedEvent

/**
 * In the original these are dict-like models without declared fields: their fields travel
 * under `_data` (recording 44), and clients send either form back.
 */
const dictLikeClasses: ReadonlySet<Event.Any> = new Set<Event.Any>([
  Event.StartEvent,
  Event.InputRequiredEvent,
  Event.HumanResponseEvent
])

/** Outbound, only the two human-in-the-loop events keep the `_data` quirk (the start is never streamed). */
const dataWrappedOnOutput: ReadonlySet<Event.Any> = new Set<Event.Any>([
  Event.InputRequiredEvent,
  Event.HumanResponseEvent
])

// -------------------------------------------------------------------------------------------------
// JSON helpers
// -------------------------------------------------------------------------------------------------

type JsonRecord = { readonly [key: string]: unknown }

const isRecord = (u: unknown): u is JsonRecord => typeof u === "object" && u !== null && !Array.isArray(u)

/** Defines an own property, so that a `__proto__` key stays a plain key (no prototype change). */
const define = (target: Record<string, unknown>, key: string, value: unknown): void => {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

const withoutKey = (record: JsonRecord, omitted: string): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(record)) {
    if (key !== omitted) define(out, key, record[key])
  }
  return out
}

const objectToJson = (obj: object, ancestors: Set<object>): unknown => {
  if (Array.isArray(obj)) return obj.map((item) => toJson(item, ancestors) ?? null)
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? null : obj.toISOString()
  if (obj instanceof Map) {
    return Array.from(obj, ([key, value]) => [toJson(key, ancestors) ?? null, toJson(value, ancestors) ?? null])
  }
  if (obj instanceof Set) return Array.from(obj, (value) => toJson(value, ancestors) ?? null)
  if (!(obj instanceof Error) && Predicate.hasProperty(obj, "toJSON") && typeof obj.toJSON === "function") {
    return toJson(obj.toJSON(), ancestors)
  }
  const out: Record<string, unknown> = {}
  // an Error's name and message are not enumerable: keep them, they are what a reader wants
  if (obj instanceof Error) {
    define(out, "name", obj.name)
    define(out, "message", obj.message)
  }
  for (const key of Object.keys(obj)) {
    const value = toJson((obj as JsonRecord)[key], ancestors)
    if (value !== undefined) define(out, key, value)
  }
  return out
}

/**
 * A JSON value for anything, best effort and never throwing: what `Schema.Unknown` fields may
 * hold is not JSON (bigint, Date, Map, cycles, functions). `undefined` means "leave it out".
 */
const toJson = (u: unknown, ancestors: Set<object> = new Set()): unknown => {
  switch (typeof u) {
    case "string":
    case "boolean":
      return u
    case "number":
      return Number.isFinite(u) ? u : null
    case "bigint":
      return u.toString()
    case "undefined":
    case "function":
    case "symbol":
      return undefined
  }
  if (u === null) return null
  const obj = u as object
  if (ancestors.has(obj)) return "[Circular]"
  ancestors.add(obj)
  try {
    return objectToJson(obj, ancestors)
  } catch {
    return null
  } finally {
    ancestors.delete(obj)
  }
}

const toJsonRecord = (u: unknown): Record<string, unknown> => {
  const json = toJson(u)
  return isRecord(json) ? (json as Record<string, unknown>) : {}
}

const truncate = (text: string, max = 1000): string => (text.length > max ? `${text.slice(0, max)}...` : text)

const safeString = (u: unknown): string => {
  try {
    return String(u)
  } catch {
    return typeof u
  }
}

// -------------------------------------------------------------------------------------------------
// envelope (outbound)
// -------------------------------------------------------------------------------------------------

/**
 * An event as the server sends it (`EventEnvelopeWithMetadata` of the original): a plain JSON
 * object, ready for `JSON.stringify`.
 *
 * @internal
 */
export interface Envelope {
  /** The event's fields, encoded with its class's Schema (lifecycle events with the Python names). */
  readonly value: unknown
  /** `workflows.events.<Tag>` for built-ins, `<workflow name>.<Tag>` otherwise; `null` when not asked. */
  readonly qualified_name: string | null
  /** The event's tag. */
  readonly type: string
  /** The original's base classes: `InternalDispatchEvent`, `StopEvent` or `StartEvent`; else `null`. */
  readonly types: ReadonlyArray<string> | null
}

/**
 * Options of `encode`.
 *
 * @internal
 */
export interface EncodeOptions {
  /** `false` sends `qualified_name: null` (the `include_qualified_name=false` query). Default `true`. */
  readonly qualifiedName?: boolean | undefined
}

/**
 * The name clients see in `qualified_name` for an event class of the workflow.
 *
 * @internal
 */
export const qualifiedNameOf = (workflow: Workflow.Any, eventClass: Event.Any): string =>
  builtInClasses.has(eventClass) ? `${builtInModule}.${eventClass._tag}` : `${workflow.name}.${eventClass._tag}`

/**
 * The original's base classes of an event class, as `types` shows them: `InternalDispatchEvent`
 * for the internal lifecycle events, `StopEvent` for the abnormal endings and a custom stop
 * class, `StartEvent` for a custom start class; else `null` (the built-in StopEvent too).
 *
 * @internal
 */
export const typesOf = (workflow: Workflow.Any, eventClass: Event.Any): ReadonlyArray<string> | null => {
  if (internalClasses.has(eventClass)) return ["InternalDispatchEvent"]
  if (endingClasses.has(eventClass)) return ["StopEvent"]
  // a custom start or stop class is a subclass of StartEvent / StopEvent in the original
  if (eventClass === workflow.stop && eventClass !== Event.StopEvent) return ["StopEvent"]
  if (eventClass === workflow.start && eventClass !== Event.StartEvent) return ["StartEvent"]
  return null
}

/** `exception_type`: the error's tag, else its class name, else its JS type. */
const exceptionTypeOf = (error: unknown): string => {
  if (Predicate.hasProperty(error, "_tag") && typeof error._tag === "string") return error._tag
  if (typeof error === "object" && error !== null) {
    const name: unknown = (error as { readonly constructor?: { readonly name?: unknown } }).constructor?.name
    if (typeof name === "string" && name !== "") return name
  }
  return error === null ? "null" : typeof error
}

/** An object's own fields as JSON, without `_tag` (an error's `name` and `message` left out). */
const ownFieldsOf = (obj: object): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(obj)) {
    const value = key === "_tag" ? undefined : toJson((obj as JsonRecord)[key])
    if (value !== undefined) define(out, key, value)
  }
  return out
}

/** `exception_message`: the message; for errors without one (a `Data.TaggedError`), its fields. */
const exceptionMessageOf = (error: unknown): string => {
  if (Predicate.hasProperty(error, "message") && typeof error.message === "string" && error.message !== "") {
    return truncate(error.message)
  }
  if (typeof error === "string") return truncate(error)
  const fields = typeof error === "object" && error !== null ? ownFieldsOf(error) : {}
  return truncate(Object.keys(fields).length > 0 ? JSON.stringify(fields) : safeString(error))
}

/** The lifecycle events with the Python field names (the Workflow Debugger reads them). */
const lifecycleValueOf = (event: Event.AnyEvent, eventClass: Event.Any): Record<string, unknown> | undefined => {
  if (eventClass === Event.StepStateChanged) {
    const ev = event as Event.StepStateChanged
    return {
      name: ev.name,
      step_state: ev.stepState,
      worker_id: ev.workerId,
      input_event_name: ev.inputEventName,
      output_event_name: ev.outputEventName ?? null
    }
  }
  if (eventClass === Event.WorkflowFailedEvent) {
    const ev = event as Event.WorkflowFailedEvent
    return {
      step_name: ev.stepName,
      exception: { exception_type: exceptionTypeOf(ev.error), exception_message: exceptionMessageOf(ev.error) },
      attempts: ev.attempts,
      elapsed_seconds: ev.elapsedSeconds
    }
  }
  if (eventClass === Event.WorkflowTimedOutEvent) {
    const ev = event as Event.WorkflowTimedOutEvent
    return { timeout: ev.timeout, active_steps: [...ev.activeSteps] }
  }
  if (eventClass === Event.UnhandledEvent) {
    const ev = event as Event.UnhandledEvent
    return { event_type: ev.eventType, step_name: ev.stepName ?? null, idle: ev.idle }
  }
  if (eventClass === Event.WorkflowIdleEvent || eventClass === Event.WorkflowCancelledEvent) return {}
  return undefined
}

/** The fields of an event through its class's Schema, without `_tag`; best effort if that fails. */
const fieldsValueOf = (event: Event.AnyEvent, eventClass: Event.Any | undefined): Record<string, unknown> => {
  if (eventClass !== undefined) {
    try {
      const encoded = Schema.encodeUnknownEither(eventClass)(event)
      if (Either.isRight(encoded) && isRecord(encoded.right)) return withoutKey(toJsonRecord(encoded.right), "_tag")
    } catch {
      // a transformation that throws: fall through to the raw fields
    }
  }
  return withoutKey(toJsonRecord(event), "_tag")
}

const valueOf = (event: Event.AnyEvent, eventClass: Event.Any | undefined): unknown => {
  const lifecycle = eventClass === undefined ? undefined : lifecycleValueOf(event, eventClass)
  if (lifecycle !== undefined) return lifecycle
  const fields = fieldsValueOf(event, eventClass)
  return eventClass !== undefined && dataWrappedOnOutput.has(eventClass) ? { _data: fields } : fields
}

/**
 * The envelope of an event published by a run of `workflow`. Never throws: a value that its
 * Schema cannot encode, or that is not JSON, is sent as a best-effort JSON value.
 *
 * @internal
 */
export const encode = (workflow: Workflow.Any, event: Event.AnyEvent, options?: EncodeOptions): Envelope => {
  const eventClass = registryOf(workflow).get(event._tag)
  const qualifiedName = eventClass === undefined
    ? `${workflow.name}.${event._tag}`
    : qualifiedNameOf(workflow, eventClass)
  return {
    value: valueOf(event, eventClass),
    qualified_name: options?.qualifiedName === false ? null : qualifiedName,
    type: event._tag,
    types: eventClass === undefined ? null : typesOf(workflow, eventClass)
  }
}

/**
 * Whether an envelope is internal: streams leave it out unless `include_internal=true`.
 *
 * @internal
 */
export const isInternal = (envelope: Envelope): boolean => envelope.types?.includes("InternalDispatchEvent") ?? false

/**
 * Whether an envelope ends a stream, as the original decides it from a stored envelope: any
 * StopEvent (the built-in one, whose `types` is `null`, or one whose `types` has `StopEvent`).
 *
 * @internal
 */
export const isTerminalEnvelope = (envelope: Envelope): boolean =>
  envelope.type === Event.StopEvent._tag || (envelope.types?.includes("StopEvent") ?? false)

/**
 * Whether an event ends its run's stream: the workflow's stop class or an abnormal ending.
 *
 * @internal
 */
export const isTerminal = (workflow: Workflow.Any, event: Event.AnyEvent): boolean =>
  event._tag === workflow.stop._tag || endingTags.has(event._tag)

// -------------------------------------------------------------------------------------------------
// errors
// -------------------------------------------------------------------------------------------------

/**
 * Why an inbound event was refused:
 * - `MissingEvent`: no event at all (POST /events without one);
 * - `NotAnObject`: neither a JSON object nor a JSON string holding one;
 * - `MissingType`: an envelope without `type` or `qualified_name`;
 * - `InvalidEventType`: a type or qualified name that names no event the workflow accepts;
 * - `DeserializeFailed`: the class's Schema refused the value;
 * - `NotStartEvent`: a start event of another class than the workflow's start class.
 *
 * @internal
 */
export type EnvelopeErrorReason =
  | "MissingEvent"
  | "NotAnObject"
  | "MissingType"
  | "InvalidEventType"
  | "DeserializeFailed"
  | "NotStartEvent"

/**
 * An inbound event the server refuses; `message` is what goes into `{"detail": ...}` (see
 * `startEventDetail` for the run routes).
 *
 * @internal
 */
export class EnvelopeError extends Data.TaggedError("EnvelopeError")<{
  readonly reason: EnvelopeErrorReason
  readonly message: string
}> {}

/**
 * The messages of `EnvelopeError`, worded as the original's.
 *
 * @internal
 */
export const messages = {
  missingEvent: "Event data is required",
  notAnObject: "Failed to deserialize event. Must be a json object, or stringified json object",
  missingType: "Invalid client data. Must have a type or a qualified name",
  invalidEventType: (name: string, expected: ReadonlyArray<string>): string =>
    `Invalid event type: ${name}. Expected one of ${expected.join(", ")}`,
  deserializeFailed: (reason: string): string => `Failed to deserialize event: ${reason}`,
  notStartEvent: (startTag: string): string => `Start event must be an instance of ${startTag}`
} as const

/**
 * The `detail` of a refused `start_event` on the run routes, as the original words it: the
 * envelope's message after `Validation error for 'start_event': `, except the wrong-class error,
 * which stands alone.
 *
 * @internal
 */
export const startEventDetail = (error: EnvelopeError): string =>
  error.reason === "NotStartEvent" ? error.message : `Validation error for 'start_event': ${error.message}`

const refuse = (reason: EnvelopeErrorReason, message: string): Either.Either<never, EnvelopeError> =>
  Either.left(new EnvelopeError({ reason, message }))

// -------------------------------------------------------------------------------------------------
// decoding (inbound)
// -------------------------------------------------------------------------------------------------

/** The classes a client may send, by tag and by qualified name, and their tags in registry order. */
interface Inbound {
  readonly byName: ReadonlyMap<string, Event.Any>
  readonly classes: ReadonlyArray<Event.Any>
  readonly tags: ReadonlyArray<string>
}

const inbounds = new WeakMap<Workflow.Any, Inbound>()

const inboundOf = (workflow: Workflow.Any): Inbound => {
  const cached = inbounds.get(workflow)
  if (cached !== undefined) return cached
  const classes = Array.from(registryOf(workflow).values()).filter((eventClass) => !isLifecycleClass(eventClass))
  const byName = new Map<string, Event.Any>(classes.map((eventClass) => [eventClass._tag, eventClass]))
  // qualified names after all tags: a bare tag always means the class with that tag
  for (const eventClass of classes) {
    const qualified = qualifiedNameOf(workflow, eventClass)
    if (!byName.has(qualified)) byName.set(qualified, eventClass)
  }
  const inbound: Inbound = { byName, classes, tags: classes.map((eventClass) => eventClass._tag) }
  inbounds.set(workflow, inbound)
  return inbound
}

/**
 * The tags of the events a client may send to `workflow` (its registry without the lifecycle
 * events), in the registry's stable order: the list of "Expected one of ...".
 *
 * @internal
 */
export const inboundTags = (workflow: Workflow.Any): ReadonlyArray<string> => inboundOf(workflow).tags

/**
 * The event classes a client sees and may send (`GET /workflows/{name}/events`): the
 * workflow's registry without the lifecycle events, in its stable order.
 *
 * @internal
 */
export const publicClasses = (workflow: Workflow.Any): ReadonlyArray<Event.Any> => inboundOf(workflow).classes

/**
 * Options of `decodeEvent`. `start`: the event is a run's start event (the run routes'
 * `start_event`): plain fields are the start class's, and only the start class is accepted.
 *
 * @internal
 */
export interface DecodeOptions {
  readonly start: boolean
}

/** What a client sent, once its form is recognised. */
type Parsed =
  | { readonly _tag: "Fields"; readonly fields: unknown }
  | { readonly _tag: "Named"; readonly name: string; readonly value: unknown }
  | { readonly _tag: "Unnamed"; readonly value: unknown }

/** A present value: the original's envelopes carry explicit `null`s for absent keys. */
const present = (record: JsonRecord, key: string): unknown =>
  Object.hasOwn(record, key) && record[key] !== null ? record[key] : undefined

/** The value of an envelope: `value`, else the legacy `data`. */
const envelopeValueOf = (record: JsonRecord): unknown => present(record, "value") ?? present(record, "data")

const isEnvelope = (record: JsonRecord): boolean =>
  record.__is_pydantic === true || Object.hasOwn(record, "type") || Object.hasOwn(record, "qualified_name") ||
  Object.hasOwn(record, "value")

const parseForm = (record: JsonRecord, start: boolean): Parsed => {
  if (start && !isEnvelope(record)) return { _tag: "Fields", fields: record }
  const value = envelopeValueOf(record)
  // `type` first (the client sends both, `qualified_name` being deprecated); the legacy
  // serializer form `{__is_pydantic, value, qualified_name}` has no `type`
  const type = present(record, "type")
  if (type !== undefined) return { _tag: "Named", name: typeof type === "string" ? type : safeString(type), value }
  const qualifiedName = present(record, "qualified_name")
  if (qualifiedName !== undefined) {
    return { _tag: "Named", name: typeof qualifiedName === "string" ? qualifiedName : safeString(qualifiedName), value }
  }
  return { _tag: "Unnamed", value }
}

/** A JSON string holding the event is parsed once; a string that is not JSON is refused. */
const parseJsonString = (input: unknown): Either.Either<unknown, EnvelopeError> => {
  if (typeof input !== "string") return Either.right(input)
  try {
    return Either.right(JSON.parse(input))
  } catch {
    return refuse("NotAnObject", messages.notAnObject)
  }
}

/** Python's `not event_data` for sent events: no event, `null`, `""` and `{}` all mean "nothing sent". */
const isNothing = (u: unknown): boolean =>
  u === undefined || u === null || u === "" || (isRecord(u) && Object.keys(u).length === 0)

/** A pydantic-like summary of a Schema failure: one entry per path, all issues. */
const describeParseError = (tag: string, error: ParseResult.ParseError): string => {
  const byPath = new Map<string, Array<string>>()
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const path = issue.path.map(safeString).join(".")
    const messagesAtPath = byPath.get(path) ?? []
    if (!messagesAtPath.includes(issue.message)) messagesAtPath.push(issue.message)
    byPath.set(path, messagesAtPath)
  }
  const lines: Array<string> = []
  for (const [path, issues] of byPath) {
    // an optional field's `undefined` alternative is noise: a JSON client cannot mean it
    const meaningful = issues.filter((message) => !message.startsWith("Expected undefined,"))
    if (path !== "") lines.push(path)
    for (const message of meaningful.length > 0 ? meaningful : issues) lines.push(`  ${message}`)
  }
  const count = byPath.size
  return [`${count} validation error${count === 1 ? "" : "s"} for ${tag}`, ...lines].join("\n")
}

/**
 * The fields to decode for a class. The dict-like built-ins also take their fields under
 * `_data` (what the original sends); the built-in StartEvent takes fields without `input` as
 * its `input` (the original's start event takes any keyword fields: `{"name": "ada"}` would
 * otherwise be dropped).
 */
const fieldsFor = (eventClass: Event.Any, value: JsonRecord): JsonRecord => {
  let fields = value
  if (dictLikeClasses.has(eventClass) && isRecord(value._data)) {
    fields = { ...withoutKey(value, "_data"), ...value._data }
  }
  if (eventClass === Event.StartEvent && !Object.hasOwn(fields, "input") && Object.keys(fields).length > 0) {
    return { input: fields }
  }
  return fields
}

const decodeAs = (eventClass: Event.Any, value: unknown): Either.Either<Event.AnyEvent, EnvelopeError> => {
  const tag = eventClass._tag
  if (value !== undefined && !isRecord(value)) {
    const reason = `1 validation error for ${tag}\n  Expected an object`
    return refuse("DeserializeFailed", messages.deserializeFailed(reason))
  }
  // spreading copies a `__proto__` key as a plain own key; the Schema ignores unknown keys
  const input = { ...fieldsFor(eventClass, value ?? {}), _tag: tag }
  try {
    const decoded = Schema.decodeUnknownEither(eventClass)(input, { errors: "all" })
    if (Either.isLeft(decoded)) {
      return refuse("DeserializeFailed", messages.deserializeFailed(describeParseError(tag, decoded.left)))
    }
    if (!Event.isEvent(decoded.right)) {
      return refuse("DeserializeFailed", messages.deserializeFailed(`${tag} does not decode to an event`))
    }
    return Either.right(decoded.right)
  } catch (error) {
    // a user transformation that throws
    return refuse("DeserializeFailed", messages.deserializeFailed(truncate(safeString(error))))
  }
}

const resolveClass = (workflow: Workflow.Any, name: string): Either.Either<Event.Any, EnvelopeError> => {
  const inbound = inboundOf(workflow)
  const eventClass = inbound.byName.get(name)
  return eventClass === undefined
    ? refuse("InvalidEventType", messages.invalidEventType(name, inbound.tags))
    : Either.right(eventClass)
}

const classOf = (workflow: Workflow.Any, parsed: Parsed, start: boolean): Either.Either<Event.Any, EnvelopeError> => {
  switch (parsed._tag) {
    case "Fields":
      return Either.right(workflow.start)
    case "Named":
      return resolveClass(workflow, parsed.name)
    case "Unnamed":
      return start ? Either.right(workflow.start) : refuse("MissingType", messages.missingType)
  }
}

const checkStartClass = (workflow: Workflow.Any, eventClass: Event.Any): Either.Either<Event.Any, EnvelopeError> =>
  eventClass === workflow.start
    ? Either.right(eventClass)
    : refuse("NotStartEvent", messages.notStartEvent(workflow.start._tag))

/**
 * An event sent in by a client, decoded with its class's own Schema, the class found only in
 * the workflow's registry. Accepted forms (also as a JSON string holding one of them):
 * - `{type: "Tag", value: {...}}` (`null` keys count as absent);
 * - `{qualified_name: "<name>.Tag", value}`, the qualified name exactly as `encode` gives it,
 *   or the bare tag;
 * - legacy `{type, data}` and `{"__is_pydantic": true, value, qualified_name}`;
 * - with `start`: plain fields of the start class (no `type`, `value` or `qualified_name`), and
 *   nothing at all (`undefined`, `null`, `{}`) for the start class's defaults.
 *
 * Lifecycle events are not accepted (they are not in the list of "Expected one of").
 *
 * @internal
 */
export const decodeEvent = (
  workflow: Workflow.Any,
  input: unknown,
  options: DecodeOptions
): Either.Either<Event.AnyEvent, EnvelopeError> =>
  Either.gen(function*() {
    if (!options.start && isNothing(input)) return yield* refuse("MissingEvent", messages.missingEvent)
    const json = yield* parseJsonString(input)
    if (!options.start && isNothing(json)) return yield* refuse("MissingEvent", messages.missingEvent)
    // no start event at all: the start class with its defaults (`{}` is plain fields, the same)
    if (json === undefined || json === null) return yield* decodeAs(workflow.start, undefined)
    if (!isRecord(json)) return yield* refuse("NotAnObject", messages.notAnObject)
    const parsed = parseForm(json, options.start)
    const eventClass = yield* classOf(workflow, parsed, options.start)
    if (options.start) yield* checkStartClass(workflow, eventClass)
    return yield* decodeAs(eventClass, parsed._tag === "Fields" ? parsed.fields : parsed.value)
  })

// -------------------------------------------------------------------------------------------------
// JSON Schema
// -------------------------------------------------------------------------------------------------

/**
 * A JSON Schema node.
 *
 * @internal
 */
export interface JsonSchema {
  readonly [key: string]: unknown
}

/**
 * The JSON Schema of an event class, shaped as the original's (`GET /workflows/{name}/schema`
 * and `/events`): `title` is the tag (the Workflow Debugger sends it back as `type`).
 *
 * @internal
 */
export interface EventJsonSchema {
  readonly description?: string
  readonly properties: { readonly [field: string]: JsonSchema }
  readonly required?: ReadonlyArray<string>
  readonly title: string
  readonly type: "object"
  /** Only for recursive definitions, which cannot be inlined. */
  readonly $defs?: { readonly [name: string]: JsonSchema }
}

const refPrefix = "#/$defs/"

/** Effect's ids of its own keyword schemas (`/schemas/unknown`, ...): noise for a client. */
const isEffectId = (key: string, value: unknown): boolean =>
  key === "$id" && typeof value === "string" && value.startsWith("/schemas/")

/**
 * Replaces `$ref`s by their definitions, so that each field's schema stands alone. A recursive
 * reference stays a `$ref`, and its name goes into `recursive` (the caller adds `$defs`).
 */
const inlineRefs = (
  node: unknown,
  defs: JsonRecord,
  visiting: ReadonlyArray<string>,
  recursive: Set<string>
): unknown => {
  if (Array.isArray(node)) return node.map((item) => inlineRefs(item, defs, visiting, recursive))
  if (!isRecord(node)) return node
  const ref = node.$ref
  if (typeof ref === "string" && ref.startsWith(refPrefix)) {
    const name = ref.slice(refPrefix.length)
    if (Object.hasOwn(defs, name) && !visiting.includes(name)) {
      const target = inlineRefs(defs[name], defs, [...visiting, name], recursive)
      const siblings = inlineRefs(withoutKey(node, "$ref"), defs, visiting, recursive)
      return { ...(isRecord(target) ? target : {}), ...(isRecord(siblings) ? siblings : {}) }
    }
    if (Object.hasOwn(defs, name)) recursive.add(name)
  }
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(node)) {
    if (key === "$schema" || key === "$defs" || isEffectId(key, node[key])) continue
    define(out, key, inlineRefs(node[key], defs, visiting, recursive))
  }
  return out
}

/** pydantic's field title: `first_name` and `firstName` both read "First Name". */
const fieldTitle = (key: string): string =>
  key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .split(/[_\s]+/)
    .filter((word) => word !== "")
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join(" ") || key

type Field = Schema.Struct.Field

const fieldsOf = (eventClass: Event.Any): ReadonlyArray<readonly [string, Field]> => {
  const fields: unknown = (eventClass as { readonly fields?: unknown }).fields
  if (!isRecord(fields)) return []
  const out: Array<readonly [string, Field]> = []
  for (const key of Object.keys(fields)) {
    const field = fields[key]
    if (key !== "_tag" && (Schema.isSchema(field) || Schema.isPropertySignature(field))) out.push([key, field])
  }
  return out
}

interface FieldSchema {
  readonly schema: JsonSchema
  readonly required: boolean
  readonly defs: JsonRecord
}

/** A struct of one field: what Effect's JSON Schema generator and decoder work on. */
type FieldStruct = Schema.Schema<unknown, unknown>

/** The JSON Schema of one field, or `{}` when Effect cannot express it (a declared type). */
const jsonSchemaOfField = (
  struct: FieldStruct,
  key: string
): { readonly schema: unknown; readonly defs: JsonRecord } => {
  const unexpressed = { schema: {}, defs: {} }
  try {
    const root: unknown = JSONSchema.make(struct)
    if (!isRecord(root) || !isRecord(root.properties) || !Object.hasOwn(root.properties, key)) return unexpressed
    return { schema: root.properties[key], defs: isRecord(root.$defs) ? root.$defs : {} }
  } catch {
    return unexpressed
  }
}

/**
 * Required and default as the decoder sees them: a field is required when decoding without it
 * fails; its default is what decoding without it gives, encoded back.
 */
const requiredAndDefault = (
  struct: FieldStruct,
  key: string
): { readonly required: boolean; readonly default?: unknown } => {
  try {
    const decoded = Schema.decodeUnknownEither(struct)({})
    if (Either.isLeft(decoded)) return { required: true }
    if (!isRecord(decoded.right) || decoded.right[key] === undefined) return { required: false }
    const encoded = Schema.encodeUnknownEither(struct)(decoded.right)
    const json = Either.isRight(encoded) && isRecord(encoded.right) ? toJson(encoded.right[key]) : undefined
    return json === undefined ? { required: false } : { required: false, default: json }
  } catch {
    return { required: true }
  }
}

const fieldSchemaOf = (key: string, field: Field): FieldSchema => {
  const struct = Schema.Struct({ [key]: field }) as unknown as FieldStruct
  const { defs, schema } = jsonSchemaOfField(struct, key)
  const { required, ...defaultValue } = requiredAndDefault(struct, key)
  return {
    schema: { ...(isRecord(schema) ? schema : {}), ...defaultValue, title: fieldTitle(key) },
    required,
    defs
  }
}

const descriptionOf = (eventClass: Event.Any): string | undefined => {
  try {
    const ast = eventClass.ast
    return Option.getOrUndefined(SchemaAST.getDescriptionAnnotation(SchemaAST.isTransformation(ast) ? ast.to : ast))
  } catch {
    return undefined
  }
}

/**
 * The JSON Schema of an event class: one property per field (without `_tag`), titled as
 * pydantic titles fields, with `default` for fields that have one and `required` for fields
 * that cannot be left out. Never throws: a field Effect cannot express is `{}`.
 *
 * @internal
 */
export const jsonSchemaOf = (eventClass: Event.Any): EventJsonSchema => {
  const properties: Record<string, JsonSchema> = {}
  const required: Array<string> = []
  const allDefs: Record<string, unknown> = {}
  const recursive = new Set<string>()
  for (const [key, field] of fieldsOf(eventClass)) {
    const fieldSchema = fieldSchemaOf(key, field)
    for (const name of Object.keys(fieldSchema.defs)) {
      if (!Object.hasOwn(allDefs, name)) define(allDefs, name, fieldSchema.defs[name])
    }
    define(properties, key, inlineRefs(fieldSchema.schema, fieldSchema.defs, [], recursive) as JsonSchema)
    if (fieldSchema.required) required.push(key)
  }
  const description = descriptionOf(eventClass)
  return {
    ...(description === undefined ? {} : { description }),
    properties,
    ...(required.length === 0 ? {} : { required }),
    title: eventClass._tag,
    type: "object",
    ...(recursive.size === 0 ? {} : { $defs: recursiveDefs(allDefs, recursive) })
  }
}

/** The definitions a recursive field still refers to, each inlined but for its own recursion. */
const recursiveDefs = (allDefs: JsonRecord, recursive: Set<string>): { readonly [name: string]: JsonSchema } => {
  const out: Record<string, JsonSchema> = {}
  const pending = [...recursive]
  for (let name = pending.shift(); name !== undefined; name = pending.shift()) {
    if (Object.hasOwn(out, name)) continue
    const found = new Set<string>()
    define(out, name, inlineRefs(allDefs[name], allDefs, [name], found) as JsonSchema)
    for (const next of found) if (!Object.hasOwn(out, next)) pending.push(next)
  }
  return out
}
