/**
 * A run's snapshot against its workflow: `RawSnapshot` (instances, the store's value) to the
 * `Snapshot` document and back. Events go through the workflow's own registry of event classes
 * only; nothing in a payload is ever imported, evaluated or instantiated outside it.
 *
 * @internal
 */
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import * as Event from "../Event.js"
import type * as Serializer from "../Serializer.js"
import * as Snapshot from "../Snapshot.js"
import type * as Workflow from "../Workflow.js"
import { ContextSerdeError } from "../WorkflowError.js"
import type { RawAttempt, RawSnapshot, RawStep, RawWaiter } from "./snapshotData.js"

// -------------------------------------------------------------------------------------------------
// registry
// -------------------------------------------------------------------------------------------------

/** The built-in event classes of Event.ts, in the registry's order. @internal */
export const builtIns: ReadonlyArray<Event.Any> = [
  Event.StartEvent,
  Event.StopEvent,
  Event.InputRequiredEvent,
  Event.HumanResponseEvent,
  Event.StepFailedEvent,
  Event.StepStateChanged,
  Event.WorkflowIdleEvent,
  Event.UnhandledEvent,
  Event.WorkflowFailedEvent,
  Event.WorkflowTimedOutEvent,
  Event.WorkflowCancelledEvent
]

const registries = new WeakMap<Workflow.Any, ReadonlyMap<string, Event.Any>>()

/**
 * The workflow's event classes by tag: start, stop, every step's `on` and `emits`, then the
 * built-in events of Event.ts (a workflow's own class wins over a built-in with the same tag;
 * among the workflow's classes the first declared wins). Cached per workflow.
 *
 * @internal
 */
export const registryOf = (workflow: Workflow.Any): ReadonlyMap<string, Event.Any> => {
  const cached = registries.get(workflow)
  if (cached !== undefined) return cached
  const registry = new Map<string, Event.Any>()
  const add = (eventClass: Event.Any) => {
    if (!registry.has(eventClass._tag)) registry.set(eventClass._tag, eventClass)
  }
  add(workflow.start)
  add(workflow.stop)
  for (const step of workflow.steps) {
    step.on.forEach(add)
    step.emits.forEach(add)
  }
  workflow.events.forEach(add)
  builtIns.forEach(add)
  registries.set(workflow, registry)
  return registry
}

const encoders = new WeakMap<Event.Any, (u: unknown) => Either.Either<unknown, ParseResult.ParseError>>()
const decoders = new WeakMap<Event.Any, (u: unknown) => Either.Either<unknown, ParseResult.ParseError>>()

const encoderOf = (eventClass: Event.Any) => {
  let encoder = encoders.get(eventClass)
  if (encoder === undefined) {
    encoder = Schema.encodeUnknownEither(eventClass)
    encoders.set(eventClass, encoder)
  }
  return encoder
}

const decoderOf = (eventClass: Event.Any) => {
  let decoder = decoders.get(eventClass)
  if (decoder === undefined) {
    decoder = Schema.decodeUnknownEither(eventClass)
    decoders.set(eventClass, decoder)
  }
  return decoder
}

// -------------------------------------------------------------------------------------------------
// helpers
// -------------------------------------------------------------------------------------------------

type Path = ReadonlyArray<PropertyKey>

/** Thrown inside `encode` / `decode` and turned into their `Left`. */
class Abort {
  constructor(readonly error: ContextSerdeError) {}
}

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/

const formatPath = (path: Path): string => {
  let out = ""
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`
    else if (typeof segment === "string" && identifier.test(segment)) out += out === "" ? segment : `.${segment}`
    else out += `[${JSON.stringify(String(segment))}]`
  }
  return out
}

const quote = (s: string): string => `'${s.length > 100 ? `${s.slice(0, 100)}...` : s}'`

const fail = (message: string, cause?: unknown): never => {
  throw new Abort(new ContextSerdeError(cause === undefined ? { message } : { message, cause }))
}

const reasonOf = (error: ParseResult.ParseError): { readonly path: Path; readonly reason: string } => {
  const first = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  if (first === undefined) return { path: [], reason: error.message }
  const reason = first._tag === "Missing"
    ? "missing required field"
    : first._tag === "Unexpected"
    ? "unexpected field"
    : first.message
  return { path: first.path, reason }
}

const isRecord = (u: unknown): u is { readonly [key: string]: unknown } =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const isPlainRecord = (u: unknown): u is { readonly [key: string]: unknown } => {
  if (!isRecord(u)) return false
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

/** Defines an own property (a `__proto__` key stays a key: no prototype change). */
const define = (target: Record<string, unknown>, key: string, value: unknown): void => {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

const run = <A>(body: () => A, unexpected: string): Either.Either<A, ContextSerdeError> => {
  try {
    return Either.right(body())
  } catch (error) {
    if (error instanceof Abort) return Either.left(error.error)
    return Either.left(new ContextSerdeError({ message: `${unexpected}: ${String(error)}`, cause: error }))
  }
}

// -------------------------------------------------------------------------------------------------
// encode
// -------------------------------------------------------------------------------------------------

const cannotEncode = (path: Path, reason: string, cause?: unknown): never =>
  fail(`Cannot encode snapshot at ${formatPath(path)}: ${reason}`, cause)

const nonNegativeInt = (n: number, path: Path): number =>
  Number.isSafeInteger(n) && n >= 0 ? n : cannotEncode(path, `expected a non-negative integer, got ${n}`)

/** A JSON value (as `Snapshot.checkJson` decides), else `null`. */
const jsonOrNull = (u: unknown): unknown =>
  u === undefined || Either.isLeft(Snapshot.checkJson(u)) ? null : u

const forbiddenKeys: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"])

const isJson = (u: unknown): boolean => u !== undefined && Either.isRight(Snapshot.checkJson(u))

/**
 * An error as JSON (a `StepFailedEvent`'s `error`): a JSON value as itself; anything else as
 * `{ _tag?, message, ...its own JSON fields }` (the form `lastError` has, with the fields).
 */
const errorToJson = (error: unknown): unknown => {
  if (error === undefined) return null
  if (isJson(error)) return error
  if (typeof error !== "object" || error === null) return String(error)
  const out: Record<string, unknown> = {}
  const tag = (error as { readonly _tag?: unknown })._tag
  if (typeof tag === "string") define(out, "_tag", tag)
  const message = (error as { readonly message?: unknown }).message
  define(out, "message", typeof message === "string" ? message : String(error))
  for (const key of Object.keys(error)) {
    if (key === "_tag" || key === "message" || forbiddenKeys.has(key)) continue
    const value = (error as Record<string, unknown>)[key]
    if (isJson(value)) define(out, key, value)
  }
  return out
}

const isStepFailed = (eventClass: Event.Any): boolean => eventClass === Event.StepFailedEvent

/** A `StepFailedEvent`: its input event through the registry, its error as JSON. */
const encodeStepFailed = (
  registry: ReadonlyMap<string, Event.Any>,
  event: Event.StepFailedEvent,
  path: Path
): Snapshot.EncodedEvent => {
  const encoded = encoderOf(Event.StepFailedEvent)(event)
  if (Either.isLeft(encoded)) {
    const { path: at, reason } = reasonOf(encoded.left)
    return cannotEncode([...path, ...at], reason)
  }
  return {
    ...(encoded.right as Snapshot.EncodedEvent),
    inputEvent: encodeEvent(registry, event.inputEvent, [...path, "inputEvent"]),
    error: errorToJson(event.error)
  }
}

const encodeEvent = (registry: ReadonlyMap<string, Event.Any>, event: unknown, path: Path): Snapshot.EncodedEvent => {
  if (!Event.isEvent(event)) return cannotEncode(path, "not an event")
  const eventClass = registry.get(event._tag)
  if (eventClass === undefined) {
    return cannotEncode(path, `unknown event type ${quote(event._tag)} (not an event of the workflow)`)
  }
  if (isStepFailed(eventClass)) return encodeStepFailed(registry, event as Event.StepFailedEvent, path)
  const encoded = encoderOf(eventClass)(event)
  if (Either.isLeft(encoded)) {
    const { path: at, reason } = reasonOf(encoded.left)
    return cannotEncode([...path, ...at], reason)
  }
  const value = encoded.right
  if (!isRecord(value) || typeof value._tag !== "string") {
    return cannotEncode(path, `event class ${quote(event._tag)} does not encode to an object with a _tag`)
  }
  return value as Snapshot.EncodedEvent
}

const encodeAttempt = (
  registry: ReadonlyMap<string, Event.Any>,
  attempt: RawAttempt,
  path: Path
): Snapshot.AttemptSnapshot => {
  const encoded: Snapshot.AttemptSnapshot = {
    event: encodeEvent(registry, attempt.event, [...path, "event"]),
    failures: nonNegativeInt(attempt.failures, [...path, "failures"]),
    firstAttemptAt: attempt.firstAttemptAt ?? null,
    lastFailedAt: attempt.lastFailedAt ?? null,
    lastError: jsonOrNull(attempt.lastError),
    retryAt: attempt.retryAt ?? null
  }
  const withRecoveries = attempt.recoveries === undefined || Object.keys(attempt.recoveries).length === 0
    ? encoded
    : { ...encoded, recoveries: encodeRecoveries(attempt.recoveries, [...path, "recoveries"]) }
  if (attempt.taken === undefined || attempt.taken.length === 0) return withRecoveries
  const taken: Record<string, ReadonlyArray<Snapshot.EncodedEvent>> = {}
  for (const { bufferId, events } of attempt.taken) {
    const at = [...path, "taken", bufferId]
    define(taken, bufferId, events.map((event, i) => encodeEvent(registry, event, [...at, i])))
  }
  return { ...withRecoveries, taken }
}

const encodeRecoveries = (
  recoveries: { readonly [handler: string]: number },
  path: Path
): { readonly [handler: string]: number } => {
  const out: Record<string, number> = {}
  for (const handler of Object.keys(recoveries)) {
    define(out, handler, nonNegativeInt(recoveries[handler]!, [...path, handler]))
  }
  return out
}

const encodeRequirements = (
  registry: ReadonlyMap<string, Event.Any>,
  requirements: RawWaiter["requirements"],
  serializer: Serializer.Serializer
): Snapshot.WaiterSnapshot["requirements"] => {
  if (requirements === undefined) return null
  const encoded = serializer.encode(requirements, { key: "requirements", events: registry })
  if (Either.isLeft(encoded) || !isPlainRecord(encoded.right)) return null
  return jsonOrNull(encoded.right) as Snapshot.WaiterSnapshot["requirements"]
}

const encodeWaiter = (
  registry: ReadonlyMap<string, Event.Any>,
  waiter: RawWaiter,
  serializer: Serializer.Serializer,
  path: Path
): Snapshot.WaiterSnapshot => ({
  waiterId: waiter.waiterId,
  event: encodeEvent(registry, waiter.event, [...path, "event"]),
  awaited: waiter.awaited,
  requirements: encodeRequirements(registry, waiter.requirements, serializer),
  hasRequirements: waiter.hasRequirements,
  waiterEventPublished: waiter.waiterEventPublished,
  resolved: waiter.resolved === undefined ? null : encodeEvent(registry, waiter.resolved, [...path, "resolved"]),
  ...(waiter.expiresAt === undefined ? {} : { expiresAt: waiter.expiresAt })
})

const isEmptyStep = (step: RawStep): boolean =>
  step.queue.length === 0 && step.inProgress.length === 0 && step.collected.length === 0 && step.waiters.length === 0

const encodeStep = (
  registry: ReadonlyMap<string, Event.Any>,
  step: RawStep,
  serializer: Serializer.Serializer,
  path: Path
): Snapshot.StepSnapshot => {
  const collected: Record<string, ReadonlyArray<Snapshot.EncodedEvent>> = {}
  for (const { bufferId, events } of step.collected) {
    const at = [...path, "collected", bufferId]
    const previous = Object.hasOwn(collected, bufferId) ? collected[bufferId]! : []
    define(collected, bufferId, [...previous, ...events.map((event, i) => encodeEvent(registry, event, [...at, previous.length + i]))])
  }
  return {
    queue: step.queue.map((attempt, i) => encodeAttempt(registry, attempt, [...path, "queue", i])),
    inProgress: step.inProgress.map((attempt, i) => encodeAttempt(registry, attempt, [...path, "inProgress", i])),
    collected,
    waiters: step.waiters.map((waiter, i) => encodeWaiter(registry, waiter, serializer, [...path, "waiters", i]))
  }
}

const encodeState = (
  workflow: Workflow.Any,
  registry: ReadonlyMap<string, Event.Any>,
  state: unknown,
  serializer: Serializer.Serializer
): unknown =>
  Option.match(workflow.state, {
    onSome: (schema) => {
      const encoded = Schema.encodeUnknownEither(schema)(state)
      if (Either.isLeft(encoded)) {
        const { path, reason } = reasonOf(encoded.left)
        return cannotEncode(["state", ...path], reason)
      }
      return encoded.right
    },
    onNone: () => {
      if (!isPlainRecord(state)) return cannotEncode(["state"], "dict state must be a plain object")
      const out: Record<string, unknown> = {}
      for (const key of Object.keys(state)) {
        const encoded = serializer.encode(state[key], { key, events: registry })
        if (Either.isLeft(encoded)) return cannotEncode(["state", key], encoded.left.message, encoded.left)
        define(out, key, encoded.right)
      }
      return out
    }
  })

/**
 * The snapshot document of a run: events encoded with their classes' Schemas (through the
 * workflow's registry), typed state with the state schema, dict state key by key through the
 * serializer. The result is checked as `Snapshot.decodeUnknown` checks a document (JSON values
 * only, no prototype keys, bounded depth, non-negative integer counts), so what `encode`
 * returns always decodes.
 *
 * @internal
 */
export const encode = (
  workflow: Workflow.Any,
  raw: RawSnapshot,
  serializer: Serializer.Serializer
): Either.Either<Snapshot.Snapshot, ContextSerdeError> =>
  run(() => {
    const registry = registryOf(workflow)
    const steps: Record<string, Snapshot.StepSnapshot> = {}
    for (const [name, step] of raw.steps) {
      if (!isEmptyStep(step)) define(steps, name, encodeStep(registry, step, serializer, ["steps", name]))
    }
    const snapshot: Snapshot.Snapshot = {
      version: Snapshot.CurrentVersion,
      workflow: raw.workflow,
      runId: raw.runId,
      isRunning: raw.isRunning,
      state: encodeState(workflow, registry, raw.state, serializer),
      streamSequence: nonNegativeInt(raw.streamSequence, ["streamSequence"]),
      steps
    }
    // the structure is right by construction: check what the types cannot (JSON values only,
    // no prototype keys, bounded depth), so that what `encode` returns always decodes
    const checked = Snapshot.checkJson(snapshot)
    if (Either.isLeft(checked)) {
      fail(checked.left.message.replace(/^Invalid snapshot/, "Cannot encode snapshot"), checked.left)
    }
    return snapshot
  }, "Cannot encode snapshot")

// -------------------------------------------------------------------------------------------------
// decode
// -------------------------------------------------------------------------------------------------

const invalid = (path: Path, reason: string, cause?: unknown): never =>
  fail(`Invalid snapshot at ${formatPath(path)}: ${reason}`, cause)

const isEncodedEvent = (u: unknown): u is Snapshot.EncodedEvent => isRecord(u) && typeof u._tag === "string"

const decodeEvent = (
  registry: ReadonlyMap<string, Event.Any>,
  encoded: Snapshot.EncodedEvent,
  path: Path
): Event.AnyEvent => {
  const eventClass = registry.get(encoded._tag)
  if (eventClass === undefined) return fail(`Unknown event type ${quote(encoded._tag)} at ${formatPath(path)}`)
  if (isStepFailed(eventClass)) {
    // its input event is an event of the workflow too, decoded through the registry
    const input = encoded.inputEvent
    if (!isEncodedEvent(input)) {
      return invalid([...path, "inputEvent"], "expected an encoded event (an object with a string _tag)")
    }
    encoded = { ...encoded, inputEvent: decodeEvent(registry, input, [...path, "inputEvent"]) }
  }
  const decoded = decoderOf(eventClass)(encoded)
  if (Either.isLeft(decoded)) {
    const { path: at, reason } = reasonOf(decoded.left)
    return invalid([...path, ...at], reason)
  }
  if (!Event.isEvent(decoded.right)) return invalid(path, `event class ${quote(encoded._tag)} decodes to no event`)
  return decoded.right
}

const decodeAttempt = (
  registry: ReadonlyMap<string, Event.Any>,
  attempt: Snapshot.AttemptSnapshot,
  path: Path
): RawAttempt => ({
  event: decodeEvent(registry, attempt.event, [...path, "event"]),
  failures: attempt.failures,
  firstAttemptAt: attempt.firstAttemptAt ?? undefined,
  lastFailedAt: attempt.lastFailedAt ?? undefined,
  lastError: attempt.lastError ?? undefined,
  retryAt: attempt.retryAt ?? undefined,
  ...(attempt.recoveries === undefined ? {} : { recoveries: attempt.recoveries }),
  ...(attempt.taken === undefined ? {} : {
    taken: Object.keys(attempt.taken).map((bufferId) => ({
      bufferId,
      events: attempt.taken![bufferId]!.map((event, i) => decodeEvent(registry, event, [...path, "taken", bufferId, i]))
    }))
  })
})

const decodeWaiter = (
  registry: ReadonlyMap<string, Event.Any>,
  waiter: Snapshot.WaiterSnapshot,
  serializer: Serializer.Serializer,
  path: Path
): RawWaiter => {
  const event = decodeEvent(registry, waiter.event, [...path, "event"])
  if (!registry.has(waiter.awaited)) {
    fail(`Unknown event type ${quote(waiter.awaited)} at ${formatPath([...path, "awaited"])}`)
  }
  let requirements: RawWaiter["requirements"] = undefined
  if (waiter.requirements !== null) {
    const decoded = serializer.decode(waiter.requirements, { key: "requirements", events: registry })
    if (Either.isLeft(decoded)) invalid([...path, "requirements"], decoded.left.message, decoded.left)
    else if (!isRecord(decoded.right)) invalid([...path, "requirements"], "expected an object")
    else requirements = decoded.right
  }
  return {
    waiterId: waiter.waiterId,
    event,
    awaited: waiter.awaited,
    requirements,
    hasRequirements: waiter.hasRequirements,
    waiterEventPublished: waiter.waiterEventPublished,
    resolved: waiter.resolved === null ? undefined : decodeEvent(registry, waiter.resolved, [...path, "resolved"]),
    ...(waiter.expiresAt === undefined ? {} : { expiresAt: waiter.expiresAt })
  }
}

const decodeStep = (
  registry: ReadonlyMap<string, Event.Any>,
  step: Snapshot.StepSnapshot,
  serializer: Serializer.Serializer,
  path: Path
): RawStep => ({
  queue: step.queue.map((attempt, i) => decodeAttempt(registry, attempt, [...path, "queue", i])),
  inProgress: step.inProgress.map((attempt, i) => decodeAttempt(registry, attempt, [...path, "inProgress", i])),
  collected: Object.keys(step.collected).map((bufferId) => ({
    bufferId,
    events: step.collected[bufferId]!.map((event, i) =>
      decodeEvent(registry, event, [...path, "collected", bufferId, i])
    )
  })),
  waiters: step.waiters.map((waiter, i) => decodeWaiter(registry, waiter, serializer, [...path, "waiters", i]))
})

const decodeState = (
  workflow: Workflow.Any,
  registry: ReadonlyMap<string, Event.Any>,
  state: unknown,
  serializer: Serializer.Serializer
): unknown =>
  Option.match(workflow.state, {
    onSome: (schema) => {
      const decoded = Schema.decodeUnknownEither(schema)(state)
      if (Either.isLeft(decoded)) {
        const { path, reason } = reasonOf(decoded.left)
        return invalid(["state", ...path], reason)
      }
      return decoded.right
    },
    onNone: () => {
      if (!isPlainRecord(state)) return invalid(["state"], "expected an object (dict state)")
      const out: Record<string, unknown> = {}
      for (const key of Object.keys(state)) {
        const decoded = serializer.decode(state[key], { key, events: registry })
        if (Either.isLeft(decoded)) return invalid(["state", key], decoded.left.message, decoded.left)
        define(out, key, decoded.right)
      }
      return out
    }
  })

/**
 * A snapshot of `workflow` from any value: the document first (as `Snapshot.decodeUnknown`),
 * then against the workflow (its name, its steps, its event registry, its state schema or the
 * serializer for dict state). Steps come back in the workflow's step order.
 *
 * @internal
 */
export const decode = (
  workflow: Workflow.Any,
  u: unknown,
  serializer: Serializer.Serializer
): Either.Either<RawSnapshot, ContextSerdeError> => {
  const document = Snapshot.decodeUnknownEither(u)
  if (Either.isLeft(document)) return Either.left(document.left)
  const snapshot = document.right
  return run(() => {
    if (snapshot.workflow !== workflow.name) {
      fail(`Snapshot of workflow ${quote(snapshot.workflow)} cannot be resumed by workflow ${quote(workflow.name)}`)
    }
    const registry = registryOf(workflow)
    const names = new Set(workflow.steps.map((step) => step.name))
    for (const name of Object.keys(snapshot.steps)) {
      if (!names.has(name)) fail(`Unknown step ${quote(name)} at ${formatPath(["steps", name])}`)
    }
    const steps: Array<readonly [string, RawStep]> = []
    for (const name of names) {
      if (Object.hasOwn(snapshot.steps, name)) {
        steps.push([name, decodeStep(registry, snapshot.steps[name]!, serializer, ["steps", name])])
      }
    }
    return {
      runId: snapshot.runId,
      workflow: snapshot.workflow,
      isRunning: snapshot.isRunning,
      state: decodeState(workflow, registry, snapshot.state, serializer),
      steps,
      streamSequence: snapshot.streamSequence
    }
  }, "Invalid snapshot")
}
