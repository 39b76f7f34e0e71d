import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { threadId } from "node:worker_threads"
import { assert, describe, it } from "@effect/vitest"
import { Lock } from "@strand/core"
import { WorkerPool } from "@strand/platform-node"
import { Effect } from "effect"
import { SquareOnThread } from "./fixtures/square-worker.ts"

const run = promisify(execFile)
const root = fileURLToPath(new URL("..", import.meta.url))
const singleFile = fileURLToPath(new URL("./fixtures/single-file.ts", import.meta.url))

describe("workspace", () => {
  it("the tests run on Node >= 22.19", () => {
    const [major, minor] = process.versions.node.split(".").map(Number) as [number, number]
    assert.isTrue(major > 22 || (major === 22 && minor >= 19), `running on Node ${process.versions.node}`)
  })

  it.live("both packages import by name, and a task runs on a real worker thread", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make()
      const pool = yield* WorkerPool.make({ module: new URL("./fixtures/square-worker.ts", import.meta.url), size: 1 })
      const result = yield* Lock.withLock(lock, pool.run(SquareOnThread, 7))
      assert.strictEqual(result.square, 49)
      assert.notStrictEqual(result.threadId, threadId)
      assert.isAbove(result.threadId, 0)
    })
  )

  it("a single-file TypeScript program runs its worker role under tsx", async () => {
    const { stdout } = await run("pnpm", ["exec", "tsx", singleFile], { cwd: root })
    assert.match(stdout, /^hello ran on thread [1-9]\d*$/m)
  })

  it("the same program runs with Node's built-in type stripping", async () => {
    const { stdout } = await run(process.execPath, [singleFile], { cwd: root })
    assert.match(stdout, /^hello ran on thread [1-9]\d*$/m)
  })
})
