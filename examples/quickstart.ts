/**
 * Quickstart: a two-step workflow that drafts a joke about a topic and reviews it, streaming the
 * events it publishes.
 *
 * Run with: npx tsx examples/quickstart.ts (served with the other examples by examples/server.ts)
 */
import { Console, Effect, Schema, Stream } from "effect"
import { Step, Workflow } from "effect-workflows"
import { isMain } from "./main.js"

class Topic extends Schema.TaggedClass<Topic>()("Topic", { topic: Schema.String }) {}
class Draft extends Schema.TaggedClass<Draft>()("Draft", { text: Schema.String }) {}
class Done extends Schema.TaggedClass<Done>()("Done", { verdict: Schema.String }) {}

const draft = Step.make("draft", { on: Topic, emits: [Draft] }, (ev) =>
  Effect.succeed(new Draft({ text: `Why did the ${ev.topic} cross the road? To get to the other tide.` })))

const review = Step.make("review", { on: Draft, emits: [Done], workers: 2 }, (ev, ctx) =>
  Effect.gen(function*() {
    yield* ctx.store.set("last", ev.text)
    yield* ctx.writeEventToStream(ev)
    return new Done({ verdict: ev.text.length < 80 ? "short and sweet" : "too long" })
  }))

export const jokes = Workflow.make({ name: "jokes", start: Topic, stop: Done, steps: [draft, review] })

const program = Effect.scoped(
  Effect.gen(function*() {
    const handler = yield* Workflow.start(jokes, new Topic({ topic: "pirate" }))
    yield* handler.events.pipe(Stream.runForEach((ev) => Console.log(`event: ${ev._tag}`)))
    const done = yield* handler.result
    yield* Console.log(`verdict: ${done.verdict}`)
    yield* Console.log(`stored: ${yield* handler.store.get("last")}`)
    return done
  })
)

if (isMain(import.meta.url)) Effect.runPromise(program)
