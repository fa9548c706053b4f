/**
 * The json and structured serializers of dict state values (see `Serializer.ts` for the encoded
 * forms). Both are one tree encoder and one tree decoder with a mode: the structured mode adds
 * markers for non-JSON values and a reference table for shared objects and cycles.
 *
 * Nothing here evaluates code from a payload: decoding builds plain objects, arrays, the
 * built-in `Map`, `Set`, `Date`, typed arrays and `ArrayBuffer`, and instances of the event
 * classes of `context.events` (through their Schemas), nothing else.
 */
import * as Context from "effect/Context"
import * as Either from "effect/Either"
import * as Encoding from "effect/Encoding"
import * as Inspectable from "effect/Inspectable"
import * as Layer from "effect/Layer"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import type * as Event from "../Event.js"
import type * as Serializer from "../Serializer.js"
import * as WorkflowError from "../WorkflowError.js"

type Mode = Serializer.Serializer["name"]

/** @internal */
export const TypeId: Serializer.TypeId = Symbol.for("effect-workflows/Serializer") as Serializer.TypeId

/** @internal */
export const isSerializer = (u: unknown): u is Serializer.Serializer => Predicate.hasProperty(u, TypeId)

/** @internal */
export const tag: Context.Tag<Serializer.Serializer, Serializer.Serializer> = Context.GenericTag<Serializer.Serializer>(
  "effect-workflows/Serializer"
)

const Proto = {
  [TypeId]: TypeId,
  toJSON(this: Serializer.Serializer) {
    return { _id: "Serializer", name: this.name }
  },
  [Inspectable.NodeInspectSymbol](this: Serializer.Serializer) {
    return { _id: "Serializer", name: this.name }
  }
}

const make = (mode: Mode): Serializer.Serializer =>
  Object.assign(Object.create(Proto), {
    name: mode,
    encode: (value: unknown, context: Serializer.SerializerContext) => encode(mode, value, context),
    decode: (encoded: unknown, context: Serializer.SerializerContext) => decode(mode, encoded, context)
  })

/** @internal */
export const makeJson = (): Serializer.Serializer => make("json")

/** @internal */
export const makeStructured = (): Serializer.Serializer => make("structured")

/** @internal */
export const json: Layer.Layer<Serializer.Serializer> = Layer.succeed(tag, makeJson())

/** @internal */
export const structured: Layer.Layer<Serializer.Serializer> = Layer.succeed(tag, makeStructured())

// -------------------------------------------------------------------------------------------------
// failures and paths
// -------------------------------------------------------------------------------------------------

/** A step on the way from the state value to the failing node, rendered only on failure. */
type Segment = string | number | { readonly label: string }

/** Thrown inside the encoder/decoder, turned into a `ContextSerdeError` at the top. */
class Failure {
  constructor(readonly reason: string, readonly at: string) {}
}

const renderPath = (path: ReadonlyArray<Segment>): string => {
  const shown = path.length > 12 ? path.slice(path.length - 12) : path
  const rendered = shown.map((segment) =>
    typeof segment === "number"
      ? `[${segment}]`
      : typeof segment === "string"
      ? /^[A-Za-z_][\w]*$/.test(segment) ? `.${segment}` : `[${JSON.stringify(segment)}]`
      : `[${segment.label}]`
  ).join("")
  return path.length > shown.length ? `...${rendered}` : rendered
}

const fail = (path: ReadonlyArray<Segment>, reason: string): never => {
  throw new Failure(reason, renderPath(path))
}

const guard = <A>(
  verb: "serialize" | "deserialize",
  key: string,
  body: () => A
): Either.Either<A, WorkflowError.ContextSerdeError> => {
  const prefix = `Cannot ${verb} state key '${key}'`
  try {
    return Either.right(body())
  } catch (error) {
    if (error instanceof Failure) {
      const at = error.at === "" ? "" : ` at ${error.at}`
      return Either.left(new WorkflowError.ContextSerdeError({ message: `${prefix}${at}: ${error.reason}` }))
    }
    const reason = error instanceof RangeError
      ? `the value is nested too deeply or is too large (${error.message})`
      : `unexpected error (${error instanceof Error ? error.message : String(error)})`
    return Either.left(new WorkflowError.ContextSerdeError({ message: `${prefix}: ${reason}`, cause: error }))
  }
}

// -------------------------------------------------------------------------------------------------
// what a value is
// -------------------------------------------------------------------------------------------------

const typedArrays = new Map<string, TypedArrayConstructor>([
  ["Int8Array", Int8Array],
  ["Uint8Array", Uint8Array],
  ["Uint8ClampedArray", Uint8ClampedArray],
  ["Int16Array", Int16Array],
  ["Uint16Array", Uint16Array],
  ["Int32Array", Int32Array],
  ["Uint32Array", Uint32Array],
  ["Float32Array", Float32Array],
  ["Float64Array", Float64Array],
  ["BigInt64Array", BigInt64Array],
  ["BigUint64Array", BigUint64Array]
])

type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array

interface TypedArrayConstructor {
  readonly prototype: TypedArray
  readonly BYTES_PER_ELEMENT: number
  new(length: number): TypedArray
}

type ObjectKind =
  | { readonly _tag: "array"; readonly value: ReadonlyArray<unknown> }
  | { readonly _tag: "object"; readonly value: { readonly [key: string]: unknown } }
  | { readonly _tag: "event"; readonly value: Event.AnyEvent; readonly eventClass: Event.Any }
  | { readonly _tag: "map"; readonly value: ReadonlyMap<unknown, unknown> }
  | { readonly _tag: "set"; readonly value: ReadonlySet<unknown> }
  | { readonly _tag: "date"; readonly value: Date }
  | { readonly _tag: "bytes"; readonly value: TypedArray | ArrayBuffer; readonly type: string }
  | { readonly _tag: "unsupported"; readonly what: string }

const isPlainObject = (u: object): u is { readonly [key: string]: unknown } => {
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

const isJsonArray = (u: object): u is ReadonlyArray<unknown> =>
  Array.isArray(u) && Object.getPrototypeOf(u) === Array.prototype

const describeObject = (u: object): string => {
  const proto = Object.getPrototypeOf(u)
  const ctor = proto !== null && Object.hasOwn(proto, "constructor") ? proto.constructor : undefined
  return typeof ctor === "function" && ctor.name !== ""
    ? `an instance of ${ctor.name}`
    : "an object with a custom prototype"
}

const article = (type: string): string => /^(Int|Array)/.test(type) ? "an" : "a"

const kindOf = (u: object, events: ReadonlyMap<string, Event.Any>): ObjectKind => {
  if (isJsonArray(u)) return { _tag: "array", value: u }
  if (isPlainObject(u)) return { _tag: "object", value: u }
  const proto = Object.getPrototypeOf(u)
  if (Predicate.hasProperty(u, "_tag") && typeof u._tag === "string") {
    const eventClass = events.get(u._tag)
    if (eventClass !== undefined && Schema.is(eventClass)(u)) {
      return { _tag: "event", value: u as Event.AnyEvent, eventClass }
    }
    return { _tag: "unsupported", what: `a value with _tag '${u._tag}' that is not one of the workflow's events` }
  }
  if (proto === Map.prototype) return { _tag: "map", value: u as Map<unknown, unknown> }
  if (proto === Set.prototype) return { _tag: "set", value: u as Set<unknown> }
  if (proto === Date.prototype) return { _tag: "date", value: u as Date }
  if (proto === ArrayBuffer.prototype) return { _tag: "bytes", value: u as ArrayBuffer, type: "ArrayBuffer" }
  for (const [type, ctor] of typedArrays) {
    if (proto === ctor.prototype) return { _tag: "bytes", value: u as TypedArray, type }
  }
  return { _tag: "unsupported", what: describeObject(u) }
}

const describeKind = (kind: ObjectKind): string => {
  switch (kind._tag) {
    case "map":
      return "a Map"
    case "set":
      return "a Set"
    case "date":
      return "a Date"
    case "bytes":
      return `${article(kind.type)} ${kind.type}`
    default:
      return "this value"
  }
}

// Typed arrays are written little-endian whatever the platform.
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

const swapBytes = (bytes: Uint8Array, size: number): void => {
  if (littleEndian || size === 1) return
  for (let i = 0; i < bytes.length; i += size) bytes.subarray(i, i + size).reverse()
}

const bytesOf = (value: TypedArray | ArrayBuffer): string => {
  if (value instanceof ArrayBuffer) return Encoding.encodeBase64(new Uint8Array(value))
  const bytes = new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
  if (littleEndian || value.BYTES_PER_ELEMENT === 1) return Encoding.encodeBase64(bytes)
  const copy = bytes.slice()
  swapBytes(copy, value.BYTES_PER_ELEMENT)
  return Encoding.encodeBase64(copy)
}

// -------------------------------------------------------------------------------------------------
// encoding
// -------------------------------------------------------------------------------------------------

interface EncodeState {
  readonly mode: Mode
  readonly events: ReadonlyMap<string, Event.Any>
  readonly path: Array<Segment>
  /** json: the objects on the current path (cycle detection). */
  readonly ancestors: Set<object>
  /** structured: the objects reached more than once; they go to the reference table. */
  readonly shared: Set<object>
  readonly refIds: Map<object, number>
  readonly refs: Array<unknown>
  /** structured: shared events being encoded (a reference back to one is a cycle through it). */
  readonly eventsInProgress: Set<object>
  /** Each event is Schema-encoded once (the structured mode walks the result twice). */
  readonly eventEncodings: Map<object, Either.Either<unknown, string>>
}

const escapeKey = (key: string): string => key.startsWith("$") ? `$${key}` : key

const encodeEvent = (s: EncodeState, event: Event.AnyEvent, eventClass: Event.Any): Either.Either<unknown, string> => {
  let encoded = s.eventEncodings.get(event)
  if (encoded === undefined) {
    encoded = Either.mapLeft(Schema.encodeUnknownEither(eventClass)(event), formatParseError)
    s.eventEncodings.set(event, encoded)
  }
  return encoded
}

const structuredOnly = (s: EncodeState, what: string): never =>
  fail(s.path, `${what} is not serializable with the json serializer; use the structured serializer`)

const encodeValue = (s: EncodeState, value: unknown): unknown => {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value
    case "number":
      if (Number.isFinite(value)) {
        if (!Object.is(value, -0)) return value
        return s.mode === "json" ? 0 : { $: "number", value: "-0" }
      }
      return s.mode === "json"
        ? structuredOnly(s, `the number ${value}`)
        : { $: "number", value: String(value) }
    case "undefined":
      return s.mode === "json" ? structuredOnly(s, "undefined") : { $: "undefined" }
    case "bigint":
      return s.mode === "json" ? structuredOnly(s, "a bigint") : { $: "bigint", value: value.toString() }
    case "symbol":
      return fail(s.path, `a symbol is not serializable with the ${s.mode} serializer`)
    case "function":
      return fail(s.path, `a function is not serializable with the ${s.mode} serializer`)
    case "object":
      return value === null ? null : encodeObject(s, value)
  }
}

const encodeObject = (s: EncodeState, value: object): unknown => {
  if (s.mode === "json") {
    if (s.ancestors.has(value)) structuredOnly(s, "a cycle")
    s.ancestors.add(value)
    const encoded = encodeInline(s, value)
    s.ancestors.delete(value)
    return encoded
  }
  if (!s.shared.has(value)) return encodeInline(s, value)
  const known = s.refIds.get(value)
  if (known !== undefined) {
    if (s.eventsInProgress.has(value)) {
      fail(s.path, "a cycle through an event is not serializable (an event cannot contain itself)")
    }
    return { $: "ref", id: known }
  }
  const id = s.refs.length
  s.refIds.set(value, id)
  s.refs.push(null)
  s.refs[id] = encodeInline(s, value)
  return { $: "ref", id }
}

const encodeInline = (s: EncodeState, value: object): unknown => {
  const kind = kindOf(value, s.events)
  switch (kind._tag) {
    case "array": {
      const out: Array<unknown> = []
      for (let i = 0; i < kind.value.length; i++) {
        s.path.push(i)
        out.push(encodeValue(s, kind.value[i]))
        s.path.pop()
      }
      return out
    }
    case "object": {
      if (Object.getOwnPropertySymbols(kind.value).length > 0) {
        fail(s.path, `an object with symbol keys is not serializable with the ${s.mode} serializer`)
      }
      const out: Record<string, unknown> = {}
      for (const key of Object.keys(kind.value)) {
        if (key === "__proto__") fail(s.path, "a key named '__proto__' is not serializable")
        s.path.push(key)
        out[escapeKey(key)] = encodeValue(s, kind.value[key])
        s.path.pop()
      }
      return out
    }
    case "event": {
      const tag = kind.value._tag
      const encoded = encodeEvent(s, kind.value, kind.eventClass)
      if (Either.isLeft(encoded)) {
        return fail(s.path, `the event '${tag}' could not be encoded: ${encoded.left}`)
      }
      s.eventsInProgress.add(value)
      const out = { $: "event", tag, value: encodeValue(s, encoded.right) }
      s.eventsInProgress.delete(value)
      return out
    }
    case "unsupported":
      return fail(s.path, `${kind.what} is not serializable with the ${s.mode} serializer`)
  }
  if (s.mode === "json") return structuredOnly(s, describeKind(kind))
  switch (kind._tag) {
    case "map": {
      const entries: Array<unknown> = []
      let i = 0
      for (const [k, v] of kind.value) {
        s.path.push({ label: `map key ${i}` })
        const key = encodeValue(s, k)
        s.path.pop()
        s.path.push({ label: `map value ${i}` })
        entries.push([key, encodeValue(s, v)])
        s.path.pop()
        i++
      }
      return { $: "map", entries }
    }
    case "set": {
      const values: Array<unknown> = []
      let i = 0
      for (const v of kind.value) {
        s.path.push({ label: `set item ${i++}` })
        values.push(encodeValue(s, v))
        s.path.pop()
      }
      return { $: "set", values }
    }
    case "date": {
      const time = kind.value.getTime()
      return { $: "date", value: Number.isNaN(time) ? null : kind.value.toISOString() }
    }
    case "bytes":
      return { $: "bytes", type: kind.type, base64: bytesOf(kind.value) }
  }
}

/** Fills `s.shared` with the objects reachable more than once from `root` (shared or cyclic). */
const findShared = (s: EncodeState, root: unknown): void => {
  const seen = new Set<object>()
  const visit = (u: unknown): void => {
    if (typeof u !== "object" || u === null) return
    if (seen.has(u)) {
      s.shared.add(u)
      return
    }
    seen.add(u)
    const kind = kindOf(u, s.events)
    switch (kind._tag) {
      case "array":
        for (let i = 0; i < kind.value.length; i++) visit(kind.value[i])
        return
      case "object":
        for (const key of Object.keys(kind.value)) visit(kind.value[key])
        return
      case "map":
        for (const [k, v] of kind.value) {
          visit(k)
          visit(v)
        }
        return
      case "set":
        for (const v of kind.value) visit(v)
        return
      case "event": {
        const encoded = encodeEvent(s, kind.value, kind.eventClass)
        if (Either.isRight(encoded)) visit(encoded.right)
        return
      }
    }
  }
  visit(root)
}

const encode = (
  mode: Mode,
  value: unknown,
  context: Serializer.SerializerContext
): Either.Either<unknown, WorkflowError.ContextSerdeError> =>
  guard("serialize", context.key, () => {
    const s: EncodeState = {
      mode,
      events: context.events,
      path: [],
      ancestors: new Set(),
      shared: new Set(),
      refIds: new Map(),
      refs: [],
      eventsInProgress: new Set(),
      eventEncodings: new Map()
    }
    if (mode === "structured") findShared(s, value)
    const root = encodeValue(s, value)
    return s.refs.length === 0 ? root : { $: "graph", root, refs: s.refs }
  })

// -------------------------------------------------------------------------------------------------
// decoding
// -------------------------------------------------------------------------------------------------

interface Slot {
  state: "pending" | "shell" | "done"
  value: unknown
}

interface DecodeState {
  readonly mode: Mode
  readonly events: ReadonlyMap<string, Event.Any>
  readonly path: Array<Segment>
  /** The reference table of a `graph` payload (`undefined` outside one). */
  refs: ReadonlyArray<unknown> | undefined
  readonly slots: Array<Slot | undefined>
}

const structuredMarkers: ReadonlySet<string> = new Set([
  "undefined",
  "number",
  "bigint",
  "date",
  "bytes",
  "map",
  "set",
  "ref",
  "graph"
])

const describeInput = (u: unknown): string => {
  if (typeof u === "number") return `the number ${u}`
  if (typeof u === "object" && u !== null) return describeObject(u)
  return typeof u === "undefined" ? "undefined" : `a ${typeof u}`
}

const expectKeys = (s: DecodeState, node: object, keys: ReadonlyArray<string>): void => {
  const own = Reflect.ownKeys(node)
  if (own.length !== keys.length || !keys.every((key) => Object.hasOwn(node, key))) {
    fail(s.path, `the '${(node as { $: string }).$}' marker must have exactly the keys ${keys.join(", ")}`)
  }
}

const formatParseError = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)
    .map((issue) => issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`)
    .join("; ")

const expectArray = (s: DecodeState, u: unknown, what: string): ReadonlyArray<unknown> =>
  typeof u === "object" && u !== null && isJsonArray(u) ? u : fail(s.path, `${what} must be an array`)

const expectString = (s: DecodeState, u: unknown, what: string): string =>
  typeof u === "string" ? u : fail(s.path, `${what} must be a string`)

const decodeValue = (s: DecodeState, node: unknown, onShell?: (shell: unknown) => void): unknown => {
  switch (typeof node) {
    case "string":
    case "boolean":
      return node
    case "number":
      return Number.isFinite(node) ? node : fail(s.path, `${describeInput(node)} is not JSON`)
    case "object": {
      if (node === null) return null
      if (isJsonArray(node)) {
        const out: Array<unknown> = []
        onShell?.(out)
        for (let i = 0; i < node.length; i++) {
          s.path.push(i)
          out.push(decodeValue(s, node[i]))
          s.path.pop()
        }
        return out
      }
      if (!isPlainObject(node)) return fail(s.path, `${describeInput(node)} is not JSON`)
      if (Object.getOwnPropertySymbols(node).length > 0) return fail(s.path, "an object with symbol keys is not JSON")
      if (Object.hasOwn(node, "$")) return decodeMarker(s, node, onShell)
      const out: Record<string, unknown> = {}
      onShell?.(out)
      for (const encodedKey of Object.keys(node)) {
        let key = encodedKey
        if (key.startsWith("$")) {
          if (!key.startsWith("$$")) fail(s.path, `the key '${key}' is not a valid escaped key (expected '$${key}')`)
          key = key.slice(1)
        }
        if (key === "__proto__") fail(s.path, "a key named '__proto__' is not allowed")
        s.path.push(key)
        out[key] = decodeValue(s, node[encodedKey])
        s.path.pop()
      }
      return out
    }
    default:
      return fail(s.path, `${describeInput(node)} is not JSON`)
  }
}

const decodeMarker = (
  s: DecodeState,
  node: { readonly [key: string]: unknown },
  onShell: ((shell: unknown) => void) | undefined
): unknown => {
  const marker = node.$
  if (typeof marker !== "string") return fail(s.path, "a marker's '$' must be a string")
  if (marker === "event") {
    expectKeys(s, node, ["$", "tag", "value"])
    const tag = expectString(s, node.tag, "an event's tag")
    const eventClass = s.events.get(tag)
    if (eventClass === undefined) return fail(s.path, `unknown event type '${tag}'`)
    const fields = decodeValue(s, node.value)
    const decoded = Schema.decodeUnknownEither(eventClass)(fields)
    if (Either.isLeft(decoded)) return fail(s.path, `invalid event '${tag}': ${formatParseError(decoded.left)}`)
    if (!Predicate.hasProperty(decoded.right, "_tag") || decoded.right._tag !== tag) {
      return fail(s.path, `invalid event '${tag}': it decoded to another type`)
    }
    return decoded.right
  }
  if (s.mode === "json") {
    return fail(
      s.path,
      structuredMarkers.has(marker)
        ? `the '${marker}' marker needs the structured serializer`
        : `unknown marker '${marker}'`
    )
  }
  switch (marker) {
    case "undefined":
      expectKeys(s, node, ["$"])
      return undefined
    case "number": {
      expectKeys(s, node, ["$", "value"])
      switch (node.value) {
        case "NaN":
          return NaN
        case "Infinity":
          return Infinity
        case "-Infinity":
          return -Infinity
        case "-0":
          return -0
      }
      return fail(s.path, "a 'number' marker's value must be one of NaN, Infinity, -Infinity, -0")
    }
    case "bigint": {
      expectKeys(s, node, ["$", "value"])
      const digits = expectString(s, node.value, "a bigint's value")
      if (!/^-?(0|[1-9][0-9]*)$/.test(digits)) fail(s.path, "a bigint's value must be decimal digits")
      return BigInt(digits)
    }
    case "date": {
      expectKeys(s, node, ["$", "value"])
      if (node.value === null) return new Date(NaN)
      const iso = expectString(s, node.value, "a date's value")
      const date = new Date(iso)
      if (Number.isNaN(date.getTime()) || date.toISOString() !== iso) {
        fail(s.path, "a date's value must be an ISO 8601 string as Date.prototype.toISOString writes it, or null")
      }
      return date
    }
    case "bytes": {
      expectKeys(s, node, ["$", "type", "base64"])
      const type = expectString(s, node.type, "a bytes marker's type")
      const decoded = Encoding.decodeBase64(expectString(s, node.base64, "a bytes marker's base64"))
      if (Either.isLeft(decoded)) return fail(s.path, "a bytes marker's base64 is not valid base64")
      const bytes = decoded.right
      if (type === "ArrayBuffer") return new Uint8Array(bytes).buffer
      const ctor = typedArrays.get(type)
      if (ctor === undefined) return fail(s.path, `unknown bytes type '${type}'`)
      const size = ctor.BYTES_PER_ELEMENT
      if (bytes.length % size !== 0) fail(s.path, `the byte length of ${article(type)} ${type} must be a multiple of ${size}`)
      const out = new ctor(bytes.length / size)
      const target = new Uint8Array(out.buffer)
      target.set(bytes)
      swapBytes(target, size)
      return out
    }
    case "map": {
      expectKeys(s, node, ["$", "entries"])
      const entries = expectArray(s, node.entries, "a map's entries")
      const out = new Map<unknown, unknown>()
      onShell?.(out)
      for (let i = 0; i < entries.length; i++) {
        const entry = expectArray(s, entries[i], "a map entry")
        if (entry.length !== 2) fail(s.path, "a map entry must be a [key, value] pair")
        s.path.push({ label: `map key ${i}` })
        const key = decodeValue(s, entry[0])
        s.path.pop()
        s.path.push({ label: `map value ${i}` })
        out.set(key, decodeValue(s, entry[1]))
        s.path.pop()
      }
      return out
    }
    case "set": {
      expectKeys(s, node, ["$", "values"])
      const values = expectArray(s, node.values, "a set's values")
      const out = new Set<unknown>()
      onShell?.(out)
      for (let i = 0; i < values.length; i++) {
        s.path.push({ label: `set item ${i}` })
        out.add(decodeValue(s, values[i]))
        s.path.pop()
      }
      return out
    }
    case "ref": {
      expectKeys(s, node, ["$", "id"])
      const id = node.id
      if (s.refs === undefined) return fail(s.path, "a 'ref' marker outside a 'graph'")
      if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id >= s.refs.length) {
        return fail(s.path, `a dangling reference (${JSON.stringify(id)}); the table has ${s.refs.length} entries`)
      }
      return resolveRef(s, id)
    }
    case "graph":
      return fail(s.path, "a 'graph' marker is only allowed at the top level")
  }
  return fail(s.path, `unknown marker '${marker}'`)
}

const resolveRef = (s: DecodeState, id: number): unknown => {
  const existing = s.slots[id]
  if (existing !== undefined) {
    if (existing.state === "pending") {
      fail(s.path, `reference ${id} is part of a cycle that passes through no object, array, Map or Set`)
    }
    return existing.value
  }
  const slot: Slot = { state: "pending", value: undefined }
  s.slots[id] = slot
  s.path.push({ label: `ref ${id}` })
  const value = decodeValue(s, s.refs![id], (shell) => {
    slot.state = "shell"
    slot.value = shell
  })
  s.path.pop()
  slot.state = "done"
  slot.value = value
  return value
}

const decode = (
  mode: Mode,
  encoded: unknown,
  context: Serializer.SerializerContext
): Either.Either<unknown, WorkflowError.ContextSerdeError> =>
  guard("deserialize", context.key, () => {
    const s: DecodeState = { mode, events: context.events, path: [], refs: undefined, slots: [] }
    const isGraph = mode === "structured" && typeof encoded === "object" && encoded !== null &&
      isPlainObject(encoded) && Object.hasOwn(encoded, "$") && encoded.$ === "graph"
    if (!isGraph) return decodeValue(s, encoded)
    const graph = encoded as { readonly [key: string]: unknown }
    expectKeys(s, graph, ["$", "root", "refs"])
    const refs = expectArray(s, graph.refs, "a graph's refs")
    s.refs = refs
    const root = decodeValue(s, graph.root)
    // entries no one refers to are still checked
    for (let id = 0; id < refs.length; id++) {
      if (s.slots[id] === undefined) resolveRef(s, id)
    }
    return root
  })
