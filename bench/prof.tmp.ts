import * as ours from "./ours.js"
const which = process.argv[2] ?? "chain"
const f = which === "chain" ? ours.chainRuns(2000) : which === "fanout" ? ours.fanout(10000) : which === "concurrent" ? ours.concurrent(2000) : ours.waiting(10000)
await f(); await f()
console.log(await f())
