/**
 * Human in the loop, both ways. (1) A step suspends in `ctx.waitForEvent` until a
 * `HumanResponseEvent` arrives; its `waiterEvent` (an `InputRequiredEvent`) is published so the
 * caller knows what to ask. (2) A step returns an `InputRequiredEvent` and a second step accepts
 * the `HumanResponseEvent`. The caller reads `handler.events` until the prompt, answers with
 * `handler.sendEvent` (a scripted "yes": this program is not interactive) and prints the result.
 *
 * Then (3) a pause that outlives its process: the run asks, is snapshotted to a JSON file and
 * cancelled (a cancelled run stays resumable); later, in a fresh scope, it is resumed from the
 * file, answered, and completes with every step executed exactly once in total.
 *
 * Run with: npx tsx examples/human-in-the-loop.ts (served with the other examples by examples/server.ts,
 * where the Workflow Debugger answers the prompts)
 */
import { Console, Effect, Option, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Event, Snapshot, Step, Workflow } from "effect-workflows"
import { isMain } from "./main.js"

// (1) one step that waits in place for the answer
const publish = Step.make("publish", { on: Event.StartEvent, emits: [Event.StopEvent] }, (ev, ctx) =>
  Effect.gen(function*() {
    const answer = yield* ctx.waitForEvent(Event.HumanResponseEvent, {
      waiterEvent: new Event.InputRequiredEvent({ prefix: "Publish this draft? (yes/no)" })
    })
    const verdict = answer.response === "yes" ? "published" : "kept as a draft"
    return new Event.StopEvent({ result: `"${String(ev.input)}" ${verdict}` })
  }))
export const waitingWorkflow = Workflow.make({ name: "publish-with-wait", steps: [publish] })

// (2) one step asks by returning InputRequiredEvent, another one handles the answer
const ask = Step.make("ask", { on: Event.StartEvent, emits: [Event.InputRequiredEvent] }, (ev) =>
  Effect.succeed(new Event.InputRequiredEvent({ prefix: `Title for "${String(ev.input)}"?` })))
const title = Step.make("title", { on: Event.HumanResponseEvent, emits: [Event.StopEvent] }, (answer) =>
  Effect.succeed(new Event.StopEvent({ result: `titled "${answer.response}"` })))
export const askingWorkflow = Workflow.make({ name: "title-with-steps", steps: [ask, title] })

/** Starts a run, answers its first prompt with `response`, returns the run's result. */
const runWithAnswer = <E>(
  workflow: Workflow.Workflow<Event.StartEvent, unknown, E, never, any>,
  draft: string,
  response: string
) =>
  Effect.scoped(Effect.gen(function*() {
    const handler = yield* Workflow.start(workflow, new Event.StartEvent({ input: draft }))
    const prompt = yield* handler.events.pipe(
      Stream.filter(Event.is(Event.InputRequiredEvent)),
      Stream.runHead
    )
    if (Option.isNone(prompt)) return yield* Effect.dieMessage("the run ended without asking")
    yield* Console.log(`[${workflow.name}] asks: ${prompt.value.prefix}`)
    yield* Console.log(`[${workflow.name}] human answers: ${response}`)
    yield* handler.sendEvent(new Event.HumanResponseEvent({ response }))
    const result = yield* handler.result
    yield* Console.log(`[${workflow.name}] result: ${String(result)}`)
    // every subscriber sees the whole run, even after it ended
    const published = yield* Stream.runCollect(Stream.map(handler.events, (ev) => ev._tag))
    yield* Console.log(`[${workflow.name}] published: ${[...published].join(", ")}`)
  }))

// (3) pause to a JSON file, resume from it in a fresh scope
const executions = { ask: 0, title: 0 }
const countedAsk = Step.make("ask", { on: Event.StartEvent, emits: [Event.InputRequiredEvent] }, (ev) =>
  Effect.sync(() => {
    executions.ask++
    return new Event.InputRequiredEvent({ prefix: `Title for "${String(ev.input)}"?` })
  }))
const countedTitle = Step.make("title", { on: Event.HumanResponseEvent, emits: [Event.StopEvent] }, (answer) =>
  Effect.sync(() => {
    executions.title++
    return new Event.StopEvent({ result: `titled "${answer.response}"` })
  }))
export const pausableWorkflow = Workflow.make({ name: "title-with-pause", steps: [countedAsk, countedTitle] })

const pauseAndResume = Effect.gen(function*() {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hitl-")), "run.json")
  // first process: the run asks, then pauses
  yield* Effect.scoped(Effect.gen(function*() {
    const handler = yield* Workflow.start(pausableWorkflow, new Event.StartEvent({ input: "Effect in 10 minutes" }))
    const prompt = yield* handler.events.pipe(Stream.filter(Event.is(Event.InputRequiredEvent)), Stream.runHead)
    yield* Console.log(`[${pausableWorkflow.name}] asks: ${Option.getOrThrow(prompt).prefix}`)
    yield* handler.cancel
    const snapshot = yield* handler.snapshot
    fs.writeFileSync(file, Snapshot.toJson(snapshot))
    yield* Console.log(`[${pausableWorkflow.name}] paused to a JSON file (isRunning: ${snapshot.isRunning})`)
  }))
  // later, anywhere: resume from the file and answer
  yield* Effect.scoped(Effect.gen(function*() {
    const handler = yield* Workflow.resume(pausableWorkflow, fs.readFileSync(file, "utf8"))
    yield* Console.log(`[${pausableWorkflow.name}] resumed, human answers: Typed errors for humans`)
    yield* handler.sendEvent(new Event.HumanResponseEvent({ response: "Typed errors for humans" }))
    yield* Console.log(`[${pausableWorkflow.name}] result: ${String(yield* handler.result)}`)
  }))
  fs.rmSync(path.dirname(file), { recursive: true })
  yield* Console.log(`[${pausableWorkflow.name}] executions: ask ${executions.ask}, title ${executions.title}`)
})

const program = Effect.gen(function*() {
  yield* runWithAnswer(waitingWorkflow, "Effect in 10 minutes", "yes")
  yield* runWithAnswer(askingWorkflow, "Effect in 10 minutes", "Typed errors for humans")
  yield* pauseAndResume
})

if (isMain(import.meta.url)) Effect.runPromise(program)
