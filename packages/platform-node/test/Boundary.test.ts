// The worker boundary as a trust boundary: whatever the worker module's code does, the caller's
// process and the worker's other tasks live on. Real worker threads, and real worker processes.
import { assert, describe, it } from "@effect/vitest"
import { WorkerPool } from "@strand/platform-node"
import { Cause, Effect, Exit, Fiber, Option, Stream } from "effect"
import {
  Anything,
  Environment,
  FloatItems,
  Floats,
  Greet,
  Greeting,
  LastFloatsLength,
  Sleep,
  Square,
  Stray,
  ThrowNow,
  Uncloneable,
  UncloneableItems,
  VmError
} from "./fixtures/tasks.ts"

const module = new URL("./fixtures/misbehaving-worker.ts", import.meta.url)
const greeting = Greeting.value({ text: "Hello", times: 1 })
/** Which worker serves: its thread, or its process (thread 0) under isolation: "process". */
const workerOf = (pool: WorkerPool.Service) =>
  Effect.map(pool.stats, (s) => s.workers[0]!.threadId || s.workers[0]!.pid)

describe.each(["thread", "process"] as const)("the worker boundary (%s)", (isolation) => {
  const makePool = (options?: Partial<WorkerPool.Options>) =>
    WorkerPool.make({ module, size: 1, config: [greeting], isolation, ...options })
  /** A test of moving buffers, which only threads do (a process refuses a transfer list, typed). */
  const threadsOnly = isolation === "thread" ? it.live : it.live.skip

  it.live("stray messages (parentPort, or process.send) never crash the caller nor pass for results", () =>
    Effect.gen(function* () {
      const pool = yield* makePool()
      const received: Array<unknown> = []
      const reader = yield* Effect.forkChild(
        Stream.runForEach(Stream.take(pool.messages, 9), (m) => Effect.sync(() => received.push(m.message)))
      )
      yield* Effect.yieldNow
      // A task in flight alongside: the stray [0, 1, 999] must not be taken as its result.
      const results = yield* Effect.all([pool.run(Square, 6), pool.run(Stray, undefined), pool.run(Square, 7)], {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(results, [36, 42, 49])
      yield* Fiber.join(reader)
      assert.deepStrictEqual(received, [null, undefined, 0, "text", [0, 1, 999], [0, 2, 999], { _: "ready" }, [], {}])
      const stats = yield* pool.stats
      assert.strictEqual(stats.crashed, 0)
      assert.strictEqual(stats.malformed, 0)
    })
  )

  it.live("a handler that throws is a defect of its task alone; batch-mates and the worker live on", () =>
    Effect.gen(function* () {
      const pool = yield* makePool({ concurrentTasksPerWorker: 4 })
      const before = yield* workerOf(pool)
      const sleeper = yield* Effect.forkChild(pool.run(Sleep, 300))
      while ((yield* pool.stats).inflight === 0) yield* Effect.yieldNow
      // Three commands in one batch: the thrower sits between two good tasks.
      const [a, thrown, b] = yield* Effect.all(
        [Effect.exit(pool.run(Square, 2)), Effect.exit(pool.run(ThrowNow, "foo")), Effect.exit(pool.run(Square, 3))],
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual([a, b], [Exit.succeed(4), Exit.succeed(9)])
      assert.isTrue(Exit.isFailure(thrown))
      const defect = Exit.isFailure(thrown) ? Cause.squash(thrown.cause) : undefined
      assert.strictEqual((defect as Error).message, "foo")
      assert.include((defect as Error).stack, "misbehaving-worker.ts")
      assert.strictEqual(yield* Fiber.join(sleeper), 300)
      assert.strictEqual(yield* workerOf(pool), before)
      assert.strictEqual((yield* pool.stats).crashed, 0)
    })
  )

  it.live("an Error from another realm keeps its name, message and stack", () =>
    Effect.gen(function* () {
      const pool = yield* makePool()
      const exit = yield* Effect.exit(pool.run(VmError, undefined))
      const defect = Exit.isFailure(exit) ? (Cause.squash(exit.cause) as Error) : undefined
      assert.strictEqual(defect?.name, "TypeError")
      assert.strictEqual(defect?.message, "from another realm")
      assert.include(defect?.stack, "from another realm")
    })
  )

  it.live("an uncloneable payload fails its own task with PayloadError naming the path; the rest run", () =>
    Effect.gen(function* () {
      const pool = yield* makePool({ concurrentTasksPerWorker: 8 })
      const before = yield* workerOf(pool)
      const exits = yield* Effect.all(
        [
          Effect.exit(pool.run(Anything, 1)),
          Effect.exit(pool.run(Anything, { ok: true, f: () => 1 })),
          Effect.exit(pool.run(Anything, { nested: [1, Symbol("s")] })),
          Effect.exit(pool.run(Anything, "fine"))
        ],
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(exits[0], Exit.succeed(1))
      assert.deepStrictEqual(exits[3], Exit.succeed("fine"))
      for (const [exit, path] of [
        [exits[1]!, "payload.f"],
        [exits[2]!, "payload.nested[1]"]
      ] as const) {
        const error = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined
        assert.strictEqual(error?._tag, "PayloadError")
        assert.include(error?.message, 'task "Anything"')
        assert.include(error?.message, path)
      }
      assert.strictEqual(yield* workerOf(pool), before)
      assert.strictEqual(yield* pool.run(Square, 5), 25)
    })
  )

  it.live("an uncloneable result or item fails its own task with ResultError; the same worker serves on", () =>
    Effect.gen(function* () {
      const pool = yield* makePool({ concurrentTasksPerWorker: 4 })
      const before = yield* workerOf(pool)
      const sleeper = yield* Effect.forkChild(pool.run(Sleep, 200))
      while ((yield* pool.stats).inflight === 0) yield* Effect.yieldNow
      const error = yield* Effect.flip(pool.run(Uncloneable, undefined))
      assert.strictEqual(error._tag, "ResultError")
      assert.include(error.message, 'task "Uncloneable"')
      assert.include(error.message, "result.f")
      const items: Array<unknown> = []
      const streamed = yield* Effect.flip(
        Stream.runForEach(pool.stream(UncloneableItems, undefined), (item) => Effect.sync(() => items.push(item)))
      )
      assert.strictEqual(streamed._tag, "ResultError")
      assert.deepStrictEqual(items, [1, 2])
      assert.strictEqual(yield* Fiber.join(sleeper), 200)
      assert.strictEqual(yield* workerOf(pool), before)
      assert.strictEqual((yield* pool.stats).crashed, 0)
    })
  )

  threadsOnly("a result marked with WorkerRunner.transfer moves instead of copying", () =>
    Effect.gen(function* () {
      const pool = yield* makePool()
      const moved = yield* pool.run(Floats, { length: 16_384, move: true })
      // The worker's own reference is detached: the buffer moved rather than being copied.
      assert.strictEqual(yield* pool.run(LastFloatsLength, undefined), 0)
      const copied = yield* pool.run(Floats, { length: 16_384, move: false })
      assert.strictEqual(yield* pool.run(LastFloatsLength, undefined), 16_384 * 8)
      assert.strictEqual(moved.length, 16_384)
      assert.strictEqual(copied.length, 16_384)
      assert.strictEqual(moved[100], 1.5)
      const items = yield* Stream.runCollect(pool.stream(FloatItems, 3))
      assert.deepStrictEqual(
        Array.from(items, (floats) => floats[0]),
        [1, 2, 3]
      )
    })
  )

  it.live("huge payloads and results cross the boundary, copied or moved", () =>
    Effect.gen(function* () {
      const pool = yield* makePool()
      const length = 8 * 2 ** 20 // 64 MB of float64s
      const moved = yield* pool.run(Floats, { length, move: isolation === "thread" })
      assert.strictEqual(moved.length, length)
      assert.strictEqual(moved[length - 1], 1.5)
      const text = "x".repeat(32 * 2 ** 20) // a 32 MB payload, echoed back
      assert.strictEqual(((yield* pool.run(Anything, text)) as string).length, text.length)
      assert.strictEqual((yield* pool.stats).crashed, 0)
    })
  )

  it.live("an AbortSignal stops a queued or running task, and its reason reaches the caller", () =>
    Effect.gen(function* () {
      const pool = yield* makePool({ concurrentTasksPerWorker: 1 })
      const controller = new AbortController()
      const running = yield* Effect.forkChild(Effect.flip(pool.run(Sleep, 60_000, { signal: controller.signal })))
      const queued = yield* Effect.forkChild(Effect.flip(pool.run(Sleep, 60_000, { signal: controller.signal })))
      while ((yield* pool.stats).queued === 0) yield* Effect.yieldNow
      controller.abort("the client went away")
      for (const error of [yield* Fiber.join(running), yield* Fiber.join(queued)]) {
        assert.strictEqual(error._tag, "TaskAborted")
        assert.include(error.message, "the client went away")
      }
      const stats = yield* pool.stats
      assert.deepStrictEqual([stats.inflight, stats.queued], [0, 0])
      const early = yield* Effect.flip(pool.run(Square, 2, { signal: AbortSignal.abort(new Error("too late")) }))
      assert.strictEqual(early._tag, "TaskAborted")
      assert.include(early.message, "Error: too late")
      assert.strictEqual(yield* pool.run(Square, 3), 9)
    })
  )

  it.live("typed configuration, env and argv reach the worker", () =>
    Effect.gen(function* () {
      const pool = yield* makePool({
        config: [Greeting.value({ text: "Hi", times: 2 })],
        env: { STRAND_TEST_VALUE: "from the caller" },
        argv: ["--mode", "test"]
      })
      assert.strictEqual(yield* pool.run(Greet, "Ada"), "Hi, Ada Hi, Ada")
      const seen = yield* pool.run(Environment, "STRAND_TEST_VALUE")
      assert.deepStrictEqual(seen, { env: "from the caller", argv: ["--mode", "test"] })
    })
  )

  it.live("a configuration that is missing or does not encode is refused with its name", () =>
    Effect.gen(function* () {
      const missing = yield* Effect.flip(makePool({ config: [] }))
      assert.strictEqual(missing._tag, "WorkerSpawnError")
      assert.include(missing.message, 'configuration "Greeting"')
      const wrong = yield* Effect.flip(
        makePool({ config: [Greeting.value({ text: "Hi", times: 1.5 } as { text: string; times: number })] })
      )
      assert.strictEqual(wrong._tag, "InvalidPoolOptions")
      assert.include(wrong.message, "config.Greeting")
    })
  )
})
