/**
 * A run as a versioned JSON document: its id, workflow, state, queues (with retry bookkeeping
 * and the `Step.catchError` recovery counts of each event's lineage), in-flight events, collect
 * buffers, waiters and stream position. Events are stored encoded with their own Schema;
 * `Workflow.resume` decodes them through the workflow's own event registry. A `StepFailedEvent`
 * has its input event encoded the same way and its `error` as JSON (a JSON value as itself,
 * anything else as `{ _tag?, message, ...its JSON fields }`).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import { ContextSerdeError } from "./WorkflowError.js"

/**
 * The version of the document this module reads and writes.
 *
 * @example
 * ```ts
 * import { Snapshot } from "effect-workflows"
 *
 * Snapshot.CurrentVersion // 1
 * ```
 *
 * @since 0.1.0
 * @category constants
 */
export const CurrentVersion: 1 = 1

/**
 * An event encoded with its class's Schema: its `_tag` and its encoded fields.
 *
 * @example
 * ```ts
 * import type { Snapshot } from "effect-workflows"
 *
 * const encoded: Snapshot.EncodedEvent = { _tag: "StopEvent", result: "done" }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface EncodedEvent {
  readonly _tag: string
  readonly [field: string]: unknown
}

/**
 * An event waiting for a worker (or whose execution was in progress), with its retry
 * bookkeeping. Times are Clock milliseconds.
 *
 * @example
 * ```ts
 * import type { Snapshot } from "effect-workflows"
 *
 * const retrying: Snapshot.AttemptSnapshot = {
 *   event: { _tag: "StartEvent", input: "x" },
 *   failures: 1,
 *   firstAttemptAt: 0,
 *   lastFailedAt: 120,
 *   lastError: { _tag: "Boom", message: "boom" },
 *   retryAt: 5120
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface AttemptSnapshot {
  readonly event: EncodedEvent
  /** Failures so far (0 before the first failure). */
  readonly failures: number
  /** Clock millis at the start of the first execution. */
  readonly firstAttemptAt: number | null
  /** Clock millis of the last failure. */
  readonly lastFailedAt: number | null
  /** The last failure as plain JSON (`{ _tag?, message }`), or `null`. */
  readonly lastError: unknown
  /** Clock millis at which a retry waiting out its delay is due; `null` when not delayed. */
  readonly retryAt: number | null
  /**
   * The `collectEvents` sets this event's execution completed (without the event itself), by
   * buffer id: its next execution gets the same set again. Absent when there are none.
   */
  readonly taken?: { readonly [bufferId: string]: ReadonlyArray<EncodedEvent> }
  /**
   * How many times each `Step.catchError` handler has recovered the lineage this event follows
   * from, by handler name. Absent when none has (and in documents written before it existed).
   */
  readonly recoveries?: { readonly [handler: string]: number }
}

/**
 * A `waitForEvent` waiter.
 *
 * @example
 * ```ts
 * import type { Snapshot } from "effect-workflows"
 *
 * const waiter: Snapshot.WaiterSnapshot = {
 *   waiterId: "approve",
 *   event: { _tag: "StartEvent", input: null },
 *   awaited: "HumanResponseEvent",
 *   requirements: null,
 *   hasRequirements: false,
 *   waiterEventPublished: true,
 *   resolved: null
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface WaiterSnapshot {
  readonly waiterId: string
  /** The step's input event (the step re-executes from it when the run is resumed). */
  readonly event: EncodedEvent
  /** Tag of the awaited event. */
  readonly awaited: string
  /** Encoded requirements, `null` when there are none or they are not encodable. */
  readonly requirements: { readonly [field: string]: unknown } | null
  /** Whether the wait had requirements (even if they could not be encoded). */
  readonly hasRequirements: boolean
  /** Whether its `waiterEvent` has been published (a resumed run does not publish it again). */
  readonly waiterEventPublished: boolean
  /** The event that resolved the waiter, not yet taken by its execution. */
  readonly resolved: EncodedEvent | null
  /** When a wait with a timeout gives up (Clock millis); absent without a timeout. */
  readonly expiresAt?: number | undefined
}

/**
 * What one step holds.
 *
 * @example
 * ```ts
 * import type { Snapshot } from "effect-workflows"
 *
 * const idle: Snapshot.StepSnapshot = { queue: [], inProgress: [], collected: {}, waiters: [] }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface StepSnapshot {
  /** Events waiting for a worker, in order (delayed retries have `retryAt`). */
  readonly queue: ReadonlyArray<AttemptSnapshot>
  /** Events whose execution was in progress (re-executed on resume: at-least-once). */
  readonly inProgress: ReadonlyArray<AttemptSnapshot>
  /** `collectEvents` buffers by buffer id, events in arrival order. */
  readonly collected: { readonly [bufferId: string]: ReadonlyArray<EncodedEvent> }
  readonly waiters: ReadonlyArray<WaiterSnapshot>
}

/**
 * The snapshot document. Everything in it is plain JSON.
 *
 * @example
 * ```ts
 * import type { Snapshot } from "effect-workflows"
 *
 * const snapshot: Snapshot.Snapshot = {
 *   version: 1,
 *   workflow: "review",
 *   runId: "run-1",
 *   isRunning: true,
 *   state: { count: 1 },
 *   streamSequence: 3,
 *   steps: {}
 * }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Snapshot {
  readonly version: 1
  /** The workflow's name. */
  readonly workflow: string
  readonly runId: string
  /** `true` while running and after a cancel; `false` once completed, failed or timed out. */
  readonly isRunning: boolean
  /** Typed state: encoded with the state schema; dict state: `{ key: serializer-encoded value }`. */
  readonly state: unknown
  /** Number of events published so far (the resumed stream continues from it). */
  readonly streamSequence: number
  /** By step name; steps with nothing in them may be omitted. */
  readonly steps: { readonly [stepName: string]: StepSnapshot }
}

// -------------------------------------------------------------------------------------------------
// messages
// -------------------------------------------------------------------------------------------------

const MaxDepth = 256

const forbiddenKeys: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"])

const describe = (u: unknown): string => {
  switch (typeof u) {
    case "string": {
      return JSON.stringify(u.length > 40 ? `${u.slice(0, 40)}...` : u)
    }
    case "number":
    case "boolean":
    case "bigint":
      return String(u)
    case "undefined":
      return "undefined"
    case "symbol":
      return "a symbol"
    case "function":
      return "a function"
  }
  if (u === null) return "null"
  if (Array.isArray(u)) return "an array"
  const proto = Object.getPrototypeOf(u)
  if (proto === Object.prototype || proto === null) return "an object"
  const kind = Object.prototype.toString.call(u).slice(8, -1)
  return kind === "Object" ? "a class instance" : `a ${kind}`
}

const identifier = /^[A-Za-z_$][A-Za-z0-9_$]*$/

const formatPath = (path: ReadonlyArray<PropertyKey>): string => {
  let out = ""
  for (const segment of path.length > 16 ? path.slice(0, 16) : path) {
    if (typeof segment === "number") out += `[${segment}]`
    else if (typeof segment === "string" && identifier.test(segment)) out += out === "" ? segment : `.${segment}`
    else out += `[${JSON.stringify(String(segment))}]`
  }
  return path.length > 16 ? `${out}...(${path.length - 16} more)` : out
}

const invalid = (path: ReadonlyArray<PropertyKey>, reason: string): ContextSerdeError =>
  new ContextSerdeError({
    message: path.length === 0 ? `Invalid snapshot: ${reason}` : `Invalid snapshot at ${formatPath(path)}: ${reason}`
  })

// -------------------------------------------------------------------------------------------------
// raw check: JSON values only, no prototype keys, bounded depth (iterative: no stack overflow)
// -------------------------------------------------------------------------------------------------

interface PathNode {
  readonly parent: PathNode | undefined
  readonly key: PropertyKey
}

const pathOf = (node: PathNode | undefined): Array<PropertyKey> => {
  const out: Array<PropertyKey> = []
  for (let current = node; current !== undefined; current = current.parent) out.push(current.key)
  return out.reverse()
}

interface Visit {
  readonly value: unknown
  readonly path: PathNode | undefined
  readonly depth: number
}

interface Leave {
  readonly leave: object
}

const isPlainObject = (u: object): boolean => {
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

/**
 * Checks that `root` is a JSON value (plain objects, arrays, strings, finite numbers, booleans,
 * null; `undefined` is tolerated as JSON drops it), without `__proto__` / `constructor` /
 * `prototype` keys, without cycles and at most `MaxDepth` levels deep.
 */
const walk = (root: unknown, base: ReadonlyArray<PropertyKey> = []): ContextSerdeError | undefined => {
  const at = (node: PathNode | undefined) => [...base, ...pathOf(node)]
  const active = new Set<object>()
  const done = new Set<object>()
  const stack: Array<Visit | Leave> = [{ value: root, path: undefined, depth: 0 }]
  while (stack.length > 0) {
    const item = stack.pop()!
    if ("leave" in item) {
      active.delete(item.leave)
      done.add(item.leave)
      continue
    }
    const { depth, path, value } = item
    switch (typeof value) {
      case "string":
      case "boolean":
      case "undefined":
        continue
      case "number":
        if (Number.isFinite(value)) continue
        return invalid(at(path), `expected a JSON value, got ${describe(value)}`)
      case "object":
        break
      default:
        return invalid(at(path), `expected a JSON value, got ${describe(value)}`)
    }
    if (value === null || done.has(value)) continue
    if (active.has(value)) return invalid(at(path), "circular reference")
    if (depth >= MaxDepth) return invalid(at(path), `nested deeper than ${MaxDepth} levels`)
    active.add(value)
    stack.push({ leave: value })
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) {
        stack.push({ value: value[i], path: { parent: path, key: i }, depth: depth + 1 })
      }
      continue
    }
    if (!isPlainObject(value)) return invalid(at(path), `expected a JSON value, got ${describe(value)}`)
    const keys = Object.keys(value)
    for (const key of keys) {
      if (forbiddenKeys.has(key)) return invalid(at({ parent: path, key }), `forbidden key "${key}"`)
    }
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!
      stack.push({ value: (value as Record<string, unknown>)[key], path: { parent: path, key }, depth: depth + 1 })
    }
  }
  return undefined
}

// -------------------------------------------------------------------------------------------------
// the document's Schema
// -------------------------------------------------------------------------------------------------

const got = (issue: ParseResult.ParseIssue): string => describe((issue as { readonly actual?: unknown }).actual)

const expecting = (expected: string) => ({ message: (issue: ParseResult.ParseIssue) => `expected ${expected}, got ${got(issue)}` })

const leaf = <A>(is: (u: unknown) => u is A, expected: string): Schema.Schema<A> =>
  Schema.declare(is, { identifier: expected, ...expecting(expected) })

const String_ = leaf((u): u is string => typeof u === "string", "a string")

const Boolean_ = leaf((u): u is boolean => typeof u === "boolean", "a boolean")

const NonNegativeInt = leaf(
  (u): u is number => typeof u === "number" && Number.isSafeInteger(u) && u >= 0,
  "a non-negative integer"
)

const Millis = leaf((u): u is number | null => u === null || (typeof u === "number" && Number.isFinite(u)), "a number or null")

const Fields = Schema.Record({ key: Schema.String, value: Schema.Unknown }).annotations(expecting("an object"))

const EncodedEvent_: Schema.Schema<EncodedEvent> = Schema.Struct(
  { _tag: String_ },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
).annotations(expecting("an encoded event (an object with a string _tag)"))

const array = <A>(item: Schema.Schema<A>) => Schema.Array(item).annotations(expecting("an array"))

const AttemptSnapshot_: Schema.Schema<AttemptSnapshot> = Schema.Struct({
  event: EncodedEvent_,
  failures: NonNegativeInt,
  firstAttemptAt: Millis,
  lastFailedAt: Millis,
  lastError: Schema.Unknown,
  retryAt: Millis,
  taken: Schema.optionalWith(
    Schema.Record({ key: Schema.String, value: array(EncodedEvent_) }).annotations(expecting("an object")),
    { exact: true }
  ),
  recoveries: Schema.optionalWith(
    Schema.Record({ key: Schema.String, value: NonNegativeInt }).annotations(expecting("an object")),
    { exact: true }
  )
}).annotations(expecting("an object"))

const WaiterSnapshot_: Schema.Schema<WaiterSnapshot> = Schema.Struct({
  waiterId: String_,
  event: EncodedEvent_,
  awaited: String_,
  requirements: Schema.Union(Fields, Schema.Null).annotations(expecting("an object or null")),
  hasRequirements: Boolean_,
  waiterEventPublished: Boolean_,
  resolved: Schema.Union(EncodedEvent_, Schema.Null),
  expiresAt: Schema.optional(Schema.Number)
}).annotations(expecting("an object"))

const StepSnapshot_: Schema.Schema<StepSnapshot> = Schema.Struct({
  queue: array(AttemptSnapshot_),
  inProgress: array(AttemptSnapshot_),
  collected: Schema.Record({ key: Schema.String, value: array(EncodedEvent_) }).annotations(expecting("an object")),
  waiters: array(WaiterSnapshot_)
}).annotations(expecting("an object"))

const Snapshot_: Schema.Schema<Snapshot> = Schema.Struct({
  version: Schema.Literal(CurrentVersion).annotations(expecting(`version ${CurrentVersion}`)),
  workflow: String_,
  runId: String_,
  isRunning: Boolean_,
  state: Schema.Unknown,
  streamSequence: NonNegativeInt,
  steps: Schema.Record({ key: Schema.String, value: StepSnapshot_ }).annotations(expecting("an object"))
}).annotations({
  identifier: "Snapshot",
  parseOptions: { onExcessProperty: "error" },
  ...expecting("a snapshot object")
})

/**
 * The document's Schema (structure only: events stay `EncodedEvent` records and the state is
 * left as it is; `Workflow.resume` decodes them against the workflow). Unknown fields are
 * rejected. Prefer `decodeUnknown`, which also rejects prototype keys and deep nesting.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Snapshot } from "effect-workflows"
 *
 * const isDocument = Schema.is(Snapshot.Snapshot)
 * isDocument({ version: 1 }) // false
 * ```
 *
 * @since 0.1.0
 * @category schemas
 */
export const Snapshot: Schema.Schema<Snapshot> = Snapshot_

const decodeSchema = Schema.decodeUnknownEither(Snapshot_)

const issueReason = (issue: ParseResult.ArrayFormatterIssue): string => {
  switch (issue._tag) {
    case "Missing":
      return "missing required field"
    case "Unexpected":
      return "unexpected field"
    default:
      return issue.message
  }
}

const fromParseError = (error: ParseResult.ParseError): ContextSerdeError => {
  const first = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  return first === undefined ? invalid([], error.message) : invalid(first.path, issueReason(first))
}

/**
 * Checks a value against the rules of the document without its structure: JSON values only (no
 * functions, class instances, NaN or cycles; `undefined` is tolerated), no `__proto__`,
 * `constructor` or `prototype` key anywhere, at most 256 levels of nesting. Iterative: deep
 * input cannot overflow the stack. `path` prefixes the path named in the error.
 *
 * @example
 * ```ts
 * import { Either } from "effect"
 * import { Snapshot } from "effect-workflows"
 *
 * Either.isRight(Snapshot.checkJson({ a: [1, "two", null] })) // true
 * Either.isLeft(Snapshot.checkJson(JSON.parse('{"a":{"__proto__":{}}}'))) // true
 * ```
 *
 * @since 0.1.0
 * @category validation
 */
export const checkJson = (u: unknown, path: ReadonlyArray<PropertyKey> = []): Either.Either<unknown, ContextSerdeError> => {
  try {
    const error = walk(u, path)
    return error === undefined ? Either.right(u) : Either.left(error)
  } catch (cause) {
    return Either.left(invalid(path, `unreadable value (${String(cause)})`))
  }
}

/**
 * `decodeUnknown` as an `Either`, for synchronous callers.
 *
 * @example
 * ```ts
 * import { Either } from "effect"
 * import { Snapshot } from "effect-workflows"
 *
 * const result = Snapshot.decodeUnknownEither({ version: 2 })
 * Either.isLeft(result) && result.left.message // "Unsupported snapshot version 2 (expected 1)"
 * ```
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeUnknownEither = (u: unknown): Either.Either<Snapshot, ContextSerdeError> => {
  try {
    if (typeof u !== "object" || u === null || Array.isArray(u)) {
      return Either.left(invalid([], `expected a snapshot object, got ${describe(u)}`))
    }
    if (!Object.hasOwn(u, "version")) {
      return Either.left(invalid([], `missing version (expected ${CurrentVersion})`))
    }
    const version = (u as { readonly version: unknown }).version
    if (version !== CurrentVersion) {
      const shown = typeof version === "number" ? String(version) : describe(version)
      return Either.left(
        new ContextSerdeError({ message: `Unsupported snapshot version ${shown} (expected ${CurrentVersion})` })
      )
    }
    const error = walk(u, [])
    if (error !== undefined) return Either.left(error)
    return Either.mapLeft(decodeSchema(u), fromParseError)
  } catch (cause) {
    return Either.left(invalid([], `unreadable value (${String(cause)})`))
  }
}

/**
 * Decodes a snapshot document from any value.
 *
 * **Details**
 * - The version is checked first: "Unsupported snapshot version 2 (expected 1)".
 * - Then the raw value: `__proto__`, `constructor` and `prototype` keys anywhere, nesting deeper
 *   than 256 levels, cycles and non-JSON values are rejected, with the path named.
 * - Then the structure, with the path and the reason: "Invalid snapshot at
 *   steps.review.queue[0].failures: expected a non-negative integer, got -1".
 * - Events and the state are not decoded here (`Workflow.resume` decodes them against the
 *   workflow's own event registry and state schema).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Snapshot } from "effect-workflows"
 *
 * const program = Snapshot.decodeUnknown({ version: 1, workflow: "w", runId: "r", isRunning: false,
 *   state: {}, streamSequence: 0, steps: {} })
 * ```
 *
 * @since 0.1.0
 * @category decoding
 */
export const decodeUnknown = (u: unknown): Effect.Effect<Snapshot, ContextSerdeError> =>
  Effect.suspend(() => decodeUnknownEither(u))

/**
 * Whether a value is a valid snapshot document (as `decodeUnknown` decides).
 *
 * @example
 * ```ts
 * import { Snapshot } from "effect-workflows"
 *
 * Snapshot.isSnapshot({ version: 1 }) // false
 * ```
 *
 * @since 0.1.0
 * @category refinements
 */
export const isSnapshot = (u: unknown): u is Snapshot => Either.isRight(decodeUnknownEither(u))

/**
 * The document as JSON text.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Snapshot } from "effect-workflows"
 *
 * declare const snapshot: Snapshot.Snapshot
 * const text = Snapshot.toJson(snapshot)
 * const back = Snapshot.fromJson(text) // Effect<Snapshot.Snapshot, ContextSerdeError>
 * ```
 *
 * @since 0.1.0
 * @category encoding
 */
export const toJson = (snapshot: Snapshot): string => JSON.stringify(snapshot)

/**
 * `fromJson` as an `Either`, for synchronous callers.
 *
 * @example
 * ```ts
 * import { Either } from "effect"
 * import { Snapshot } from "effect-workflows"
 *
 * Either.isLeft(Snapshot.fromJsonEither('{"version":1,')) // true: truncated JSON
 * ```
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromJsonEither = (json: string): Either.Either<Snapshot, ContextSerdeError> => {
  let parsed: unknown
  try {
    parsed = JSON.parse(json)
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause)
    return Either.left(invalid([], `truncated or malformed JSON (${reason})`))
  }
  return decodeUnknownEither(parsed)
}

/**
 * Parses and decodes a snapshot from JSON text; never throws: truncated or malformed text is a
 * `ContextSerdeError` ("Invalid snapshot: truncated or malformed JSON (...)"), and the document
 * is then checked as by `decodeUnknown`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Snapshot } from "effect-workflows"
 *
 * const program = Snapshot.fromJson('{"version":2}').pipe(
 *   Effect.catchTag("ContextSerdeError", (e) => Effect.succeed(e.message))
 * ) // "Unsupported snapshot version 2 (expected 1)"
 * ```
 *
 * @since 0.1.0
 * @category decoding
 */
export const fromJson = (json: string): Effect.Effect<Snapshot, ContextSerdeError> =>
  Effect.suspend(() => fromJsonEither(json))
