import { execFile } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"

const exec = promisify(execFile)
const root = fileURLToPath(new URL("..", import.meta.url))

describe("pnpm bench --quick", () => {
  // A smoke run of the harness: it proves every scenario and peer runs and the reports are
  // written. It asserts no timings; the figures of a quick run are not for quoting.
  it("runs every scenario against every peer and writes its reports", async () => {
    const { stdout } = await exec("pnpm", ["bench", "--quick"], { cwd: root, timeout: 300_000 })
    for (const scenario of [
      "1. CPU speedup",
      "2. Trivial tasks",
      "3. Many waiters",
      "4. Cancellation",
      "5. Crash recovery",
      "6. Primitives",
      "7. Memory",
      "8. Moving results",
      "9. Long mapStream",
      "10. Stream back-pressure",
      "11. HTTP service",
      "12. Tracing",
      "13. Cold start",
      "14. Worker processes",
      "15. Shared memory",
      "16. Cluster"
    ]) {
      assert.include(stdout, `| ${scenario} |`)
    }
    for (const peer of [
      "piscina",
      "tinypool",
      "poolifier",
      "workerpool",
      "effect-rpc",
      "raw postMessage",
      "async-mutex",
      "p-limit",
      "multithreading Mutex",
      "web locks"
    ]) {
      assert.include(stdout, peer)
    }
    assert.include(stdout, "| target | measured | result |")
    // A peer that hangs is reported and the run goes on; Strand itself must never hang.
    assert.notMatch(stdout, /^HUNG .*: strand/m)
    const date = new Date().toISOString().slice(0, 10)
    const json = join(tmpdir(), "strand-bench", `${date}.json`)
    assert.isTrue(existsSync(json))
    const results = JSON.parse(readFileSync(json, "utf8")) as { quick: boolean; summaries: Array<unknown> }
    assert.isTrue(results.quick)
    assert.isAbove(results.summaries.length, 40)
    assert.include(readFileSync(join(tmpdir(), "strand-bench", `${date}.svg`), "utf8"), "<svg")
  }, 300_000)
})
