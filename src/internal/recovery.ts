/**
 * Which `Step.catchError` handler covers which step: the handlers' claims first (`forSteps`),
 * then the wildcard handler for every other step; a handler never covers a handler. Shared by
 * validation, the graph renderings and the run's plan.
 */
import * as Option from "effect/Option"
import type * as Step from "../Step.js"

/** For each step (by index), the index of the handler covering it, or -1. @internal */
export const coverage = (steps: ReadonlyArray<Step.Any>): ReadonlyArray<number> => {
  const covering: Array<number> = steps.map(() => -1)
  const index = new Map<string, number>()
  steps.forEach((step, i) => {
    if (!index.has(step.name)) index.set(step.name, i)
  })
  let wildcard = -1
  steps.forEach((handler, h) => {
    if (Option.isNone(handler.catchError)) return
    const forSteps = handler.catchError.value.forSteps
    if (Option.isNone(forSteps)) {
      if (wildcard < 0) wildcard = h
      return
    }
    if (!Array.isArray(forSteps.value)) return
    for (const name of forSteps.value) {
      const i = typeof name === "string" ? index.get(name) : undefined
      // the first claim wins (validation rejects a second one)
      if (i === undefined || Option.isSome(steps[i]!.catchError) || covering[i] !== -1) continue
      covering[i] = h
    }
  })
  if (wildcard >= 0) {
    steps.forEach((step, i) => {
      if (covering[i] === -1 && Option.isNone(step.catchError)) covering[i] = wildcard
    })
  }
  return covering
}
