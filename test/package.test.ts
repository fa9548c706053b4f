/**
 * The package as a user gets it: packed with `npm pack`, installed with `effect@3` into a fresh
 * project, typechecked there as a `node16` and as a `bundler` consumer (strict, with
 * `noUncheckedIndexedAccess` and `exactOptionalPropertyTypes`, our declarations checked too),
 * and run with plain `node`, with one copy of `effect` in the project.
 */
import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const tsc = path.join(root, "node_modules", "typescript", "bin", "tsc")
const effectVersion: string = JSON.parse(
  fs.readFileSync(path.join(root, "node_modules", "effect", "package.json"), "utf8")
).version

const run = (command: string, args: ReadonlyArray<string>, cwd: string): string => {
  try {
    return execFileSync(command, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] })
  } catch (error) {
    const { stderr, stdout } = error as { stdout?: string; stderr?: string }
    throw new Error(`${command} ${args.join(" ")} failed:\n${stdout ?? ""}${stderr ?? ""}`)
  }
}

/** The README's example as it stands (its first `ts` block), then a few lines that run it. */
const readmeExample = (): string => {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
  const block = /## Example\n\n```ts\n([\s\S]*?)```/.exec(readme)
  if (block === null) throw new Error("README.md has no ## Example ts block")
  return block[1]!
}

const consumer = `${readmeExample()}
import { WorkflowTest } from "effect-workflows/testing"

Effect.runPromise(Effect.scoped(Effect.gen(function*() {
  const done: Done = yield* program
  yield* Console.log(\`verdict: \${done.verdict}\`)
  const handler = yield* Workflow.start(jokes, new Topic({ topic: "pirates" }))
  const events = yield* WorkflowTest.collect(handler, { internal: true })
  yield* Console.log(\`events with the internal ones: \${events.length}\`)
  yield* Console.log(\`last: \${String(yield* handler.store.get("last"))}\`)
})))
`

const compilerOptions = {
  target: "ES2022",
  // effect's declarations name AbortSignal, ReadableStream and URL
  lib: ["ES2022", "DOM"],
  types: [],
  strict: true,
  noUncheckedIndexedAccess: true,
  exactOptionalPropertyTypes: true,
  skipLibCheck: false
}

describe("the packed package", () => {
  it("installs with effect@3 beside it, typechecks as node16 and bundler, runs with plain node", () => {
    const project = fs.mkdtempSync(path.join(os.tmpdir(), "effect-workflows-consumer-"))
    try {
      const packed = run("npm", ["pack", "--silent", "--pack-destination", project], root).trim().split("\n").pop()!
      fs.writeFileSync(
        path.join(project, "package.json"),
        JSON.stringify({
          name: "consumer",
          private: true,
          type: "module",
          dependencies: { "effect-workflows": `file:./${packed}`, effect: `^${effectVersion}` }
        })
      )
      run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], project)
      fs.writeFileSync(path.join(project, "consumer.ts"), consumer)
      fs.writeFileSync(
        path.join(project, "tsconfig.node16.json"),
        JSON.stringify({
          compilerOptions: { ...compilerOptions, module: "node16", moduleResolution: "node16", outDir: "out" },
          files: ["consumer.ts"]
        })
      )
      fs.writeFileSync(
        path.join(project, "tsconfig.bundler.json"),
        JSON.stringify({
          compilerOptions: { ...compilerOptions, module: "esnext", moduleResolution: "bundler", noEmit: true },
          files: ["consumer.ts"]
        })
      )
      run(process.execPath, [tsc, "-p", "tsconfig.bundler.json"], project)
      run(process.execPath, [tsc, "-p", "tsconfig.node16.json"], project)
      const output = run(process.execPath, [path.join("out", "consumer.js")], project)
      expect(output.trim().split("\n")).toEqual([
        "Draft",
        "Done",
        "verdict: ok",
        // Draft, Done, and four step-state changes (running and not running, two steps)
        "events with the internal ones: 6",
        "last: a joke about pirates"
      ])
      // one copy of effect: ours is a peer, not a dependency of its own
      const copies = run("npm", ["ls", "effect", "--all", "--parseable"], project).trim().split("\n")
      expect(copies).toEqual([path.join(fs.realpathSync(project), "node_modules", "effect")])
      // what ships: the build and its sources, no benchmarks, no tests
      const shipped = fs.readdirSync(path.join(project, "node_modules", "effect-workflows"))
      expect(shipped.sort()).toEqual(["README.md", "dist", "package.json", "src"])
      expect(fs.existsSync(path.join(project, "node_modules", "effect-workflows", "dist", "bench"))).toBe(false)
    } finally {
      fs.rmSync(project, { recursive: true, force: true })
    }
  }, 300_000)
})
