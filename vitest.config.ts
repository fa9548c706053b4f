import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const src = fileURLToPath(new URL("./src/", import.meta.url))

export default defineConfig({
  // Tests import the package by name, from its source (the published build is tested by
  // test/package.test.ts).
  resolve: {
    alias: [
      { find: /^effect-workflows$/, replacement: `${src}index.ts` },
      { find: /^effect-workflows\/(testing|server|client)$/, replacement: `${src}$1/index.ts` },
      { find: /^effect-workflows\/(.*)$/, replacement: `${src}$1.ts` }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    sequence: { concurrent: false }
  }
})
