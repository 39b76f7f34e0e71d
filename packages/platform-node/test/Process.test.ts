// What only worker processes (isolation: "process") do: contain what would take a threaded
// program down, refuse what cannot cross a process boundary, and leave no process behind.
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import { fileURLToPath } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { WorkerPool } from "@strand/platform-node"
import { Cause, Effect, Exit, Fiber, Option, Scope, Stream } from "effect"
import {
  ByteSum,
  Crash,
  Echo,
  Floats,
  Greeting,
  Misbehave,
  SharedBack,
  Sleep,
  Spin,
  Square,
  ThreadId
} from "./fixtures/tasks.ts"

const module = new URL("./fixtures/worker.ts", import.meta.url)
const makePool = (options?: Partial<WorkerPool.Options>) =>
  WorkerPool.make({ module, size: 2, isolation: "process", ...options })

const errorOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined

/** Whether a process runs: a zombie (dead, not yet reaped by whoever adopted it) does not. */
const isRunning = (pid: number): boolean => {
  try {
    return !/^State:\s+Z/m.test(Fs.readFileSync(`/proc/${pid}/status`, "utf8"))
  } catch {
    return false
  }
}

/** A process's children, as the OS lists them (Linux). */
const childrenOf = (pid: number): Array<number> =>
  Fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").split(" ").filter(Boolean).map(Number)

/** Polls until none of `pids` runs, for at most `millis`; returns those still running. */
const survivors = (pids: ReadonlyArray<number>, millis: number) =>
  Effect.gen(function* () {
    const deadline = Date.now() + millis
    let running = pids.filter(isRunning)
    while (running.length > 0 && Date.now() < deadline) {
      yield* Effect.sleep("20 millis")
      running = running.filter(isRunning)
    }
    return running
  })

describe("WorkerPool (process only)", () => {
  it.live("Map, Set, Date, BigInt and typed arrays cross intact (structured clone, not JSON)", () =>
    Effect.gen(function* () {
      const pool = yield* makePool({ size: 1 })
      const value = {
        map: new Map<unknown, unknown>([
          ["a", 1],
          [2, new Set([3n])]
        ]),
        date: new Date(86_400_000),
        big: 2n ** 70n,
        bytes: new Float64Array([0.5, -1]),
        nested: [undefined, null, Number.NaN]
      }
      assert.deepStrictEqual(yield* pool.run(Echo, value), value)
      const [worker] = (yield* pool.stats).workers
      assert.notStrictEqual(worker?.pid, process.pid)
      assert.strictEqual(worker?.threadId, 0)
      assert.strictEqual(yield* pool.run(ThreadId, undefined), worker?.pid)
    })
  )

  it.live("shared memory and transfer lists are refused with a typed error, never copied", () =>
    Effect.gen(function* () {
      const pool = yield* makePool({ size: 1 })
      const shared = new Uint8Array(new SharedArrayBuffer(4))
      const payload = yield* Effect.flip(pool.run(ByteSum, shared))
      assert.strictEqual(payload._tag, "PayloadError")
      assert.include(payload.message, "SharedArrayBuffer, which cannot cross a process boundary")
      const nested = yield* Effect.flip(pool.run(Echo, { rows: [new Int32Array(new SharedArrayBuffer(8))] }))
      assert.include(nested._tag === "PayloadError" ? nested.issue : "", "payload.rows[0] is backed by")
      const bytes = new Uint8Array([1, 2, 3])
      const moved = yield* Effect.flip(pool.run(ByteSum, bytes, { transfer: [bytes.buffer] }))
      assert.strictEqual(moved._tag, "PayloadError")
      assert.include(moved.message, "a transfer list cannot cross a process boundary")
      assert.strictEqual(bytes.byteLength, 3)
      const result = yield* Effect.flip(pool.run(SharedBack, undefined))
      assert.strictEqual(result._tag, "ResultError")
      assert.include(result.message, "SharedArrayBuffer")
      // None of it harmed the worker.
      assert.strictEqual(yield* pool.run(ByteSum, bytes), 6)
      assert.strictEqual((yield* pool.stats).crashed, 0)
    })
  )

  it.live("a result the worker marks with WorkerRunner.transfer is refused, typed: a process cannot move it", () =>
    Effect.gen(function* () {
      const pool = yield* WorkerPool.make({
        module: new URL("./fixtures/misbehaving-worker.ts", import.meta.url),
        size: 1,
        isolation: "process",
        config: [Greeting.value({ text: "Hello", times: 1 })]
      })
      const moved = yield* Effect.flip(pool.run(Floats, { length: 8, move: true }))
      assert.strictEqual(moved._tag, "ResultError")
      assert.include(moved.message, "a transfer list cannot cross a process boundary")
      // Copied, the same result crosses.
      assert.strictEqual((yield* pool.run(Floats, { length: 8, move: false })).length, 8)
    })
  )

  it.live("what a library does to its process stays in the worker: chdir, env, even SIGKILL", () =>
    Effect.gen(function* () {
      const pool = yield* makePool({ size: 1 })
      const cwd = process.cwd()
      assert.strictEqual(yield* pool.run(Misbehave, "chdir"), "/ undefined")
      assert.strictEqual(yield* pool.run(Misbehave, "env"), "/ leaked")
      assert.strictEqual(process.cwd(), cwd)
      assert.isUndefined(process.env.STRAND_TEST_LEAK)
      const killed = errorOf(yield* Effect.exit(pool.run(Misbehave, "kill")))
      assert.strictEqual(killed?._tag, "WorkerCrashed")
      assert.include(killed?._tag === "WorkerCrashed" ? killed.reason : "", "killed by SIGKILL")
      assert.strictEqual(yield* pool.run(Square, 9), 81)
    })
  )

  it.live("one array grown past the heap limit ends only its worker process", () =>
    Effect.gen(function* () {
      // In a thread, this allocation shape aborts the whole process; here it is a WorkerCrashed.
      const pool = yield* makePool({ size: 1, resourceLimits: { maxOldGenerationSizeMb: 64 } })
      const error = errorOf(yield* Effect.exit(pool.run(Crash, "grow")))
      assert.strictEqual(error?._tag, "WorkerCrashed")
      assert.include(error?._tag === "WorkerCrashed" ? error.reason : "", "out of memory")
      assert.strictEqual(yield* pool.run(Square, 6), 36)
    })
  )

  it.live("a worker stopped for a stuck task fails the tasks that had started; one that had not runs elsewhere", () =>
    Effect.gen(function* () {
      const pool = yield* makePool({ size: 1, concurrentTasksPerWorker: 4, cancelGracePeriod: "50 millis" })
      const started = yield* Effect.forEach([0, 1], () => Effect.forkChild(Effect.flip(pool.run(Sleep, 2000))))
      while ((yield* pool.stats).inflight < 2) yield* Effect.yieldNow
      const stuck = yield* Effect.forkChild(Effect.flip(pool.run(Spin, 60_000, { timeout: "300 millis" })))
      // Sent behind the loop on the same worker: it never starts there.
      while ((yield* pool.stats).inflight < 3) yield* Effect.yieldNow
      const behind = yield* Effect.forkChild(pool.run(Square, 7))
      assert.strictEqual((yield* Fiber.join(stuck))._tag, "TaskTimeout")
      for (const fiber of started) {
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "WorkerCrashed")
        assert.include(error.message, "not run again")
      }
      assert.strictEqual(yield* Fiber.join(behind), 49)
    })
  )

  it.live(
    "a task sent to a worker process that exits before reading it runs elsewhere (its claims are exact on exit)",
    () =>
      Effect.gen(function* () {
        const pool = yield* makePool({ size: 1 })
        const first = yield* pool.run(ThreadId, undefined)
        // It replies, then is busy for 300 ms and exits: the next task waits unread on its channel.
        assert.strictEqual(yield* pool.run(Misbehave, "exitSoon"), `${process.cwd()} undefined`)
        const next = yield* pool.run(ThreadId, undefined)
        assert.notStrictEqual(next, first)
        assert.strictEqual((yield* pool.stats).crashed, 1)
      })
  )

  it.live("what the module sends with process.send arrives on messages, never as a result", () =>
    Effect.gen(function* () {
      const pool = yield* makePool({ size: 1 })
      const received = yield* Effect.forkChild(Stream.runHead(pool.messages))
      yield* Effect.sleep("10 millis")
      assert.strictEqual(yield* pool.run(Misbehave, "send"), `${process.cwd()} undefined`)
      const message = Option.getOrThrow(yield* Fiber.join(received))
      assert.deepStrictEqual(message.message, { hello: "from the worker" })
      assert.strictEqual(message.pid, (yield* pool.stats).workers[0]?.pid)
    })
  )

  it.live("a worker process starts, and is guarded, whatever PATH its env option gives it", () =>
    Effect.gen(function* () {
      const pool = yield* makePool({ size: 1, env: { PATH: "/nonexistent" } })
      assert.strictEqual(yield* pool.run(Square, 3), 9)
    })
  )

  it.live("thread-only resource limits are refused, typed, with what a process takes", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(makePool({ resourceLimits: { stackSizeMb: 8 } }))
      assert.strictEqual(error._tag, "InvalidPoolOptions")
      assert.include(error.message, "maxOldGenerationSizeMb and maxYoungGenerationSizeMb")
      const isolation = yield* Effect.flip(makePool({ isolation: "fork" as "process" }))
      assert.include(isolation.message, '"thread" or "process"')
    })
  )

  it.live("no worker process outlives the pool's scope", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const pool = yield* makePool().pipe(Scope.provide(scope))
      yield* Effect.forkChild(Effect.exit(pool.run(Spin, 600_000)))
      while ((yield* pool.stats).inflight === 0) yield* Effect.yieldNow
      const pids = (yield* pool.stats).workers.map((worker) => worker.pid)
      assert.strictEqual(pids.filter(isRunning).length, 2)
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(yield* survivors(pids, 5000), [])
    })
  )

  for (const signal of ["SIGINT", "SIGTERM", "SIGKILL"] as const) {
    it.live(`no worker process outlives its pool's process when that gets ${signal}, busy or idle`, () =>
      Effect.gen(function* () {
        const parent = spawn(
          process.execPath,
          [fileURLToPath(new URL("./fixtures/process-parent.ts", import.meta.url))],
          {
            stdio: ["ignore", "pipe", "inherit"]
          }
        )
        const parentPid = yield* Effect.promise(
          () =>
            new Promise<number>((resolve, reject) => {
              let out = ""
              parent.stdout.on("data", (chunk) => {
                out += chunk
                if (out.includes("\n")) resolve(Number(out.split("\n")[0]))
              })
              parent.on("exit", (code) => reject(new Error(`the parent exited first, with ${code}`)))
            })
        )
        // Every worker process of the pool, the spare included: the parent's children, by the OS.
        const pids = childrenOf(parentPid)
        assert.strictEqual(pids.filter(isRunning).length, 3, "two workers and a spare")
        parent.kill(signal)
        assert.deepStrictEqual(yield* survivors(pids, 5000), [])
      })
    )
  }
})
