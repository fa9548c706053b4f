/**
 * `isMain(import.meta.url)`: whether the module at that URL is the program node was started with
 * (`npx tsx examples/NAME.ts`), not a module imported by another one (`examples/server.ts`
 * imports every example for its workflows). Each example runs its demo only when it is main.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const realPath = (file: string): string => {
  try {
    return fs.realpathSync(file)
  } catch {
    return file
  }
}

export const isMain = (url: string): boolean => {
  const started = process.argv[1]
  if (started === undefined || !url.startsWith("file:")) return false
  return realPath(path.resolve(started)) === realPath(fileURLToPath(url))
}
