// A worker's output reaches the caller's stdout in full, even when the pool closes right after.
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"

const run = promisify(execFile)
const program = fileURLToPath(new URL("./fixtures/log-then-close.ts", import.meta.url))

describe.each(["thread", "process"])("worker output (%s)", (isolation) => {
  for (const mode of ["close", "retire"]) {
    it(`every line a task logged arrives when the pool ${mode === "close" ? "closes" : "retires the worker"} right after`, async () => {
      // Several runs, because a lost line depended on timing.
      for (let attempt = 0; attempt < 3; attempt++) {
        const { stdout } = await run(process.execPath, [program, mode, isolation], { timeout: 30_000 })
        const lines = stdout.split("\n").filter((line) => line.startsWith("line "))
        assert.strictEqual(lines.length, 200, `run ${attempt + 1} lost lines`)
        assert.isTrue(lines[199]!.startsWith("line 199 "))
      }
    })
  }
})
