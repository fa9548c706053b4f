import { describe, expectTypeOf, it } from "@effect/vitest"
import type * as Cause from "effect/Cause"
import type * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as internal from "../src/internal/stateStore.js"
import type * as StateStore from "../src/StateStore.js"

class User extends Schema.Class<User>("User")({
  name: Schema.String,
  nickname: Schema.optional(Schema.String),
  address: Schema.NullOr(Schema.Struct({ city: Schema.String }))
}) {}

class AppState extends Schema.Class<AppState>("AppState")({
  user: Schema.optionalWith(User, { default: () => new User({ name: "Ada", address: null }) }),
  list: Schema.optionalWith(Schema.Array(Schema.Number), { default: () => [] }),
  pair: Schema.optionalWith(Schema.Tuple(Schema.String, Schema.Boolean), { default: () => ["a", true] as const }),
  scores: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Number }), { default: () => ({}) }),
  meta: Schema.optionalWith(Schema.Record({ key: Schema.String, value: Schema.Unknown }), { default: () => ({}) }),
  matrix: Schema.optionalWith(Schema.Array(Schema.Array(Schema.String)), { default: () => [] })
}) {}

// Type tests: the effects below are built, never run.
const store: StateStore.StateStore<AppState> = internal.unsafeMake(new AppState({}), Option.some(AppState))
const dict: StateStore.StateStore<StateStore.DictState> = internal.unsafeMake({}, Option.none())
const anyPath = "user.name" as string
const index = 0 as number

type Get<A> = Effect.Effect<A, Cause.NoSuchElementException>

describe("StateStore types", () => {
  it("get on a typed store: the type at the path", () => {
    expectTypeOf(store.get("user")).toEqualTypeOf<Get<User>>()
    expectTypeOf(store.get("user.name")).toEqualTypeOf<Get<string>>()
    expectTypeOf(store.get("user.nickname")).toEqualTypeOf<Get<string | undefined>>()
    expectTypeOf(store.get("user.address")).toEqualTypeOf<Get<{ readonly city: string } | null>>()
    expectTypeOf(store.get("user.address.city")).toEqualTypeOf<Get<string>>()
    expectTypeOf(store.get("list")).toEqualTypeOf<Get<ReadonlyArray<number>>>()
    expectTypeOf(store.get("list.1")).toEqualTypeOf<Get<number>>()
    expectTypeOf(store.get("list.10")).toEqualTypeOf<Get<number>>()
    expectTypeOf(store.get("pair.0")).toEqualTypeOf<Get<string>>()
    expectTypeOf(store.get("pair.1")).toEqualTypeOf<Get<boolean>>()
    expectTypeOf(store.get("matrix.0.2")).toEqualTypeOf<Get<string>>()
    expectTypeOf(store.get("scores.ada")).toEqualTypeOf<Get<number>>()
    expectTypeOf(store.get("meta.anything.deeper")).toEqualTypeOf<Get<unknown>>()
  })

  it("get: paths that cannot exist are never, non-literal paths unknown", () => {
    expectTypeOf(store.get("missing")).toEqualTypeOf<Get<never>>()
    expectTypeOf(store.get("user.name.first")).toEqualTypeOf<Get<never>>()
    expectTypeOf(store.get("list.x")).toEqualTypeOf<Get<never>>()
    expectTypeOf(store.get("list.-1")).toEqualTypeOf<Get<never>>()
    expectTypeOf(store.get("list.length")).toEqualTypeOf<Get<never>>()
    expectTypeOf(store.get("pair.2")).toEqualTypeOf<Get<never>>()
    expectTypeOf(store.get(anyPath)).toEqualTypeOf<Get<unknown>>()
    expectTypeOf(store.get(`list.${index}`)).toEqualTypeOf<Get<unknown>>()
    expectTypeOf(store.get(`user.${anyPath}`)).toEqualTypeOf<Get<unknown>>()
  })

  it("get with a default: the path's type or the default's", () => {
    expectTypeOf(store.get("user.name", 0)).toEqualTypeOf<Effect.Effect<string | number>>()
    expectTypeOf(store.get("list.0", 0 as number)).toEqualTypeOf<Effect.Effect<number>>()
    expectTypeOf(store.get("user.nickname", null)).toEqualTypeOf<Effect.Effect<string | undefined | null>>()
    expectTypeOf(store.get(anyPath, 1)).toEqualTypeOf<Effect.Effect<unknown>>()
    expectTypeOf(dict.get("a.b", false)).toEqualTypeOf<Effect.Effect<unknown>>()
  })

  it("get on a dict store stays unknown", () => {
    expectTypeOf(dict.get("user.name")).toEqualTypeOf<Get<unknown>>()
    expectTypeOf(dict.get("list.1")).toEqualTypeOf<Get<unknown>>()
    expectTypeOf(dict.get(anyPath)).toEqualTypeOf<Get<unknown>>()
  })

  it("the typed result is checked where it is used", () => {
    const typed = (_: Effect.Effect<string, Cause.NoSuchElementException>) => _
    typed(store.get("user.name"))
    // @ts-expect-error: a number is not a string
    typed(store.get("list.0"))
    // @ts-expect-error: a dict read is unknown
    typed(dict.get("user.name"))
  })

  it("PathValue", () => {
    type State = { readonly a?: { readonly b: ReadonlyArray<{ readonly c: 1 }> } | undefined } | { readonly d: 2 }
    expectTypeOf<StateStore.PathValue<State, "a.b.0.c">>().toEqualTypeOf<1>()
    expectTypeOf<StateStore.PathValue<State, "d">>().toEqualTypeOf<2>()
    expectTypeOf<StateStore.PathValue<State, "a" | "d">>().toEqualTypeOf<
      { readonly b: ReadonlyArray<{ readonly c: 1 }> } | undefined | 2
    >()
    expectTypeOf<StateStore.PathValue<unknown, "a">>().toEqualTypeOf<unknown>()
    expectTypeOf<StateStore.PathValue<{ readonly 1: "one" }, "1">>().toEqualTypeOf<"one">()
    expectTypeOf<StateStore.PathValue.IsIndex<"12">>().toEqualTypeOf<true>()
    expectTypeOf<StateStore.PathValue.IsIndex<"1e3">>().toEqualTypeOf<false>()
  })

  it("setState and edit: errors widen with IllegalArgumentException", () => {
    expectTypeOf(store.setState).returns.toEqualTypeOf<Effect.Effect<void, Cause.IllegalArgumentException>>()
    expectTypeOf(store.edit((s) => s)).toEqualTypeOf<Effect.Effect<AppState, Cause.IllegalArgumentException>>()
    expectTypeOf(store.edit(() => null! as Effect.Effect<AppState, "boom", "R">)).toEqualTypeOf<
      Effect.Effect<AppState, "boom" | Cause.IllegalArgumentException, "R">
    >()
    // @ts-expect-error: setState takes the state's type
    store.setState({ list: [] })
    // @ts-expect-error: edit returns the state's type
    store.edit(() => ({ list: [] }))
  })
})
