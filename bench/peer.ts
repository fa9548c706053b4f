/**
 * The benchmark shapes written with @llamaindex/workflow-core, the TypeScript peer, in its
 * documented style. Completion is awaited with `stream.until(stop)`, or with `stream.on(stop)`
 * where `PEER_AWAIT=on`; BENCHMARKS.md says which is faster.
 */
import { createWorkflow, type WorkflowContext, type WorkflowEvent, workflowEvent } from "@llamaindex/workflow-core"
import { createStatefulMiddleware } from "@llamaindex/workflow-core/middleware/state"
import type { Sample } from "./harness.js"
import { heapPerUnit, time } from "./harness.js"
import { ioBoundaryPromise } from "./io.js"

export type AwaitStyle = "until" | "on"

const awaitStop = (context: WorkflowContext, stop: WorkflowEvent<any>, style: AwaitStyle): Promise<unknown> =>
  style === "until"
    ? context.stream.until(stop).toArray()
    : new Promise((resolve) => {
      const off = context.stream.on(stop, (ev) => {
        off()
        resolve(ev.data)
      })
    })

// chain: start → e1 … e9 → stop
const chainStart = workflowEvent<number>()
const chainStop = workflowEvent<number>()
const chainHops = Array.from({ length: 9 }, () => workflowEvent<number>())
const chain = createWorkflow()
chain.handle([chainStart], (_context, ev) => chainHops[0].with(ev.data + 1))
chainHops.forEach((hop, i) =>
  chain.handle([hop], (_context, ev) => (i < 8 ? chainHops[i + 1] : chainStop).with(ev.data + 1))
)

const runChain = (style: AwaitStyle): Promise<unknown> => {
  const context = chain.createContext()
  const done = awaitStop(context, chainStop, style)
  context.sendEvent(chainStart.with(0))
  return done
}

export const chainRuns = (runs: number, style: AwaitStyle) => (): Promise<Sample> =>
  time(async () => {
    for (let i = 0; i < runs; i++) await runChain(style)
  })

// fanout: the start handler sends N items, a handler answers each, a collector counts them in
// the documented `withState` state and stops at N.
export const fanout = (n: number, style: AwaitStyle) => {
  const start = workflowEvent<void>()
  const stop = workflowEvent<number>()
  const item = workflowEvent<number>()
  const answer = workflowEvent<number>()
  const { withState } = createStatefulMiddleware(() => ({ answers: [] as Array<number> }))
  const workflow = withState(createWorkflow())
  workflow.handle([start], (context) => {
    for (let i = 0; i < n; i++) context.sendEvent(item.with(i))
  })
  workflow.handle([item], (_context, ev) => answer.with(ev.data))
  workflow.handle([answer], (context, ev) => {
    context.state.answers.push(ev.data)
    if (context.state.answers.length === n) return stop.with(context.state.answers.length)
  })
  return (): Promise<Sample> =>
    time(async () => {
      const context = workflow.createContext()
      const done = awaitStop(context, stop, style)
      context.sendEvent(start.with())
      await done
    })
}

// concurrent: N runs of start → link → link2 → stop (3 handlers) started at once.
const smallStart = workflowEvent<void>()
const smallLink = workflowEvent<number>()
const smallLink2 = workflowEvent<number>()
const smallStop = workflowEvent<number>()
const small = createWorkflow()
small.handle([smallStart], () => smallLink.with(1))
small.handle([smallLink], (_context, ev) => smallLink2.with(ev.data + 1))
small.handle([smallLink2], (_context, ev) => smallStop.with(ev.data))

export const concurrent = (runs: number, style: AwaitStyle) => (): Promise<Sample> =>
  time(async () => {
    await Promise.all(Array.from({ length: runs }, () => {
      const context = small.createContext()
      const done = awaitStop(context, smallStop, style)
      context.sendEvent(smallStart.with())
      return done
    }))
  })

// concurrent-io: the same 3 handlers, async, each awaiting the I/O boundary (bench/io.ts) once
// before it returns its event.
const ioStart = workflowEvent<void>()
const ioLink = workflowEvent<number>()
const ioLink2 = workflowEvent<number>()
const ioStop = workflowEvent<number>()
const smallIo = createWorkflow()
smallIo.handle([ioStart], async () => {
  await ioBoundaryPromise()
  return ioLink.with(1)
})
smallIo.handle([ioLink], async (_context, ev) => {
  await ioBoundaryPromise()
  return ioLink2.with(ev.data + 1)
})
smallIo.handle([ioLink2], async (_context, ev) => {
  await ioBoundaryPromise()
  return ioStop.with(ev.data)
})

export const concurrentIo = (runs: number, style: AwaitStyle) => (): Promise<Sample> =>
  time(async () => {
    await Promise.all(Array.from({ length: runs }, () => {
      const context = smallIo.createContext()
      const done = awaitStop(context, ioStop, style)
      context.sendEvent(ioStart.with())
      return done
    }))
  })

// waiting: N runs whose start handler asks for input; each stays open until a reply arrives.
export const waiting = (runs: number, style: AwaitStyle) => {
  const start = workflowEvent<void>()
  const ask = workflowEvent<void>()
  const reply = workflowEvent<number>()
  const stop = workflowEvent<number>()
  const workflow = createWorkflow()
  workflow.handle([start], () => ask.with())
  workflow.handle([reply], (_context, ev) => stop.with(ev.data))
  return (): Promise<Sample> =>
    heapPerUnit(runs, async () => {
      const contexts = Array.from({ length: runs }, () => {
        const context = workflow.createContext()
        const done = awaitStop(context, stop, style)
        context.sendEvent(start.with())
        return { context, done }
      })
      await new Promise((resolve) => setImmediate(resolve))
      return {
        release: async () => {
          for (const { context } of contexts) context.sendEvent(reply.with(1))
          await Promise.all(contexts.map(({ done }) => done))
        }
      }
    })
}
