// `pnpm soak --quick`: a short soak under injected faults, as a real process, with worker threads
// and with worker processes. Its invariants (nothing lost, nothing run twice, no thread or worker
// process left after close) are checked by the soak itself,
// which exits non-zero when one breaks; no figure here depends on a clock.
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"

const exec = promisify(execFile)
const root = fileURLToPath(new URL("..", import.meta.url))

describe.each(["thread", "process"])("pnpm soak --quick --isolation %s", (isolation) => {
  it("drives pools through faults, interruptions and closes, and every invariant holds", async () => {
    const args = ["--import", "tsx", "scripts/soak.ts", "--quick", "--isolation", isolation]
    const { stdout } = await exec(process.execPath, args, { cwd: root, timeout: 120_000 })
    assert.match(stdout, /^soak: seed \d+/m)
    assert.match(stdout, /tasks lost \(must be 0\): 0$/m)
    assert.match(stdout, /tasks run twice \(must be 0\): 0$/m)
    assert.match(stdout, /threads alive after close, beyond those before \(must be 0\): 0 /m)
    assert.match(stdout, /worker processes alive after close \(must be 0\): 0$/m)
    assert.match(stdout, /^soak: every invariant holds$/m)
    const submitted = Number(stdout.match(/tasks submitted: ([\d,]+)/)?.[1]?.replaceAll(",", ""))
    assert.isAbove(submitted, 0)
  }, 120_000)
})
