/**
 * The state of a run: a dict (untyped) or a Schema-typed value, read and written with dot paths,
 * edited atomically, observable as a stream of changes.
 *
 * @since 0.1.0
 */
import type * as Cause from "effect/Cause"
import type * as Effect from "effect/Effect"
import type * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/stateStore.js"
import type * as WorkflowError from "./WorkflowError.js"

/**
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { StateStore } from "effect-workflows"
 *
 * const program = Effect.gen(function* () {
 *   const store = yield* StateStore.make()
 *   return StateStore.TypeId in store && StateStore.isStateStore(store) // true: isStateStore checks for TypeId
 * })
 * ```
 *
 * @since 0.1.0
 * @category symbols
 */
export const TypeId: unique symbol = internal.TypeId

/**
 * @example
 * ```ts
 * import type { StateStore } from "effect-workflows"
 *
 * type Marker = StateStore.StateStore[StateStore.TypeId] // StateStore.TypeId
 * ```
 *
 * @since 0.1.0
 * @category symbols
 */
export type TypeId = typeof TypeId

/**
 * The untyped (dict) state.
 *
 * @example
 * ```ts
 * import type { StateStore } from "effect-workflows"
 *
 * const state: StateStore.DictState = { user: { name: "Ada" }, visits: 3 }
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export type DictState = { readonly [key: string]: unknown }

/**
 * The type at a dot path of a state `S`, as `StateStore.get` reads it: segments traverse object
 * keys (including index signatures) and numeric array or tuple indices ("list.1"); `null` and
 * `undefined` along the way are skipped (reading through them fails at run time). Dict state (or
 * any `unknown` along the way) and non-literal paths (`string`, `` `list.${number}` ``) give
 * `unknown`; a literal path that cannot exist in `S` gives `never` (reading it always fails).
 *
 * @example
 * ```ts
 * import type { StateStore } from "effect-workflows"
 *
 * type State = { readonly user: { readonly name: string }; readonly list: ReadonlyArray<number> }
 *
 * type Name = StateStore.PathValue<State, "user.name"> // string
 * type Item = StateStore.PathValue<State, "list.1"> // number
 * type Any = StateStore.PathValue<StateStore.DictState, "user.name"> // unknown
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export type PathValue<S, P extends string> = P extends unknown ? PathValue.Resolve<S, P> : never

/**
 * Helpers of `PathValue`.
 *
 * @example
 * ```ts
 * import type { StateStore } from "effect-workflows"
 *
 * type Yes = StateStore.PathValue.IsIndex<"12"> // true
 * type No = StateStore.PathValue.IsIndex<"-1"> // false
 * ```
 *
 * @since 0.1.0
 * @category type-level
 */
export declare namespace PathValue {
  /**
   * `PathValue` of one literal path.
   *
   * @example
   * ```ts
   * import type { StateStore } from "effect-workflows"
   *
   * type Deep = StateStore.PathValue.Resolve<{ readonly a: { readonly b: 1 } }, "a.b"> // 1
   * ```
   *
   * @since 0.1.0
   * @category type-level
   */
  export type Resolve<S, P extends string> = unknown extends S ? unknown
    : P extends `${infer Head}.${infer Rest}` ? Resolve<Exclude<Segment<S, Head>, null | undefined>, Rest>
    : Segment<S, P>

  /**
   * The type under one path segment, distributed over a union state.
   *
   * @example
   * ```ts
   * import type { StateStore } from "effect-workflows"
   *
   * type A = StateStore.PathValue.Segment<{ readonly a: 1 } | { readonly b: 2 }, "a"> // 1
   * type I = StateStore.PathValue.Segment<ReadonlyArray<string>, "3"> // string
   * ```
   *
   * @since 0.1.0
   * @category type-level
   */
  export type Segment<S, K extends string> = unknown extends S ? unknown
    : {} extends Record<K, unknown> ? unknown // a non-literal segment
    : S extends ReadonlyArray<unknown> ? (
        IsIndex<K> extends true ? (K extends keyof S ? S[K] : number extends S["length"] ? S[number] : never)
          : never
      )
    : S extends object ? (
        K extends keyof S ? S[K]
          : K extends `${infer N extends number}` ? (N extends keyof S ? S[N] : number extends keyof S ? S[number] : never)
          : never
      )
    : never

  /**
   * Whether a segment is an array index (digits only), as the store reads it.
   *
   * @example
   * ```ts
   * import type { StateStore } from "effect-workflows"
   *
   * type Yes = StateStore.PathValue.IsIndex<"0"> // true
   * ```
   *
   * @since 0.1.0
   * @category type-level
   */
  export type IsIndex<K extends string> = K extends `${Digit}${infer Rest}` ? (Rest extends "" ? true : IsIndex<Rest>)
    : false

  /**
   * A decimal digit.
   *
   * @example
   * ```ts
   * import type { StateStore } from "effect-workflows"
   *
   * const digit: StateStore.PathValue.Digit = "7"
   * ```
   *
   * @since 0.1.0
   * @category type-level
   */
  export type Digit = "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9"
}

/**
 * A run's state. Dot paths: segments traverse object keys, array indices ("list.1") and class
 * fields; `set` creates missing intermediate objects.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { StateStore } from "effect-workflows"
 *
 * const program = Effect.gen(function* () {
 *   const store = yield* StateStore.make()
 *   yield* store.set("user.profile.name", "Ada")
 *   return yield* store.get("user.profile.name") // "Ada"
 * })
 * ```
 *
 * @since 0.1.0
 * @category models
 */
export interface StateStore<S = DictState> {
  readonly [TypeId]: TypeId
  /**
   * Reads a dot path. Without a default, a missing path fails with
   * `Cause.NoSuchElementException` ("Path '{path}' not found in state"); with a default, the
   * default is returned. The result is typed by the path (see `PathValue`): `unknown` for dict
   * state or a non-literal path; with a default, the path's type or the default's.
   */
  readonly get: {
    <P extends string>(path: P): Effect.Effect<PathValue<S, P>, Cause.NoSuchElementException>
    <P extends string, D>(path: P, orElse: D): Effect.Effect<PathValue<S, P> | D>
  }
  /**
   * Writes a dot path. An empty path ("Path cannot be empty"), a path deeper than the limit, a
   * path through a non-container, or a value the state schema rejects fails with
   * `Cause.IllegalArgumentException`.
   */
  readonly set: (path: string, value: unknown) => Effect.Effect<void, Cause.IllegalArgumentException>
  /** The current state (a shallow copy). */
  readonly getState: Effect.Effect<S>
  /**
   * Replaces the whole state. On a typed store a state the schema rejects fails with
   * `Cause.IllegalArgumentException` ("Invalid state for setState: ...") and the store keeps its
   * previous state; dict stores never fail.
   */
  readonly setState: (state: S) => Effect.Effect<void, Cause.IllegalArgumentException>
  /**
   * Atomic read-modify-write under the store's lock; `f` may be effectful. Returns the new state.
   * On a typed store a new state the schema rejects fails with `Cause.IllegalArgumentException`
   * ("Invalid state returned by edit: ...") and the store keeps its previous state; dict stores
   * never fail this way.
   */
  readonly edit: {
    <E = never, R = never>(
      f: (state: S) => Effect.Effect<S, E, R>
    ): Effect.Effect<S, E | Cause.IllegalArgumentException, R>
    (f: (state: S) => S): Effect.Effect<S, Cause.IllegalArgumentException>
  }
  /** Back to the initial state: `{}` for dict state, the schema defaults for typed state. */
  readonly clear: Effect.Effect<void>
  /** As `SubscriptionRef.changes`: the current state, then every committed change. */
  readonly changes: Stream.Stream<S>
}

/**
 * Whether a value is a `StateStore`.
 *
 * @example
 * ```ts
 * import { StateStore } from "effect-workflows"
 *
 * StateStore.isStateStore({}) // false
 * ```
 *
 * @since 0.1.0
 * @category refinements
 */
export const isStateStore: (u: unknown) => u is StateStore<unknown> = internal.isStateStore

/**
 * A standalone store, for `Workflow.run(wf, ev, { store })` and tests. Without a schema it holds
 * dict state starting at `{}`. With a schema the initial state decodes `{}`, so every field
 * needs a default, else it fails with `WorkflowConfigurationError` ("State must have defaults
 * for all fields").
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { StateStore } from "effect-workflows"
 *
 * class Counter extends Schema.Class<Counter>("Counter")({
 *   count: Schema.optionalWith(Schema.Number, { default: () => 0 })
 * }) {}
 *
 * const program = Effect.gen(function* () {
 *   const store = yield* StateStore.make(Counter)
 *   yield* store.edit((s) => new Counter({ count: s.count + 1 }))
 *   return (yield* store.getState).count // 1
 * })
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const make: {
  (): Effect.Effect<StateStore<DictState>>
  <S, I>(schema: Schema.Schema<S, I, never>): Effect.Effect<StateStore<S>, WorkflowError.WorkflowConfigurationError>
} = internal.make
