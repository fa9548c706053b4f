import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { serve, workflows } from "./fixtures.js"

describe("smoke", () => {
  it.live("runs greet", () =>
    Effect.scoped(Effect.gen(function*() {
      const base = yield* serve(workflows)
      const response = yield* Effect.promise(() => fetch(`${base}/workflows/greet/run`, { method: "POST", body: JSON.stringify({ start_event: { name: "bob" } }) }))
      const body: any = yield* Effect.promise(() => response.json())
      expect(body.result).toEqual({ value: { result: "hello bob" }, qualified_name: "workflows.events.StopEvent", type: "StopEvent", types: null })
    })))
})
