import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as SubscriptionRef from "effect/SubscriptionRef"
import type * as StateStore from "../StateStore.js"
import { WorkflowConfigurationError } from "../WorkflowError.js"

/** @internal */
export const TypeId: StateStore.TypeId = Symbol.for("effect-workflows/StateStore") as StateStore.TypeId

/** @internal */
export const isStateStore = (u: unknown): u is StateStore.StateStore<unknown> => Predicate.hasProperty(u, TypeId)

const MAX_DEPTH = 1000

type Container = { readonly [key: string]: unknown } | ReadonlyArray<unknown>

const isContainer = (u: unknown): u is Container => typeof u === "object" && u !== null

const isPlainObject = (u: object): boolean => {
  const proto = Object.getPrototypeOf(u)
  return proto === Object.prototype || proto === null
}

const isIndex = (segment: string): boolean => /^\d+$/.test(segment)

/**
 * A shallow copy of plain objects and arrays; class instances (e.g. `Schema.Class` state) are
 * immutable by convention and returned as they are.
 */
const shallowCopy = <S>(state: S): S =>
  Array.isArray(state)
    ? (state.slice() as S)
    : isContainer(state) && isPlainObject(state)
    ? ({ ...state } as S)
    : state

const splitPath = (path: string): Either.Either<Array<string>, string> => {
  if (path === "") return Either.left("Path cannot be empty")
  const segments = path.split(".")
  return segments.length > MAX_DEPTH
    ? Either.left(`Path length exceeds ${MAX_DEPTH} segments`)
    : Either.right(segments)
}

const lookup = (state: unknown, segments: ReadonlyArray<string>): Option.Option<unknown> => {
  let current = state
  for (const segment of segments) {
    if (Array.isArray(current)) {
      if (!isIndex(segment) || Number(segment) >= current.length) return Option.none()
      current = current[Number(segment)]
    } else if (isContainer(current) && Object.hasOwn(current, segment)) {
      current = (current as Record<string, unknown>)[segment]
    } else {
      return Option.none()
    }
  }
  return Option.some(current)
}

const assign = (
  container: unknown,
  segments: ReadonlyArray<string>,
  depth: number,
  value: unknown,
  path: string
): Either.Either<unknown, string> => {
  const segment = segments[depth]!
  const at = depth === 0 ? "state" : `'${segments.slice(0, depth).join(".")}'`
  const child = (current: unknown) =>
    depth === segments.length - 1
      ? Either.right(value)
      : assign(current === undefined ? {} : current, segments, depth + 1, value, path)
  if (Array.isArray(container)) {
    const index = Number(segment)
    if (!isIndex(segment)) {
      return Either.left(`Cannot set '${path}': '${segment}' is not an index of array ${at}`)
    }
    if (index > container.length) {
      return Either.left(
        `Cannot set '${path}': index ${segment} is out of range for array ${at} of length ${container.length}`
      )
    }
    return Either.map(child(container[index]), (next) => {
      const copy = container.slice()
      copy[index] = next
      return copy
    })
  }
  if (!isContainer(container)) {
    return Either.left(`Cannot set '${path}': ${at} is not an object or array`)
  }
  const current = Object.hasOwn(container, segment) ? (container as Record<string, unknown>)[segment] : undefined
  return Either.map(child(current), (next) =>
    isPlainObject(container)
      ? { ...container, [segment]: next }
      : Object.assign(Object.create(Object.getPrototypeOf(container)), container, { [segment]: next }))
}

/**
 * Checks a state value against its schema: the type side (instance checks, filters) and, since
 * `Schema.Class` type sides check only `instanceof`, the fields too by encoding it (state must
 * encode anyway, for snapshots). Unknown fields are rejected.
 */
const checkers = new WeakMap<Schema.Schema<any, any, never>, (u: unknown) => Either.Either<any, ParseResult.ParseError>>()

const check = <S>(schema: Schema.Schema<S, any, never>): (u: unknown) => Either.Either<S, ParseResult.ParseError> => {
  let checker = checkers.get(schema)
  if (checker === undefined) {
    checker = makeCheck(schema)
    checkers.set(schema, checker)
  }
  return checker
}

const makeCheck = <S>(schema: Schema.Schema<S, any, never>) => {
  const validate = Schema.validateEither(schema, { onExcessProperty: "error" })
  const encode = Schema.encodeEither(schema, { onExcessProperty: "error" })
  return (u: unknown): Either.Either<S, ParseResult.ParseError> =>
    Either.flatMap(validate(u), (state) => Either.map(encode(state), () => state))
}

/**
 * The initial state of a typed store: the schema's decoding of `{}`, failing with
 * `WorkflowConfigurationError` when a field has no default.
 *
 * @internal
 */
export const initialState = <S>(
  schema: Schema.Schema<S, any, never>
): Effect.Effect<S, WorkflowConfigurationError> =>
  Effect.mapError(
    Schema.decodeUnknown(schema)({}),
    () => new WorkflowConfigurationError({ message: "State must have defaults for all fields" })
  )

const currentKey = Symbol.for("effect-workflows/StateStore/current")

/**
 * Builds a store synchronously around an existing state value (a fresh run's defaults, a state
 * restored from a snapshot). `schema`: `None` for dict state (`clear` resets to `{}`), else the
 * state schema (`set`, `setState` and `edit` check against it, `clear` resets to its defaults). The methods close over
 * the store, so they can be destructured.
 *
 * @internal
 */
export const unsafeMake = <S>(
  initial: S,
  schema: Option.Option<Schema.Schema<S, any, never>>
): StateStore.StateStore<S> => {
  // The SubscriptionRef is made on first use: most runs never touch their store.
  let ref: SubscriptionRef.SubscriptionRef<S> | undefined
  const useRef: Effect.Effect<SubscriptionRef.SubscriptionRef<S>> = Effect.suspend(() =>
    ref !== undefined ? Effect.succeed(ref) : Effect.map(SubscriptionRef.make(initial), (made) => (ref ??= made))
  )
  const withRef = <A, E, R>(f: (ref: SubscriptionRef.SubscriptionRef<S>) => Effect.Effect<A, E, R>) =>
    Effect.flatMap(useRef, f)
  const checkState = Option.map(schema, check)
  const invalid = (path: string, error: ParseResult.ParseError) =>
    new Cause.IllegalArgumentException(
      `Invalid value for '${path}': ${ParseResult.TreeFormatter.formatErrorSync(error)}`
    )
  const current: Effect.Effect<S> = Effect.suspend(() =>
    ref === undefined ? Effect.succeed(initial) : SubscriptionRef.get(ref)
  )
  const get = (path: string, ...orElse: ReadonlyArray<unknown>) =>
    Effect.flatMap(current, (state) => {
      const found = Either.flatMap(
        splitPath(path),
        (segments) => Either.fromOption(lookup(state, segments), () => `Path '${path}' not found in state`)
      )
      return Either.isRight(found)
        ? Effect.succeed(found.right)
        : orElse.length > 0
        ? Effect.succeed(orElse[0])
        : Effect.fail(new Cause.NoSuchElementException(found.left))
    })
  const set = (path: string, value: unknown) =>
    withRef((ref) =>
      SubscriptionRef.modifyEffect(ref, (state) => {
      const next = Either.flatMap(splitPath(path), (segments) => assign(state, segments, 0, value, path))
      if (Either.isLeft(next)) return Effect.fail(new Cause.IllegalArgumentException(next.left))
      if (Option.isNone(checkState)) return Effect.succeed([undefined, next.right as S] as const)
      const checked = checkState.value(next.right)
      return Either.isRight(checked)
        ? Effect.succeed([undefined, checked.right] as const)
        : Effect.fail(invalid(path, checked.left))
      })
    )
  /** The state itself, checked against the schema (typed stores); `what` names it in the error. */
  const checkWhole = (state: S, what: string): Effect.Effect<S, Cause.IllegalArgumentException> => {
    if (Option.isNone(checkState)) return Effect.succeed(state)
    const checked = checkState.value(state)
    return Either.isRight(checked)
      ? Effect.succeed(checked.right)
      : Effect.fail(
        new Cause.IllegalArgumentException(`${what}: ${ParseResult.TreeFormatter.formatErrorSync(checked.left)}`)
      )
  }
  const setState = (state: S) =>
    Effect.flatMap(
      Effect.suspend(() => checkWhole(shallowCopy(state), "Invalid state for setState")),
      (next) => withRef((ref) => SubscriptionRef.set(ref, next))
    )
  const edit = <E, R>(f: (state: S) => S | Effect.Effect<S, E, R>) =>
    withRef((ref) =>
      SubscriptionRef.updateAndGetEffect(ref, (state) => {
        const next = f(shallowCopy(state))
        return Effect.flatMap(
          Effect.isEffect(next) ? next : Effect.succeed(next),
          (next) => checkWhole(next, "Invalid state returned by edit")
        )
      })
    )
  const reset: Effect.Effect<S> = Option.match(schema, {
    onNone: () => Effect.sync(() => ({}) as S),
    onSome: (schema) => Effect.orDie(initialState(schema))
  })
  return {
    [TypeId]: TypeId,
    [currentKey]: () => ref === undefined ? initial : Effect.runSync(SubscriptionRef.get(ref)),
    get: get as StateStore.StateStore<S>["get"],
    set,
    getState: Effect.map(current, shallowCopy),
    setState,
    edit: edit as StateStore.StateStore<S>["edit"],
    clear: Effect.flatMap(reset, (state) => withRef((ref) => SubscriptionRef.set(ref, state))),
    changes: Stream.unwrap(Effect.map(useRef, (ref) => ref.changes)),
    toJSON() {
      return { _id: "StateStore", state: unsafeGet(this) }
    }
  } as StateStore.StateStore<S>
}

/**
 * The current state of a store built by this module, read synchronously (no copy).
 *
 * @internal
 */
export const unsafeGet = <S>(store: StateStore.StateStore<S>): S => {
  return (store as unknown as { readonly [currentKey]: () => S })[currentKey]()
}

/**
 * `StateStore.make`: a dict store starting at `{}`, or a typed store starting at the schema's
 * defaults.
 *
 * @internal
 */
export function make(): Effect.Effect<StateStore.StateStore<StateStore.DictState>>
/** @internal */
export function make<S, I>(
  schema: Schema.Schema<S, I, never>
): Effect.Effect<StateStore.StateStore<S>, WorkflowConfigurationError>
/** @internal */
export function make<S>(
  schema?: Schema.Schema<S, any, never>
): Effect.Effect<StateStore.StateStore<any>, WorkflowConfigurationError> {
  return schema === undefined
    ? Effect.sync(() => unsafeMake<StateStore.DictState>({}, Option.none()))
    : Effect.map(initialState(schema), (initial) => unsafeMake(initial, Option.some(schema)))
}
