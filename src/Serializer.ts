/**
 * Serializers of untyped ("dict") state values for run snapshots: each state key's value is
 * encoded to plain JSON and decoded back. `json` is the analogue of LlamaIndex's
 * `JsonSerializer`, `structured` of its `PickleSerializer`, without ever running code from a
 * payload: decoding only builds JSON values, the built-in `Map`, `Set`, `Date`, typed arrays
 * and `ArrayBuffer`, and instances of the workflow's own event classes (through their Schemas).
 *
 * **Encoded form**
 *
 * - A JSON value encodes as itself: strings, finite numbers (`-0` becomes `0` with `json`),
 *   booleans, `null`, arrays, and plain objects (prototype `Object.prototype` or `null`; they
 *   decode as ordinary objects).
 * - Inside a plain object, a key that starts with `$` is escaped with one more `$`
 *   (`{ "$price": 1 }` is written `{ "$$price": 1 }`). So a written plain object never has the
 *   key `"$"`, and every object with a `"$"` key is a marker: `{ "$": kind, ... }`.
 * - An event (an instance of a class of `context.events`, at any depth) is
 *   `{ "$": "event", "tag": "Topic", "value": <its Schema-encoded form, written as above> }` and
 *   decodes through the class's Schema to a real instance. A plain object that merely carries a
 *   `_tag` stays a plain object.
 * - `structured` adds, for values that are not JSON:
 *   `{ "$": "undefined" }`, `{ "$": "number", "value": "NaN" | "Infinity" | "-Infinity" | "-0" }`,
 *   `{ "$": "bigint", "value": "-12" }`, `{ "$": "date", "value": "2024-01-01T00:00:00.000Z" | null }`
 *   (`null`: an invalid date), `{ "$": "map", "entries": [[key, value], ...] }`,
 *   `{ "$": "set", "values": [...] }`, and
 *   `{ "$": "bytes", "type": "Uint8Array" | ... | "ArrayBuffer", "base64": "..." }` (typed arrays
 *   as their own bytes, little-endian).
 * - When the value reaches some object more than once (a shared reference or a cycle),
 *   `structured` writes `{ "$": "graph", "root": <tree>, "refs": [<tree>, ...] }`: each such
 *   object is stored once in `refs` and every occurrence is `{ "$": "ref", "id": <index> }`.
 *   Decoding gives the same sharing and cycles, whatever the order of keys in the stored JSON.
 *   A cycle through an event cannot be rebuilt (events are built from their fields) and fails.
 * - `structured` writes a JSON value without shared references exactly as `json` does, so a
 *   payload written by `json` decodes with either serializer.
 *
 * **Rejected**
 *
 * Both fail with `ContextSerdeError` ("Cannot serialize state key '{key}' at {path}: {reason}")
 * on functions, symbols, `WeakMap`s, `Promise`s, `Error`s (turn errors into data first),
 * instances of any other class (including `Buffer` and other subclasses of the built-ins),
 * objects with symbol keys, keys named `__proto__`, and events that are not in
 * `context.events`. `json` also fails on what only `structured` supports (and on cycles; a
 * shared reference is written twice and decodes as two copies). Decoding fails with
 * `ContextSerdeError`, never throws, on anything malformed: unknown markers, extra or missing
 * marker keys, unescaped `$` keys, `__proto__` keys, unknown event tags, event fields the
 * class's Schema rejects, dangling references, non-JSON input, input nested too deeply.
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import type * as Either from "effect/Either"
import type * as Layer from "effect/Layer"
import type * as Event from "./Event.js"
import * as internal from "./internal/serializer.js"
import type * as WorkflowError from "./WorkflowError.js"

/**
 * @example
 * ```ts
 * import { Serializer } from "effect-workflows"
 *
 * Serializer.TypeId in Serializer.makeJson() // true
 * ```
 *
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: unique symbol = internal.TypeId

/**
 * @example
 * ```ts
 * import type { Serializer } from "effect-workflows"
 *
 * type Marker = Serializer.Serializer[Serializer.TypeId] // Serializer.TypeId
 * ```
 *
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * What a serializer knows while it encodes or decodes one state value.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import type { Serializer } from "effect-workflows"
 *
 * class Topic extends Schema.TaggedClass<Topic>()("Topic", { topic: Schema.String }) {}
 * const context: Serializer.SerializerContext = { key: "last", events: new Map([["Topic", Topic]]) }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface SerializerContext {
  /** The state key being encoded/decoded (used in error messages). */
  readonly key: string
  /** The workflow's event classes by tag (the only classes that may be instantiated on decode). */
  readonly events: ReadonlyMap<string, Event.Any>
}

/**
 * Encodes the values of a dict state, key by key, to plain JSON for snapshots, and decodes them
 * back. See the module documentation for the encoded form.
 *
 * @example
 * ```ts
 * import { Either } from "effect"
 * import { Serializer } from "effect-workflows"
 *
 * const serializer: Serializer.Serializer = Serializer.makeStructured()
 * const context = { key: "seen", events: new Map() }
 * const encoded = serializer.encode(new Set([1, 2]), context)
 * // Either.right({ $: "set", values: [1, 2] })
 * const decoded = Either.flatMap(encoded, (json) => serializer.decode(json, context))
 * // Either.right(new Set([1, 2]))
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface Serializer {
  readonly [TypeId]: TypeId
  readonly name: "json" | "structured"
  /** Encodes a value to plain JSON (only objects, arrays, strings, finite numbers, booleans, null). */
  readonly encode: (
    value: unknown,
    context: SerializerContext
  ) => Either.Either<unknown, WorkflowError.ContextSerdeError>
  /** Decodes what `encode` produced. Anything malformed fails with ContextSerdeError. */
  readonly decode: (
    encoded: unknown,
    context: SerializerContext
  ) => Either.Either<unknown, WorkflowError.ContextSerdeError>
}

/**
 * The serializer a run uses for dict state. Optional: without one in context the engine uses
 * the json serializer.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Serializer } from "effect-workflows"
 *
 * const program = Effect.gen(function* () {
 *   const serializer = yield* Serializer.Serializer
 *   return serializer.name // "structured"
 * }).pipe(Effect.provide(Serializer.structured))
 * ```
 *
 * @since 0.1.0
 * @category tags
 */
export const Serializer: Context.Tag<Serializer, Serializer> = internal.tag

/**
 * Whether a value is a `Serializer`.
 *
 * @example
 * ```ts
 * import { Serializer } from "effect-workflows"
 *
 * Serializer.isSerializer(Serializer.makeJson()) // true
 * Serializer.isSerializer({ name: "json" }) // false
 * ```
 *
 * @since 0.1.0
 * @category refinements
 */
export const isSerializer: (u: unknown) => u is Serializer = internal.isSerializer

/**
 * The JSON serializer: JSON values, with the workflow's events at any depth (Schema-encoded).
 * Anything else fails with `ContextSerdeError` naming the state key.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Serializer } from "effect-workflows"
 *
 * class Topic extends Schema.TaggedClass<Topic>()("Topic", { topic: Schema.String }) {}
 * const context = { key: "last", events: new Map([["Topic", Topic]]) }
 * Serializer.makeJson().encode({ last: new Topic({ topic: "pirates" }) }, context)
 * // Either.right({ last: { $: "event", tag: "Topic", value: { _tag: "Topic", topic: "pirates" } } })
 * Serializer.makeJson().encode(() => 1, context)
 * // Either.left(ContextSerdeError: "Cannot serialize state key 'last': a function is not
 * //   serializable with the json serializer")
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeJson: () => Serializer = internal.makeJson

/**
 * The structured serializer: what `json` encodes, encoded the same way, plus `Map`, `Set`,
 * `Date`, `bigint`, `undefined`, `NaN`, `±Infinity`, `-0`, typed arrays, `ArrayBuffer`, shared
 * references and cycles. Decoding never runs code from the payload.
 *
 * @example
 * ```ts
 * import { Serializer } from "effect-workflows"
 *
 * const node: Record<string, unknown> = { name: "a" }
 * node.self = node
 * Serializer.makeStructured().encode(node, { key: "graph", events: new Map() })
 * // Either.right({ $: "graph", root: { $: "ref", id: 0 },
 * //   refs: [{ name: "a", self: { $: "ref", id: 0 } }] })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeStructured: () => Serializer = internal.makeStructured

/**
 * Provides the json serializer (the engine's default when no `Serializer` is provided).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Serializer } from "effect-workflows"
 *
 * declare const program: Effect.Effect<void, never, Serializer.Serializer>
 * const runnable = program.pipe(Effect.provide(Serializer.json))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const json: Layer.Layer<Serializer> = internal.json

/**
 * Provides the structured serializer, for dict state holding `Map`s, `Set`s, `Date`s, bigints,
 * binary data or cyclic structures.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Serializer } from "effect-workflows"
 *
 * declare const program: Effect.Effect<void, never, Serializer.Serializer>
 * const runnable = program.pipe(Effect.provide(Serializer.structured))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const structured: Layer.Layer<Serializer> = internal.structured
