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
   * default is returned.
   */
  readonly get: {
    (path: string): Effect.Effect<unknown, Cause.NoSuchElementException>
    (path: string, orElse: unknown): Effect.Effect<unknown>
  }
  /**
   * Writes a dot path. An empty path ("Path cannot be empty"), a path deeper than the limit, a
   * path through a non-container, or a value the state schema rejects fails with
   * `Cause.IllegalArgumentException`.
   */
  readonly set: (path: string, value: unknown) => Effect.Effect<void, Cause.IllegalArgumentException>
  /** The current state (a shallow copy). */
  readonly getState: Effect.Effect<S>
  /** Replaces the whole state. */
  readonly setState: (state: S) => Effect.Effect<void>
  /**
   * Atomic read-modify-write under the store's lock; `f` may be effectful. Returns the new state.
   */
  readonly edit: {
    <E = never, R = never>(f: (state: S) => Effect.Effect<S, E, R>): Effect.Effect<S, E, R>
    (f: (state: S) => S): Effect.Effect<S>
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
