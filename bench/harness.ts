/**
 * Timing harness: runs each contender of a shape in alternation (ours, peer, floor, ours, ...)
 * after a warm-up, and reports medians.
 */
import * as os from "node:os"

export type Contender = "ours" | "peer" | "floor"

export interface Sample {
  readonly ms: number
  readonly heapBytesPerUnit?: number | undefined
}

export type Runner = () => Promise<Sample>

export const time = async (f: () => Promise<void>): Promise<Sample> => {
  const start = performance.now()
  await f()
  return { ms: performance.now() - start }
}

/** Collects until the heap stops shrinking, so that what the previous sample dropped is gone. */
export const settle = async (): Promise<void> => {
  const gc = (globalThis as { gc?: () => void }).gc
  if (gc === undefined) return
  let previous = Number.POSITIVE_INFINITY
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5))
    gc()
    const used = process.memoryUsage().heapUsed
    if (used > previous * 0.995) return
    previous = used
  }
}

/** Heap held per unit while `park` holds `units` of work, and the time of the whole cycle. */
export const heapPerUnit = async (
  units: number,
  park: () => Promise<{ readonly release: () => Promise<void> }>
): Promise<Sample> => {
  await settle()
  const before = process.memoryUsage().heapUsed
  const parkStart = performance.now()
  const parked = await park()
  const parkMs = performance.now() - parkStart
  await settle()
  const held = process.memoryUsage().heapUsed
  const releaseStart = performance.now()
  await parked.release()
  const ms = parkMs + performance.now() - releaseStart
  await settle()
  // The lower of the heap before parking and after releasing: a previous sample's garbage that
  // is only freed later must not count against (or for) this one.
  const baseline = Math.min(before, process.memoryUsage().heapUsed)
  return { ms, heapBytesPerUnit: Math.round((held - baseline) / units) }
}

const median = (values: ReadonlyArray<number>): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

export interface ShapeResult {
  readonly shape: string
  readonly description: string
  readonly rounds: number
  readonly medianMs: Record<Contender, number>
  readonly heapBytesPerWaitingRun?: Record<Contender, number> | undefined
  /** peer / ours: above 1 means we are faster. */
  readonly ratio: number
  /** ours / floor: what the engine costs on top of raw Effect. */
  readonly oursOverFloor: number
  /** Medians of the extra runners (`options.extras`), by name, sampled after the floor. */
  readonly extraMedianMs?: Record<string, number> | undefined
  readonly node: string
  readonly machine: string
}

export const machine = (): string => `${os.cpus()[0]?.model ?? "unknown cpu"} x${os.cpus().length}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`

/**
 * Warm-up rounds, then `rounds` alternating rounds of every contender. Extra runners
 * (`options.extras`) take their turn after the floor in every round; only their median time is
 * reported.
 */
export const measure = async (
  shape: string,
  description: string,
  runners: Record<Contender, Runner>,
  options: { readonly rounds: number; readonly warmup: number; readonly extras?: Record<string, Runner> | undefined }
): Promise<ShapeResult> => {
  const order: ReadonlyArray<Contender> = ["ours", "peer", "floor"]
  const extras = Object.entries(options.extras ?? {})
  for (let i = 0; i < options.warmup; i++) {
    for (const name of order) await runners[name]()
    for (const [, runner] of extras) await runner()
  }
  const samples: Record<Contender, Array<Sample>> = { ours: [], peer: [], floor: [] }
  const extraSamples: Record<string, Array<number>> = Object.fromEntries(extras.map(([name]) => [name, []]))
  for (let i = 0; i < options.rounds; i++) {
    for (const name of order) {
      // every sample starts from a collected heap: no contender pays for another's garbage
      await settle()
      samples[name].push(await runners[name]())
    }
    for (const [name, runner] of extras) {
      await settle()
      extraSamples[name].push((await runner()).ms)
    }
  }
  const medianMs = Object.fromEntries(order.map((name) => [name, round(median(samples[name].map((s) => s.ms)))])) as Record<
    Contender,
    number
  >
  const heaps = samples.ours[0].heapBytesPerUnit === undefined
    ? undefined
    : Object.fromEntries(order.map((name) => [name, median(samples[name].map((s) => s.heapBytesPerUnit ?? 0))])) as Record<
      Contender,
      number
    >
  return {
    shape,
    description,
    rounds: options.rounds,
    medianMs,
    heapBytesPerWaitingRun: heaps,
    ratio: round(medianMs.peer / medianMs.ours),
    oursOverFloor: round(medianMs.ours / medianMs.floor),
    extraMedianMs: extras.length === 0
      ? undefined
      : Object.fromEntries(extras.map(([name]) => [name, round(median(extraSamples[name]))])),
    node: process.version,
    machine: machine()
  }
}

const round = (n: number): number => Math.round(n * 100) / 100
