/**
 * What every `HandlerStore` does, as one suite: run it against each store's Layer.
 */
import { describe, expect, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { HandlerStore } from "effect-workflows/server"

const record = (
  handlerId: string,
  overrides: Partial<HandlerStore.HandlerRecord> = {}
): HandlerStore.HandlerRecord => ({
  handlerId,
  workflowName: "greet",
  runId: `run-${handlerId}`,
  status: "running",
  startedAt: "2026-01-01T00:00:00.000Z",
  updatedAt: null,
  completedAt: null,
  error: null,
  result: null,
  ...overrides
})

const event = (runId: string, sequence: number, type = "Progress"): HandlerStore.StoredEvent => ({
  runId,
  sequence,
  envelope: { type, value: { n: sequence }, qualified_name: `greet.${type}`, types: null }
})

const sequences = (events: Iterable<HandlerStore.StoredEvent>) => Array.from(events, (stored) => stored.sequence)

/** The contract, for a store built fresh by `make` for each test. */
export const storeContract = (name: string, make: () => Layer.Layer<HandlerStore.HandlerStore>) =>
  describe(`HandlerStore contract: ${name}`, () => {
    const withStore = <A, E>(f: (store: HandlerStore.HandlerStoreService) => Effect.Effect<A, E>) =>
      Effect.flatMap(HandlerStore.HandlerStore, f).pipe(Effect.provide(make()))

    it.effect("put, get and replace by handler id", () =>
      withStore((store) =>
        Effect.gen(function*() {
          expect(yield* store.get("a")).toEqual(Option.none())
          yield* store.put(record("a"))
          expect(yield* store.get("a")).toEqual(Option.some(record("a")))
          const done = record("a", {
            status: "completed",
            completedAt: "2026-01-01T00:00:01.000Z",
            result: { type: "StopEvent", value: { result: 1 }, qualified_name: null, types: null }
          })
          yield* store.put(done)
          expect(yield* store.get("a")).toEqual(Option.some(done))
        })
      ))

    it.effect("list: in the order first put, filtered by status and workflow name; an empty filter matches nothing", () =>
      withStore((store) =>
        Effect.gen(function*() {
          yield* store.put(record("a"))
          yield* store.put(record("b", { workflowName: "other", status: "failed", error: "boom" }))
          yield* store.put(record("c", { status: "completed" }))
          yield* store.put(record("a", { status: "cancelled" }))
          const ids = (records: ReadonlyArray<HandlerStore.HandlerRecord>) => records.map((r) => r.handlerId)
          expect(ids(yield* store.list({}))).toEqual(["a", "b", "c"])
          expect(ids(yield* store.list({ status: ["failed", "cancelled"] }))).toEqual(["a", "b"])
          expect(ids(yield* store.list({ workflowName: ["greet"] }))).toEqual(["a", "c"])
          expect(ids(yield* store.list({ workflowName: ["greet"], status: ["completed"] }))).toEqual(["c"])
          expect(ids(yield* store.list({ status: [] }))).toEqual([])
        })
      ))

    it.effect("append and read back by sequence; lastSequence", () =>
      withStore((store) =>
        Effect.gen(function*() {
          expect(yield* store.lastSequence("r1")).toBe(-1)
          yield* store.commit({ events: [event("r1", 0), event("r2", 0), event("r1", 1)] })
          yield* store.commit({ events: [event("r1", 2)] })
          expect(yield* store.lastSequence("r1")).toBe(2)
          expect(yield* store.lastSequence("r2")).toBe(0)
          const after0 = yield* store.events("r1", 0).pipe(Stream.take(2), Stream.runCollect)
          expect(sequences(after0)).toEqual([1, 2])
          const all = yield* store.events("r1", -1).pipe(Stream.take(3), Stream.runCollect)
          expect(Chunk.toReadonlyArray(all)).toEqual([event("r1", 0), event("r1", 1), event("r1", 2)])
        })
      ))

    it.effect("a reader gets what is stored, then each event as it is appended", () =>
      withStore((store) =>
        Effect.gen(function*() {
          yield* store.commit({ events: [event("r1", 0)] })
          const reader = yield* store.events("r1", -1).pipe(Stream.take(4), Stream.runCollect, Effect.fork)
          yield* Effect.yieldNow()
          yield* store.commit({ events: [event("r1", 1)] })
          yield* Effect.yieldNow()
          yield* store.commit({ events: [event("r1", 2), event("r1", 3, "StopEvent")] })
          expect(sequences(yield* Fiber.join(reader))).toEqual([0, 1, 2, 3])
        })
      ))

    it.effect("remove deletes the handler and its events, and ends its readers", () =>
      withStore((store) =>
        Effect.gen(function*() {
          yield* store.put(record("a"))
          yield* store.commit({ events: [event("run-a", 0)] })
          const first = yield* Deferred.make<void>()
          const reader = yield* store.events("run-a", -1).pipe(
            Stream.tap(() => Deferred.succeed(first, undefined)),
            Stream.runCollect,
            Effect.fork
          )
          yield* Deferred.await(first)
          yield* store.remove("a")
          expect(sequences(yield* Fiber.join(reader))).toEqual([0])
          expect(yield* store.get("a")).toEqual(Option.none())
          expect(yield* store.lastSequence("run-a")).toBe(-1)
        })
      ))

    it.effect("snapshots: the latest per handler, versions only grow, removed with the handler", () =>
      withStore((store) =>
        Effect.gen(function*() {
          yield* store.put(record("a"))
          expect(yield* store.loadSnapshot("a")).toEqual(Option.none())
          const saved = (version: number) => ({ handlerId: "a", runId: "run-a", version, snapshot: { version } as never })
          yield* store.commit({ snapshots: [saved(1)] })
          yield* store.commit({ snapshots: [saved(2)] })
          expect(yield* store.loadSnapshot("a")).toEqual(Option.some(saved(2)))
          yield* store.remove("a")
          expect(yield* store.loadSnapshot("a")).toEqual(Option.none())
        })
      ))

    it.effect("a stale snapshot is refused, and nothing of its batch is written", () =>
      withStore((store) =>
        Effect.gen(function*() {
          yield* store.put(record("a"))
          const saved = (version: number) => ({ handlerId: "a", runId: "run-a", version, snapshot: { version } as never })
          yield* store.commit({ snapshots: [saved(3)] })
          const error = yield* Effect.flip(
            store.commit({
              events: [event("run-a", 0)],
              snapshots: [saved(3)],
              handlers: [record("a", { status: "completed" })]
            })
          )
          expect(error).toEqual(new HandlerStore.StaleSnapshotError({ handlerId: "a", version: 3, storedVersion: 3 }))
          expect(error.message).toBe("Snapshot version 3 of handler a is stale: the store has version 3")
          expect(yield* store.lastSequence("run-a")).toBe(-1)
          expect(Option.map(yield* store.get("a"), (r) => r.status)).toEqual(Option.some("running"))
          expect(Option.map(yield* store.loadSnapshot("a"), (s) => s.version)).toEqual(Option.some(3))
        })
      ))

    it.effect("one commit writes events, snapshots and handler rows together", () =>
      withStore((store) =>
        Effect.gen(function*() {
          yield* store.put(record("a"))
          yield* store.commit({
            events: [event("run-a", 0), event("run-b", 0), event("run-a", 1)],
            snapshots: [{ handlerId: "a", runId: "run-a", version: 1, snapshot: { n: 1 } as never }],
            handlers: [record("a", { status: "completed" }), record("b")]
          })
          expect(yield* store.lastSequence("run-a")).toBe(1)
          expect(yield* store.lastSequence("run-b")).toBe(0)
          expect((yield* store.list({})).map((r) => [r.handlerId, r.status])).toEqual([["a", "completed"], ["b", "running"]])
          expect(Option.map(yield* store.loadSnapshot("a"), (s) => s.snapshot)).toEqual(Option.some({ n: 1 }))
        })
      ))

    it.effect("a commit interrupted while it runs goes to its end: whole, not rolled back", () =>
      withStore((store) =>
        Effect.gen(function*() {
          yield* store.put(record("a"))
          const committing = yield* Effect.fork(store.commit({
            events: [event("run-a", 0), event("run-a", 1)],
            handlers: [record("a", { status: "completed" })]
          }))
          // the commit has begun (a store over a network is waiting for its database by now)
          yield* Effect.yieldNow()
          yield* Fiber.interrupt(committing)
          expect(yield* store.lastSequence("run-a")).toBe(1)
          expect(Option.map(yield* store.get("a"), (r) => r.status)).toEqual(Option.some("completed"))
        })
      ))

    it.effect("a reader of a run with no events and no handler ends at once", () =>
      withStore((store) =>
        Effect.gen(function*() {
          expect(sequences(yield* Stream.runCollect(store.events("unknown", -1)))).toEqual([])
        })
      ))

    it.effect("a reader of a handler's run with no events yet gets them as they are committed", () =>
      withStore((store) =>
        Effect.gen(function*() {
          yield* store.put(record("a"))
          const reader = yield* store.events("run-a", -1).pipe(Stream.take(3), Stream.runCollect, Effect.fork)
          yield* Effect.yieldNow()
          yield* store.commit({ events: [event("run-a", 0)] })
          yield* Effect.yieldNow()
          yield* store.commit({ events: [event("run-a", 1), event("run-a", 2, "StopEvent")] })
          expect(sequences(yield* Fiber.join(reader))).toEqual([0, 1, 2])
        })
      ))

    it.effect("remove deletes the events of every run the handler has had", () =>
      withStore((store) =>
        Effect.gen(function*() {
          yield* store.put(record("a", { runId: "run-1" }))
          yield* store.commit({ events: [event("run-1", 0), event("run-1", 1)] })
          // a continuation: a new run under the same handler id
          yield* store.put(record("a", { runId: "run-2" }))
          yield* store.commit({ events: [event("run-2", 0)] })
          yield* store.put(record("b"))
          yield* store.commit({ events: [event("run-b", 0)] })
          yield* store.remove("a")
          expect(yield* store.lastSequence("run-1")).toBe(-1)
          expect(yield* store.lastSequence("run-2")).toBe(-1)
          expect(yield* store.lastSequence("run-b")).toBe(0)
          expect((yield* store.list({})).map((r) => r.handlerId)).toEqual(["b"])
        })
      ))

    it.effect("handler rows a commit writes keep the order of their first put", () =>
      withStore((store) =>
        Effect.gen(function*() {
          yield* store.commit({ handlers: [record("b"), record("a")] })
          yield* store.put(record("c"))
          yield* store.commit({ handlers: [record("a", { status: "completed" }), record("d")] })
          yield* store.put(record("b", { status: "failed", error: "boom" }))
          expect((yield* store.list({})).map((r) => [r.handlerId, r.status])).toEqual([
            ["b", "failed"],
            ["a", "completed"],
            ["c", "running"],
            ["d", "running"]
          ])
        })
      ))

    it.scoped("claim succeeds for the first holder", () =>
      Effect.flatMap(HandlerStore.HandlerStore, (store) => store.claim).pipe(Effect.provide(make())))
  })
