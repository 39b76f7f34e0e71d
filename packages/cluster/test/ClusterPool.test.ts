// The caller's and the runner's sides in one process, on Effect's in-memory TestRunner (which
// serializes every message as a remote runner would), forwarding to a real local worker pool.
import { assert, describe, it } from "@effect/vitest"
import { ClusterPool, ClusterRunner } from "@strand/cluster"
import { WorkerPool } from "@strand/platform-node"
import { Cause, Effect, Exit, Fiber, Layer, Option, Stream } from "effect"
import { TestRunner } from "effect/cluster"
import { Count, EvenOnly, NextDay, Odd, Shared, Sleep, Square, served, Unserved, Where } from "./fixtures/tasks.ts"

const module = new URL("./fixtures/worker.ts", import.meta.url)

/** The cluster's WorkerPool over TestRunner, its runner forwarding to `local`. */
const onTestRunner = (local: WorkerPool.Service, options?: ClusterPool.RoutingOptions) =>
  Layer.mergeAll(
    ClusterPool.layerOnSharding(options),
    ClusterRunner.layerOnSharding({ tasks: served }).pipe(Layer.provide(Layer.succeed(WorkerPool.WorkerPool)(local)))
  ).pipe(Layer.provide(TestRunner.layer))

/** Runs `program` against the cluster, with the runner's local pool at hand. */
const withCluster = <A, E>(
  program: (local: WorkerPool.Service) => Effect.Effect<A, E, WorkerPool.WorkerPool>,
  options?: ClusterPool.RoutingOptions
) =>
  Effect.scoped(
    Effect.gen(function* () {
      const local = yield* WorkerPool.make({ module, size: 2 })
      return yield* program(local).pipe(Effect.provide(onTestRunner(local, options)))
    })
  )

const errorOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined

/** One program, written against WorkerPool only. */
const program = Effect.gen(function* () {
  const one = yield* WorkerPool.run(Square, 12)
  const many = yield* WorkerPool.map(
    Square,
    Array.from({ length: 100 }, (_, i) => i)
  )
  const lazily = yield* Stream.runCollect(WorkerPool.mapStream(Square, Stream.range(1, 50)))
  const items = yield* Stream.runCollect(WorkerPool.stream(Count, 3))
  const typed = yield* Effect.flip(WorkerPool.run(EvenOnly, 3))
  const date = yield* WorkerPool.run(NextDay, new Date("2026-12-01T00:00:00Z"))
  const beforeFailure: Array<number> = []
  const failed = yield* WorkerPool.mapStream(EvenOnly, [2, 4, 6, 7, 8], { chunkSize: 2 }).pipe(
    Stream.runForEach((n) => Effect.sync(() => beforeFailure.push(n))),
    Effect.flip
  )
  return { one, many, lazily, items, typed, date: date.toISOString(), beforeFailure, failed }
})

describe("ClusterPool on TestRunner", () => {
  it.live("runs the same program as a local pool, with the same results and typed errors", () =>
    Effect.gen(function* () {
      const local = yield* Effect.scoped(program.pipe(Effect.provide(WorkerPool.layer({ module, size: 2 }))))
      const cluster = yield* withCluster(() => program)
      assert.deepStrictEqual(cluster, local)
      assert.strictEqual(cluster.one, 144)
      assert.deepStrictEqual(cluster.items, ["item 1", "item 2", "item 3"])
      assert.instanceOf(cluster.typed, Odd)
      assert.strictEqual(cluster.date, "2026-12-02T00:00:00.000Z")
      assert.deepStrictEqual(cluster.beforeFailure, [2, 4, 6])
      assert.deepStrictEqual(cluster.failed, new Odd({ n: 7 }))
    })
  )

  it.live("forwards every task to the runner's local worker threads, in chunks for a map", () =>
    withCluster((local) =>
      Effect.gen(function* () {
        const places = yield* WorkerPool.map(
          Where,
          Array.from({ length: 40 }, (_, i) => i)
        )
        assert.deepStrictEqual(
          places.map((place) => place.input),
          Array.from({ length: 40 }, (_, i) => i)
        )
        // Every task ran on one of the local pool's threads, none on this (the runner's) main thread.
        const threads = new Set(places.map((place) => place.threadId))
        assert.isFalse(threads.has(0))
        // The local pool counts messages: fewer than 40 means the inputs travelled in chunks.
        const stats = yield* local.stats
        assert.isAbove(stats.succeeded, 0)
        assert.isBelow(stats.succeeded, 40)
        const seen = yield* WorkerPool.stats
        assert.strictEqual(seen.succeeded, 40)
        assert.strictEqual(seen.inflight, 0)
      })
    )
  )

  it.live("stats count a chunk's results, its failure, and the inputs after it that never ran", () =>
    withCluster(() =>
      Effect.gen(function* () {
        const failed = yield* Effect.flip(WorkerPool.map(EvenOnly, [2, 4, 7, 8, 10], { chunkSize: 5 }))
        assert.deepStrictEqual(failed, new Odd({ n: 7 }))
        const stats = yield* WorkerPool.stats
        assert.deepInclude(stats, { started: 5, succeeded: 2, failed: 1, cancelled: 2, inflight: 0 })
      })
    )
  )

  it.live("an interrupted call stops its task on the runner's worker", () =>
    withCluster((local) =>
      Effect.gen(function* () {
        const fiber = yield* Effect.forkChild(WorkerPool.run(Sleep, 600_000))
        while ((yield* local.stats).inflight === 0) yield* Effect.sleep("5 millis")
        yield* Fiber.interrupt(fiber)
        while ((yield* local.stats).inflight > 0) yield* Effect.sleep("5 millis")
        const stats = yield* local.stats
        assert.strictEqual(stats.cancelled, 1)
        assert.strictEqual(stats.succeeded, 0)
        assert.strictEqual((yield* WorkerPool.stats).cancelled, 1)
      })
    )
  )

  it.live("a per-task timeout and an aborted signal fail with the pool's typed errors", () =>
    withCluster((local) =>
      Effect.gen(function* () {
        const late = yield* Effect.flip(WorkerPool.run(Sleep, 600_000, { timeout: "50 millis" }))
        assert.instanceOf(late, WorkerPool.TaskTimeout)
        const controller = new AbortController()
        const fiber = yield* Effect.forkChild(
          Effect.flip(WorkerPool.run(Sleep, 600_000, { signal: controller.signal }))
        )
        while ((yield* local.stats).inflight === 0) yield* Effect.sleep("5 millis")
        controller.abort(new Error("the user pressed stop"))
        const aborted = yield* Fiber.join(fiber)
        assert.instanceOf(aborted, WorkerPool.TaskAborted)
        assert.include(aborted.message, "the user pressed stop")
        while ((yield* local.stats).inflight > 0) yield* Effect.sleep("5 millis")
        assert.strictEqual((yield* local.stats).timedOut, 1)
      })
    )
  )

  it.live("what cannot cross machines fails with a typed error that says so", () =>
    withCluster(() =>
      Effect.gen(function* () {
        const transfer = yield* Effect.flip(WorkerPool.run(Square, 2, { transfer: [new ArrayBuffer(8)] }))
        assert.instanceOf(transfer, WorkerPool.InvalidPoolOptions)
        assert.include(transfer.message, "transfer")
        const shared = yield* Effect.flip(WorkerPool.run(Shared, new SharedArrayBuffer(8)))
        assert.instanceOf(shared, WorkerPool.PayloadError)
        assert.strictEqual((shared as WorkerPool.PayloadError).side, "caller")
        assert.include(shared.message, "crosses machines as JSON")
        const unserved = yield* Effect.flip(WorkerPool.run(Unserved, undefined))
        assert.instanceOf(unserved, WorkerPool.TaskNotServed)
        const badTimeout = yield* Effect.flip(WorkerPool.run(Square, 2, { timeout: -1 }))
        assert.instanceOf(badTimeout, WorkerPool.InvalidPoolOptions)
        const badChunk = yield* Effect.flip(WorkerPool.map(Square, [1], { chunkSize: 0 }))
        assert.instanceOf(badChunk, WorkerPool.InvalidPoolOptions)
      })
    )
  )

  it.live("a payload its schema rejects fails on the caller's side; the runner never sees it", () =>
    withCluster((local) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(WorkerPool.run(Square, "seven" as unknown as number))
        assert.instanceOf(error, WorkerPool.PayloadError)
        assert.strictEqual((yield* local.stats).started, 0)
      })
    )
  )

  it.live("tasks with one key go to one slot; a map spreads its chunks", () =>
    withCluster(
      () =>
        Effect.gen(function* () {
          const keyed = yield* Effect.forEach([1, 2, 3], (n) => WorkerPool.run(Square, n, { key: "customer-7" }))
          assert.deepStrictEqual(keyed, [1, 4, 9])
          const squares = yield* WorkerPool.map(
            Square,
            Array.from({ length: 1000 }, (_, i) => i),
            { order: "completion" }
          )
          assert.deepStrictEqual(
            [...squares].sort((a, b) => a - b),
            Array.from({ length: 1000 }, (_, i) => i * i)
          )
        }),
      { slots: 4 }
    )
  )

  it.live("bad routing options fail the layer with InvalidPoolOptions", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(
        Effect.scoped(Layer.build(ClusterPool.layerOnSharding({ slots: 0 }).pipe(Layer.provide(TestRunner.layer))))
      )
      assert.instanceOf(errorOf(exit), WorkerPool.InvalidPoolOptions)
      const runner = yield* Effect.exit(
        Effect.scoped(
          Layer.build(
            ClusterRunner.layerOnSharding({ tasks: [Square, Square] }).pipe(
              Layer.provide(TestRunner.layer),
              Layer.provide(Layer.succeed(WorkerPool.WorkerPool)({} as WorkerPool.Service))
            )
          )
        )
      )
      assert.include(String(errorOf(runner)?.message), "listed twice")
    })
  )
})
