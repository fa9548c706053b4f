import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { HandlerStore } from "effect-workflows/server"
import { storeContract } from "./storeContract.js"

storeContract("memory", () => HandlerStore.layerMemory())

describe("HandlerStore.layerMemory", () => {
  it.effect("keeps the last maxCompleted finished handlers with their events; running ones stay", () =>
    Effect.gen(function*() {
      const store = yield* HandlerStore.HandlerStore
      const put = (handlerId: string, status: HandlerStore.HandlerRecord["status"]) =>
        store.put({
          handlerId,
          workflowName: "w",
          runId: `run-${handlerId}`,
          status,
          startedAt: "2026-01-01T00:00:00.000Z",
          updatedAt: null,
          completedAt: null,
          error: null,
          result: null
        })
      yield* put("live", "running")
      for (const id of ["a", "b", "c"]) {
        yield* put(id, "running")
        yield* store.commit({
          events: [{ runId: `run-${id}`, sequence: 0, envelope: { type: "E", value: {}, qualified_name: null, types: null } }]
        })
        yield* put(id, "completed")
      }
      const ids = (yield* store.list({})).map((record) => record.handlerId)
      expect(ids).toEqual(["live", "b", "c"])
      expect(yield* store.get("a")).toEqual(Option.none())
      expect(yield* store.lastSequence("run-a")).toBe(-1)
      expect(yield* store.lastSequence("run-b")).toBe(0)
    }).pipe(Effect.provide(HandlerStore.layerMemory({ maxCompleted: 2 }))))
})
