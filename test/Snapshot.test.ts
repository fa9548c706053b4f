import { describe, expect, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import { Event, Snapshot, Step, Workflow, WorkflowError } from "effect-workflows"
import * as Codec from "../src/internal/snapshotCodec.js"
import type { RawSnapshot } from "../src/internal/snapshotData.js"
import * as Serializer from "../src/Serializer.js"

// -------------------------------------------------------------------------------------------------
// fixtures
// -------------------------------------------------------------------------------------------------

class Query extends Schema.TaggedClass<Query>()("Query", { q: Schema.String, n: Schema.Number }) {}
class Draft extends Schema.TaggedClass<Draft>()("Draft", { text: Schema.String, at: Schema.Date }) {}
class Vote extends Schema.TaggedClass<Vote>()("Vote", { ok: Schema.Boolean }) {}
class Stray extends Schema.TaggedClass<Stray>()("Stray", {}) {}

class Counter extends Schema.Class<Counter>("Counter")({
  count: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  tags: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] })
}) {}

const search = Step.make("search", { on: Event.StartEvent, emits: [Query] }, () => Effect.void)
const draft = Step.make("draft", { on: Query, emits: [Draft] }, () => Effect.void)
const review = Step.make("review", { on: Draft, emits: [Vote, Event.InputRequiredEvent] }, () => Effect.void)
const tally = Step.make("tally", { on: Vote, emits: [Event.StopEvent] }, () => Effect.void)
const steps = [search, draft, review, tally] as const

const dictWorkflow = Workflow.make({ name: "review", steps })
const typedWorkflow = Workflow.make({ name: "counted", steps, state: Counter })

const json = Serializer.makeJson()
const structured = Serializer.makeStructured()

const at = new Date("2024-05-01T10:00:00.000Z")

const attempt = (event: Event.AnyEvent) => ({
  event,
  failures: 0,
  firstAttemptAt: undefined,
  lastFailedAt: undefined,
  lastError: undefined,
  retryAt: undefined
})

/** Every field filled. */
const makeRaw = (state: unknown, workflow = "review"): RawSnapshot => ({
  runId: "run-1",
  workflow,
  isRunning: true,
  state,
  streamSequence: 12,
  steps: [
    ["draft", {
      queue: [
        attempt(new Query({ q: "pirates", n: 1 })),
        {
          event: new Query({ q: "ninjas", n: 2 }),
          failures: 2,
          firstAttemptAt: 100,
          lastFailedAt: 250,
          lastError: { _tag: "Boom", message: "boom" },
          retryAt: 5250
        }
      ],
      inProgress: [{
        event: new Query({ q: "robots", n: 3 }),
        failures: 1,
        firstAttemptAt: 10,
        lastFailedAt: 20,
        lastError: { message: "flaky" },
        retryAt: undefined
      }],
      collected: [],
      waiters: []
    }],
    ["review", {
      queue: [],
      inProgress: [attempt(new Draft({ text: "first", at }))],
      collected: [],
      waiters: [
        {
          waiterId: "approve-1",
          event: new Draft({ text: "second", at }),
          awaited: "HumanResponseEvent",
          requirements: { response: "yes", nested: { list: [1, 2] } },
          hasRequirements: true,
          waiterEventPublished: true,
          resolved: undefined
        },
        {
          waiterId: "approve-2",
          event: new Draft({ text: "third", at }),
          awaited: "HumanResponseEvent",
          requirements: undefined,
          hasRequirements: false,
          waiterEventPublished: false,
          resolved: new Event.HumanResponseEvent({ response: "no" })
        }
      ]
    }],
    ["tally", {
      queue: [],
      inProgress: [],
      collected: [
        { bufferId: "votes", events: [new Vote({ ok: true }), new Vote({ ok: false })] },
        { bufferId: "other", events: [new Vote({ ok: true })] }
      ],
      waiters: []
    }]
  ]
})

const dictState = { user: { name: "Ada" }, visits: 3, list: [1, "two", null], last: new Query({ q: "s", n: 9 }) }

const encodeOrThrow = (workflow: Workflow.Any, raw: RawSnapshot, serializer = json): Snapshot.Snapshot =>
  Either.getOrThrowWith(Codec.encode(workflow, raw, serializer), (e) => e)

const validDocument = (): Snapshot.Snapshot => encodeOrThrow(dictWorkflow, makeRaw(dictState))

const messageOf = <A>(result: Either.Either<A, WorkflowError.ContextSerdeError>): string => {
  if (Either.isRight(result)) throw new Error("expected a ContextSerdeError")
  expect(result.left._tag).toBe("ContextSerdeError")
  return result.left.message
}

/** JSON text → document → RawSnapshot, as `Workflow.resume` would. */
const decodeText = (text: string, workflow: Workflow.Any = dictWorkflow) =>
  Either.flatMap(Snapshot.fromJsonEither(text), (doc) => Codec.decode(workflow, doc, json))

const mutate = (f: (doc: any) => void): string => {
  const doc = JSON.parse(Snapshot.toJson(validDocument()))
  f(doc)
  return JSON.stringify(doc)
}

// -------------------------------------------------------------------------------------------------
// round trips
// -------------------------------------------------------------------------------------------------

describe("Snapshot round trip", () => {
  it.effect("encode → toJson → fromJson → decode gives back equal values with class instances", () =>
    Effect.gen(function*() {
      const raw = makeRaw(dictState)
      const document = encodeOrThrow(dictWorkflow, raw)
      expect(Snapshot.isSnapshot(document)).toBe(true)
      const text = Snapshot.toJson(document)
      const parsed = yield* Snapshot.fromJson(text)
      expect(parsed).toEqual(JSON.parse(text))
      const decoded = yield* Codec.decode(dictWorkflow, parsed, json)
      expect(decoded).toStrictEqual(raw)

      const [draftStep, reviewStep, tallyStep] = decoded.steps.map(([, step]) => step)
      expect(decoded.steps.map(([name]) => name)).toEqual(["draft", "review", "tally"])
      expect(draftStep!.queue[0]!.event).toBeInstanceOf(Query)
      expect(draftStep!.queue[1]!.retryAt).toBe(5250)
      expect(draftStep!.inProgress[0]!.event).toBeInstanceOf(Query)
      const waiter = reviewStep!.waiters[1]!
      expect(waiter.event).toBeInstanceOf(Draft)
      expect((waiter.event as Draft).at).toBeInstanceOf(Date)
      expect(waiter.resolved).toBeInstanceOf(Event.HumanResponseEvent)
      expect(tallyStep!.collected[0]!.events[0]).toBeInstanceOf(Vote)
      expect((decoded.state as typeof dictState).last).toBeInstanceOf(Query)
    }))

  it("the document has the documented shape", () => {
    const document = validDocument()
    expect(document.version).toBe(Snapshot.CurrentVersion)
    expect(Object.keys(document.steps)).toEqual(["draft", "review", "tally"]) // empty "search" omitted
    expect(document.steps.draft!.queue[0]).toEqual({
      event: { _tag: "Query", q: "pirates", n: 1 },
      failures: 0,
      firstAttemptAt: null,
      lastFailedAt: null,
      lastError: null,
      retryAt: null
    })
    expect(document.steps.review!.inProgress[0]!.event).toEqual({
      _tag: "Draft",
      text: "first",
      at: "2024-05-01T10:00:00.000Z"
    })
    expect(document.steps.review!.waiters[0]!.requirements).toEqual({ response: "yes", nested: { list: [1, 2] } })
    expect(document.steps.review!.waiters[1]).toMatchObject({
      requirements: null,
      resolved: { _tag: "HumanResponseEvent", response: "no" }
    })
    expect(document.steps.tally!.collected).toEqual({
      votes: [{ _tag: "Vote", ok: true }, { _tag: "Vote", ok: false }],
      other: [{ _tag: "Vote", ok: true }]
    })
  })

  it.effect("typed state round trips through the state schema", () =>
    Effect.gen(function*() {
      const raw = makeRaw(new Counter({ count: 3, tags: ["a", "b"] }), "counted")
      const document = encodeOrThrow(typedWorkflow, raw)
      expect(document.state).toEqual({ count: 3, tags: ["a", "b"] })
      const parsed = yield* Snapshot.fromJson(Snapshot.toJson(document))
      const decoded = yield* Codec.decode(typedWorkflow, parsed, json)
      expect(decoded.state).toBeInstanceOf(Counter)
      expect(decoded).toStrictEqual(raw)
    }))

  it("typed state: missing fields take the schema's defaults, bad fields fail with their path", () => {
    const document = { ...encodeOrThrow(typedWorkflow, makeRaw(new Counter({}), "counted")), state: {} }
    const decoded = Either.getOrThrow(Codec.decode(typedWorkflow, document, json))
    expect(decoded.state).toEqual(new Counter({ count: 0, tags: [] }))
    const message = messageOf(Codec.decode(typedWorkflow, { ...document, state: { count: "x" } }, json))
    expect(message).toContain("Invalid snapshot at state.count")
    expect(message).toContain("\"x\"")
  })

  it("dict state with the structured serializer", () => {
    const state = { seen: new Set([1, 2]), when: new Date(0), big: 10n }
    const raw = makeRaw(state)
    const document = encodeOrThrow(dictWorkflow, raw, structured)
    const parsed = Either.getOrThrow(Snapshot.fromJsonEither(Snapshot.toJson(document)))
    const decoded = Either.getOrThrow(Codec.decode(dictWorkflow, parsed, structured))
    expect(decoded).toStrictEqual(raw)
  })

  it("unencodable requirements become null (hasRequirements kept); non-JSON lastError becomes null", () => {
    const base = makeRaw({})
    const [name, step] = base.steps[1]!
    const raw: RawSnapshot = {
      ...base,
      steps: [
        [name, {
          ...step,
          queue: [{ ...attempt(new Draft({ text: "x", at })), lastError: new Error("live") }],
          waiters: [{ ...step.waiters[0]!, requirements: { check: () => true } }]
        }]
      ]
    }
    const document = encodeOrThrow(dictWorkflow, raw)
    expect(document.steps.review!.queue[0]!.lastError).toBeNull()
    expect(document.steps.review!.waiters[0]).toMatchObject({ requirements: null, hasRequirements: true })
    const decoded = Either.getOrThrow(Codec.decode(dictWorkflow, document, json))
    expect(decoded.steps[0]![1].waiters[0]).toMatchObject({ requirements: undefined, hasRequirements: true })
  })

  it("registryOf: the workflow's classes and the built-ins, cached", () => {
    const registry = Codec.registryOf(dictWorkflow)
    for (const cls of [Query, Draft, Vote, Event.StartEvent, Event.StopEvent, Event.InputRequiredEvent]) {
      expect(registry.get(cls._tag)).toBe(cls)
    }
    for (
      const tag of ["HumanResponseEvent", "StepStateChanged", "WorkflowIdleEvent", "UnhandledEvent",
        "WorkflowFailedEvent", "WorkflowTimedOutEvent", "WorkflowCancelledEvent"]
    ) {
      expect(registry.has(tag)).toBe(true)
    }
    expect(registry.has("Stray")).toBe(false)
    expect(Codec.registryOf(dictWorkflow)).toBe(registry)
  })
})

// -------------------------------------------------------------------------------------------------
// documented errors
// -------------------------------------------------------------------------------------------------

describe("Snapshot errors", () => {
  it.effect("wrong version (checked first)", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(Snapshot.fromJson(mutate((doc) => {
        doc.version = 2
        doc.steps = "garbage"
      })))
      expect(error._tag).toBe("ContextSerdeError")
      expect(error.message).toBe("Unsupported snapshot version 2 (expected 1)")
      const missing = yield* Effect.flip(Snapshot.decodeUnknown({ workflow: "review" }))
      expect(missing.message).toContain("missing version")
    }))

  it("another workflow", () => {
    expect(messageOf(decodeText(mutate((doc) => (doc.workflow = "other"))))).toBe(
      "Snapshot of workflow 'other' cannot be resumed by workflow 'review'"
    )
  })

  it("unknown step", () => {
    const text = mutate((doc) => (doc.steps.ghost = doc.steps.draft))
    expect(messageOf(decodeText(text))).toContain("Unknown step 'ghost' at steps.ghost")
  })

  it("unknown event tag (never looked up outside the registry)", () => {
    expect(messageOf(decodeText(mutate((doc) => (doc.steps.draft.queue[0].event._tag = "Foo"))))).toContain(
      "Unknown event type 'Foo' at steps.draft.queue[0].event"
    )
    expect(messageOf(decodeText(mutate((doc) => (doc.steps.tally.collected.votes[1]._tag = "toString")))))
      .toContain("Unknown event type 'toString' at steps.tally.collected.votes[1]")
    expect(messageOf(decodeText(mutate((doc) => (doc.steps.review.waiters[0].awaited = "Nope"))))).toContain(
      "Unknown event type 'Nope' at steps.review.waiters[0].awaited"
    )
  })

  it("bad event field: the Schema's reason and the path", () => {
    const message = messageOf(decodeText(mutate((doc) => (doc.steps.draft.queue[0].event.n = "x"))))
    expect(message).toContain("Invalid snapshot at steps.draft.queue[0].event.n:")
    expect(message).toContain("Expected number")
    const date = messageOf(decodeText(mutate((doc) => (doc.steps.review.waiters[1].resolved.response = 5))))
    expect(date).toContain("Invalid snapshot at steps.review.waiters[1].resolved.response:")
  })

  it("bad document field: path and reason", () => {
    expect(messageOf(decodeText(mutate((doc) => (doc.steps.draft.queue[0].failures = -1))))).toContain(
      "Invalid snapshot at steps.draft.queue[0].failures: expected a non-negative integer, got -1"
    )
    expect(messageOf(decodeText(mutate((doc) => delete doc.steps.review.waiters[0].waiterId)))).toContain(
      "Invalid snapshot at steps.review.waiters[0].waiterId: missing required field"
    )
    expect(messageOf(decodeText(mutate((doc) => (doc.steps.tally.extra = 1))))).toContain(
      "Invalid snapshot at steps.tally.extra: unexpected field"
    )
    expect(messageOf(decodeText(mutate((doc) => (doc.streamSequence = 2 ** 53))))).toContain(
      "Invalid snapshot at streamSequence: expected a non-negative integer"
    )
  })

  it("truncated JSON", () => {
    const text = Snapshot.toJson(validDocument())
    expect(messageOf(Snapshot.fromJsonEither(text.slice(0, 40)))).toContain(
      "Invalid snapshot: truncated or malformed JSON ("
    )
  })

  it("__proto__, constructor and prototype keys, with their path", () => {
    const text = mutate((doc) => (doc.state.user.__MARK__ = 1)).replace("__MARK__", "__proto__")
    expect(messageOf(decodeText(text))).toContain("Invalid snapshot at state.user.__proto__: forbidden key")
    const event = mutate((doc) => (doc.steps.draft.queue[1].event.__MARK__ = {})).replace("__MARK__", "constructor")
    expect(messageOf(decodeText(event))).toContain("at steps.draft.queue[1].event.constructor: forbidden key")
    expect(messageOf(Snapshot.fromJsonEither(`{"version":1,"prototype":{}}`))).toContain("at prototype: forbidden key")
    expect(({} as any).polluted).toBeUndefined()
  })

  it("encode: unknown event class, non-JSON values", () => {
    const base = makeRaw({})
    const withQueue = (event: Event.AnyEvent): RawSnapshot => ({
      ...base,
      steps: [["draft", { queue: [attempt(event)], inProgress: [], collected: [], waiters: [] }]]
    })
    expect(messageOf(Codec.encode(dictWorkflow, withQueue(new Stray()), json))).toContain(
      "Cannot encode snapshot at steps.draft.queue[0].event: unknown event type 'Stray'"
    )
    expect(messageOf(Codec.encode(dictWorkflow, withQueue(new Event.StartEvent({ input: at })), json))).toContain(
      "Cannot encode snapshot at steps.draft.queue[0].event.input: expected a JSON value, got a Date"
    )
    expect(messageOf(Codec.encode(dictWorkflow, { ...base, state: { f: () => 1 } }, json))).toContain(
      "Cannot encode snapshot at state.f"
    )
    expect(messageOf(Codec.encode(dictWorkflow, { ...base, state: [1] }, json))).toContain(
      "Cannot encode snapshot at state: dict state must be a plain object"
    )
    expect(messageOf(Codec.encode(typedWorkflow, { ...base, state: { count: "x" } }, json))).toContain(
      "Cannot encode snapshot at state"
    )
    expect(messageOf(Codec.encode(dictWorkflow, { ...base, streamSequence: -1 }, json))).toContain(
      "Cannot encode snapshot at streamSequence: expected a non-negative integer, got -1"
    )
    const hostile = JSON.parse(`{"__proto__":{"polluted":1}}`)
    expect(messageOf(Codec.encode(dictWorkflow, { ...base, state: { nested: hostile } }, structured))).toContain(
      "Cannot encode snapshot at state.nested"
    )
    expect(({} as any).polluted).toBeUndefined()
  })
})

// -------------------------------------------------------------------------------------------------
// generated hostile payloads
// -------------------------------------------------------------------------------------------------

/** mulberry32: a small deterministic PRNG. */
const prng = (seed: number) => () => {
  seed = (seed + 0x6D2B79F5) | 0
  let t = seed
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

type Kind =
  | "string"
  | "bool"
  | "nnint"
  | "millis"
  | "number"
  | "array"
  | "record"
  | "strict"
  | "event"
  | "eventOrNull"
  | "tag"

interface Slot {
  readonly path: ReadonlyArray<string | number>
  readonly kind: Kind
  /** Deleting it must fail. */
  readonly required: boolean
}

/** The places of the valid document where a wrong value always fails. */
const slotsOf = (doc: any): Array<Slot> => {
  const slots: Array<Slot> = [
    { path: ["workflow"], kind: "string", required: true },
    { path: ["runId"], kind: "string", required: true },
    { path: ["isRunning"], kind: "bool", required: true },
    { path: ["streamSequence"], kind: "nnint", required: true },
    { path: ["steps"], kind: "record", required: true },
    { path: ["state"], kind: "record", required: true },
    { path: ["version"], kind: "nnint", required: true }
  ]
  const fields: Record<string, Kind> = { q: "string", n: "number", text: "string", ok: "bool", response: "string" }
  const event = (path: ReadonlyArray<string | number>, ev: any, kind: Kind = "event") => {
    slots.push({ path, kind, required: true })
    slots.push({ path: [...path, "_tag"], kind: "tag", required: true })
    for (const key of Object.keys(ev)) {
      if (key in fields) slots.push({ path: [...path, key], kind: fields[key]!, required: true })
    }
  }
  const attempts = (path: ReadonlyArray<string | number>, list: Array<any>) => {
    slots.push({ path, kind: "array", required: true })
    list.forEach((a, i) => {
      const p = [...path, i]
      slots.push({ path: p, kind: "strict", required: false })
      event([...p, "event"], a.event)
      slots.push({ path: [...p, "failures"], kind: "nnint", required: true })
      for (const key of ["firstAttemptAt", "lastFailedAt", "retryAt"]) {
        slots.push({ path: [...p, key], kind: "millis", required: true })
      }
    })
  }
  for (const [name, step] of Object.entries<any>(doc.steps)) {
    const p = ["steps", name]
    slots.push({ path: p, kind: "strict", required: false })
    attempts([...p, "queue"], step.queue)
    attempts([...p, "inProgress"], step.inProgress)
    slots.push({ path: [...p, "collected"], kind: "record", required: true })
    for (const [bufferId, events] of Object.entries<any>(step.collected)) {
      slots.push({ path: [...p, "collected", bufferId], kind: "array", required: false })
      events.forEach((ev: any, i: number) => event([...p, "collected", bufferId, i], ev))
    }
    slots.push({ path: [...p, "waiters"], kind: "array", required: true })
    step.waiters.forEach((w: any, i: number) => {
      const wp = [...p, "waiters", i]
      slots.push({ path: wp, kind: "strict", required: false })
      slots.push({ path: [...wp, "waiterId"], kind: "string", required: true })
      slots.push({ path: [...wp, "awaited"], kind: "tag", required: true })
      slots.push({ path: [...wp, "hasRequirements"], kind: "bool", required: true })
      slots.push({ path: [...wp, "waiterEventPublished"], kind: "bool", required: true })
      event([...wp, "event"], w.event)
      if (w.resolved !== null) event([...wp, "resolved"], w.resolved, "eventOrNull")
      else slots.push({ path: [...wp, "resolved"], kind: "eventOrNull", required: true })
    })
  }
  return slots
}

const pool: ReadonlyArray<unknown> = [
  "x", "", "NaN", "Infinity", "-0", "1e3", "null", "true", -1, -0.5, 1.5, 1e308, 2 ** 53, -(2 ** 60), 0, 7,
  true, false, null, [], [1, "two"], {}, { _tag: 3 }, { nested: { deeper: [] } }, "a".repeat(5000)
]

const isObject = (u: unknown): u is object => typeof u === "object" && u !== null && !Array.isArray(u)

/** Whether `value` is wrong (always rejected) where `kind` is expected (the pool holds no valid event). */
const isWrong = (kind: Kind, value: unknown): boolean => {
  switch (kind) {
    case "string":
      return typeof value !== "string"
    case "tag":
      return true // no string of the pool is a registry tag
    case "bool":
      return typeof value !== "boolean"
    case "nnint":
      return !(typeof value === "number" && Number.isSafeInteger(value) && value >= 0 && value !== 1)
    case "millis":
      return value !== null && typeof value !== "number"
    case "number":
      return typeof value !== "number"
    case "array":
      return !Array.isArray(value) || value.length > 0
    case "record":
      return !isObject(value)
    case "strict":
    case "event":
      return true
    case "eventOrNull":
      return value !== null
  }
}

const getAt = (doc: any, path: ReadonlyArray<string | number>) => path.reduce((node, key) => node?.[key], doc)

const parentOf = (doc: any, path: ReadonlyArray<string | number>) => getAt(doc, path.slice(0, -1))

const unknownTags = ["Foo", "__proto__", "constructor", "toString", "hasOwnProperty", "", "Query ", "query", "Stray"]

const nest = (depth: number, open: string, close: string, inner = "0") => open.repeat(depth) + inner + close.repeat(depth)

/** Deterministic generation of hostile payloads: JSON text, or (for `value`) a raw JS value. */
const generate = (seed: number): Array<{ readonly label: string; readonly text?: string; readonly value?: unknown }> => {
  const random = prng(seed)
  const pick = <A>(list: ReadonlyArray<A>): A => list[Math.floor(random() * list.length)]!
  const base = JSON.parse(Snapshot.toJson(validDocument()))
  const baseText = JSON.stringify(base)
  const slots = slotsOf(base)
  const out: Array<{ label: string; text?: string; value?: unknown }> = []

  // 1. structural mutations (1 to 3 per payload): wrong types, deletions, extra fields, unknown tags
  for (let i = 0; i < 240; i++) {
    const doc = JSON.parse(baseText)
    const labels: Array<string> = []
    const count = 1 + Math.floor(random() * 3)
    for (let m = 0; m < count; m++) {
      const slot = pick(slots)
      const parent = parentOf(doc, slot.path)
      if (typeof parent !== "object" || parent === null) continue
      const key = slot.path[slot.path.length - 1]!
      const action = random()
      if (action < 0.2 && slot.required && !Array.isArray(parent)) {
        delete parent[key]
        labels.push(`delete ${slot.path.join(".")}`)
      } else if (action < 0.35 && slot.kind === "tag") {
        const tag = pick(unknownTags)
        parent[key] = tag
        labels.push(`tag ${slot.path.join(".")}=${JSON.stringify(tag)}`)
      } else if (action < 0.45 && slot.kind === "strict") {
        const target = getAt(doc, slot.path)
        if (isObject(target)) (target as any).unexpectedField = structuredClone(pick(pool))
        else parent[key] = "not an object"
        labels.push(`extra ${slot.path.join(".")}`)
      } else {
        let value = pick(pool)
        for (let tries = 0; !isWrong(slot.kind, value) && tries < 50; tries++) value = pick(pool)
        parent[key] = isWrong(slot.kind, value) ? structuredClone(value) : slot.kind === "record" ? 5 : { wrong: true }
        labels.push(`set ${slot.path.join(".")}=${JSON.stringify(parent[key])?.slice(0, 20)}`)
      }
    }
    if (labels.length === 0) continue
    out.push({ label: labels.join("; "), text: JSON.stringify(doc) })
  }

  // 2. prototype keys at several depths, written as JSON text
  const containers: Array<ReadonlyArray<string | number>> = []
  const walk = (node: unknown, path: Array<string | number>) => {
    if (typeof node !== "object" || node === null) return
    if (!Array.isArray(node)) containers.push(path)
    for (const [k, v] of Object.entries(node)) walk(v, [...path, Array.isArray(node) ? Number(k) : k])
  }
  walk(base, [])
  for (let i = 0; i < 60; i++) {
    const doc = JSON.parse(baseText)
    const path = pick(containers)
    const key = pick(["__proto__", "constructor", "prototype"])
    getAt(doc, path).__MARK__ = pick([{ polluted: 1 }, 1, [{ polluted: 1 }], "x"])
    out.push({ label: `${key} at ${path.join(".")}`, text: JSON.stringify(doc).replace("\"__MARK__\"", `"${key}"`) })
  }
  out.push({ label: "top-level __proto__", text: `{"__proto__":{"polluted":1}}` })
  out.push({ label: "versioned __proto__", text: `{"version":1,"__proto__":{"polluted":1}}` })
  out.push({ label: "nested __proto__", text: `{"version":1,"state":{"a":[{"__proto__":{"polluted":1}}]}}` })

  // 3. truncations at many cut points
  for (let i = 0; i < 80; i++) {
    const cut = Math.floor(random() * baseText.length)
    out.push({ label: `truncated at ${cut}`, text: baseText.slice(0, cut) })
  }
  for (const cut of [0, 1, 2, baseText.length - 1]) out.push({ label: `truncated at ${cut}`, text: baseText.slice(0, cut) })

  // 4. deep nesting
  const deepArray = nest(100_000, "[", "]")
  const deepObject = nest(100_000, "{\"a\":", "}")
  out.push({ label: "deep array state", text: baseText.replace("\"state\":{", `"state":{"deep":${deepArray},`) })
  out.push({ label: "deep object state", text: baseText.replace("\"state\":{", `"state":{"deep":${deepObject},`) })
  out.push({ label: "deep event field", text: baseText.replace("\"q\":\"pirates\"", `"q":${nest(300, "[", "]")}`) })
  out.push({ label: "deep top level", text: deepArray })
  out.push({ label: "deep versioned", text: `{"version":1,"steps":${nest(50_000, "{\"a\":", "}", "{}")}}` })

  // 5. other workflows, unknown steps, non-objects and garbage text
  out.push({ label: "other workflow", text: baseText.replace("\"workflow\":\"review\"", "\"workflow\":\"other\"") })
  out.push({ label: "unknown step", text: baseText.replace("\"steps\":{", "\"steps\":{\"ghost\":{\"queue\":[],\"inProgress\":[],\"collected\":{},\"waiters\":[]},") })
  for (const text of ["null", "1", "\"snapshot\"", "[]", "true", "{}", "", " ", "NaN", "undefined", "{'version':1}", "\u0000"]) {
    out.push({ label: `text ${JSON.stringify(text)}`, text })
  }
  for (const version of ["2", "0", "\"1\"", "null", "1.5", "[1]", "{}", "-1"]) {
    out.push({ label: `version ${version}`, text: baseText.replace("\"version\":1", `"version":${version}`) })
  }
  const hostileProxy = new Proxy({}, {
    get: () => {
      throw new Error("trap")
    },
    getOwnPropertyDescriptor: () => {
      throw new Error("trap")
    },
    ownKeys: () => {
      throw new Error("trap")
    }
  })
  const cyclic: any = { ...base }
  cyclic.state = { self: cyclic }
  for (
    const value of [undefined, null, 42, Symbol("s"), () => 1, 10n, new Map(), new Date(), hostileProxy, cyclic,
      { ...base, state: { when: new Date() } }, { ...base, state: { n: Number.NaN } },
      Object.create({ version: 1 })]
  ) {
    out.push({ label: `value ${typeof value}`, value })
  }
  return out
}

describe("Snapshot hostile payloads", () => {
  it.effect("every generated payload is a ContextSerdeError: never a throw, a defect or a pollution", () =>
    Effect.gen(function*() {
      const payloads = generate(20240501)
      expect(payloads.length).toBeGreaterThanOrEqual(200)
      for (const payload of payloads) {
        const program = payload.text !== undefined
          ? Snapshot.fromJson(payload.text)
          : Snapshot.decodeUnknown(payload.value)
        const exit = yield* Effect.exit(
          Effect.flatMap(program, (doc) => Codec.decode(dictWorkflow, doc, json))
        )
        if (Exit.isSuccess(exit)) throw new Error(`accepted: ${payload.label}`)
        expect(Cause.isDie(exit.cause), payload.label).toBe(false)
        const failure = Cause.failureOption(exit.cause)
        expect(Option.isSome(failure), payload.label).toBe(true)
        expect(Option.getOrThrow(failure)._tag, payload.label).toBe("ContextSerdeError")
        // the codec directly (as the engine calls it), on the raw value
        if (payload.text !== undefined) {
          let parsed: unknown = undefined
          try {
            parsed = JSON.parse(payload.text)
          } catch {
            continue
          }
          const direct = Codec.decode(dictWorkflow, parsed, json)
          expect(Either.isLeft(direct) && direct.left._tag, payload.label).toBe("ContextSerdeError")
        } else {
          const direct = Codec.decode(dictWorkflow, payload.value, json)
          expect(Either.isLeft(direct) && direct.left._tag, payload.label).toBe("ContextSerdeError")
        }
      }
      expect(({} as any).polluted).toBeUndefined()
      expect(Object.prototype).not.toHaveProperty("polluted")
    }))

  it("the generator is deterministic", () => {
    const a = generate(7).map((p) => p.label)
    const b = generate(7).map((p) => p.label)
    expect(a).toEqual(b)
  })
})
