import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Schema from "effect/Schema"
import { Event, Serializer, WorkflowError } from "effect-workflows"

class Topic extends Schema.TaggedClass<Topic>()("Topic", { topic: Schema.String }) {}
class Scheduled extends Schema.TaggedClass<Scheduled>()("Scheduled", {
  at: Schema.Date,
  payload: Schema.Unknown
}) {}
class Outsider extends Schema.TaggedClass<Outsider>()("Outsider", { n: Schema.Number }) {}

const events: ReadonlyMap<string, Event.Any> = new Map<string, Event.Any>([
  ["Topic", Topic],
  ["Scheduled", Scheduled],
  ["StopEvent", Event.StopEvent]
])
const ctx = (key = "k"): Serializer.SerializerContext => ({ key, events })

const json = Serializer.makeJson()
const structured = Serializer.makeStructured()

const encodeOk = (serializer: Serializer.Serializer, value: unknown, key = "k"): unknown => {
  const encoded = serializer.encode(value, ctx(key))
  if (Either.isLeft(encoded)) throw new Error(`unexpected encode failure: ${encoded.left.message}`)
  // what is written is plain JSON: it survives JSON text unchanged
  expect(JSON.parse(JSON.stringify(encoded.right))).toStrictEqual(encoded.right)
  return encoded.right
}

const decodeOk = (serializer: Serializer.Serializer, encoded: unknown, key = "k"): unknown => {
  const decoded = serializer.decode(encoded, ctx(key))
  if (Either.isLeft(decoded)) throw new Error(`unexpected decode failure: ${decoded.left.message}`)
  return decoded.right
}

/** Encodes, goes through JSON text (as a snapshot does), decodes. */
const roundTrip = (serializer: Serializer.Serializer, value: unknown): unknown =>
  decodeOk(serializer, JSON.parse(JSON.stringify(encodeOk(serializer, value))))

const encodeError = (serializer: Serializer.Serializer, value: unknown, key = "k"): string => {
  const encoded = serializer.encode(value, ctx(key))
  if (Either.isRight(encoded)) throw new Error(`expected an encode failure, got ${JSON.stringify(encoded.right)}`)
  expect(encoded.left).toBeInstanceOf(WorkflowError.ContextSerdeError)
  expect(encoded.left._tag).toBe("ContextSerdeError")
  return encoded.left.message
}

const decodeError = (serializer: Serializer.Serializer, encoded: unknown, key = "k"): string => {
  const decoded = serializer.decode(encoded, ctx(key))
  if (Either.isRight(decoded)) throw new Error("expected a decode failure")
  expect(decoded.left).toBeInstanceOf(WorkflowError.ContextSerdeError)
  return decoded.left.message
}

describe("Serializer (model)", () => {
  it("constructors, names, refinement", () => {
    expect(json.name).toBe("json")
    expect(structured.name).toBe("structured")
    expect(Serializer.isSerializer(json)).toBe(true)
    expect(Serializer.isSerializer(structured)).toBe(true)
    expect(Serializer.TypeId in json).toBe(true)
    expect(Serializer.isSerializer({ name: "json", encode: () => 1, decode: () => 1 })).toBe(false)
    expect(Serializer.isSerializer(null)).toBe(false)
    expect(JSON.parse(JSON.stringify(structured))).toStrictEqual({ _id: "Serializer", name: "structured" })
  })

  it.effect("the structured layer provides the service", () =>
    Effect.gen(function*() {
      const serializer = yield* Serializer.Serializer
      expect(serializer.name).toBe("structured")
      expect(Serializer.isSerializer(serializer)).toBe(true)
      const encoded = yield* serializer.encode(new Set([1n]), ctx())
      expect(encoded).toStrictEqual({ $: "set", values: [{ $: "bigint", value: "1" }] })
      expect(yield* serializer.decode(encoded, ctx())).toStrictEqual(new Set([1n]))
    }).pipe(Effect.provide(Serializer.structured)))

  it.effect("the json layer provides the service; its errors are typed ContextSerdeErrors", () =>
    Effect.gen(function*() {
      const serializer = yield* Serializer.Serializer
      expect(serializer.name).toBe("json")
      const error = yield* Effect.flip(serializer.encode(new Map(), ctx("cache")))
      expect(error._tag).toBe("ContextSerdeError")
      expect(error.message).toContain("'cache'")
    }).pipe(Effect.provide(Serializer.json)))
})

describe("Serializer.makeJson", () => {
  it("round-trips nested JSON values", () => {
    const value = {
      name: "Ada",
      age: 36,
      ratio: -1.5e-7,
      ok: true,
      nothing: null,
      tags: ["a", "b", ["c", [1, 2, { deep: [false] }]]],
      nested: { a: { b: { c: { d: "e" } } } },
      empty: {},
      emptyList: [],
      unicode: "héllo \u0000 \ud83d\ude00"
    }
    expect(encodeOk(json, value)).toStrictEqual(value)
    expect(roundTrip(json, value)).toStrictEqual(value)
    for (const scalar of ["", "x", 0, 1, -1, 3.25, true, false, null]) {
      expect(roundTrip(json, scalar)).toStrictEqual(scalar)
    }
  })

  it("keeps data keys named constructor, prototype, toString, hasOwnProperty", () => {
    const value = { constructor: "Ada", prototype: { x: 1 }, toString: 1, hasOwnProperty: [2] }
    const decoded = roundTrip(json, value) as Record<string, unknown>
    expect(decoded).toStrictEqual(value)
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype)
    expect(Object.keys(decoded)).toStrictEqual(["constructor", "prototype", "toString", "hasOwnProperty"])
  })

  it("escapes keys starting with $ and decodes them back", () => {
    const value = { $: 1, $$: 2, $price: 3, a$: 4, nested: [{ $ref: "x" }] }
    expect(encodeOk(json, value)).toStrictEqual({ $$: 1, $$$: 2, $$price: 3, a$: 4, nested: [{ $$ref: "x" }] })
    expect(roundTrip(json, value)).toStrictEqual(value)
  })

  it("writes -0 as 0, as JSON does", () => {
    expect(encodeOk(json, -0)).toBe(0)
    expect(Object.is(roundTrip(json, { n: -0 }) as { n: number }, 0)).toBe(false)
    expect(Object.is((roundTrip(json, { n: -0 }) as { n: number }).n, 0)).toBe(true)
  })

  it("round-trips an event nested in an object to an instance of its class", () => {
    const value = { history: [{ last: new Topic({ topic: "pirates" }) }], count: 1 }
    const encoded = encodeOk(json, value)
    expect(encoded).toStrictEqual({
      history: [{ last: { $: "event", tag: "Topic", value: { _tag: "Topic", topic: "pirates" } } }],
      count: 1
    })
    const decoded = roundTrip(json, value) as { history: Array<{ last: Topic }>; count: number }
    expect(decoded.history[0]!.last).toBeInstanceOf(Topic)
    expect(decoded.history[0]!.last.topic).toBe("pirates")
    expect(decoded.history[0]!.last).toStrictEqual(new Topic({ topic: "pirates" }))
    expect(decoded.count).toBe(1)
  })

  it("encodes event fields with the event's Schema (Date field) and events inside events", () => {
    const at = new Date("2024-05-01T10:00:00.000Z")
    const inner = new Topic({ topic: "inner" })
    const value = new Scheduled({ at, payload: { inner, $odd: [1] } })
    expect(encodeOk(json, value)).toStrictEqual({
      $: "event",
      tag: "Scheduled",
      value: {
        _tag: "Scheduled",
        at: "2024-05-01T10:00:00.000Z",
        payload: { inner: { $: "event", tag: "Topic", value: { _tag: "Topic", topic: "inner" } }, $$odd: [1] }
      }
    })
    const decoded = roundTrip(json, value) as Scheduled
    expect(decoded).toBeInstanceOf(Scheduled)
    expect(decoded.at).toStrictEqual(at)
    const payload = decoded.payload as { inner: Topic; $odd: Array<number> }
    expect(payload.inner).toBeInstanceOf(Topic)
    expect(payload.inner.topic).toBe("inner")
    expect(payload.$odd).toStrictEqual([1])
  })

  it("round-trips the built-in StopEvent with an unknown result", () => {
    const decoded = roundTrip(json, new Event.StopEvent({ result: { ok: [1, "two"] } }))
    expect(decoded).toBeInstanceOf(Event.StopEvent)
    expect((decoded as Event.StopEvent).result).toStrictEqual({ ok: [1, "two"] })
  })

  it("fails on an event whose tag is not in the registry, on encode and on decode", () => {
    expect(encodeError(json, { ev: new Outsider({ n: 1 }) }, "last")).toBe(
      "Cannot serialize state key 'last' at .ev: a value with _tag 'Outsider' that is not one of the workflow's events is not serializable with the json serializer"
    )
    expect(encodeError(structured, new Map([[1, new Outsider({ n: 1 })]]), "last")).toContain("'last'")
    expect(decodeError(json, { $: "event", tag: "Outsider", value: { _tag: "Outsider", n: 1 } }, "last")).toBe(
      "Cannot deserialize state key 'last': unknown event type 'Outsider'"
    )
  })

  it("keeps a plain object that imitates a marker or an event as data", () => {
    const imitations = [
      { $: "event", tag: "Topic", value: { _tag: "Topic", topic: "fake" } },
      { $: "ref", id: 0 },
      { $: "graph", root: 1, refs: [] },
      { $: "map", entries: [] },
      { _tag: "Topic", topic: "plain" },
      { $$: "escaped already", $$$: 3 }
    ]
    for (const value of imitations) {
      for (const serializer of [json, structured]) {
        const decoded = roundTrip(serializer, { value })
        expect(decoded).toStrictEqual({ value })
        expect((decoded as { value: unknown }).value).not.toBeInstanceOf(Topic)
      }
    }
    expect(encodeOk(json, { $: "event", tag: "Topic" })).toStrictEqual({ $$: "event", tag: "Topic" })
  })

  it("rejects what JSON cannot carry, naming the state key", () => {
    expect(encodeError(json, () => 1, "fn")).toBe(
      "Cannot serialize state key 'fn': a function is not serializable with the json serializer"
    )
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      [new Map([[1, 2]]), "a Map is not serializable with the json serializer; use the structured serializer"],
      [new Set([1]), "a Set is not serializable"],
      [new Date(0), "a Date is not serializable"],
      [10n, "a bigint is not serializable"],
      [undefined, "undefined is not serializable"],
      [NaN, "the number NaN is not serializable"],
      [Infinity, "the number Infinity is not serializable"],
      [Symbol("s"), "a symbol is not serializable"],
      [new Uint8Array(2), "a Uint8Array is not serializable"],
      [new (class Point {})(), "an instance of Point is not serializable with the json serializer"],
      [new Error("boom"), "an instance of Error is not serializable"],
      [Promise.resolve(1), "an instance of Promise is not serializable"],
      [{ [Symbol("k")]: 1 }, "an object with symbol keys is not serializable"]
    ]
    for (const [value, reason] of cases) {
      const message = encodeError(json, { nested: [value] }, "my.key")
      expect(message).toContain("Cannot serialize state key 'my.key' at .nested[0]: ")
      expect(message).toContain(reason)
    }
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic.self = { back: cyclic }
    expect(encodeError(json, cyclic, "cyc")).toBe(
      "Cannot serialize state key 'cyc' at .self.back: a cycle is not serializable with the json serializer; use the structured serializer"
    )
    expect(encodeError(json, JSON.parse("{\"__proto__\": 1}"), "p")).toContain("'__proto__'")
  })

  it("writes a shared (acyclic) reference twice", () => {
    const shared = { x: 1 }
    const encoded = encodeOk(json, { a: shared, b: shared })
    expect(encoded).toStrictEqual({ a: { x: 1 }, b: { x: 1 } })
    const decoded = decodeOk(json, encoded) as { a: unknown; b: unknown }
    expect(decoded.a).toStrictEqual(decoded.b)
    expect(decoded.a).not.toBe(decoded.b)
  })

  it("refuses structured payloads, saying so", () => {
    const encoded = encodeOk(structured, { m: new Map([["a", 1]]) })
    expect(decodeError(json, encoded, "m")).toBe(
      "Cannot deserialize state key 'm' at .m: the 'map' marker needs the structured serializer"
    )
  })
})

describe("Serializer.makeStructured", () => {
  it("writes a JSON value (with events) exactly as json does; json payloads decode with both", () => {
    const values: ReadonlyArray<unknown> = [
      { a: [1, "x", null, true, { $b: { c: [] } }] },
      [new Topic({ topic: "t" }), { ev: new Event.StopEvent({ result: [1, { r: "s" }] }) }],
      "plain",
      42,
      null
    ]
    for (const value of values) {
      const byJson = encodeOk(json, value)
      expect(encodeOk(structured, value)).toStrictEqual(byJson)
      expect(decodeOk(structured, byJson)).toStrictEqual(decodeOk(json, byJson))
    }
  })

  it("round-trips a Map with object keys, a Set, Dates, bigints", () => {
    const key = { id: 1 }
    const value = {
      map: new Map<unknown, unknown>([[key, "object key"], ["s", 1], [2n, [new Date(5)]]]),
      set: new Set([1, "a", null]),
      date: new Date("2024-01-02T03:04:05.678Z"),
      invalid: new Date(NaN),
      ancient: new Date(-8.64e15),
      big: -123456789012345678901234567890n
    }
    expect(encodeOk(structured, value)).toStrictEqual({
      map: {
        $: "map",
        entries: [[{ id: 1 }, "object key"], ["s", 1], [{ $: "bigint", value: "2" }, [{
          $: "date",
          value: "1970-01-01T00:00:00.005Z"
        }]]]
      },
      set: { $: "set", values: [1, "a", null] },
      date: { $: "date", value: "2024-01-02T03:04:05.678Z" },
      invalid: { $: "date", value: null },
      ancient: { $: "date", value: "-271821-04-20T00:00:00.000Z" },
      big: { $: "bigint", value: "-123456789012345678901234567890" }
    })
    const decoded = roundTrip(structured, value) as typeof value
    expect(decoded).toStrictEqual(value)
    expect([...decoded.map.keys()][0]).toStrictEqual({ id: 1 })
    expect(decoded.map).toBeInstanceOf(Map)
    expect(decoded.set).toBeInstanceOf(Set)
    expect(decoded.date.getTime()).toBe(value.date.getTime())
    expect(Number.isNaN(decoded.invalid.getTime())).toBe(true)
    expect(decoded.big).toBe(-123456789012345678901234567890n)
  })

  it("round-trips undefined, NaN, ±Infinity and -0", () => {
    const value = { u: undefined, list: [undefined, NaN, Infinity, -Infinity, -0, 0] }
    expect(encodeOk(structured, value)).toStrictEqual({
      u: { $: "undefined" },
      list: [
        { $: "undefined" },
        { $: "number", value: "NaN" },
        { $: "number", value: "Infinity" },
        { $: "number", value: "-Infinity" },
        { $: "number", value: "-0" },
        0
      ]
    })
    const decoded = roundTrip(structured, value) as typeof value
    expect("u" in decoded && decoded.u === undefined).toBe(true)
    expect(decoded.list[0]).toBeUndefined()
    expect(decoded.list[1]).toBeNaN()
    expect(decoded.list[2]).toBe(Infinity)
    expect(decoded.list[3]).toBe(-Infinity)
    expect(Object.is(decoded.list[4], -0)).toBe(true)
    expect(Object.is(decoded.list[5], 0)).toBe(true)
    expect(roundTrip(structured, undefined)).toBeUndefined()
  })

  it("round-trips every typed array and ArrayBuffer", () => {
    const values = [
      new Uint8Array([0, 1, 255]),
      new Int8Array([-128, 0, 127]),
      new Uint8ClampedArray([0, 128, 255]),
      new Uint16Array([0, 1, 65535]),
      new Int16Array([-32768, 32767]),
      new Uint32Array([0, 4294967295]),
      new Int32Array([-2147483648, 2147483647]),
      new Float32Array([1.5, -0, NaN, Infinity]),
      new Float64Array([Math.PI, -0, NaN, -Infinity, Number.MIN_VALUE]),
      new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]),
      new BigUint64Array([0n, 2n ** 64n - 1n]),
      new Uint8Array([1, 2, 3]).buffer,
      new Uint16Array([])
    ]
    for (const value of values) {
      const decoded = roundTrip(structured, { value }) as { value: unknown }
      expect(Object.getPrototypeOf(decoded.value)).toBe(Object.getPrototypeOf(value))
      expect(decoded.value).toStrictEqual(value)
    }
    expect(encodeOk(structured, new Uint8Array([1, 2, 3]))).toStrictEqual({
      $: "bytes",
      type: "Uint8Array",
      base64: "AQID"
    })
    expect(encodeOk(structured, new Uint16Array([1, 258]))).toStrictEqual({
      $: "bytes",
      type: "Uint16Array",
      base64: "AQACAQ=="
    })
    // a view writes its own bytes only
    const view = new Uint8Array([9, 8, 7, 6]).subarray(1, 3)
    const decodedView = roundTrip(structured, view) as Uint8Array
    expect([...decodedView]).toStrictEqual([8, 7])
    expect(decodedView.buffer.byteLength).toBe(2)
  })

  it("keeps shared references and cycles", () => {
    const shared = { x: 1 }
    const decoded = roundTrip(structured, { a: shared, b: shared, c: { x: 1 } }) as Record<string, unknown>
    expect(decoded.a).toStrictEqual({ x: 1 })
    expect(decoded.a).toBe(decoded.b)
    expect(decoded.a).not.toBe(decoded.c)

    const node: Record<string, unknown> = { name: "n" }
    node.self = node
    node.list = [node, shared, shared]
    expect(encodeOk(structured, node)).toStrictEqual({
      $: "graph",
      root: { $: "ref", id: 0 },
      refs: [
        { name: "n", self: { $: "ref", id: 0 }, list: [{ $: "ref", id: 0 }, { $: "ref", id: 1 }, { $: "ref", id: 1 }] },
        { x: 1 }
      ]
    })
    const cyclic = roundTrip(structured, node) as { name: string; self: unknown; list: Array<unknown> }
    expect(cyclic.name).toBe("n")
    expect(cyclic.self).toBe(cyclic)
    expect(cyclic.list[0]).toBe(cyclic)
    expect(cyclic.list[1]).toBe(cyclic.list[2])
    expect(cyclic.list[1]).toStrictEqual({ x: 1 })
  })

  it("keeps cycles through Maps, Sets and arrays (a map that is its own key)", () => {
    const map = new Map<unknown, unknown>()
    const set = new Set<unknown>()
    const list: Array<unknown> = []
    map.set(map, set)
    set.add(list)
    list.push(map, set)
    const decoded = roundTrip(structured, { map }) as { map: Map<unknown, unknown> }
    const [[key, value]] = [...decoded.map.entries()] as Array<[unknown, unknown]>
    expect(key).toBe(decoded.map)
    expect(value).toBeInstanceOf(Set)
    const [innerList] = [...(value as Set<unknown>)] as [Array<unknown>]
    expect(innerList[0]).toBe(decoded.map)
    expect(innerList[1]).toBe(value)
  })

  it("decodes a graph whatever the key order of the stored JSON (e.g. jsonb)", () => {
    const shared = { x: [1] }
    const node: Record<string, unknown> = { z: shared, a: shared }
    node.m = node
    const encoded = encodeOk(structured, { zz: node, aa: shared })
    const reverseKeys = (u: unknown): unknown =>
      Array.isArray(u)
        ? u.map(reverseKeys)
        : typeof u === "object" && u !== null
        ? Object.fromEntries(Object.entries(u).reverse().map(([k, v]) => [k, reverseKeys(v)]))
        : u
    const decoded = decodeOk(structured, reverseKeys(encoded)) as {
      zz: { z: unknown; a: unknown; m: unknown }
      aa: unknown
    }
    expect(decoded.zz.m).toBe(decoded.zz)
    expect(decoded.zz.z).toBe(decoded.aa)
    expect(decoded.zz.a).toBe(decoded.aa)
    expect(decoded.aa).toStrictEqual({ x: [1] })
  })

  it("round-trips events inside a Map, and an event shared twice", () => {
    const topic = new Topic({ topic: "shared" })
    const value = new Map<unknown, unknown>([
      ["one", topic],
      [new Topic({ topic: "as key" }), new Scheduled({ at: new Date(0), payload: new Set([topic, 1n]) })]
    ])
    const decoded = roundTrip(structured, value) as Map<unknown, unknown>
    const entries = [...decoded.entries()]
    expect(entries[0]![1]).toBeInstanceOf(Topic)
    expect(entries[0]![1]).toStrictEqual(topic)
    expect(entries[1]![0]).toBeInstanceOf(Topic)
    expect((entries[1]![0] as Topic).topic).toBe("as key")
    const scheduled = entries[1]![1] as Scheduled
    expect(scheduled).toBeInstanceOf(Scheduled)
    expect(scheduled.at).toStrictEqual(new Date(0))
    const payload = [...(scheduled.payload as Set<unknown>)]
    expect(payload[0]).toBe(entries[0]![1])
    expect(payload[1]).toBe(1n)
  })

  it("keeps a cycle through an event when a container closes it; rejects an event inside its own fields", () => {
    const holder: Record<string, unknown> = {}
    holder.ev = new Event.StopEvent({ result: holder })
    const decoded = roundTrip(structured, holder) as { ev: Event.StopEvent }
    expect(decoded.ev).toBeInstanceOf(Event.StopEvent)
    expect(decoded.ev.result).toBe(decoded)

    const box: Record<string, unknown> = {}
    const ev = new Event.StopEvent({ result: box })
    box.ev = ev
    expect(encodeError(structured, ev, "ev")).toBe(
      "Cannot serialize state key 'ev' at .result.ev: a cycle through an event is not serializable (an event cannot contain itself)"
    )
  })

  it("rejects functions and other non-data values, naming the key", () => {
    expect(encodeError(structured, { cb: () => 1 }, "fn")).toBe(
      "Cannot serialize state key 'fn' at .cb: a function is not serializable with the structured serializer"
    )
    const cases: ReadonlyArray<readonly [unknown, string]> = [
      [new WeakMap(), "an instance of WeakMap"],
      [new WeakSet(), "an instance of WeakSet"],
      [Promise.resolve(1), "an instance of Promise"],
      [new TypeError("x"), "an instance of TypeError"],
      [new (class Point {})(), "an instance of Point"],
      [new DataView(new ArrayBuffer(1)), "an instance of DataView"],
      [new (class MyMap extends Map {})(), "an instance of MyMap"],
      [/re/, "an instance of RegExp"],
      [Symbol.iterator, "a symbol"],
      [
        new WorkflowError.ContextSerdeError({ message: "x" }),
        "a value with _tag 'ContextSerdeError' that is not one of the workflow's events"
      ]
    ]
    for (const [value, reason] of cases) {
      const message = encodeError(structured, new Map([["k", value]]), "state.key")
      expect(message).toBe(
        `Cannot serialize state key 'state.key' at [map value 0]: ${reason} is not serializable with the structured serializer`
      )
    }
  })

  it("fails (does not throw) on a value nested too deeply", () => {
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = { d: deep }
    expect(encodeError(structured, deep, "deep")).toContain("Cannot serialize state key 'deep'")
    expect(encodeError(json, deep, "deep")).toContain("Cannot serialize state key 'deep'")
  })
})

describe("Serializer decode: malformed and hostile payloads", () => {
  const proto = (text: string): unknown => JSON.parse(text)
  const deep = (levels: number, wrap: (inner: unknown) => unknown): unknown => {
    let value: unknown = 1
    for (let i = 0; i < levels; i++) value = wrap(value)
    return value
  }
  const hugeWithBadTail = Array.from({ length: 200_000 }, (_, i) => i === 199_999 ? { $: "nope" } : i)
  const throwingGetter = Object.defineProperty({}, "x", {
    enumerable: true,
    get() {
      throw new Error("getter")
    }
  })
  const throwingProxy = new Proxy({}, {
    ownKeys() {
      throw new Error("ownKeys")
    }
  })
  const ev = (value: unknown, tag: unknown = "Topic") => ({ $: "event", tag, value })
  const graph = (root: unknown, refs: unknown) => ({ $: "graph", root, refs })

  const payloads: ReadonlyArray<readonly [string, unknown]> = [
    // wrong or unknown markers
    ...["nope", "", "EVENT", "__proto__", "constructor", "toString", "valueOf", "prototype"].map(
      (marker) => [`unknown marker '${marker}'`, { a: [{ $: marker }] }] as const
    ),
    ...[1, null, true, [], {}, ["event"]].map((marker) => [`non-string marker ${JSON.stringify(marker)}`, { $: marker }] as const),
    ["undefined marker with extra key", { $: "undefined", x: 1 }],
    ["number marker with bad value", { $: "number", value: "nan" }],
    ["number marker with a number", { $: "number", value: 1 }],
    ["number marker without value", { $: "number" }],
    ["bigint hex", { $: "bigint", value: "0x10" }],
    ["bigint exponent", { $: "bigint", value: "1e3" }],
    ["bigint padded", { $: "bigint", value: " 1" }],
    ["bigint leading zero", { $: "bigint", value: "01" }],
    ["bigint number", { $: "bigint", value: 12 }],
    ["date prose", { $: "date", value: "yesterday" }],
    ["date not in toISOString form", { $: "date", value: "2020-01-01" }],
    ["date as number", { $: "date", value: 0 }],
    ["bytes unknown type DataView", { $: "bytes", type: "DataView", base64: "" }],
    ["bytes type Buffer", { $: "bytes", type: "Buffer", base64: "" }],
    ["bytes type constructor", { $: "bytes", type: "constructor", base64: "" }],
    ["bytes type __proto__", { $: "bytes", type: "__proto__", base64: "" }],
    ["bytes bad base64", { $: "bytes", type: "Uint8Array", base64: "@@@@" }],
    ["bytes odd length for Uint16Array", { $: "bytes", type: "Uint16Array", base64: "AQID" }],
    ["bytes missing base64", { $: "bytes", type: "Uint8Array" }],
    ["map entries not an array", { $: "map", entries: { 0: [1, 2] } }],
    ["map entry not a pair", { $: "map", entries: [[1, 2, 3]] }],
    ["map entry not an array", { $: "map", entries: [1] }],
    ["set values not an array", { $: "set", values: "abc" }],
    ["set with an extra key", { $: "set", values: [], extra: 1 }],
    // __proto__ keys
    ["__proto__ key at top", proto("{\"__proto__\": {\"polluted\": \"yes\"}}")],
    ["__proto__ key nested", proto("{\"a\": [{\"__proto__\": {\"polluted\": \"yes\"}}]}")],
    ["escaped __proto__ key is not an escape", proto("{\"$__proto__\": {\"polluted\": \"yes\"}}")],
    ["__proto__ key inside event fields", ev(proto("{\"__proto__\": {\"polluted\": \"yes\"}, \"_tag\": \"Topic\", \"topic\": \"x\"}"))],
    ["__proto__ key inside a map key", { $: "map", entries: [[proto("{\"__proto__\": {\"polluted\": 1}}"), 1]] }],
    ["__proto__ key in a ref table entry", graph({ $: "ref", id: 0 }, [proto("{\"__proto__\": {\"polluted\": 1}}")])],
    ["__proto__ as an extra marker key", proto("{\"$\": \"undefined\", \"__proto__\": {\"polluted\": 1}}")],
    // unescaped $ keys
    ["unescaped $ key", { $x: 1 }],
    ["unescaped $ key nested", { a: { b: { $ref: 0 } } }],
    // unknown tags and bad events
    ...["Nope", "__proto__", "constructor", "hasOwnProperty", "toString", "Outsider", "topic"].map(
      (tag) => [`unknown event tag '${tag}'`, ev({ _tag: tag }, tag)] as const
    ),
    ["event tag not a string", ev({ _tag: "Topic", topic: "x" }, 1)],
    ["event without value", { $: "event", tag: "Topic" }],
    ["event with an extra key", { $: "event", tag: "Topic", value: { _tag: "Topic", topic: "x" }, qualified_name: "x" }],
    ["event field of the wrong type", ev({ _tag: "Topic", topic: 1 })],
    ["event missing a field", ev({ _tag: "Topic" })],
    ["event tag and value tag differ", ev({ _tag: "Scheduled", at: "2020-01-01T00:00:00.000Z", payload: 1 })],
    ["event value is a string", ev("Topic")],
    ["event value is null", ev(null)],
    ["event date field malformed", ev({ _tag: "Scheduled", at: "not a date", payload: 1 }, "Scheduled")],
    ["event field holding a bad marker", ev({ _tag: "StopEvent", result: { $: "nope" } }, "StopEvent")],
    // references
    ["ref outside a graph", { $: "ref", id: 0 }],
    ["dangling ref", graph({ $: "ref", id: 5 }, [{}])],
    ["negative ref", graph({ $: "ref", id: -1 }, [{}])],
    ["fractional ref", graph({ $: "ref", id: 0.5 }, [{}])],
    ["string ref", graph({ $: "ref", id: "0" }, [{}])],
    ["ref with extra key", graph({ $: "ref", id: 0, x: 1 }, [{}])],
    ["ref chain cycle", graph({ $: "ref", id: 0 }, [{ $: "ref", id: 1 }, { $: "ref", id: 0 }])],
    ["self ref", graph({ $: "ref", id: 0 }, [{ $: "ref", id: 0 }])],
    ["cycle through an event", graph({ $: "ref", id: 0 }, [ev({ _tag: "StopEvent", result: { $: "ref", id: 0 } }, "StopEvent")])],
    ["bad unused table entry", graph(1, [{ $: "nope" }])],
    ["refs not an array", graph(1, { 0: 1 })],
    ["graph without refs", { $: "graph", root: 1 }],
    ["graph with an extra key", { $: "graph", root: 1, refs: [], x: 1 }],
    ["nested graph", { a: graph(1, []) }],
    ["graph inside a graph's table", graph({ $: "ref", id: 0 }, [graph(1, [])])],
    // not JSON
    ["undefined", undefined],
    ["a function", () => 1],
    ["a symbol", Symbol("s")],
    ["a bigint", 1n],
    ["NaN", NaN],
    ["Infinity", Infinity],
    ["a Map", new Map()],
    ["a Date", new Date()],
    ["a class instance", new Topic({ topic: "live instance" })],
    ["an object with another prototype", Object.create({ inherited: 1 })],
    ["undefined in an array", [undefined]],
    ["undefined in an object", { a: undefined }],
    ["a sparse array", [, 1]], // eslint-disable-line no-sparse-arrays
    ["symbol keys", { [Symbol("k")]: 1 }],
    ["a throwing getter", throwingGetter],
    ["a throwing proxy", throwingProxy],
    ["a typed array", new Uint8Array(1)],
    // hostile sizes
    ["100k nested arrays", deep(100_000, (inner) => [inner])],
    ["100k nested objects", deep(100_000, (inner) => ({ a: inner }))],
    ["100k nested set markers", deep(100_000, (inner) => ({ $: "set", values: [inner] }))],
    ["100k nested events", deep(100_000, (inner) => ev({ _tag: "StopEvent", result: inner }, "StopEvent"))],
    ["a huge array with a bad last element", hugeWithBadTail]
  ]

  it("has at least 50 payloads", () => {
    expect(payloads.length).toBeGreaterThanOrEqual(50)
  })

  it("every malformed payload is a ContextSerdeError naming the key, with either serializer, never a throw", () => {
    const protoKeys = Object.getOwnPropertyNames(Object.prototype).sort()
    let failures = 0
    for (const [name, payload] of payloads) {
      for (const serializer of [json, structured]) {
        const attempt = Either.try(() => serializer.decode(payload, ctx("hostile")))
        if (Either.isLeft(attempt)) throw new Error(`${serializer.name}: ${name} threw ${String(attempt.left)}`)
        const result = attempt.right
        if (Either.isRight(result)) throw new Error(`${serializer.name}: ${name} decoded`)
        const error = result.left
        expect(error, name).toBeInstanceOf(WorkflowError.ContextSerdeError)
        expect(error.message, name).toContain("Cannot deserialize state key 'hostile'")
        failures++
      }
    }
    expect(failures).toBe(payloads.length * 2)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.getOwnPropertyNames(Object.prototype).sort()).toStrictEqual(protoKeys)
    expect(Object.getPrototypeOf({})).toBe(Object.prototype)
  })

  it("gives precise messages", () => {
    expect(decodeError(structured, { a: [{ $: "nope" }] }, "s")).toBe(
      "Cannot deserialize state key 's' at .a[0]: unknown marker 'nope'"
    )
    expect(decodeError(json, proto("{\"x\": {\"__proto__\": {}}}"), "s")).toBe(
      "Cannot deserialize state key 's' at .x: a key named '__proto__' is not allowed"
    )
    expect(decodeError(structured, graph({ $: "ref", id: 3 }, []), "s")).toBe(
      "Cannot deserialize state key 's': a dangling reference (3); the table has 0 entries"
    )
    expect(decodeError(structured, { $x: 1 }, "s")).toBe(
      "Cannot deserialize state key 's': the key '$x' is not a valid escaped key (expected '$$x')"
    )
    expect(decodeError(json, ev({ _tag: "Topic", topic: 1 }), "s")).toContain(
      "Cannot deserialize state key 's': invalid event 'Topic': "
    )
    expect(decodeError(json, deep(100_000, (inner) => [inner]), "s")).toContain(
      "Cannot deserialize state key 's': the value is nested too deeply or is too large"
    )
  })

  it("decodes -0 and large valid payloads", () => {
    expect(Object.is(decodeOk(json, JSON.parse("-0")), -0)).toBe(true)
    const big = Array.from({ length: 200_000 }, (_, i) => i)
    expect(decodeOk(structured, big)).toStrictEqual(big)
    // a deep but reasonable nesting still works
    const nested = deep(1_000, (inner) => ({ a: [inner] }))
    expect(decodeOk(json, nested)).toStrictEqual(nested)
  })
})
