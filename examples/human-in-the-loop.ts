/**
 * Human in the loop, both ways. (1) A step suspends in `ctx.waitForEvent` until a
 * `HumanResponseEvent` arrives; its `waiterEvent` (an `InputRequiredEvent`) is published so the
 * caller knows what to ask. (2) A step returns an `InputRequiredEvent` and a second step accepts
 * the `HumanResponseEvent`. The caller reads `handler.events` until the prompt, answers with
 * `handler.sendEvent` (a scripted "yes": this program is not interactive) and prints the result.
 *
 * Run with: npx tsx examples/human-in-the-loop.ts
 */
import { Console, Effect, Option, Stream } from "effect"
import { Event, Step, Workflow } from "effect-workflows"

// (1) one step that waits in place for the answer
const publish = Step.make("publish", { on: Event.StartEvent, emits: [Event.StopEvent] }, (ev, ctx) =>
  Effect.gen(function*() {
    const answer = yield* ctx.waitForEvent(Event.HumanResponseEvent, {
      waiterEvent: new Event.InputRequiredEvent({ prefix: "Publish this draft? (yes/no)" })
    })
    const verdict = answer.response === "yes" ? "published" : "kept as a draft"
    return new Event.StopEvent({ result: `"${String(ev.input)}" ${verdict}` })
  }))
const waitingWorkflow = Workflow.make({ name: "publish-with-wait", steps: [publish] })

// (2) one step asks by returning InputRequiredEvent, another one handles the answer
const ask = Step.make("ask", { on: Event.StartEvent, emits: [Event.InputRequiredEvent] }, (ev) =>
  Effect.succeed(new Event.InputRequiredEvent({ prefix: `Title for "${String(ev.input)}"?` })))
const title = Step.make("title", { on: Event.HumanResponseEvent, emits: [Event.StopEvent] }, (answer) =>
  Effect.succeed(new Event.StopEvent({ result: `titled "${answer.response}"` })))
const askingWorkflow = Workflow.make({ name: "title-with-steps", steps: [ask, title] })

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

const program = Effect.gen(function*() {
  yield* runWithAnswer(waitingWorkflow, "Effect in 10 minutes", "yes")
  yield* runWithAnswer(askingWorkflow, "Effect in 10 minutes", "Typed errors for humans")
})

Effect.runPromise(program)
