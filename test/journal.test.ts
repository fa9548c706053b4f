/**
 * The journal hook: what a run's flushes tell an observer (the durable handler stores persist
 * runs through it).
 */
import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as TestClock from "effect/TestClock"
import { Event, Step, Workflow } from "effect-workflows"
import * as run_ from "../src/internal/run.js"
import * as runtime from "../src/internal/runtime.js"
import type { Journal } from "../src/internal/shell.js"

class Job extends Schema.TaggedClass<Job>()("Job", { n: Schema.Number }) {}

const describeCommand = (command: run_.Command): string => {
  switch (command._op) {
    case "publish":
      return `publish#${command.sequence} ${
        command.item instanceof run_.StepStateRecord ? `${command.item.stepState}:${command.item.name}` : command.item._tag
      }`
    case "started":
      return `started ${command.step.step.name} ${command.execution.attempt.event._tag}`
    case "finished":
      return `finished ${command.step.step.name} ${command.outcome}`
    case "waiterAdded":
      return `waiterAdded ${command.step.step.name} ${command.waiter.id}`
    case "end":
      return `end ${command.ending}`
    default:
      return command._op
  }
}

describe("the journal", () => {
  it.effect("hears every change: events published with their sequence, executions, waiters, the end", () =>
    Effect.gen(function*() {
      const first = Step.make("first", { on: Event.StartEvent, emits: [Job] }, () => Effect.succeed(new Job({ n: 1 })))
      const second = Step.make("second", { on: Job, emits: [Event.StopEvent] }, (ev, ctx) =>
        Effect.map(
          ctx.waitForEvent(Event.HumanResponseEvent, { waiterId: "w" }),
          (answer) => new Event.StopEvent({ result: `${ev.n}:${answer.response}` })
        ))
      const wf = Workflow.make({ name: "journaled", steps: [first, second] })
      const entries: Array<string> = []
      const flushes: Array<number> = []
      const journal: Journal = (commands, state) => {
        flushes.push(state.published)
        for (const command of commands) entries.push(describeCommand(command))
      }
      const result = yield* Effect.scoped(Effect.gen(function*() {
        const run = yield* runtime.startIn(wf, yield* Effect.scope, { _tag: "Start", event: undefined }, { journal })
        const handler = runtime.handlerOf<unknown, never, any>(run)
        yield* TestClock.adjust("1 millis")
        yield* handler.sendEvent(new Event.HumanResponseEvent({ response: "yes" }))
        return yield* handler.result
      }))
      expect(result).toBe("1:yes")
      expect(entries.filter((entry) => !entry.startsWith("run") && !entry.startsWith("resolve"))).toEqual([
        "publish#0 running:first",
        "started first StartEvent",
        "publish#1 not_running:first",
        "finished first succeeded",
        "publish#2 running:second",
        "started second Job",
        "waiterAdded second w",
        "finished second waiting",
        "publish#3 not_running:second",
        "publish#4 WorkflowIdleEvent",
        "publish#5 running:second",
        "started second Job",
        "publish#6 not_running:second",
        "finished second succeeded",
        "publish#7 StopEvent",
        "end completed"
      ])
      // each flush is told the sequence reached by what it carries
      expect(flushes.at(-1)).toBe(8)
    }))
})
