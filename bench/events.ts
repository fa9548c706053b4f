/**
 * The events of the benchmark shapes. Ours and the floor build the same Schema events the same
 * way (validated by their class), so that what separates them is the engine, not the events.
 */
import { Schema } from "effect"

export class Link extends Schema.TaggedClass<Link>()("Link", { hop: Schema.Number }) {}
export class Link2 extends Schema.TaggedClass<Link2>()("Link2", { hop: Schema.Number }) {}
export class Item extends Schema.TaggedClass<Item>()("Item", { n: Schema.Number }) {}
export class Answer extends Schema.TaggedClass<Answer>()("Answer", { n: Schema.Number }) {}
export class Reply extends Schema.TaggedClass<Reply>()("Reply", { n: Schema.Number }) {}

/** The chain's hop events E1 … E9: one class per hop, so that every step has its own tag. */
export interface Hop {
  readonly _tag: string
  readonly hop: number
}
export type HopClass = Schema.Schema<Hop, { readonly _tag: string; readonly hop: number }> & {
  readonly _tag: string
  new(props: { readonly hop: number }): Hop
}
export const hops: ReadonlyArray<HopClass> = Array.from(
  { length: 9 },
  (_, i) => Schema.TaggedClass<Hop>()(`E${i + 1}`, { hop: Schema.Number }) as unknown as HopClass
)

/** The floor's stop event: the same shape as the library's `StopEvent`. */
export class Done extends Schema.TaggedClass<Done>()("Done", { result: Schema.Unknown }) {}
