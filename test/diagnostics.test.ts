import { execFile, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { Diagnostics } from "@strand/core"
import { NodeDiagnostics } from "@strand/platform-node"
import { Deferred, Effect, Layer } from "effect"

const root = fileURLToPath(new URL("..", import.meta.url))

describe("NodeDiagnostics", () => {
  it("a stuck program reports its parked fibers and exits with code 2, not 0", async () => {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile("pnpm", ["exec", "tsx", "test/fixtures/stuck.ts"], { cwd: root, timeout: 30_000 }, (error, _, stderr) =>
        resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? null), stderr })
      )
    })
    assert.strictEqual(code, 2)
    assert.include(stderr, "the program is stuck")
    assert.match(stderr, /Condition on Lock "jobs":\n {2}waited on by fiber #\d+/)
    assert.match(stderr, /Lock "jobs":\n {2}waited on by fiber #\d+/)
  })

  it("Ctrl-C interrupts the program, runs its finalizers and exits with code 130", async () => {
    const child = spawn(process.execPath, [fileURLToPath(new URL("./fixtures/interrupted.ts", import.meta.url))], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let sent = false
    child.stdout.on("data", (chunk) => {
      stdout += chunk
      // One Ctrl-C: a second one after the program has ended would kill Node before it exits.
      if (!sent && stdout.includes("started")) {
        sent = true
        child.kill("SIGINT")
      }
    })
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve))
    assert.strictEqual(code, 130)
    assert.include(stdout, "cleaned up")
  })

  it("the deadlock example reports its cycle", async () => {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile("pnpm", ["exec", "tsx", "examples/deadlock.ts"], { cwd: root, timeout: 30_000 }, (error, out) =>
        error === null ? resolve(out) : reject(error)
      )
    })
    assert.match(stdout, /DeadlockDetected: fiber #\d+ waits for Lock "[ab]", held by fiber #\d+/)
    assert.include(stdout, "a cycle of 2")
    assert.include(stdout, "LockOrderInversion")
    assert.match(stdout, /worker \d finished/)
  })

  it.live("the event-loop monitor reports a fiber that blocks the loop", () =>
    Effect.gen(function* () {
      const blocked = yield* Deferred.make<string>()
      const diagnostics = Diagnostics.makeUnsafe({
        onReport: (report) => {
          if (report._tag === "EventLoopBlocked") Deferred.doneUnsafe(blocked, Effect.succeed(report.message))
        }
      })
      const message = yield* Effect.gen(function* () {
        yield* Effect.sync(() => {
          const end = performance.now() + 200
          while (performance.now() < end) {
            // a CPU-bound loop on the main thread
          }
        })
        return yield* Deferred.await(blocked)
      }).pipe(Effect.provide(Layer.provideMerge(NodeDiagnostics.layerEventLoopMonitor("50 millis"), diagnostics.layer)))
      assert.include(message, "Move that work to a WorkerPool")
    })
  )
})
