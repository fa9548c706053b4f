/**
 * The workflows of the protocol recordings (`../shared/protocol/server_app.py`), as this library
 * writes them, and a server on a free loopback port for tests.
 */
import * as HttpServer from "@effect/platform/HttpServer"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Scope from "effect/Scope"
import { Event, Step, Workflow } from "effect-workflows"
import { HandlerStore, WorkflowServer } from "effect-workflows/server"
import { createServer } from "node:http"

export class GreetStart extends Schema.TaggedClass<GreetStart>()("GreetStart", {
  name: Schema.optionalWith(Schema.String, { default: () => "world" })
}) {}
export class Progress extends Schema.TaggedClass<Progress>()("Progress", { message: Schema.String }) {}
export class Middle extends Schema.TaggedClass<Middle>()("Middle", { name: Schema.String }) {}
export class GreetingResult extends Schema.TaggedClass<GreetingResult>()("GreetingResult", {
  greeting: Schema.String,
  length: Schema.Number
}) {}
export class Tick extends Schema.TaggedClass<Tick>()("Tick", { n: Schema.Number }) {}
export class Boom extends Schema.TaggedError<Boom>()("ValueError", { message: Schema.String }) {}

export const greet = Workflow.make({
  name: "GreetWorkflow",
  start: GreetStart,
  timeout: "60 seconds",
  events: [Progress],
  steps: [
    Step.make("first", { on: GreetStart, emits: [Middle] }, (ev, ctx) =>
      Effect.as(ctx.writeEventToStream(new Progress({ message: `greeting ${ev.name}` })), new Middle({ name: ev.name }))),
    Step.make("second", { on: Middle, emits: [Event.StopEvent] }, (ev) =>
      Effect.succeed(new Event.StopEvent({ result: `hello ${ev.name}` })))
  ]
})

export const typed = Workflow.make({
  name: "TypedWorkflow",
  start: GreetStart,
  stop: GreetingResult,
  timeout: "60 seconds",
  steps: [
    Step.make("only", { on: GreetStart, emits: [GreetingResult] }, (ev) => {
      const greeting = `hello ${ev.name}`
      return Effect.succeed(new GreetingResult({ greeting, length: greeting.length }))
    })
  ]
})

export const hitl = Workflow.make({
  name: "HitlWorkflow",
  timeout: "600 seconds",
  steps: [
    Step.make("ask", { on: Event.StartEvent, emits: [Event.InputRequiredEvent] }, () =>
      Effect.succeed(new Event.InputRequiredEvent({ prefix: "What is your name?" }))),
    Step.make("answer", { on: Event.HumanResponseEvent, emits: [Event.StopEvent] }, (ev) =>
      Effect.succeed(new Event.StopEvent({ result: `hello ${ev.response}` })))
  ]
})

export const waiter = Workflow.make({
  name: "WaiterWorkflow",
  timeout: "600 seconds",
  events: [Event.HumanResponseEvent],
  steps: [
    Step.make("ask", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
      Effect.map(
        ctx.waitForEvent(Event.HumanResponseEvent, {
          waiterEvent: new Event.InputRequiredEvent({ prefix: "Your name?" })
        }),
        (reply) => new Event.StopEvent({ result: `hello ${reply.response}` })
      ))
  ]
})

export const fails = Workflow.make({
  name: "FailingWorkflow",
  timeout: "60 seconds",
  steps: [
    Step.make("explode", { on: Event.StartEvent, emits: [Event.StopEvent] }, () => new Boom({ message: "boom" }))
  ]
})

/** Streams a Tick per second (of the real clock: served runs use the live Clock) for `seconds`. */
export const slow = (seconds = 30) =>
  Workflow.make({
    name: "SlowWorkflow",
    timeout: "600 seconds",
    events: [Tick],
    steps: [
      Step.make("sleepy", { on: Event.StartEvent, emits: [Event.StopEvent] }, (_, ctx) =>
        Effect.gen(function*() {
          for (let n = 0; n < seconds; n++) {
            yield* ctx.writeEventToStream(new Tick({ n }))
            yield* Effect.sleep("1 second")
          }
          return new Event.StopEvent({ result: "slept" })
        }))
    ]
  })

/** The recordings' server: the same names. */
export const workflows = { greet, typed, hitl, waiter, fails, slow: slow() }

/**
 * A server on a free loopback port (real sockets), closed with the scope; gives its base URL.
 */
export const serve = <const W extends Record<string, Workflow.Any>>(
  served: W,
  options?: Omit<WorkflowServer.Options<W>, "workflows"> & {
    readonly store?: Layer.Layer<HandlerStore.HandlerStore> | undefined
  }
): Effect.Effect<string, never, Scope.Scope | WorkflowServer.Requirements<W>> =>
  Effect.gen(function*() {
    const context = yield* Layer.build(
      WorkflowServer.layer({ ...options, workflows: served }).pipe(
        Layer.provideMerge(options?.store ?? HandlerStore.layerMemory()),
        Layer.provideMerge(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" }))
      )
    )
    const server = yield* Effect.provide(HttpServer.HttpServer, context)
    const address = server.address
    if (address._tag !== "TcpAddress") return yield* Effect.dieMessage("not a TCP server")
    return `http://127.0.0.1:${address.port}`
  }).pipe(Effect.orDie)
