/**
 * Fan-out / fan-in: a start step sends one `Chunk` event per sentence with `ctx.sendEvent`, a
 * worker step with a pool of 3 workers counts the words of each chunk, and a collector waits
 * with `ctx.collectEvents` until all 10 results are in, then stops the run with the total.
 *
 * Run with: npx tsx examples/fan-out-fan-in.ts (served with the other examples by examples/server.ts)
 */
import { Console, Effect, Ref, Schema } from "effect"
import { Event, Step, Workflow } from "effect-workflows"
import { isMain } from "./main.js"

class Chunk extends Schema.TaggedClass<Chunk>()("Chunk", { index: Schema.Number, text: Schema.String }) {}
class ChunkDone extends Schema.TaggedClass<ChunkDone>()("ChunkDone", { index: Schema.Number, words: Schema.Number }) {}

const sentences = [
  "The quick brown fox jumps over the lazy dog",
  "Effect makes concurrency boring",
  "Workflows are made of steps",
  "Steps receive events and emit events",
  "A worker pool bounds concurrency",
  "Collect events waits for all results",
  "Nothing here is random",
  "Every run prints the same lines",
  "Ten chunks in total",
  "That is all"
]
const N = sentences.length

// how many chunk executions run at the same time (the pool has 3 workers), over every run
const inFlight = Ref.unsafeMake(0)
const maxInFlight = Ref.unsafeMake(0)

const split = Step.make("split", { on: Event.StartEvent, emits: [Chunk] }, (_, ctx) =>
  Effect.forEach(sentences, (text, index) => ctx.sendEvent(new Chunk({ index, text })), { discard: true }))

const count = Step.make("count", { on: Chunk, emits: [ChunkDone], workers: 3 }, (chunk) =>
  Effect.gen(function*() {
    const now = yield* Ref.updateAndGet(inFlight, (n) => n + 1)
    yield* Ref.update(maxInFlight, (max) => Math.max(max, now))
    yield* Effect.yieldNow() // let the other workers take their chunks
    yield* Ref.update(inFlight, (n) => n - 1)
    return new ChunkDone({ index: chunk.index, words: chunk.text.split(" ").length })
  }))

const collect = Step.make("collect", { on: ChunkDone, emits: [Event.StopEvent] }, (done, ctx) =>
  Effect.gen(function*() {
    const all = yield* ctx.collectEvents(done, Array(N).fill(ChunkDone) as Array<typeof ChunkDone>)
    if (all._tag === "None") return undefined // still waiting for more results
    const total = all.value.reduce((sum, ev) => sum + ev.words, 0)
    return new Event.StopEvent({ result: { chunks: all.value, total } })
  }))

export const wordCount = Workflow.make({ name: "word-count", steps: [split, count, collect] })

const program = Effect.gen(function*() {
  const { chunks, total } = (yield* Workflow.run(wordCount)) as {
    chunks: ReadonlyArray<ChunkDone>
    total: number
  }
  // results arrive in whatever order the workers finish: print them by chunk index
  for (const chunk of [...chunks].sort((a, b) => a.index - b.index)) {
    yield* Console.log(`chunk ${chunk.index}: ${chunk.words} words`)
  }
  yield* Console.log(`chunks collected: ${chunks.length}`)
  yield* Console.log(`max concurrent workers: ${yield* Ref.get(maxInFlight)}`)
  yield* Console.log(`total words: ${total}`)
})

if (isMain(import.meta.url)) Effect.runPromise(program)
