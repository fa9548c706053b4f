import { describe, expect, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as Event from "../src/Event.js"
import * as Graph from "../src/Graph.js"
import * as internal from "../src/internal/graph.js"
import * as Step from "../src/Step.js"
import * as Workflow from "../src/Workflow.js"

class A extends Schema.TaggedClass<A>()("A", {}) {}
class B extends Schema.TaggedClass<B>()("B", {}) {}
class C extends Schema.TaggedClass<C>()("C", {}) {}
class Topic extends Schema.TaggedClass<Topic>()("Topic", { topic: Schema.String }) {}
class Done extends Schema.TaggedClass<Done>()("Done", { verdict: Schema.String }) {}

const { HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent } = Event

const step = (name: string, on: Step.On, emits: ReadonlyArray<Event.Any> = []) =>
  Step.make(name, { on, emits }, () => Effect.void)

const make = (steps: ReadonlyArray<Step.Any>, validation?: Workflow.ValidationOptions) =>
  Workflow.make({ name: "wf", steps, validation })

const failure = (wf: Workflow.Any) => Effect.flip(Graph.validate(wf))

const expectFailure = (wf: Workflow.Any, tag: string, message: string) =>
  Effect.gen(function*() {
    const error = yield* failure(wf)
    expect(error._tag).toBe(tag)
    expect(error.message).toBe(message)
  })

const config = "WorkflowConfigurationError"
const invalid = "WorkflowValidationError"

const graphFailed = (...issues: ReadonlyArray<string>) => `Graph validation failed:\n  - ${issues.join("\n  - ")}`

const unreachableAndDeadEnd = make([
  step("start", StartEvent, [StopEvent, C]),
  step("c", C, [C]),
  step("a", A, [B, StopEvent]),
  step("b", B, [A])
])

describe("Graph.validate", () => {
  it.effect("accepts a valid workflow", () =>
    Graph.validate(make([step("a", StartEvent, [A]), step("b", A, [StopEvent])])))

  describe("step sanity", () => {
    it.effect("rejects duplicate step names", () =>
      expectFailure(
        make([step("a", StartEvent, [A]), step("a", A, [StopEvent])]),
        config,
        "A step a is already part of this workflow, please choose another name."
      ))

    it.effect("rejects a numConcurrentRuns that is not an integer greater than 0", () =>
      Effect.gen(function*() {
        for (const numConcurrentRuns of [0, -2, 0.5]) {
          const wf = Workflow.make({ name: "wf", steps: [step("a", StartEvent, [StopEvent])], numConcurrentRuns })
          yield* expectFailure(wf, config, "Workflow 'wf': numConcurrentRuns must be an integer greater than 0")
        }
        yield* Graph.validate(
          Workflow.make({ name: "wf", steps: [step("a", StartEvent, [StopEvent])], numConcurrentRuns: 2 })
        )
      }))

    it.effect("rejects workers that are not an integer greater than 0", () =>
      Effect.gen(function*() {
        for (const workers of [0, -1, 1.5]) {
          const bad = Step.make("a", { on: StartEvent, emits: [StopEvent], workers }, () => Effect.void)
          yield* expectFailure(make([bad]), config, "Step 'a': workers must be an integer greater than 0")
        }
      }))

    it.effect("rejects a step that accepts nothing", () =>
      expectFailure(
        make([step("a", StartEvent, [StopEvent]), step("b", [], [StopEvent])]),
        config,
        "Step 'b' must accept at least one event"
      ))

    it.effect("rejects a step state schema that is not the workflow's", () =>
      Effect.gen(function*() {
        const State = Schema.Struct({ count: Schema.optionalWith(Schema.Number, { default: () => 0 }) })
        const Other = Schema.Struct({ count: Schema.optionalWith(Schema.Number, { default: () => 0 }) })
        const stateful = Step.make("a", { on: StartEvent, emits: [StopEvent], state: State }, () => Effect.void)
        const message = "Step 'a' declares a state schema that is not the workflow's state schema"
        yield* expectFailure(make([stateful]), config, message)
        yield* expectFailure(Workflow.make({ name: "wf", steps: [stateful], state: Other }), config, message)
        yield* Graph.validate(Workflow.make({ name: "wf", steps: [stateful], state: State }))
      }))

    it.effect("rejects unknown graph check names", () =>
      expectFailure(
        make([step("a", StartEvent, [StopEvent])], {
          skipGraphChecks: ["nope", "reachability", "bogus"] as ReadonlyArray<Graph.CheckName>
        }),
        invalid,
        "Unknown graph check names: bogus, nope. Valid names are: dead_end, reachability, terminal_event"
      ))
  })

  describe("structure", () => {
    it.effect("V1: no steps", () =>
      expectFailure(make([]), config, "Workflow 'wf' has no configured steps."))

    it.effect("C1: no step accepts the start class", () =>
      Effect.gen(function*() {
        yield* expectFailure(
          make([step("a", A, [StopEvent])]),
          config,
          "At least one Event of type StartEvent must be received by any step. " +
            "(Workflow 'wf' has no step that accepts StartEvent.)"
        )
        yield* expectFailure(
          Workflow.make({ name: "topics", start: Topic, steps: [step("a", StartEvent, [StopEvent])] }),
          config,
          "At least one Event of type Topic must be received by any step. " +
            "(Workflow 'topics' has no step that accepts Topic.)"
        )
      }))

    it.effect("C2: no step emits the stop class", () =>
      expectFailure(
        Workflow.make({ name: "jokes", stop: Done, steps: [step("a", StartEvent, [StopEvent])] }),
        config,
        "At least one Event of type Done must be returned by any step. " +
          "(Workflow 'jokes' has no step that returns Done.)"
      ))

    it.effect("V3: steps accepting the stop class", () =>
      Effect.gen(function*() {
        yield* expectFailure(
          make([step("a", StartEvent, [StopEvent]), step("b", StopEvent, [StopEvent])]),
          invalid,
          "Step 'b' cannot accept StopEvent. StopEvent signals the end of the workflow. " +
            "Use a different Event type instead."
        )
        yield* expectFailure(
          Workflow.make({
            name: "wf",
            stop: Done,
            steps: [step("a", [StartEvent, Done], [Done]), step("b", Done, [Done])]
          }),
          invalid,
          "Steps 'a', 'b' cannot accept Done. Done signals the end of the workflow. Use a different Event type instead."
        )
      }))

    it.effect("V4: events consumed but never produced", () =>
      expectFailure(
        make([step("a", StartEvent, [StopEvent]), step("c", C, [StopEvent]), step("b", [B, A], [StopEvent])]),
        invalid,
        "The following events are consumed but never produced: A, B, C"
      ))

    it.effect("V5: events produced but never consumed", () =>
      expectFailure(
        make([step("a", StartEvent, [StopEvent, B, A])]),
        invalid,
        "The following events are produced but never consumed: A, B"
      ))

    it.effect("V5: one event produced but never consumed is named alone, without braces", () => {
      class Orphan extends Schema.TaggedClass<Orphan>()("Orphan", {}) {}
      return expectFailure(
        make([step("a", StartEvent, [StopEvent, Orphan])]),
        invalid,
        "The following events are produced but never consumed: Orphan"
      )
    })
  })

  describe("graph checks", () => {
    it.effect("reachability: steps not reachable from the start class", () =>
      Effect.gen(function*() {
        yield* expectFailure(
          make([step("start", StartEvent, [StopEvent]), step("b", A, [B, StopEvent]), step("a", B, [A])]),
          invalid,
          graphFailed(
            "[reachability] Unreachable steps: a, b\n    Steps must be reachable from StartEvent or HumanResponseEvent."
          )
        )
        yield* expectFailure(
          Workflow.make({
            name: "wf",
            start: Topic,
            steps: [step("start", Topic, [StopEvent]), step("loop", A, [A, StopEvent])]
          }),
          invalid,
          graphFailed(
            "[reachability] Unreachable steps: loop\n    Steps must be reachable from Topic or HumanResponseEvent."
          )
        )
      }))

    it.effect("terminal_event: a produced HumanResponseEvent with no consumer", () =>
      expectFailure(
        make([step("a", StartEvent, [StopEvent, HumanResponseEvent])]),
        invalid,
        graphFailed(
          "[terminal_event] Events produced but never consumed: HumanResponseEvent\n" +
            "    Only StopEvent and InputRequiredEvent may be terminal."
        )
      ))

    it("terminal_event: lists every unconsumed event but the stop class and InputRequiredEvent", () => {
      const wf = Workflow.make({
        name: "wf",
        stop: Done,
        steps: [step("a", StartEvent, [Done, B, InputRequiredEvent, A, StopEvent])]
      })
      expect(internal.graphIssues(wf, ["terminal_event"])).toEqual([
        "[terminal_event] Events produced but never consumed: A, B, StopEvent\n" +
        "    Only Done and InputRequiredEvent may be terminal."
      ])
    })

    it.effect("dead_end: a cycle with no exit fails", () =>
      expectFailure(
        make([
          step("s", StartEvent, [A]),
          step("l1", A, [B]),
          step("l2", B, [A]),
          step("exit", StartEvent, [StopEvent])
        ]),
        invalid,
        graphFailed(
          "[dead_end] Dead-end steps: l1, l2, s\n    Steps must have a path to StopEvent or InputRequiredEvent."
        )
      ))

    it.effect("dead_end: a cycle with one exiting branch passes", () =>
      Graph.validate(make([step("s", StartEvent, [A]), step("l1", A, [B]), step("l2", B, [A, StopEvent])])))

    it.effect("dead_end: steps that emit nothing are exempt", () =>
      Graph.validate(make([step("s", StartEvent, [StopEvent, A]), step("sink", A)])))

    it.effect("accumulates the failing checks into one error", () =>
      expectFailure(
        unreachableAndDeadEnd,
        invalid,
        "Graph validation failed:\n  - [reachability] Unreachable steps: a, b\n" +
          "    Steps must be reachable from StartEvent or HumanResponseEvent.\n" +
          "  - [dead_end] Dead-end steps: c\n    Steps must have a path to StopEvent or InputRequiredEvent."
      ))

    it.effect("skips the checks named in skipGraphChecks", () =>
      Effect.gen(function*() {
        const steps = unreachableAndDeadEnd.steps
        yield* expectFailure(
          make(steps, { skipGraphChecks: ["reachability"] }),
          invalid,
          graphFailed("[dead_end] Dead-end steps: c\n    Steps must have a path to StopEvent or InputRequiredEvent.")
        )
        yield* Graph.validate(make(steps, { skipGraphChecks: ["reachability", "dead_end"] }))
      }))

    it.effect("validation: false does not skip anything in validate", () =>
      Effect.gen(function*() {
        const error = yield* failure(make(unreachableAndDeadEnd.steps, false))
        expect(error.message).toContain("[reachability]")
        expect(error.message).toContain("[dead_end]")
      }))

    it.effect("HITL: InputRequiredEvent needs no consumer, HumanResponseEvent no producer", () =>
      Graph.validate(
        make([step("ask", StartEvent, [InputRequiredEvent]), step("answer", HumanResponseEvent, [StopEvent])])
      ))
  })
})

describe("Graph.representation", () => {
  it("lists steps, then events in first-seen order, and their edges", () => {
    const wf = make([
      step("a", StartEvent, [A]),
      step("b", A, [B]),
      step("c", [B, HumanResponseEvent], [StopEvent])
    ])
    expect(Graph.representation(wf)).toEqual({
      nodes: [
        { id: "step:a", kind: "step", label: "a" },
        { id: "step:b", kind: "step", label: "b" },
        { id: "step:c", kind: "step", label: "c" },
        { id: "event:StartEvent", kind: "event", label: "StartEvent" },
        { id: "event:A", kind: "event", label: "A" },
        { id: "event:B", kind: "event", label: "B" },
        { id: "event:HumanResponseEvent", kind: "external", label: "HumanResponseEvent" },
        { id: "event:StopEvent", kind: "event", label: "StopEvent" }
      ],
      edges: [
        { source: "event:StartEvent", target: "step:a" },
        { source: "step:a", target: "event:A" },
        { source: "event:A", target: "step:b" },
        { source: "step:b", target: "event:B" },
        { source: "event:B", target: "step:c" },
        { source: "event:HumanResponseEvent", target: "step:c" },
        { source: "step:c", target: "event:StopEvent" }
      ]
    })
  })

  it("marks events consumed but never produced as external", () => {
    const wf = make([step("a", [StartEvent, C], [StopEvent])])
    expect(Graph.representation(wf).nodes.map((node) => [node.id, node.kind])).toEqual([
      ["step:a", "step"],
      ["event:StartEvent", "event"],
      ["event:C", "external"],
      ["event:StopEvent", "event"]
    ])
  })
})

describe("Graph rendering", () => {
  const wf = Workflow.make({
    name: "jokes",
    start: Topic,
    stop: Done,
    steps: [step("draft", Topic, [A]), step("review-it", A, [Done])]
  })

  it("toMermaid", () => {
    expect(Graph.toMermaid(wf)).toBe(
      [
        "flowchart TD",
        `  step_draft["draft"]`,
        `  step_review_it["review-it"]`,
        `  event_Topic(["Topic"]):::start`,
        `  event_A(["A"])`,
        `  event_Done(["Done"]):::stop`,
        "  event_Topic --> step_draft",
        "  step_draft --> event_A",
        "  event_A --> step_review_it",
        "  step_review_it --> event_Done",
        "  classDef start fill:#d9f2e3,stroke:#2e7d32",
        "  classDef stop fill:#fbe0dc,stroke:#c62828",
        "  classDef external fill:#fff4d6,stroke:#b7791f,stroke-dasharray:4 2"
      ].join("\n")
    )
  })

  it("toDot", () => {
    expect(Graph.toDot(wf)).toBe(
      [
        `digraph "jokes" {`,
        `  "step:draft" [label="draft", shape=box];`,
        `  "step:review-it" [label="review-it", shape=box];`,
        `  "event:Topic" [label="Topic", shape=ellipse, style=filled, fillcolor="#d9f2e3"];`,
        `  "event:A" [label="A", shape=ellipse];`,
        `  "event:Done" [label="Done", shape=ellipse, style=filled, fillcolor="#fbe0dc"];`,
        `  "event:Topic" -> "step:draft";`,
        `  "step:draft" -> "event:A";`,
        `  "event:A" -> "step:review-it";`,
        `  "step:review-it" -> "event:Done";`,
        "}"
      ].join("\n")
    )
  })

  it("sanitises colliding Mermaid ids", () => {
    const collide = make([step("a-b", StartEvent, [A]), step("a_b", A, [StopEvent])])
    expect(Graph.toMermaid(collide).split("\n").slice(1, 3)).toEqual([`  step_a_b["a-b"]`, `  step_a_b_2["a_b"]`])
  })
})
