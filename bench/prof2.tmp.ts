import * as ours from "./ours.js"
import * as peer from "./peer.js"
for (const [name, f] of [["ours", ours.chainRuns(2000)], ["peer", peer.chainRuns(2000, "on")]] as const) {
  await f()
  const c0 = process.cpuUsage(); const t0 = performance.now()
  await f()
  const c = process.cpuUsage(c0)
  console.log(name, "wall", (performance.now() - t0).toFixed(0), "cpu user+sys", ((c.user + c.system) / 1000).toFixed(0))
}
