// A new user's first mistakes: each fails only the effect that made it, with a message that says
// what to do. Nothing crashes the process and nothing hangs. Real worker threads throughout.
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inspect } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import { WorkerPool } from "@strand/platform-node"
import { Effect, Exit, Fiber, Logger, Schema, Scope } from "effect"
import { Crash, Greeting, Sleep, SleepOnThread, Square, ThrowLater } from "./fixtures/tasks.ts"

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url)
const module = fixture("misbehaving-worker.ts")
const config = [Greeting.value({ text: "Hello", times: 1 })]

/** The `InvalidPoolOptions` that `make` fails with for these options (no worker is started). */
const invalid = (options: Record<string, unknown>) =>
  Effect.flip(WorkerPool.make({ module, ...options } as unknown as WorkerPool.Options)).pipe(
    Effect.map((error) => {
      assert.strictEqual(error._tag, "InvalidPoolOptions")
      return error as WorkerPool.InvalidPoolOptions
    })
  )

// Starting workers goes the same way for threads and for processes.
describe.each(["thread", "process"] as const)("first contact: starting workers (%s)", (isolation) => {
  it.live("a module that never calls WorkerRunner.launch fails make after startupTimeout, saying so", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        WorkerPool.make({ isolation, module: fixture("silent-worker.ts"), size: 1, startupTimeout: "300 millis" })
      )
      assert.strictEqual(error._tag, "WorkerSpawnError")
      assert.include(error.message, "silent-worker.ts")
      assert.include(error.message, "did not report ready within 0.3 s")
      assert.include(error.message, "WorkerRunner.launch")
    })
  )

  it.live("a replacement that never starts fails the waiting tasks, typed, and shows in stats", () =>
    Effect.gen(function* () {
      const starts = join(mkdtempSync(join(tmpdir(), "strand-")), "starts")
      const pool = yield* WorkerPool.make({
        isolation,
        module: fixture("flaky-start-worker.ts"),
        size: 1,
        spareWorkers: 0,
        // Long enough for a real start on a busy machine; the replacement never reports ready.
        startupTimeout: "6 seconds",
        env: { STRAND_STARTS_FILE: starts, STRAND_STARTS_ALLOWED: "1" }
      })
      assert.strictEqual(yield* pool.run(Square, 2), 4)
      assert.strictEqual((yield* Effect.flip(pool.run(Crash, "exit")))._tag, "WorkerCrashed")
      const waiting = yield* Effect.flip(pool.run(Square, 3))
      assert.strictEqual(waiting._tag, "WorkerSpawnError")
      assert.include(waiting.message, "WorkerRunner.launch")
      assert.isAtLeast((yield* pool.stats).startFailures, 1)
    })
  )

  it.live("with the default spare, a replacement spare that never starts leaves the tasks to the promoted one", () =>
    Effect.gen(function* () {
      const starts = join(mkdtempSync(join(tmpdir(), "strand-")), "starts")
      const pool = yield* WorkerPool.make({
        isolation,
        module: fixture("flaky-start-worker.ts"),
        size: 1,
        startupTimeout: "6 seconds",
        // The worker and its spare start; every later start stays silent.
        env: { STRAND_STARTS_FILE: starts, STRAND_STARTS_ALLOWED: "2" }
      })
      assert.strictEqual((yield* Effect.flip(pool.run(Crash, "exit")))._tag, "WorkerCrashed")
      assert.strictEqual(yield* pool.run(Square, 3), 9) // on the promoted spare
      while ((yield* pool.stats).startFailures === 0) yield* Effect.sleep("100 millis")
      assert.strictEqual(yield* pool.run(Square, 4), 16)
    })
  )

  it.live("a Layer that fails with a typed error carries its reason into WorkerSpawnError", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        WorkerPool.make({ isolation, module: fixture("typed-failing-layer-worker.ts"), size: 1 })
      )
      assert.strictEqual(error._tag, "WorkerSpawnError")
      assert.include(error.message, "DbUnreachable")
      assert.include(error.message, "postgres://nowhere")
      assert.notInclude(error.message, "undefined: undefined")
    })
  )

  it.live("min/max sizing works with the default spare worker: from zero, and growing under load", () =>
    Effect.gen(function* () {
      const fromZero = yield* WorkerPool.make({ isolation, module, config, size: { min: 0, max: 2 } })
      assert.strictEqual(yield* fromZero.run(Square, 4), 16)

      const growing = yield* WorkerPool.make({ isolation, module, config, size: { min: 1, max: 3 } })
      // Proven without a clock: tasks that sleep inside the worker ran on different threads at once.
      const runs = yield* Effect.all(
        Array.from({ length: 6 }, () => growing.run(SleepOnThread, 300)),
        { concurrency: "unbounded" }
      )
      const threads = new Set(runs.map((r) => r.threadId))
      assert.isAtLeast(threads.size, 2)
      const overlapping = runs.some((a) =>
        runs.some((b) => a.threadId !== b.threadId && a.start < b.end && b.start < a.end)
      )
      assert.isTrue(overlapping)
    })
  )

  it.live("size: n runs n workers and one spare; spareWorkers: 0 runs exactly n", () =>
    Effect.gen(function* () {
      const withSpare = yield* (yield* WorkerPool.make({ isolation, module, config, size: 2 })).stats
      assert.deepStrictEqual([withSpare.size, withSpare.spares], [2, 1])
      const exact = yield* (yield* WorkerPool.make({ isolation, module, config, size: 2, spareWorkers: 0 })).stats
      assert.deepStrictEqual([exact.size, exact.spares], [2, 0])
    })
  )
})

describe("first contact", () => {
  it.live("every option error names the option as written and shows the value given", () =>
    Effect.gen(function* () {
      const cases: Array<[Record<string, unknown>, string, string]> = [
        [{ size: -1 }, "size", "-1"],
        [{ size: "2" }, "size", '"2"'],
        [{ size: 2.5 }, "size", "2.5"],
        [{ size: { min: 3, max: 2 } }, "size.max", "2"],
        [{ size: { min: 0, max: 2, idleTimeToLive: -1 } }, "size.idleTimeToLive", "-1"],
        [{ onQueueFull: "bogus" }, "onQueueFull", '"bogus"'],
        [{ onClose: "bogus" }, "onClose", '"bogus"'],
        [{ resourceLimits: 0 }, "resourceLimits", "0"],
        [{ resourceLimits: { maxOldGenerationSizeMb: 16 } }, "resourceLimits.maxOldGenerationSizeMb", "16"],
        [{ cancelGracePeriod: "banana" }, "cancelGracePeriod", '"banana"'],
        [{ startupTimeout: 0 }, "startupTimeout", "0"],
        [{ maxQueue: Number.NaN }, "maxQueue", "null"],
        [{ onQueuFull: "fail" }, "onQueuFull", '"fail"'],
        [{ module: "./worker.ts" }, "module", '"./worker.ts"'],
        [{ module: "/no/such/worker.ts" }, "module", '"/no/such/worker.ts"']
      ]
      for (const [options, option, value] of cases) {
        const error = yield* invalid(options)
        assert.strictEqual(error.option, option, JSON.stringify(options))
        assert.strictEqual(error.value, value, JSON.stringify(options))
      }
      assert.include((yield* invalid({ module: "./worker.ts" })).message, 'new URL("./worker.ts", import.meta.url)')
      assert.include((yield* invalid({ resourceLimits: { maxOldGenerationSizeMb: 16 } })).message, "at least 24")
    })
  )

  const optionKeys = [
    "size",
    "maxTasksPerWorker",
    "resourceLimits",
    "maxQueue",
    "onQueueFull",
    "concurrentTasksPerWorker",
    "spareWorkers",
    "cancelGracePeriod",
    "onClose",
    "closeTimeout",
    "startupTimeout",
    "execArgv",
    "argv",
    "env",
    "config"
  ] as const
  const anyValue = Schema.Union([
    Schema.Number,
    Schema.String,
    Schema.Boolean,
    Schema.Null,
    Schema.Undefined,
    Schema.Literals(["auto", "wait", "fail", "finish", "interrupt", "5 seconds", "banana"]),
    Schema.Array(Schema.Union([Schema.Number, Schema.String])),
    Schema.Record(Schema.String, Schema.Union([Schema.Number, Schema.String])),
    Schema.Struct({ min: Schema.Number, max: Schema.Number, idleTimeToLive: Schema.Unknown })
  ])

  it.prop(
    "fuzzed options end in a config or in InvalidPoolOptions naming that option, never a throw",
    { key: Schema.Literals(optionKeys), value: anyValue },
    ({ key, value }) => {
      const exit = Effect.runSyncExit(
        WorkerPool.checkOptions({ module, [key]: value } as unknown as WorkerPool.Options)
      )
      if (Exit.isSuccess(exit)) return
      assert.isTrue(
        exit.cause.reasons.every((r) => r._tag === "Fail"),
        `a defect, not a typed error, for ${key}`
      )
      const error = (exit.cause.reasons[0] as { error: WorkerPool.InvalidPoolOptions }).error
      assert.strictEqual(error._tag, "InvalidPoolOptions")
      assert.isTrue(error.option.startsWith(key), `${error.option} for ${key}`)
    },
    { arbitrary: { runs: 3000 } }
  )

  it.effect("edge values of every option are refused with InvalidPoolOptions naming it", () =>
    Effect.sync(() => {
      const edges = [Number.NaN, Number.NEGATIVE_INFINITY, -1, 2.5, "2", "banana", {}, () => 1, Symbol("s")]
      for (const key of optionKeys) {
        for (const value of edges) {
          const exit = Effect.runSyncExit(
            WorkerPool.checkOptions({ module, [key]: value } as unknown as WorkerPool.Options)
          )
          if (Exit.isSuccess(exit)) continue
          const reason = exit.cause.reasons[0] as { _tag: string; error: WorkerPool.InvalidPoolOptions }
          assert.strictEqual(reason._tag, "Fail", `${key} = ${String(value)}`)
          assert.isTrue(reason.error.option.startsWith(key), `${reason.error.option} for ${key}`)
        }
      }
    })
  )

  it.effect("keys an object inherits are not limits: resourceLimits { toString }, { constructor } are refused", () =>
    Effect.sync(() => {
      for (const limits of [{ toString: 64 }, { constructor: 64 }, JSON.parse('{"__proto__": 64}')]) {
        const key = Object.keys(limits)[0]!
        const exit = Effect.runSyncExit(WorkerPool.checkOptions({ module, resourceLimits: limits }))
        if (Exit.isSuccess(exit)) return assert.fail(`resourceLimits.${key} was accepted`)
        const reason = exit.cause.reasons[0] as { _tag: string; error?: WorkerPool.InvalidPoolOptions }
        assert.strictEqual(reason._tag, "Fail", `resourceLimits.${key} is a typed error, not a defect`)
        assert.strictEqual(reason.error?.option, `resourceLimits.${key}`)
      }
    })
  )

  it.live("an invalid duration on a call fails that call at once", () =>
    Effect.gen(function* () {
      const pool = yield* WorkerPool.make({ module, config, size: 1, spareWorkers: 0 })
      const error = yield* Effect.flip(pool.run(Square, 2, { timeout: "banana" as never }))
      assert.strictEqual(error._tag, "InvalidPoolOptions")
      assert.include(error.message, "timeout")
      assert.strictEqual(yield* pool.run(Square, 2), 4)
    })
  )

  it.effect("errors show their advice where people look: console.log and the message", () =>
    Effect.gen(function* () {
      const error = yield* invalid({ size: -1 })
      assert.isTrue(WorkerPool.isWorkerPoolError(error))
      assert.isFalse(WorkerPool.isWorkerPoolError(new Error("size")))
      const printed = inspect(error)
      assert.include(printed, "Fix the option")
      assert.include(printed, "size")
    })
  )

  it.live("maxQueue admits as many tasks on a cold pool as on a warm one", () =>
    Effect.gen(function* () {
      const options = {
        module,
        config,
        size: { min: 0, max: 1 },
        concurrentTasksPerWorker: 1,
        maxQueue: 2,
        onQueueFull: "fail"
      } as const
      // Truly cold (no spare: the first task waits for a thread to start), and with the default spare.
      for (const [warm, spareWorkers] of [
        [false, 0],
        [true, 0],
        [false, 1],
        [true, 1]
      ] as const) {
        const pool = yield* WorkerPool.make({ ...options, spareWorkers })
        if (warm) yield* pool.run(Square, 1)
        const admitted = yield* Effect.forkChild(
          Effect.all([pool.run(Sleep, 100), pool.run(Sleep, 100), pool.run(Sleep, 100)], { concurrency: "unbounded" })
        )
        while ((yield* pool.stats).queued + (yield* pool.stats).inflight < 3) yield* Effect.yieldNow
        const refused = yield* Effect.flip(pool.run(Square, 2))
        assert.strictEqual(refused._tag, "QueueFull", `${warm ? "warm" : "cold"}, ${spareWorkers} spare`)
        assert.deepStrictEqual(yield* Fiber.join(admitted), [100, 100, 100])
      }
    })
  )

  it.live('onClose: "finish" with closeTimeout interrupts what still runs after the bound', () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const pool = yield* WorkerPool.make({
        module,
        config,
        size: 1,
        onClose: "finish",
        closeTimeout: "100 millis"
      }).pipe(Scope.provide(scope))
      const task = yield* Effect.forkChild(Effect.flip(pool.run(Sleep, 60_000)))
      while ((yield* pool.stats).inflight === 0) yield* Effect.yieldNow
      yield* Scope.close(scope, Exit.void)
      assert.strictEqual((yield* Fiber.join(task))._tag, "WorkerPoolClosed")
    })
  )

  it.live("a worker that crashes between tasks is logged with its id and reason", () =>
    Effect.gen(function* () {
      const lines: Array<string> = []
      const capture = Logger.make((options) => lines.push(String(options.message)))
      yield* Effect.gen(function* () {
        const pool = yield* WorkerPool.make({ module, config, size: 1 })
        yield* pool.run(ThrowLater, "late failure")
        while ((yield* pool.stats).crashed === 0) yield* Effect.sleep("10 millis")
        assert.strictEqual(yield* pool.run(Square, 3), 9)
      }).pipe(Effect.provide(Logger.layer([capture])))
      const line = lines.find((l) => l.includes("crashed between tasks"))
      assert.isDefined(line)
      assert.include(line, "late failure")
      assert.match(line!, /worker #\d+/)
    })
  )
})
