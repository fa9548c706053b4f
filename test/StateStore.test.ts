import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as internal from "../src/internal/stateStore.js"
import * as StateStore from "../src/StateStore.js"
import { WorkflowConfigurationError } from "../src/WorkflowError.js"

class Counter extends Schema.Class<Counter>("Counter")({
  count: Schema.optionalWith(Schema.Number, { default: () => 0 }),
  tags: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  meta: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { default: () => ({}) })
}) {}

class NoDefaults extends Schema.Class<NoDefaults>("NoDefaults")({
  name: Schema.String
}) {}

describe("StateStore", () => {
  describe("dict state", () => {
    it.effect("starts empty", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make()
        expect(yield* store.getState).toEqual({})
      }))

    it.effect("set and get nested paths, creating intermediate records", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make()
        yield* store.set("user.profile.name", "Ada")
        yield* store.set("user.profile.age", 36)
        yield* store.set("top", true)
        expect(yield* store.get("user.profile.name")).toBe("Ada")
        expect(yield* store.get("user.profile")).toEqual({ name: "Ada", age: 36 })
        expect(yield* store.getState).toEqual({ user: { profile: { name: "Ada", age: 36 } }, top: true })
      }))

    it.effect("arrays: index reads and writes, append at length, out of range", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make()
        yield* store.set("list", ["a", "b"])
        expect(yield* store.get("list.1")).toBe("b")
        yield* store.set("list.1", "B")
        yield* store.set("list.2", "c")
        yield* store.set("list.3.name", "d")
        expect(yield* store.get("list")).toEqual(["a", "B", "c", { name: "d" }])
        const outOfRange = yield* Effect.flip(store.set("list.9", "x"))
        expect(outOfRange._tag).toBe("IllegalArgumentException")
        expect(outOfRange.message).toBe("Cannot set 'list.9': index 9 is out of range for array 'list' of length 4")
        const notIndex = yield* Effect.flip(store.set("list.first", "x"))
        expect(notIndex.message).toBe("Cannot set 'list.first': 'first' is not an index of array 'list'")
        expect((yield* Effect.flip(store.get("list.4"))).message).toBe("Path 'list.4' not found in state")
        expect((yield* Effect.flip(store.get("list.x"))).message).toBe("Path 'list.x' not found in state")
      }))

    it.effect("get with a default", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make()
        yield* store.set("a", 1)
        expect(yield* store.get("a", 0)).toBe(1)
        expect(yield* store.get("missing.deep", 42)).toBe(42)
        expect(yield* store.get("missing", undefined)).toBeUndefined()
        expect(yield* store.get("", "fallback")).toBe("fallback")
      }))

    it.effect("missing path fails with NoSuchElementException", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make()
        yield* store.set("a", { b: 1 })
        const error = yield* Effect.flip(store.get("a.c"))
        expect(error._tag).toBe("NoSuchElementException")
        expect(error.message).toBe("Path 'a.c' not found in state")
        expect((yield* Effect.flip(store.get("a.b.c"))).message).toBe("Path 'a.b.c' not found in state")
        expect((yield* Effect.flip(store.get("toString"))).message).toBe("Path 'toString' not found in state")
      }))

    it.effect("empty path", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make()
        const setError = yield* Effect.flip(store.set("", 1))
        expect(setError._tag).toBe("IllegalArgumentException")
        expect(setError.message).toBe("Path cannot be empty")
        const getError = yield* Effect.flip(store.get(""))
        expect(getError._tag).toBe("NoSuchElementException")
        expect(getError.message).toBe("Path cannot be empty")
      }))

    it.effect("paths deeper than 1000 segments", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make()
        const path = Array.from({ length: 1001 }, () => "a").join(".")
        const setError = yield* Effect.flip(store.set(path, 1))
        expect(setError._tag).toBe("IllegalArgumentException")
        expect(setError.message).toBe("Path length exceeds 1000 segments")
        const getError = yield* Effect.flip(store.get(path))
        expect(getError._tag).toBe("NoSuchElementException")
        expect(getError.message).toBe("Path length exceeds 1000 segments")
        yield* store.set(Array.from({ length: 1000 }, () => "a").join("."), 1)
      }))

    it.effect("set through a non-container fails and leaves the state unchanged", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make()
        yield* store.set("a", 5)
        yield* store.set("n", null)
        const error = yield* Effect.flip(store.set("a.b", 1))
        expect(error._tag).toBe("IllegalArgumentException")
        expect(error.message).toBe("Cannot set 'a.b': 'a' is not an object or array")
        expect((yield* Effect.flip(store.set("n.x.y", 1))).message).toBe(
          "Cannot set 'n.x.y': 'n' is not an object or array"
        )
        expect(yield* store.getState).toEqual({ a: 5, n: null })
      }))

    it.effect("values handed out never change under the caller", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make()
        yield* store.set("user.name", "Ada")
        const before = yield* store.getState
        const user = yield* store.get("user")
        yield* store.set("user.name", "Grace")
        yield* store.set("other", 1)
        expect(before).toEqual({ user: { name: "Ada" } })
        expect(user).toEqual({ name: "Ada" })
        ;(before as Record<string, unknown>).injected = true
        expect(yield* store.getState).toEqual({ user: { name: "Grace" }, other: 1 })
      }))

    it.effect("setState replaces the state", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make()
        yield* store.set("a", 1)
        const next = { b: 2 }
        yield* store.setState(next)
        next.b = 3
        expect(yield* store.getState).toEqual({ b: 2 })
        expect((yield* Effect.flip(store.get("a"))).message).toBe("Path 'a' not found in state")
      }))

    it.effect("edit with a pure function returns the new state", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make()
        yield* store.set("count", 1)
        const result = yield* store.edit((s) => ({ ...s, count: (s.count as number) + 1 }))
        expect(result).toEqual({ count: 2 })
        expect(yield* store.get("count")).toBe(2)
      }))

    it.effect("edit with an effectful function; a failure leaves the state unchanged", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make()
        const result = yield* store.edit((s) => Effect.succeed({ ...s, greeting: "hi" }))
        expect(result).toEqual({ greeting: "hi" })
        const error = yield* Effect.flip(store.edit(() => Effect.fail("boom" as const)))
        expect(error).toBe("boom")
        expect(yield* store.getState).toEqual({ greeting: "hi" })
      }))

    it.effect("edit is atomic under concurrency", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make()
        yield* store.set("count", 0)
        yield* Effect.forEach(
          Array.from({ length: 50 }),
          () =>
            store.edit((s) =>
              Effect.gen(function*() {
                const count = s.count as number
                yield* Effect.yieldNow()
                return { ...s, count: count + 1 }
              })
            ),
          { concurrency: "unbounded", discard: true }
        )
        expect(yield* store.get("count")).toBe(50)
      }))

    it.effect("clear resets to {}", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make()
        yield* store.set("a.b", 1)
        yield* store.clear
        expect(yield* store.getState).toEqual({})
      }))

    it.effect("changes: the current state, then every committed change", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make()
        yield* store.set("a", 1)
        const subscribed = yield* Deferred.make<void>()
        const fiber = yield* store.changes.pipe(
          Stream.tap(() => Deferred.succeed(subscribed, undefined)),
          Stream.take(3),
          Stream.runCollect,
          Effect.fork
        )
        yield* Deferred.await(subscribed)
        yield* store.set("b", 2)
        yield* Effect.flip(store.set("a.x", 0))
        yield* store.set("a", 3)
        const changes = yield* Fiber.join(fiber)
        expect(Chunk.toReadonlyArray(changes)).toEqual([{ a: 1 }, { a: 1, b: 2 }, { a: 3, b: 2 }])
      }))
  })

  describe("typed state", () => {
    it.effect("starts at the schema defaults", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make(Counter)
        const state = yield* store.getState
        expect(state).toBeInstanceOf(Counter)
        expect(state).toEqual(new Counter({ count: 0, tags: [], meta: {} }))
      }))

    it.effect("set and get class fields, arrays and nested records", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make(Counter)
        const initial = yield* store.getState
        yield* store.set("count", 5)
        yield* store.set("tags.0", "first")
        yield* store.set("meta.user.name", "Ada")
        expect(yield* store.get("count")).toBe(5)
        expect(yield* store.get("tags.0")).toBe("first")
        expect(yield* store.get("meta.user.name")).toBe("Ada")
        const state = yield* store.getState
        expect(state).toBeInstanceOf(Counter)
        expect(state.count).toBe(5)
        expect(state.tags).toEqual(["first"])
        expect(state.meta).toEqual({ user: { name: "Ada" } })
        expect(initial).toEqual(new Counter({ count: 0, tags: [], meta: {} }))
      }))

    it.effect("a set the schema rejects fails and leaves the state unchanged", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make(Counter)
        yield* store.set("count", 1)
        const before = yield* store.getState
        const error = yield* Effect.flip(store.set("count", "x"))
        expect(error._tag).toBe("IllegalArgumentException")
        expect(error.message.startsWith("Invalid value for 'count': ")).toBe(true)
        expect(error.message).toContain("[\"count\"]")
        expect(error.message).toContain("Expected number, actual \"x\"")
        const unknownField = yield* Effect.flip(store.set("extra", 1))
        expect(unknownField.message.startsWith("Invalid value for 'extra': ")).toBe(true)
        expect(unknownField.message).toContain("is unexpected")
        expect((yield* Effect.flip(store.set("tags.0", 1))).message.startsWith("Invalid value for 'tags.0': "))
          .toBe(true)
        expect(yield* store.getState).toBe(before)
        expect(before.count).toBe(1)
      }))

    it.effect("setState, edit and clear", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make(Counter)
        yield* store.setState(new Counter({ count: 10 }))
        expect((yield* store.getState).count).toBe(10)
        const next = yield* store.edit((s) => new Counter({ ...s, count: s.count + 1 }))
        expect(next.count).toBe(11)
        yield* store.set("meta.k", "v")
        yield* store.clear
        const cleared = yield* store.getState
        expect(cleared).toBeInstanceOf(Counter)
        expect(cleared).toEqual(new Counter({}))
      }))

    it.effect("a setState the schema rejects fails and leaves the state unchanged", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make(Counter)
        yield* store.set("count", 3)
        const before = yield* store.getState
        const notInstance = yield* Effect.flip(store.setState({ count: 4, tags: [], meta: {} } as unknown as Counter))
        expect(notInstance._tag).toBe("IllegalArgumentException")
        expect(notInstance.message.startsWith("Invalid state for setState: ")).toBe(true)
        expect(notInstance.message).toContain("Expected Counter")
        const badField = yield* Effect.flip(
          store.setState(new Counter({ count: "x" as unknown as number }, { disableValidation: true }))
        )
        expect(badField._tag).toBe("IllegalArgumentException")
        expect(badField.message.startsWith("Invalid state for setState: ")).toBe(true)
        expect(badField.message).toContain("[\"count\"]")
        expect(badField.message).toContain("Expected number, actual \"x\"")
        expect(yield* store.getState).toBe(before)
        expect((yield* store.getState).count).toBe(3)
        expect(yield* store.get("count")).toBe(3)
        yield* store.setState(new Counter({ count: 4 }))
        expect((yield* store.getState).count).toBe(4)
      }))

    it.effect("an edit result the schema rejects fails and leaves the state unchanged", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make(Counter)
        yield* store.set("count", 5)
        const before = yield* store.getState
        const pure = yield* Effect.flip(
          store.edit((s) => new Counter({ ...s, tags: [1] as unknown as Array<string> }, { disableValidation: true }))
        )
        expect(pure._tag).toBe("IllegalArgumentException")
        expect(pure.message.startsWith("Invalid state returned by edit: ")).toBe(true)
        expect(pure.message).toContain("[\"tags\"]")
        expect(pure.message).toContain("Expected string, actual 1")
        const effectful = yield* Effect.flip(
          store.edit((s) => Effect.succeed({ ...s, count: s.count + 1 } as Counter))
        )
        expect(effectful._tag).toBe("IllegalArgumentException")
        expect(effectful.message.startsWith("Invalid state returned by edit: ")).toBe(true)
        expect(effectful.message).toContain("Expected Counter")
        expect(yield* store.getState).toBe(before)
        expect(yield* store.get("count")).toBe(5)
        const next = yield* store.edit((s) => Effect.succeed(new Counter({ ...s, count: s.count + 1 })))
        expect(next.count).toBe(6)
      }))

    it.effect("setState and edit on a struct-typed store reject unknown fields", () =>
      Effect.gen(function*() {
        const Struct = Schema.Struct({ n: Schema.optionalWith(Schema.Number, { default: () => 0 }) })
        const store = yield* StateStore.make(Struct)
        const extra = yield* Effect.flip(store.setState({ n: 1, extra: true } as typeof Struct.Type))
        expect(extra.message.startsWith("Invalid state for setState: ")).toBe(true)
        expect(extra.message).toContain("is unexpected")
        const edited = yield* Effect.flip(store.edit((s) => ({ ...s, n: "1" as unknown as number })))
        expect(edited.message.startsWith("Invalid state returned by edit: ")).toBe(true)
        expect(edited.message).toContain("Expected number, actual \"1\"")
        expect(yield* store.getState).toEqual({ n: 0 })
        yield* store.setState({ n: 2 })
        expect(yield* store.edit((s) => ({ n: s.n + 1 }))).toEqual({ n: 3 })
      }))

    it.effect("dict stores never fail setState or edit on their values", () =>
      Effect.gen(function*() {
        const store = yield* StateStore.make()
        yield* store.setState({ anything: [1, "two", { three: null }] })
        const next = yield* store.edit((s) => ({ ...s, more: undefined }))
        expect(next).toEqual({ anything: [1, "two", { three: null }], more: undefined })
      }))

    it.effect("make(schema) without defaults fails with WorkflowConfigurationError", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(StateStore.make(NoDefaults))
        expect(error).toBeInstanceOf(WorkflowConfigurationError)
        expect(error.message).toBe("State must have defaults for all fields")
      }))
  })

  it.effect("isStateStore", () =>
    Effect.gen(function*() {
      expect(StateStore.isStateStore(yield* StateStore.make())).toBe(true)
      expect(StateStore.isStateStore(yield* StateStore.make(Counter))).toBe(true)
      expect(StateStore.isStateStore({})).toBe(false)
      expect(StateStore.isStateStore(null)).toBe(false)
    }))

  it.effect("internal: unsafeMake from an existing state, unsafeGet", () =>
    Effect.gen(function*() {
      const store = internal.unsafeMake(new Counter({ count: 7 }), Option.some(Counter))
      expect(internal.unsafeGet(store).count).toBe(7)
      yield* store.set("count", 8)
      expect(internal.unsafeGet(store).count).toBe(8)
      yield* Effect.flip(store.set("count", "x"))
      yield* store.clear
      expect(internal.unsafeGet(store)).toEqual(new Counter({}))
      const { get, set } = internal.unsafeMake<StateStore.DictState>({ a: 1 }, Option.none())
      yield* set("b", 2)
      expect(yield* get("b")).toBe(2)
    }))
})
