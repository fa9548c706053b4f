/**
 * A real PostgreSQL server for a test file: `startPostgres()` in `beforeAll`, `stop()` in
 * `afterAll`. It runs `initdb` and `pg_ctl` in a temporary folder (through `runuser -u postgres`
 * when the tests run as root: `initdb` refuses root), on a free port, trust authentication,
 * listening on 127.0.0.1 and a socket in the folder.
 *
 * Where no `initdb` binary exists the server is not available (`available: false`, with the
 * reason printed) and the tests that need it are skipped, except with `REQUIRE_POSTGRES=1` in
 * the environment: then `startPostgres()` fails, and so do the tests.
 */
import { execFile, execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { promisify } from "node:util"

const run = promisify(execFile)

export interface Postgres {
  /** Whether a server runs (false only where there is no `initdb` and it is not required). */
  readonly available: boolean
  /** Why it is not available. */
  readonly reason: string | undefined
  readonly host: string
  readonly port: number
  readonly username: string
  /** A URL of the `postgres` database. */
  readonly url: string
  /** A URL of another database on the server. */
  readonly urlOf: (database: string) => string
  /** Stops the server (immediately) and removes its folder. */
  readonly stop: () => Promise<void>
}

/** Whether a server is required (`REQUIRE_POSTGRES=1`): then a missing binary is a failure. */
export const postgresRequired = (): boolean => process.env.REQUIRE_POSTGRES === "1"

/** The folder of `initdb` and `pg_ctl`, or undefined. */
export const findPostgresBin = (): string | undefined => {
  const candidates: Array<string> = []
  for (const entry of (process.env.PATH ?? "").split(path.delimiter)) {
    if (entry !== "") candidates.push(entry)
  }
  try {
    const versions = fs.readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a))
    for (const version of versions) candidates.push(path.join("/usr/lib/postgresql", version, "bin"))
  } catch {
    // no Debian-style installation
  }
  for (const folder of candidates) {
    const initdb = path.join(folder, "initdb")
    if (fs.existsSync(initdb) && fs.existsSync(path.join(folder, "pg_ctl"))) {
      // a symlink on PATH (/usr/local/bin/initdb): its real folder has the server binaries too
      return path.dirname(fs.realpathSync(initdb))
    }
  }
  return undefined
}

/**
 * Why the PostgreSQL tests are skipped, or undefined when they run (a binary exists, or
 * `REQUIRE_POSTGRES=1` makes a missing one a failure). For `describe.skipIf`, at collection time.
 */
export const postgresSkipReason = (): string | undefined =>
  findPostgresBin() === undefined && !postgresRequired()
    ? "no initdb binary found (on PATH or in /usr/lib/postgresql/*/bin); set REQUIRE_POSTGRES=1 to make this a failure"
    : undefined

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

const unavailable = (reason: string): Postgres => ({
  available: false,
  reason,
  host: "",
  port: 0,
  username: "",
  url: "",
  urlOf: () => "",
  stop: async () => {}
})

/** Starts a server (see the module's doc). */
export const startPostgres = async (): Promise<Postgres> => {
  const bin = findPostgresBin()
  if (bin === undefined) {
    const reason = "no initdb binary found (on PATH or in /usr/lib/postgresql/*/bin)"
    if (postgresRequired()) throw new Error(`REQUIRE_POSTGRES=1, but PostgreSQL cannot be started: ${reason}`)
    console.log(`Skipping the PostgreSQL tests: ${reason}`)
    return unavailable(reason)
  }
  const asRoot = process.getuid?.() === 0
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), "effect-workflows-pg-"))
  const data = path.join(folder, "data")
  const log = path.join(folder, "log")
  // as root, everything runs as the postgres user, in a folder it owns
  const command = (binary: string, args: ReadonlyArray<string>): [string, Array<string>] =>
    asRoot
      ? ["runuser", ["-u", "postgres", "--", path.join(bin, binary), ...args]]
      : [path.join(bin, binary), [...args]]
  const exec = async (binary: string, args: ReadonlyArray<string>) => {
    const [file, argv] = command(binary, args)
    try {
      await run(file, argv, { cwd: folder, encoding: "utf8" })
    } catch (error) {
      const { stderr, stdout } = error as { stdout?: string; stderr?: string }
      let serverLog = ""
      try {
        serverLog = fs.readFileSync(log, "utf8")
      } catch {
        // no log yet
      }
      throw new Error(`${binary} ${args.join(" ")} failed:\n${stdout ?? ""}${stderr ?? ""}${serverLog}`)
    }
  }
  let started = false
  const stopSync = () => {
    if (!started) return
    started = false
    try {
      const [file, argv] = command("pg_ctl", ["-D", data, "stop", "-m", "immediate"])
      execFileSync(file, argv, { stdio: "ignore" })
    } catch {
      // already stopped
    }
  }
  // a test run that dies does not leave the server running
  process.once("exit", stopSync)
  try {
    if (asRoot) {
      const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim())
      const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim())
      fs.chownSync(folder, uid, gid)
    }
    await exec("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8"])
    const port = await freePort()
    const settings = [
      `-p ${port}`,
      `-k ${folder}`,
      "-c listen_addresses=127.0.0.1",
      // a throwaway server: durability is not what is tested here
      "-c fsync=off",
      "-c synchronous_commit=off",
      "-c full_page_writes=off"
    ].join(" ")
    await exec("pg_ctl", ["-D", data, "-o", settings, "-l", log, "-w", "-t", "60", "start"])
    started = true
    const host = "127.0.0.1"
    const urlOf = (database: string) => `postgres://postgres@${host}:${port}/${database}`
    return {
      available: true,
      reason: undefined,
      host,
      port,
      username: "postgres",
      url: urlOf("postgres"),
      urlOf,
      stop: async () => {
        process.off("exit", stopSync)
        if (started) {
          started = false
          await exec("pg_ctl", ["-D", data, "stop", "-m", "immediate"]).catch(() => {})
        }
        fs.rmSync(folder, { recursive: true, force: true })
      }
    }
  } catch (error) {
    stopSync()
    process.off("exit", stopSync)
    fs.rmSync(folder, { recursive: true, force: true })
    throw error
  }
}
