/**
 * Helpers shared by the tests that read a run's streams.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import { Event, type WorkflowHandler } from "effect-workflows"

export type AnyHandler = WorkflowHandler.WorkflowHandler<any, any, any>

/** The whole stream, as an array. */
export const collect = (stream: Stream.Stream<Event.AnyEvent>) =>
  Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

export const tags = (events: ReadonlyArray<Event.AnyEvent>) => events.map(Event.tag)

/** Waits until the run (internal stream, replayed from its start) has produced `n` events matching `pred`. */
export const waitFor = (handler: AnyHandler, pred: (ev: Event.AnyEvent) => boolean, n = 1) =>
  handler.stream({ internal: true }).pipe(Stream.filter(pred), Stream.take(n), Stream.runDrain)

export const waitIdle = (handler: AnyHandler, n = 1) => waitFor(handler, Event.is(Event.WorkflowIdleEvent), n)
