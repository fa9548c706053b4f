/**
 * The async boundary of the `concurrent-io` shape: what a step doing I/O goes through once before
 * it returns. Every side waits for the same thing, one `setImmediate` callback (the event loop's
 * check phase, after pending I/O): ours and the floor suspend their fiber with `Effect.async` and
 * are resumed from that callback (the fiber then continues on Effect's scheduler, a microtask);
 * the peer's async handlers `await` a Promise resolved from it.
 */
import { Effect } from "effect"

/** Effect side (ours and the floor): suspends the fiber until a `setImmediate` callback. */
export const ioBoundary: Effect.Effect<void> = Effect.async<void>((resume) => {
  setImmediate(() => resume(Effect.void))
})

/** Promise side (the peer): resolves in a `setImmediate` callback. */
export const ioBoundaryPromise = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve))
