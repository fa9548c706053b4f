/**
 * `npm run bench`: every shape in one process, ours vs @llamaindex/workflow-core vs a raw-Effect
 * floor, alternating, medians after a warm-up; one JSON line per shape.
 *
 * Environment: ROUNDS (default 7), WARMUP (default 2), PEER_AWAIT ("until" | "on", default "on"),
 * SHAPES (comma-separated subset of chain,fanout,concurrent,concurrent-io,waiting,retention,snapshot,server).
 *
 * `concurrent-io` also reports `tightFloorMs`: the same runs, each as ONE forked fiber doing the
 * three yields in sequence. `retention` (ours only, measured once, about 5 s) is not a timed
 * shape: see retention.ts. `snapshot` (ours only: the peer has no snapshots; about 8 s) times
 * taking, encoding and resuming a snapshot of a run holding 10,000 queued events, against running
 * them (also 1,000 and 100,000 events, per 1,000): see snapshot.ts. `server` (ours only) runs
 * through HTTP on the memory store: latency one run at a time, and runs per second with 16 and
 * 64 clients: see server.ts.
 */
import * as floor from "./floor.js"
import { measure, type Runner } from "./harness.js"
import * as ours from "./ours.js"
import * as peer from "./peer.js"
import { retention } from "./retention.js"
import { serverShape } from "./server.js"
import { snapshotShape } from "./snapshot.js"

const rounds = Number(process.env.ROUNDS ?? 7)
const warmup = Number(process.env.WARMUP ?? 2)
const style = (process.env.PEER_AWAIT ?? "on") as peer.AwaitStyle
const only = process.env.SHAPES?.split(",")

const shapes: ReadonlyArray<{
  readonly name: string
  readonly description: string
  readonly runners: { readonly ours: Runner; readonly peer: Runner; readonly floor: Runner }
  /** Extra runners, timed in the same rounds; reported as `<name>Ms`. */
  readonly extras?: Record<string, Runner>
}> = [
  {
    name: "chain",
    description: "10-step linear workflow, 2,000 runs one after another",
    runners: { ours: ours.chainRuns(2000), peer: peer.chainRuns(2000, style), floor: floor.chainRuns(2000) }
  },
  {
    name: "fanout",
    description: "one run: 10,000 events sent, answered by a 4-worker step, all collected",
    runners: { ours: ours.fanout(10_000), peer: peer.fanout(10_000, style), floor: floor.fanout(10_000) }
  },
  {
    name: "concurrent",
    description: "2,000 runs of a 3-step workflow started at once, all awaited",
    runners: { ours: ours.concurrent(2000), peer: peer.concurrent(2000, style), floor: floor.concurrent(2000) }
  },
  {
    name: "concurrent-io",
    description: "2,000 runs of a 3-step workflow whose every step yields once (as I/O would), started at once, all awaited",
    runners: { ours: ours.concurrentIo(2000), peer: peer.concurrentIo(2000, style), floor: floor.concurrentIo(2000) },
    extras: { tightFloor: floor.concurrentIoTight(2000) }
  },
  {
    name: "waiting",
    description: "10,000 runs parked waiting for an event, then answered (heap per waiting run)",
    runners: { ours: ours.waiting(10_000), peer: peer.waiting(10_000, style), floor: floor.waiting(10_000) }
  }
]

if ((globalThis as { gc?: unknown }).gc === undefined) {
  console.error("run with node --expose-gc (npm run bench does) to measure heap per waiting run")
}
for (const shape of shapes) {
  if (only !== undefined && !only.includes(shape.name)) continue
  const { extraMedianMs, ...result } = await measure(shape.name, shape.description, shape.runners, {
    rounds,
    warmup,
    extras: shape.extras
  })
  const extras = Object.entries(extraMedianMs ?? {}).flatMap(([name, ms]) => [
    [`${name}Ms`, ms],
    [`oursOver${name[0].toUpperCase()}${name.slice(1)}`, Math.round((result.medianMs.ours / ms) * 100) / 100]
  ])
  console.log(JSON.stringify({ ...result, ...Object.fromEntries(extras), peerAwait: style }))
}
// retention: 100,000 runs ended in one open scope, 1,000 at a time (see retention.ts; ~5 s)
if (only === undefined || only.includes("retention")) {
  console.log(JSON.stringify(await retention(100_000, 1000)))
}
// snapshot: take / encode / decode+resume a run holding 10,000 queued events, and run them
// (ours only; also 1,000 and 100,000 events; see snapshot.ts)
if (only === undefined || only.includes("snapshot")) {
  console.log(JSON.stringify(await snapshotShape(rounds, warmup)))
}
// server: runs through HTTP (ours only; see server.ts)
if (only === undefined || only.includes("server")) {
  console.log(JSON.stringify(await serverShape(Number(process.env.SERVER_RUNS ?? 1000))))
}
