/**
 * Isolation of the executions that one worker fiber runs in turn: each starts from the fiber's
 * refs as they were before it (so a FiberRef, log annotation or span it sets is not seen by the
 * next), and the fibers it forked are interrupted when it ends.
 *
 * Effect 3 specific: `Fiber.RuntimeFiber` does not expose setting a fiber's refs or reading its
 * children synchronously (only as effects, `Effect.setFiberRefs` setting every ref one by one,
 * and `getFiberRefs()` writes a ref before it reads them), so this module uses the runtime
 * fiber's own `_fiberRefs`, `setFiberRefs` and `_children`.
 */
import type * as Fiber from "effect/Fiber"
import type * as FiberRefs from "effect/FiberRefs"

interface FiberInternals {
  /** The refs as they are (`getFiberRefs()` first writes the runtime flags' ref). */
  _fiberRefs: FiberRefs.FiberRefs
  setFiberRefs(refs: FiberRefs.FiberRefs): void
  /** `null` until the fiber forks its first child (`getChildren()` would make the set). */
  readonly _children: Set<Fiber.RuntimeFiber<unknown, unknown>> | null
}

const internals = (fiber: Fiber.RuntimeFiber<any, any>): FiberInternals => fiber as unknown as FiberInternals

/** @internal */
export type Refs = FiberRefs.FiberRefs

/** The fiber's refs now. @internal */
export const save = (fiber: Fiber.RuntimeFiber<any, any>): Refs => internals(fiber)._fiberRefs

/** Puts back the refs saved before an execution (nothing to do when it changed none). @internal */
export const restore = (fiber: Fiber.RuntimeFiber<any, any>, refs: Refs): void => {
  if (internals(fiber)._fiberRefs !== refs) internals(fiber).setFiberRefs(refs)
}

/** Interrupts the fibers an execution forked and left running (without waiting for them). @internal */
export const interruptChildren = (fiber: Fiber.RuntimeFiber<any, any>): void => {
  const children = internals(fiber)._children
  if (children === null || children.size === 0) return
  for (const child of Array.from(children)) child.unsafeInterruptAsFork(fiber.id())
}
