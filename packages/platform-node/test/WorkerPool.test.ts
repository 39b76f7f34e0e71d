import { assert, describe, it } from "@effect/vitest"
import { WorkerPool } from "@strand/platform-node"
import { Cause, Effect, Exit, Fiber, Metric, Option, Scope, Stream } from "effect"
import {
  Add,
  Boom,
  ByteSum,
  Count,
  Crash,
  EvenOnly,
  Heartbeat,
  Lookup,
  Odd,
  Sleep,
  Spin,
  Square,
  Tally,
  ThreadId,
  Unserved,
  WhenDate
} from "./fixtures/tasks.ts"

const module = new URL("./fixtures/worker.ts", import.meta.url)

/** Resolves "ok" once some thread bumps the counter, or "timed-out" if none does within `millis`. */
const nextBeat = (beats: Int32Array, millis: number) =>
  Effect.promise(async () => {
    const wait = Atomics.waitAsync(beats, 0, Atomics.load(beats, 0), millis)
    const result = wait.async ? await wait.value : wait.value
    return result === "not-equal" ? "ok" : result
  })

const errorOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined

// The pool's behaviour is the same whether its workers are threads or processes: every test
// that does not depend on shared memory runs in both modes.
describe.each(["thread", "process"] as const)("WorkerPool (%s)", (isolation) => {
  const makePool = (options?: Partial<WorkerPool.Options>) =>
    WorkerPool.make({ module, size: 2, isolation, ...options })
  /** A test that needs shared memory or a transfer list, which only threads have. */
  const threadsOnly = isolation === "thread" ? it.live : it.live.skip

  it.live("a typed round trip, a typed error and a defect with the worker's stack", () =>
    Effect.gen(function* () {
      const pool = yield* makePool()
      assert.strictEqual(yield* pool.run(Square, 12), 144)
      const odd = yield* Effect.flip(pool.run(EvenOnly, 3))
      assert.instanceOf(odd, Odd)
      assert.strictEqual(odd._tag === "Odd" && odd.n, 3)
      const exit = yield* Effect.exit(pool.run(Boom, "kaboom"))
      assert.isTrue(Exit.isFailure(exit))
      const defect = Exit.isFailure(exit) ? Cause.squash(exit.cause) : undefined
      assert.instanceOf(defect, Error)
      assert.strictEqual((defect as Error).name, "RangeError")
      assert.strictEqual((defect as Error).message, "kaboom")
      assert.include((defect as Error).stack, "worker.ts")
      assert.strictEqual((yield* pool.stats).crashed, 0)
    })
  )

  it.live("schemas that transform their values encode and decode across the boundary", () =>
    Effect.gen(function* () {
      const pool = yield* makePool()
      const later = yield* pool.run(WhenDate, new Date(0))
      assert.instanceOf(later, Date)
      assert.strictEqual(later.getTime(), 1000)
    })
  )

  it.live("per-worker setup is a Layer provided to the handlers", () =>
    Effect.gen(function* () {
      const pool = yield* makePool()
      assert.strictEqual(yield* pool.run(Lookup, "answer"), 42)
      assert.strictEqual(yield* pool.run(Lookup, "missing"), -1)
    })
  )

  it.live("a payload that fails to decode is a typed error and the worker survives", () =>
    Effect.gen(function* () {
      const pool = yield* makePool({ size: 1 })
      const before = yield* pool.run(ThreadId, undefined)
      const error = yield* Effect.flip(pool.run(Square, "not a number" as unknown as number))
      assert.strictEqual(error._tag, "PayloadError")
      assert.strictEqual(error._tag === "PayloadError" && error.side, "worker")
      assert.strictEqual(yield* pool.run(ThreadId, undefined), before)
      assert.strictEqual(yield* pool.run(Square, 3), 9)
    })
  )

  it.live("a task the workers do not serve is a typed error", () =>
    Effect.gen(function* () {
      const pool = yield* makePool()
      assert.strictEqual((yield* Effect.flip(pool.run(Unserved, undefined)))._tag, "TaskNotServed")
    })
  )

  it.live("interrupting a caller interrupts a cooperative task without replacing its worker", () =>
    Effect.gen(function* () {
      const pool = yield* makePool({ size: 1 })
      const before = yield* pool.run(ThreadId, undefined)
      const fiber = yield* Effect.forkChild(pool.run(Sleep, 60_000))
      while ((yield* pool.stats).inflight === 0) yield* Effect.yieldNow
      yield* Fiber.interrupt(fiber)
      const stats = yield* pool.stats
      assert.strictEqual(stats.cancelled, 1)
      assert.strictEqual(stats.inflight, 0)
      assert.strictEqual(yield* pool.run(ThreadId, undefined), before)
    })
  )

  it.live("a synchronous loop is stopped by replacing its worker, which frees the core", () =>
    Effect.gen(function* () {
      // One worker, and a loop far longer than the test's timeout: the next task can only
      // run if interrupting the caller really stopped the loop.
      const pool = yield* makePool({ size: 1, cancelGracePeriod: "50 millis" })
      const before = yield* pool.run(ThreadId, undefined)
      const fiber = yield* Effect.forkChild(pool.run(Spin, 120_000))
      while ((yield* pool.stats).inflight === 0) yield* Effect.yieldNow
      yield* Fiber.interrupt(fiber)
      const after = yield* pool.run(ThreadId, undefined)
      assert.notStrictEqual(after, before)
      assert.strictEqual(yield* pool.run(Square, 5), 25)
    })
  )

  threadsOnly("a worker stopped for a stuck task fails the tasks that had started on it, never re-running them", () =>
    Effect.gen(function* () {
      const pool = yield* makePool({ size: 1, concurrentTasksPerWorker: 4, cancelGracePeriod: "50 millis" })
      const runs = new Int32Array(new SharedArrayBuffer(8))
      const tally = (index: number) => pool.run(Tally, { buffer: runs.buffer as SharedArrayBuffer, index, ms: 2000 })
      // Two async tasks start on the worker; then a synchronous loop blocks it past its timeout.
      const started = yield* Effect.forEach([0, 1], (i) => Effect.forkChild(Effect.flip(tally(i))))
      while ((yield* pool.stats).inflight < 2) yield* Effect.yieldNow
      const stuck = yield* Effect.flip(pool.run(Spin, 60_000, { timeout: "100 millis" }))
      assert.strictEqual(stuck._tag, "TaskTimeout")
      for (const fiber of started) {
        const error = yield* Fiber.join(fiber)
        assert.strictEqual(error._tag, "WorkerCrashed")
        assert.include(error.message, "not run again")
      }
      // Each ran exactly once: the replacement worker did not run them again.
      assert.deepStrictEqual(Array.from(runs), [1, 1])
      assert.strictEqual(yield* pool.run(Square, 3), 9)
    })
  )

  it.live("a timeout counts from the start, fails with TaskTimeout and cancels the task", () =>
    Effect.gen(function* () {
      const pool = yield* makePool({ size: 1, cancelGracePeriod: "50 millis" })
      const cooperative = yield* Effect.flip(pool.run(Sleep, 60_000, { timeout: "100 millis" }))
      assert.strictEqual(cooperative._tag, "TaskTimeout")
      assert.strictEqual(cooperative._tag === "TaskTimeout" && cooperative.timeoutMillis, 100)
      const blocking = yield* Effect.flip(pool.run(Spin, 120_000, { timeout: "100 millis" }))
      assert.strictEqual(blocking._tag, "TaskTimeout")
      assert.strictEqual(yield* pool.run(Square, 4), 16)
      // A short task well within its timeout is unaffected.
      assert.strictEqual(yield* pool.run(Sleep, 10, { timeout: "10 seconds" }), 10)
    })
  )

  it.live("crashes fail the in-flight task with WorkerCrashed; other workers carry on", () =>
    Effect.gen(function* () {
      const pool = yield* makePool({ concurrentTasksPerWorker: 1 })
      const bystander = yield* Effect.forkChild(pool.run(Sleep, 300))
      while ((yield* pool.stats).inflight === 0) yield* Effect.yieldNow
      const exited = errorOf(yield* Effect.exit(pool.run(Crash, "exit")))
      assert.strictEqual(exited?._tag, "WorkerCrashed")
      assert.strictEqual(exited?._tag === "WorkerCrashed" && exited.exitCode, 7)
      assert.strictEqual(yield* Fiber.join(bystander), 300)
      const thrown = errorOf(yield* Effect.exit(pool.run(Crash, "throw")))
      assert.strictEqual(thrown?._tag, "WorkerCrashed")
      assert.include(thrown?._tag === "WorkerCrashed" ? thrown.reason : "", "uncaught in worker")
      // The pool is back to full size and serves tasks.
      const results = yield* Effect.all([pool.run(Square, 2), pool.run(Square, 3)], { concurrency: 2 })
      assert.deepStrictEqual(results, [4, 9])
      const stats = yield* pool.stats
      assert.strictEqual(stats.size, 2)
      assert.strictEqual(stats.crashed, 2)
    })
  )

  it.live("running out of memory under resourceLimits is a WorkerCrashed", () =>
    Effect.gen(function* () {
      const pool = yield* makePool({ size: 1, resourceLimits: { maxOldGenerationSizeMb: 32 } })
      const error = errorOf(yield* Effect.exit(pool.run(Crash, "oom")))
      assert.strictEqual(error?._tag, "WorkerCrashed")
      assert.include(error?._tag === "WorkerCrashed" ? error.reason : "", "out of memory")
      assert.strictEqual(yield* pool.run(Square, 6), 36)
    })
  )

  it.live("a full queue fails with QueueFull, or waits for room", () =>
    Effect.gen(function* () {
      const failing = yield* makePool({ size: 1, concurrentTasksPerWorker: 1, maxQueue: 1, onQueueFull: "fail" })
      const running = yield* Effect.forkChild(failing.run(Sleep, 200))
      const queued = yield* Effect.forkChild(failing.run(Sleep, 1))
      while ((yield* failing.stats).queued === 0) yield* Effect.yieldNow
      const refused = yield* Effect.flip(failing.run(Square, 1))
      assert.strictEqual(refused._tag, "QueueFull")
      assert.deepStrictEqual([yield* Fiber.join(running), yield* Fiber.join(queued)], [200, 1])

      const waiting = yield* makePool({ size: 1, concurrentTasksPerWorker: 1, maxQueue: 1 })
      const all = yield* Effect.all([waiting.run(Sleep, 50), waiting.run(Sleep, 1), waiting.run(Square, 7)], {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual(all, [50, 1, 49])
    })
  )

  it.live("maxTasksPerWorker recycles workers", () =>
    Effect.gen(function* () {
      const pool = yield* makePool({ size: 1, maxTasksPerWorker: 2 })
      const ids = new Set<number>()
      for (let i = 0; i < 6; i++) ids.add(yield* pool.run(ThreadId, undefined))
      assert.strictEqual(ids.size, 3)
    })
  )

  it.live("map keeps the input order, with or without chunks; completion order holds the same results", () =>
    Effect.gen(function* () {
      const pool = yield* makePool()
      const inputs = Array.from({ length: 100 }, (_, i) => i)
      const squares = inputs.map((i) => i * i)
      assert.deepStrictEqual(yield* pool.map(Square, inputs), squares)
      assert.deepStrictEqual(yield* pool.map(Square, inputs, { chunkSize: 7 }), squares)
      assert.deepStrictEqual(yield* pool.map(Square, inputs, { chunkSize: "auto" }), squares)
      const unordered = yield* pool.map(Square, inputs, { chunkSize: 3, order: "completion" })
      assert.sameMembers(unordered, squares)
      const streamed = yield* Stream.runCollect(pool.mapStream(Square, inputs, { chunkSize: 10 }))
      assert.deepStrictEqual(Array.from(streamed), squares)
      const failed = yield* Effect.flip(pool.map(EvenOnly, [2, 4, 5, 6], { chunkSize: 2 }))
      assert.strictEqual(failed._tag, "Odd")
    })
  )

  it.live("tuple payloads make map a starmap", () =>
    Effect.gen(function* () {
      const pool = yield* makePool()
      assert.deepStrictEqual(
        yield* pool.map(Add, [
          [1, 2],
          [3, 4],
          [5, 6]
        ]),
        [3, 7, 11]
      )
    })
  )

  it.live("a pool with min and max grows under load and shrinks back after its idle time-to-live", () =>
    Effect.gen(function* () {
      const pool = yield* makePool({ size: { min: 1, max: 2, idleTimeToLive: "100 millis" }, spareWorkers: 0 })
      assert.strictEqual((yield* pool.stats).size, 1)
      // Three callers, each running one task after another, keep work queued however long the
      // second worker takes to start (a process on a loaded machine may take seconds).
      const load = yield* Effect.forkChild(
        Effect.all(
          Array.from({ length: 3 }, () => Effect.forever(pool.run(Sleep, 50))),
          { concurrency: "unbounded" }
        )
      )
      // Queued work makes the pool start a second worker, which takes a task once it is ready.
      let busy = 0
      while (busy < 2) {
        yield* Effect.sleep("5 millis") // a worker is starting: poll without spinning a core
        busy = (yield* pool.stats).workers.filter((w) => w.inflight > 0).length
      }
      assert.strictEqual((yield* pool.stats).size, 2)
      yield* Fiber.interrupt(load)
      // The pool's own timer retires the idle worker: poll its stats until it has.
      let size = 2
      for (let i = 0; i < 200 && size > 1; i++) {
        yield* Effect.sleep("10 millis")
        size = (yield* pool.stats).size
      }
      assert.strictEqual(size, 1)
    })
  )

  it.live('closing the scope with onClose: "finish" lets tasks in flight complete', () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const pool = yield* makePool({ size: 1, onClose: "finish" }).pipe(Scope.provide(scope))
      const task = yield* Effect.forkChild(pool.run(Sleep, 200))
      while ((yield* pool.stats).inflight === 0) yield* Effect.yieldNow
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual(yield* Fiber.join(task), 200)
      const refused = yield* Effect.flip(pool.run(Square, 1))
      assert.strictEqual(refused._tag, "WorkerPoolClosed")
    })
  )

  it.live("closing the scope interrupts tasks in flight, whose callers get WorkerPoolClosed", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const pool = yield* makePool({ size: 1 }).pipe(Scope.provide(scope))
      const task = yield* Effect.forkChild(Effect.flip(pool.run(Sleep, 60_000)))
      while ((yield* pool.stats).inflight === 0) yield* Effect.yieldNow
      yield* Scope.close(scope, Exit.void)
      const error = yield* Fiber.join(task)
      assert.strictEqual(error._tag, "WorkerPoolClosed")
    })
  )

  it.live("tasks are counted through Effect's Metric", () =>
    Effect.gen(function* () {
      const pool = yield* makePool()
      const before = yield* Metric.value(WorkerPool.metrics.succeeded)
      yield* pool.map(Square, [1, 2, 3])
      yield* Effect.flip(pool.run(EvenOnly, 1))
      const after = yield* Metric.value(WorkerPool.metrics.succeeded)
      assert.strictEqual(after.count - before.count, 3)
      assert.isAtLeast((yield* Metric.value(WorkerPool.metrics.failed)).count, 1)
      // Queue-wait and run-time histograms are kept per task, under the attribute `task`.
      const byTask = (metric: typeof WorkerPool.metrics.runTime, task: string) =>
        Metric.value(Metric.withAttributes(metric, { task }))
      assert.isAtLeast((yield* byTask(WorkerPool.metrics.runTime, "Square")).count, 3)
      assert.isAtLeast((yield* byTask(WorkerPool.metrics.runTime, "EvenOnly")).count, 1)
      assert.isAtLeast((yield* byTask(WorkerPool.metrics.waitTime, "Square")).count, 3)
      assert.strictEqual((yield* byTask(WorkerPool.metrics.waitTime, "NoSuchTask")).count, 0)
      const stats = yield* pool.stats
      assert.isAtLeast(stats.succeeded, 3)
      assert.strictEqual(stats.workers.length, 2)
    })
  )

  it.live("a streaming task delivers its items as a Stream", () =>
    Effect.gen(function* () {
      const pool = yield* makePool()
      const items = yield* Stream.runCollect(pool.stream(Count, 5))
      assert.deepStrictEqual(Array.from(items), ["item 1", "item 2", "item 3", "item 4", "item 5"])
      const firstTwo = yield* Stream.runCollect(Stream.take(pool.stream(Count, 1_000_000), 2))
      assert.deepStrictEqual(Array.from(firstTwo), ["item 1", "item 2"])
      assert.strictEqual((yield* pool.stats).inflight, 0)
    })
  )

  threadsOnly("transferred buffers move to the worker without a copy", () =>
    Effect.gen(function* () {
      const pool = yield* makePool()
      const bytes = new Uint8Array([1, 2, 3, 4])
      assert.strictEqual(yield* pool.run(ByteSum, bytes, { transfer: [bytes.buffer] }), 10)
      assert.strictEqual(bytes.byteLength, 0)
    })
  )

  threadsOnly("no worker thread outlives the pool's scope", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const pool = yield* makePool().pipe(Scope.provide(scope))
      const beats = new Int32Array(new SharedArrayBuffer(4))
      yield* Effect.all(
        [
          pool.run(Heartbeat, beats.buffer as SharedArrayBuffer),
          pool.run(Heartbeat, beats.buffer as SharedArrayBuffer)
        ],
        {
          concurrency: 2
        }
      )
      assert.strictEqual(yield* nextBeat(beats, 1000), "ok")
      yield* Scope.close(scope, Exit.void)
      // Every thread has exited, so nobody bumps the counter any more.
      assert.strictEqual(yield* nextBeat(beats, 200), "timed-out")
      assert.strictEqual((yield* pool.stats).size, 0)
    })
  )

  it.live("a module that is missing, throws or fails its setup fails make, typed, with the reason", () =>
    Effect.gen(function* () {
      const missing = yield* Effect.flip(
        WorkerPool.make({ module: new URL("./fixtures/missing.ts", import.meta.url), size: 1, isolation })
      )
      assert.strictEqual(missing._tag, "InvalidPoolOptions")
      assert.include(missing.message, "there is no file at")
      // A file URL with a host names no local file: typed too, not a thrown TypeError.
      const hosted = yield* Effect.flip(WorkerPool.make({ module: new URL("file://./worker.ts"), size: 1, isolation }))
      assert.strictEqual(hosted._tag, "InvalidPoolOptions")
      assert.include(hosted.message, 'e.g. new URL("./worker.ts", import.meta.url)')
      const throwing = yield* Effect.flip(
        WorkerPool.make({ module: new URL("./fixtures/throwing-worker.ts", import.meta.url), size: 1, isolation })
      )
      assert.strictEqual(throwing._tag, "WorkerSpawnError")
      assert.include(throwing.message, "this module failed while loading")
      const failingSetup = yield* Effect.flip(
        WorkerPool.make({ module: new URL("./fixtures/failing-layer-worker.ts", import.meta.url), size: 1, isolation })
      )
      assert.strictEqual(failingSetup._tag, "WorkerSpawnError")
      assert.include(failingSetup.message, "the lookup table could not be loaded")
      const invalid = yield* Effect.flip(WorkerPool.make({ module, size: 0 }))
      assert.strictEqual(invalid._tag, "InvalidPoolOptions")
    })
  )
})
