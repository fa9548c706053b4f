import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import { WorkflowMetrics } from "effect-workflows"
import { serve, workflows } from "./fixtures.js"

const run = (base: string, name: string) =>
  Effect.promise(async () => {
    const response = await fetch(`${base}/workflows/greet/run`, {
      method: "POST",
      body: JSON.stringify({ start_event: { name } })
    })
    return response.json() as Promise<any>
  })

describe("smoke", () => {
  it.live("runs greet", () =>
    Effect.scoped(Effect.gen(function*() {
      const base = yield* serve(workflows)
      const body = yield* run(base, "bob")
      expect(body.result).toEqual({ value: { result: "hello bob" }, qualified_name: "workflows.events.StopEvent", type: "StopEvent", types: null })
    })))

  it.live("a server started with metrics enabled counts its runs", () =>
    Effect.scoped(Effect.gen(function*() {
      const completed = Effect.map(
        Metric.value(WorkflowMetrics.forWorkflow(WorkflowMetrics.runsCompleted, "GreetWorkflow")),
        (state) => state.count
      )
      const before = yield* completed
      const base = yield* serve(workflows).pipe(Effect.provide(WorkflowMetrics.enable))
      yield* run(base, "ada")
      yield* run(base, "grace")
      expect((yield* completed) - before).toBe(2)
    })))
})
