import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Event from "../Event.js"
import type * as Graph from "../Graph.js"
import type * as Step from "../Step.js"
import type * as Workflow from "../Workflow.js"
import { WorkflowConfigurationError, WorkflowValidationError } from "../WorkflowError.js"
import { coverage } from "./recovery.js"

const humanResponse = Event.HumanResponseEvent._tag
const inputRequired = Event.InputRequiredEvent._tag
const stepFailed = Event.StepFailedEvent._tag

const isHandler = (step: Step.Any): boolean => Option.isSome(step.catchError)

/** @internal */
export const checkOrder: ReadonlyArray<Graph.CheckName> = ["reachability", "terminal_event", "dead_end"]

const tagsOf = (classes: ReadonlyArray<Event.Any>): ReadonlyArray<string> => [...new Set(classes.map((c) => c._tag))]

interface Index {
  readonly events: ReadonlyArray<string>
  readonly consumers: ReadonlyMap<string, ReadonlyArray<Step.Any>>
  readonly producers: ReadonlyMap<string, ReadonlyArray<Step.Any>>
}

const index = (wf: Workflow.Any): Index => {
  const events = new Set<string>()
  const consumers = new Map<string, Array<Step.Any>>()
  const producers = new Map<string, Array<Step.Any>>()
  const add = (map: Map<string, Array<Step.Any>>, tag: string, step: Step.Any) => {
    events.add(tag)
    const steps = map.get(tag)
    if (steps === undefined) map.set(tag, [step])
    else steps.push(step)
  }
  for (const step of wf.steps) {
    for (const tag of tagsOf(step.on)) add(consumers, tag, step)
    for (const tag of tagsOf(step.emits)) add(producers, tag, step)
  }
  return { events: [...events], consumers, producers }
}

/**
 * The events a step accepts as the graph draws them: a handler's `StepFailedEvent` is drawn as
 * the `catch` edges from the steps it covers instead.
 */
const drawnOn = (step: Step.Any): ReadonlyArray<string> =>
  isHandler(step) ? tagsOf(step.on).filter((tag) => tag !== stepFailed) : tagsOf(step.on)

/** @internal */
export const representation = (wf: Workflow.Any): Graph.WorkflowGraph => {
  const producers = new Set<string>()
  const events = new Set<string>()
  for (const step of wf.steps) {
    for (const tag of drawnOn(step)) events.add(tag)
    for (const tag of tagsOf(step.emits)) {
      events.add(tag)
      producers.add(tag)
    }
  }
  const kind = (tag: string): Graph.Node["kind"] =>
    tag === humanResponse || (tag !== wf.start._tag && !producers.has(tag)) ? "external" : "event"
  const covering = coverage(wf.steps)
  return {
    nodes: [
      ...wf.steps.map((step): Graph.Node => ({ id: `step:${step.name}`, kind: "step", label: step.name })),
      ...[...events].map((tag): Graph.Node => ({ id: `event:${tag}`, kind: kind(tag), label: tag }))
    ],
    edges: [
      ...wf.steps.flatMap((step): Array<Graph.Edge> => [
        ...drawnOn(step).map((tag) => ({ source: `event:${tag}`, target: `step:${step.name}` })),
        ...tagsOf(step.emits).map((tag) => ({ source: `step:${step.name}`, target: `event:${tag}` }))
      ]),
      ...wf.steps.flatMap((step, i): Array<Graph.Edge> =>
        covering[i]! < 0
          ? []
          : [{ source: `step:${step.name}`, target: `step:${wf.steps[covering[i]!]!.name}`, kind: "catch" }]
      )
    ]
  }
}

type Role = "start" | "stop" | "external"

const roleOf = (wf: Workflow.Any, node: Graph.Node): Role | undefined =>
  node.id === `event:${wf.start._tag}`
    ? "start"
    : node.id === `event:${wf.stop._tag}`
    ? "stop"
    : node.kind === "external"
    ? "external"
    : undefined

const mermaidIds = (nodes: ReadonlyArray<Graph.Node>): ReadonlyMap<string, string> => {
  const ids = new Map<string, string>()
  const used = new Set<string>()
  for (const node of nodes) {
    const base = node.id.replace(/\W/g, "_")
    let id = base
    for (let n = 2; used.has(id); n++) id = `${base}_${n}`
    used.add(id)
    ids.set(node.id, id)
  }
  return ids
}

/** @internal */
export const toMermaid = (wf: Workflow.Any): string => {
  const graph = representation(wf)
  const ids = mermaidIds(graph.nodes)
  const node = (n: Graph.Node) => {
    const label = `"${n.label.replace(/"/g, "#quot;")}"`
    const role = roleOf(wf, n)
    return `  ${ids.get(n.id)}${n.kind === "step" ? `[${label}]` : `([${label}])`}${role ? `:::${role}` : ""}`
  }
  return [
    "flowchart TD",
    ...graph.nodes.map(node),
    ...graph.edges.map((e) =>
      e.kind === "catch"
        ? `  ${ids.get(e.source)} -. on failure .-> ${ids.get(e.target)}`
        : `  ${ids.get(e.source)} --> ${ids.get(e.target)}`
    ),
    "  classDef start fill:#d9f2e3,stroke:#2e7d32",
    "  classDef stop fill:#fbe0dc,stroke:#c62828",
    "  classDef external fill:#fff4d6,stroke:#b7791f,stroke-dasharray:4 2"
  ].join("\n")
}

const dotAttributes: Record<Role, string> = {
  start: `, style=filled, fillcolor="#d9f2e3"`,
  stop: `, style=filled, fillcolor="#fbe0dc"`,
  external: ", style=dashed"
}

const quote = (s: string) => `"${s.replace(/[\\"]/g, "\\$&")}"`

/** @internal */
export const toDot = (wf: Workflow.Any): string => {
  const graph = representation(wf)
  const node = (n: Graph.Node) => {
    const role = roleOf(wf, n)
    const shape = n.kind === "step" ? "box" : "ellipse"
    return `  ${quote(n.id)} [label=${quote(n.label)}, shape=${shape}${role ? dotAttributes[role] : ""}];`
  }
  return [
    `digraph ${quote(wf.name)} {`,
    ...graph.nodes.map(node),
    ...graph.edges.map((e) =>
      e.kind === "catch"
        ? `  ${quote(e.source)} -> ${quote(e.target)} [style=dashed, label="on failure"];`
        : `  ${quote(e.source)} -> ${quote(e.target)};`
    ),
    "}"
  ].join("\n")
}

const search = (
  seeds: ReadonlyArray<string>,
  stepsOf: (tag: string) => ReadonlyArray<Step.Any> | undefined,
  tagsOfStep: (step: Step.Any) => ReadonlyArray<Event.Any>,
  seedSteps: ReadonlyArray<Step.Any> = []
): ReadonlySet<Step.Any> => {
  const visited = new Set<Step.Any>()
  const queue = [...new Set(seeds)]
  const seen = new Set(queue)
  const visit = (step: Step.Any) => {
    if (visited.has(step)) return
    visited.add(step)
    for (const next of tagsOf(tagsOfStep(step))) {
      if (!seen.has(next)) {
        seen.add(next)
        queue.push(next)
      }
    }
  }
  seedSteps.forEach(visit)
  for (let tag = queue.pop(); tag !== undefined; tag = queue.pop()) {
    for (const step of stepsOf(tag) ?? []) visit(step)
  }
  return visited
}

const sorted = (names: Iterable<string>) => [...names].sort()

/**
 * The graph checks' findings, one `"[check] message\n    hint"` per failing check.
 *
 * @internal
 */
export const graphIssues = (wf: Workflow.Any, checks: ReadonlyArray<Graph.CheckName>): ReadonlyArray<string> => {
  const { consumers, producers } = index(wf)
  const start = wf.start._tag
  const stop = wf.stop._tag
  const issue = (label: string, items: Iterable<string>, hint: string) => {
    const names = sorted(items)
    return names.length === 0 ? [] : [`${label}: ${names.join(", ")}\n    ${hint}`]
  }
  const run: Record<Graph.CheckName, () => ReadonlyArray<string>> = {
    reachability: () => {
      // the error handlers are reached from the failures of the steps they cover
      const reached = search(
        [start, humanResponse],
        (tag) => consumers.get(tag),
        (step) => step.emits,
        wf.steps.filter(isHandler)
      )
      return issue(
        "[reachability] Unreachable steps",
        wf.steps.filter((step) => !reached.has(step)).map((step) => step.name),
        `Steps must be reachable from ${start} or ${humanResponse}.`
      )
    },
    terminal_event: () =>
      issue(
        "[terminal_event] Events produced but never consumed",
        [...producers.keys()].filter((tag) => !consumers.has(tag) && tag !== stop && tag !== inputRequired),
        `Only ${stop} and ${inputRequired} may be terminal.`
      ),
    dead_end: () => {
      const exits = search([stop, inputRequired], (tag) => producers.get(tag), (step) => step.on)
      return issue(
        "[dead_end] Dead-end steps",
        wf.steps.filter((step) => step.emits.length > 0 && !exits.has(step)).map((step) => step.name),
        `Steps must have a path to ${stop} or ${inputRequired}.`
      )
    }
  }
  return checkOrder.filter((check) => checks.includes(check)).flatMap((check) => run[check]())
}

const showValue = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) {
    return String(value)
  }
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

/**
 * The findings about the workflow's `Step.catchError` handlers (V6 of the original), in order:
 * the wildcard handlers, then each handler's `forSteps` (its shape, unknown steps, handler
 * steps, steps already claimed), then each handler's `maxRecoveries`.
 *
 * @internal
 */
export const catchErrorIssues = (wf: Workflow.Any): ReadonlyArray<string> => {
  const issues: Array<string> = []
  const handlers = wf.steps.filter(isHandler)
  if (handlers.length === 0) return issues
  const names = new Set(wf.steps.map((step) => step.name))
  const handlerNames = new Set(handlers.map((step) => step.name))
  const wildcards = handlers.filter((step) => Option.isNone(step.catchError.pipe(Option.flatMap((c) => c.forSteps))))
  if (wildcards.length > 1) {
    issues.push(
      `Only one wildcard Step.catchError handler is allowed per workflow, found ${wildcards.length}: ` +
        sorted(wildcards.map((step) => step.name)).join(", ")
    )
  }
  const claimedBy = new Map<string, string>()
  for (const handler of handlers) {
    const forSteps = Option.getOrThrow(handler.catchError).forSteps
    if (Option.isNone(forSteps)) continue
    const covered: unknown = forSteps.value
    if (!Array.isArray(covered) || !covered.every((name) => typeof name === "string")) {
      issues.push(`Step.catchError handler '${handler.name}': forSteps must be undefined or a list of step names`)
      continue
    }
    for (const name of covered as ReadonlyArray<string>) {
      if (!names.has(name)) {
        issues.push(`Step.catchError handler '${handler.name}' lists unknown step '${name}' in forSteps.`)
      } else if (handlerNames.has(name)) {
        issues.push(`Step.catchError handler '${handler.name}' cannot cover another handler step '${name}'.`)
      } else {
        const first = claimedBy.get(name)
        if (first === undefined) claimedBy.set(name, handler.name)
        else if (first !== handler.name) {
          issues.push(`Step '${name}' is claimed by two Step.catchError handlers: '${first}' and '${handler.name}'.`)
        }
      }
    }
  }
  for (const handler of handlers) {
    const max: unknown = Option.getOrThrow(handler.catchError).maxRecoveries
    if (typeof max !== "number" || !Number.isInteger(max) || max < 1) {
      issues.push(
        `Step.catchError handler '${handler.name}' has maxRecoveries=${showValue(max)}; must be an integer >= 1.`
      )
    }
  }
  return issues
}

const configuration = (message: string) => new WorkflowConfigurationError({ message })
const invalid = (message: string) => new WorkflowValidationError({ message })
// Listed as the original's tests show them: sorted, comma-separated, without braces.
const listed = (tags: Iterable<string>) => sorted(tags).join(", ")

/**
 * The first validation failure of a workflow, or `undefined` when it is valid.
 *
 * @internal
 */
export const check = (wf: Workflow.Any): WorkflowValidationError | WorkflowConfigurationError | undefined => {
  const names = new Set<string>()
  for (const step of wf.steps) {
    if (names.has(step.name)) {
      return configuration(`A step ${step.name} is already part of this workflow, please choose another name.`)
    }
    names.add(step.name)
    if (!Number.isInteger(step.workers) || step.workers <= 0) {
      return configuration(`Step '${step.name}': workers must be an integer greater than 0`)
    }
    if (step.on.length === 0) return configuration(`Step '${step.name}' must accept at least one event`)
    if (Option.isSome(step.state) && (Option.isNone(wf.state) || wf.state.value !== step.state.value)) {
      return configuration(`Step '${step.name}' declares a state schema that is not the workflow's state schema`)
    }
  }
  if (Option.isSome(wf.numConcurrentRuns)) {
    const limit = wf.numConcurrentRuns.value
    if (!Number.isInteger(limit) || limit <= 0) {
      return configuration(`Workflow '${wf.name}': numConcurrentRuns must be an integer greater than 0`)
    }
  }
  const skip: ReadonlyArray<string> = typeof wf.validation === "object" ? wf.validation.skipGraphChecks ?? [] : []
  const unknown = new Set(skip.filter((name) => !(checkOrder as ReadonlyArray<string>).includes(name)))
  if (unknown.size > 0) {
    return invalid(
      `Unknown graph check names: ${sorted(unknown).join(", ")}. Valid names are: ${sorted(checkOrder).join(", ")}`
    )
  }

  if (wf.steps.length === 0) return configuration(`Workflow '${wf.name}' has no configured steps.`)
  const { consumers, producers } = index(wf)
  const start = wf.start._tag
  const stop = wf.stop._tag
  if (!consumers.has(start)) {
    return configuration(
      `At least one Event of type ${start} must be received by any step. ` +
        `(Workflow '${wf.name}' has no step that accepts ${start}.)`
    )
  }
  if (!producers.has(stop)) {
    return configuration(
      `At least one Event of type ${stop} must be returned by any step. ` +
        `(Workflow '${wf.name}' has no step that returns ${stop}.)`
    )
  }
  const acceptingStop = consumers.get(stop)
  if (acceptingStop !== undefined) {
    const names = acceptingStop.map((step) => `'${step.name}'`).join(", ")
    return invalid(
      `${acceptingStop.length === 1 ? "Step" : "Steps"} ${names} cannot accept ${stop}. ` +
        `${stop} signals the end of the workflow. Use a different Event type instead.`
    )
  }
  const neverProduced = [...consumers.keys()].filter((tag) =>
    !producers.has(tag) && tag !== start && tag !== humanResponse && tag !== stepFailed
  )
  if (neverProduced.length > 0) {
    return invalid(`The following events are consumed but never produced: ${listed(neverProduced)}`)
  }
  const neverConsumed = [...producers.keys()].filter((tag) =>
    !consumers.has(tag) && tag !== stop && tag !== inputRequired && tag !== humanResponse
  )
  if (neverConsumed.length > 0) {
    return invalid(`The following events are produced but never consumed: ${listed(neverConsumed)}`)
  }
  const handlerIssues = catchErrorIssues(wf)
  if (handlerIssues.length > 0) return invalid(handlerIssues.join("\n"))

  const issues = graphIssues(wf, checkOrder.filter((name) => !skip.includes(name)))
  return issues.length === 0 ? undefined : invalid(`Graph validation failed:\n  - ${issues.join("\n  - ")}`)
}

/** @internal */
export const validate = (wf: Workflow.Any): Effect.Effect<void, WorkflowValidationError | WorkflowConfigurationError> =>
  Effect.suspend(() => {
    const error = check(wf)
    return error === undefined ? Effect.void : Effect.fail(error)
  })
