// The pool inside a long-running service: streams under back-pressure, streams that share their
// worker, no task stuck behind a long one, refusals and time-outs counted. Real worker threads.
import { availableParallelism } from "node:os"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { assert, describe, it } from "@effect/vitest"
import { WorkerPool } from "@strand/platform-node"
import { Effect, Exit, Fiber, Metric, Scope, Stream } from "effect"
import {
  Add,
  Beacon,
  ByteSum,
  Churn,
  Crash,
  Heartbeat,
  Produce,
  Sleep,
  Spin,
  Square,
  Tally,
  ThreadId,
  WatchSeats
} from "./fixtures/tasks.ts"

const module = new URL("./fixtures/worker.ts", import.meta.url)

/** A full garbage collection, through V8's `gc`, exposed for this process without a command-line flag. */
const collectGarbage = (() => {
  setFlagsFromString("--expose-gc")
  return runInNewContext("gc") as () => void
})()

/** Opens `stream` and pulls from it until at least `n` items have come; returns how many did, and the pull. */
const pullAtLeast = <A, E>(stream: Stream.Stream<A, E>, n: number) =>
  Effect.gen(function* () {
    const pull = yield* Stream.toPull(stream)
    const items: Array<A> = []
    while (items.length < n) items.push(...(yield* pull))
    return items
  })

describe("scheduling", () => {
  it.live("a slow consumer holds back a worker's stream: it runs at most bufferSize items ahead", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const pool = yield* WorkerPool.make({ module, size: 1 })
        const counter = new SharedArrayBuffer(4)
        const made = () => Atomics.load(new Int32Array(counter), 0)
        const bufferSize = 64
        // A million items, of which the consumer takes a few and then stops pulling.
        const consumer = yield* Scope.make()
        const pulled = yield* pullAtLeast(pool.stream(Produce, { counter, count: 1_000_000 }, { bufferSize }), 10).pipe(
          Scope.provide(consumer)
        )
        // Tasks on the same worker let its stream run as far as it may; wait until it stands still.
        let last = -1
        for (let i = 0; i < 200 && made() !== last; i++) {
          last = made()
          yield* pool.run(Square, i)
        }
        assert.strictEqual(made(), last, "the producer stood still")
        // Room for bufferSize items, plus one per item pulled, plus the one it made before it waited.
        assert.isAtMost(made(), bufferSize + pulled.length + 1)
        assert.isAtLeast(made(), pulled.length)
        // Closing the consumer interrupts the producer where it waits for room: the task ends
        // cancelled, nothing stays in flight, and the worker serves the next task.
        const cancelled = (yield* pool.stats).cancelled
        yield* Scope.close(consumer, Exit.void)
        const after = yield* pool.stats
        assert.strictEqual(after.inflight, 0)
        assert.strictEqual(after.cancelled, cancelled + 1)
        assert.strictEqual(yield* pool.run(Square, 5), 25)
      })
    )
  )

  it.live("mapStream's output waits for a slow consumer: it reads a bounded number of inputs ahead", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const pool = yield* WorkerPool.make({ module, size: 2 })
        let read = 0
        function* naturals() {
          for (let i = 0; ; i++) {
            read++
            yield i
          }
        }
        // An endless input, of which the consumer takes a few results and then stops pulling.
        const pulled = yield* pullAtLeast(pool.mapStream(Square, naturals(), { chunkSize: 4 }), 10)
        let last = -1
        for (let i = 0; i < 200 && read !== last; i++) {
          last = read
          yield* pool.run(Square, i)
        }
        assert.strictEqual(read, last, "the input stood still")
        // Four chunks per worker in flight, plus the stream's own buffers: a structural bound.
        assert.isAtMost(read, pulled.length + 4 * 2 * 4 * 4)
      })
    )
  )

  it.live("the consumer gets every item in order, whatever the buffer size", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const pool = yield* WorkerPool.make({ module, size: 1 })
        for (const bufferSize of [1, 2, 7, 1024]) {
          const counter = new SharedArrayBuffer(4)
          const items = yield* Stream.runCollect(pool.stream(Produce, { counter, count: 2_000 }, { bufferSize }))
          assert.deepStrictEqual(
            items,
            Array.from({ length: 2_000 }, (_, i) => i),
            `bufferSize ${bufferSize}`
          )
        }
        for (const bufferSize of [0, -1, 1.5, Number.NaN, "8"]) {
          const error = yield* Effect.flip(
            Stream.runCollect(pool.stream(Beacon, undefined, { bufferSize } as unknown as WorkerPool.StreamOptions))
          )
          assert.strictEqual(error._tag, "InvalidPoolOptions", String(bufferSize))
          assert.include(error.message, "bufferSize")
        }
      })
    )
  )

  // A worker process reports its own event loop while it has streams in flight (a thread's is read
  // by the pool): both modes share their workers the same way.
  for (const [size, isolation] of [
    [1, "thread"],
    [2, "thread"],
    [1, "process"],
    [2, "process"]
  ] as const) {
    it.live(
      `with the default options, a task runs at once beside live streams that wait (size ${size}, ${isolation})`,
      () =>
        Effect.scoped(
          Effect.gen(function* () {
            const pool = yield* WorkerPool.make({ module, size, isolation })
            // One idle live stream per worker, each opened and started.
            for (let i = 0; i < size; i++) yield* pullAtLeast(pool.stream(Beacon, undefined), 1)
            assert.strictEqual(yield* pool.run(Add, [1, 2]), 3)
            const stats = yield* pool.stats
            assert.strictEqual(stats.inflight, size, "the streams are still live")
          })
        )
    )
  }

  for (const isolation of ["thread", "process"] as const) {
    it.live(`a stream that computes keeps its worker busy: a task goes to the other worker (${isolation})`, () =>
      Effect.scoped(
        Effect.gen(function* () {
          const pool = yield* WorkerPool.make({ module, size: 2, isolation })
          // The busy stream goes to the first worker; an idle one to the second.
          const busy = yield* pullAtLeast(pool.stream(Churn, 20), 3)
          const idle = yield* pullAtLeast(pool.stream(Beacon, undefined), 1)
          assert.notStrictEqual(busy[0], idle[0])
          for (let i = 0; i < 3; i++) {
            assert.strictEqual(yield* pool.run(ThreadId, undefined), idle[0], "not beside the busy stream")
          }
        })
      )
    )
  }

  it.live("short tasks do not wait behind a long one under the defaults: they move to an idle worker", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const pool = yield* WorkerPool.make({ module, size: 2 })
        // Learn that Spin is cheap, so the pool pipelines it several to a worker.
        for (let i = 0; i < 200; i++) yield* pool.run(Spin, 0)
        const order: Array<string> = []
        const tasks = [
          ["long", 1500],
          ["medium", 100],
          ...Array.from({ length: 6 }, (_, i) => [`short ${i}`, 1] as const)
        ] as const
        yield* Effect.forEach(
          tasks,
          ([name, ms]) => Effect.andThen(pool.run(Spin, ms), () => Effect.sync(() => order.push(name))),
          { concurrency: "unbounded" }
        )
        assert.strictEqual(order.at(-1), "long", order.join(", "))
      })
    )
  )

  it.live("tasks sent behind one that crashes its worker, and not started, run once on the replacement", () =>
    Effect.scoped(
      Effect.gen(function* () {
        // Four to a worker: the crash and three tasks go out in one message.
        const pool = yield* WorkerPool.make({ module, size: 1, concurrentTasksPerWorker: 4 })
        const runs = new SharedArrayBuffer(12)
        const [crash, ...tallies] = yield* Effect.all(
          [
            Effect.exit(pool.run(Crash, "exit")),
            ...[0, 1, 2].map((index) => Effect.exit(pool.run(Tally, { buffer: runs, index, ms: 0 })))
          ],
          { concurrency: "unbounded" }
        )
        assert.strictEqual(
          Exit.isFailure(crash) && Exit.findErrorOption(crash).pipe((e) => e._tag === "Some" && e.value._tag),
          "WorkerCrashed"
        )
        assert.deepStrictEqual(
          tallies.map((exit) => (Exit.isSuccess(exit) ? exit.value : "failed")),
          [1, 1, 1]
        )
        assert.deepStrictEqual(Array.from(new Int32Array(runs)), [1, 1, 1], "each ran exactly once")
        assert.strictEqual((yield* pool.stats).crashed, 1)
      })
    )
  )

  it.live("a task whose buffers were moved to a worker that crashes is not sent again: WorkerCrashed says why", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const pool = yield* WorkerPool.make({ module, size: 1, concurrentTasksPerWorker: 4 })
        const bytes = new Uint8Array([1, 2, 3, 4])
        const [, moved, copied] = yield* Effect.all(
          [
            Effect.exit(pool.run(Crash, "exit")),
            Effect.exit(pool.run(ByteSum, bytes, { transfer: [bytes.buffer] })),
            Effect.exit(pool.run(ByteSum, new Uint8Array([5, 5])))
          ],
          { concurrency: "unbounded" }
        )
        // Sending it again would send a detached buffer: it failed as a PayloadError that blamed the caller.
        const error = Exit.isFailure(moved) ? Exit.findErrorOption(moved) : undefined
        assert.strictEqual(error?._tag === "Some" && error.value._tag, "WorkerCrashed")
        assert.include(error?._tag === "Some" ? (error.value as { reason: string }).reason : "", "transfer option")
        // A copied payload never ran either, so it runs on the replacement.
        assert.deepStrictEqual(copied, Exit.succeed(10))
      })
    )
  )

  it.live("a queued task that is cancelled lets go of its payload at once, before the queue drops it", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const pool = yield* WorkerPool.make({ module, size: 1 })
        // The only worker sleeps; a task queued before ours keeps ours inside the queue,
        // which drops a cancelled task only when it reaches it.
        const sleeping = yield* Effect.forkChild(pool.run(Sleep, 60_000))
        const ahead = yield* Effect.forkChild(pool.run(Sleep, 1))
        let payload: Uint8Array | undefined = new Uint8Array(1 << 20)
        const weak = new WeakRef(payload)
        const cancelled = yield* Effect.forkChild(pool.run(ByteSum, payload))
        payload = undefined
        while ((yield* pool.stats).queued < 2) yield* Effect.yieldNow
        yield* Fiber.interrupt(cancelled)
        assert.strictEqual((yield* pool.stats).queued, 1)
        // A WeakRef holds its target until the end of the turn that made it or last read it.
        yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
        collectGarbage()
        assert.isUndefined(weak.deref(), "the cancelled task's payload was freed")
        yield* Fiber.interrupt(ahead)
        yield* Fiber.interrupt(sleeping)
      })
    )
  )

  it.live("refusals and time-outs are counted in stats and in the metrics", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const refusedBefore = (yield* Metric.value(WorkerPool.metrics.refused)).count
        const timedOutBefore = (yield* Metric.value(WorkerPool.metrics.timedOut)).count
        const pool = yield* WorkerPool.make({ module, size: 1, maxQueue: 2, onQueueFull: "fail" })
        const exits = yield* Effect.forEach(
          Array.from({ length: 50 }, () => 50),
          (ms) => Effect.exit(pool.run(Sleep, ms)),
          { concurrency: "unbounded" }
        )
        const refused = exits.filter(
          (exit) =>
            Exit.isFailure(exit) &&
            Exit.findErrorOption(exit).pipe((e) => e._tag === "Some" && e.value._tag === "QueueFull")
        ).length
        assert.isAtLeast(refused, 40)
        const timeout = yield* Effect.flip(pool.run(Sleep, 5_000, { timeout: "20 millis" }))
        assert.strictEqual(timeout._tag, "TaskTimeout")
        const stats = yield* pool.stats
        assert.strictEqual(stats.refused, refused)
        assert.strictEqual(stats.timedOut, 1)
        assert.strictEqual(stats.succeeded, 50 - refused)
        assert.strictEqual((yield* Metric.value(WorkerPool.metrics.refused)).count - refusedBefore, refused)
        assert.strictEqual((yield* Metric.value(WorkerPool.metrics.timedOut)).count - timedOutBefore, 1)
      })
    )
  )

  describe("an idle worker thread lingers for its next task", () => {
    /** White-box: the process's linger seats (see internal/transport/linger.ts), each 0 or a thread id plus one. */
    const seats = (globalThis as Record<symbol, Int32Array | undefined>)[
      Symbol.for("@strand/platform-node/linger-seats")
    ]!
    /** White-box: each worker thread's activity, in slot threadId % 64: -1 while busy, else when it went idle. */
    const activity = (globalThis as Record<symbol, Int32Array | undefined>)[
      Symbol.for("@strand/platform-node/linger-activity")
    ]!
    const threadIds = (pool: WorkerPool.Service) => Effect.map(pool.stats, (s) => s.workers.map((w) => w.threadId))
    /** Watches the seats from a thread of a pool that does not linger, so that it does not count as active. */
    const watchSeats = Effect.gen(function* () {
      const watcherPool = yield* WorkerPool.make({ module, size: 1, linger: false })
      const stop = new SharedArrayBuffer(4)
      const watcher = yield* Effect.forkChild(
        watcherPool.run(WatchSeats, { seats: seats.buffer as SharedArrayBuffer, stop })
      )
      return {
        watcher,
        /** Stops watching; the thread id plus one of the first seat holder seen, or 0. */
        held: Effect.suspend(() => {
          Atomics.store(new Int32Array(stop), 0, 1)
          return Fiber.join(watcher)
        })
      }
    })
    /** Runs `body` with `count` slots of `activity` that the pools' threads do not use marked busy, as if other workers were. */
    const withOthersBusy = <A, E, R>(
      pools: ReadonlyArray<WorkerPool.Service>,
      count: number,
      body: Effect.Effect<A, E, R>
    ) =>
      Effect.gen(function* () {
        const own = new Set((yield* Effect.forEach(pools, threadIds)).flat().map((id) => id % 64))
        const fake = Array.from({ length: 64 }, (_, i) => 63 - i)
          .filter((i) => !own.has(i))
          .slice(0, count)
        return yield* Effect.ensuring(
          Effect.suspend(() => {
            for (const i of fake) Atomics.store(activity, i, -1)
            return body
          }),
          Effect.sync(() => {
            for (const i of fake) Atomics.store(activity, i, 0)
          })
        )
      })

    it.live("alone, it spins in one of the process's seats, which number one fewer than the cores", () =>
      Effect.scoped(
        Effect.gen(function* () {
          assert.strictEqual(seats.length, Math.min(64, availableParallelism() - 1))
          if (seats.length === 0) return // One core: no thread lingers, and the tests below show nothing.
          const pool = yield* WorkerPool.make({ module, size: 1 })
          const { watcher, held } = yield* watchSeats
          for (let i = 0; i < 20_000 && watcher.pollUnsafe() === undefined; i++) yield* pool.run(Square, i)
          assert.include(yield* threadIds(pool), (yield* held) - 1, "the pool's worker held a seat")
        })
      )
    )

    it.live("while as many other workers are busy as there are seats, it takes none, and its tasks run", () =>
      Effect.scoped(
        Effect.gen(function* () {
          if (seats.length === 0) return
          const pool = yield* WorkerPool.make({ module, size: 1 })
          const { held } = yield* watchSeats
          yield* withOthersBusy(
            [pool],
            seats.length,
            Effect.gen(function* () {
              for (let i = 0; i < 3_000; i++) assert.strictEqual(yield* pool.run(Square, i), i * i)
            })
          )
          assert.strictEqual(yield* held, 0, "no seat was taken")
        })
      )
    )

    it.live("a worker whose task only waits does not count as busy: another still spins in a seat", () =>
      Effect.scoped(
        Effect.gen(function* () {
          if (seats.length === 0) return
          const waiting = yield* WorkerPool.make({ module, size: 1 })
          const pool = yield* WorkerPool.make({ module, size: 1 })
          // A task that sleeps 60 s on its worker's timer: in flight, and idle.
          yield* Effect.forkScoped(waiting.run(Sleep, 60_000))
          const { watcher, held } = yield* watchSeats
          // Other workers busy in all seats but one: one more busy worker would leave no seat to spin in.
          yield* withOthersBusy(
            [pool, waiting],
            seats.length - 1,
            Effect.gen(function* () {
              for (let i = 0; i < 20_000 && watcher.pollUnsafe() === undefined; i++) yield* pool.run(Square, i)
            })
          )
          assert.include(yield* threadIds(pool), (yield* held) - 1, "the other pool's worker held a seat")
        })
      )
    )

    it.live("it sleeps on its bell for a bounded time: the worker's own timers keep running while it waits", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const pool = yield* WorkerPool.make({ module, size: 1 })
          const beats = new Int32Array(new SharedArrayBuffer(4))
          const beatsAfter = (count: number) =>
            Effect.promise(() => {
              const seen = Atomics.load(beats, 0)
              return (async () => {
                // Woken on every beat; bounded so that a worker that never beats again fails the test, not hangs it.
                for (let tries = 0; tries < 200 && Atomics.load(beats, 0) < seen + count; tries++) {
                  await Atomics.waitAsync(beats, 0, Atomics.load(beats, 0), 50).value
                }
                return Atomics.load(beats, 0) - seen
              })()
            })
          yield* withOthersBusy(
            [pool],
            Math.max(1, seats.length),
            Effect.gen(function* () {
              // An interval of 5 ms in the worker, which then has nothing in flight.
              yield* pool.run(Heartbeat, beats.buffer as SharedArrayBuffer)
              assert.isAtLeast(yield* beatsAfter(3), 3, "the idle worker's interval kept firing")
              // And between tasks sent one at a time, each of which finds it sleeping on its bell.
              for (let i = 0; i < 200; i++) yield* pool.run(Square, i)
              assert.isAtLeast(yield* beatsAfter(3), 3, "the interval still fires between tasks")
            })
          )
        })
      )
    )

    it.live("tasks that it takes at once, without its event loop, leave its own timers a turn", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const pool = yield* WorkerPool.make({ module, size: 1 })
          const beats = new Int32Array(new SharedArrayBuffer(4))
          yield* pool.run(Heartbeat, beats.buffer as SharedArrayBuffer)
          // Each task rings while the worker lingers, which takes it at once; the interval of 5 ms must still fire.
          const before = Atomics.load(beats, 0)
          for (let i = 0; i < 50_000 && Atomics.load(beats, 0) < before + 3; i++) yield* pool.run(Square, i)
          assert.isAtLeast(Atomics.load(beats, 0) - before, 3, "the interval fired while tasks kept coming")
        })
      )
    )

    it.live("not with linger: false, and not while every seat is taken; its tasks run all the same", () =>
      Effect.scoped(
        Effect.gen(function* () {
          const quiet = yield* WorkerPool.make({ module, size: 1, linger: false })
          const busy = yield* WorkerPool.make({ module, size: 1 })
          const ids = [...(yield* threadIds(quiet)), ...(yield* threadIds(busy))]
          const taken = Array.from(seats, () => -1)
          for (let i = 0; i < seats.length; i++) Atomics.store(seats, i, taken[i]!)
          try {
            for (let i = 0; i < 300; i++) {
              assert.strictEqual(yield* quiet.run(Square, i), i * i)
              assert.strictEqual(yield* busy.run(Square, i), i * i)
              for (let seat = 0; seat < seats.length; seat++) assert.notInclude(ids, Atomics.load(seats, seat) - 1)
            }
            assert.deepStrictEqual(Array.from(seats), taken)
          } finally {
            seats.fill(0)
          }
          // With free seats, linger: false still takes none.
          for (let i = 0; i < 300; i++) {
            yield* quiet.run(Square, i)
            for (let seat = 0; seat < seats.length; seat++) assert.strictEqual(Atomics.load(seats, seat), 0)
          }
        })
      )
    )

    it.live("a worker that ends while it holds a seat, or while busy, frees the seat and does not stay busy", () =>
      Effect.scoped(
        Effect.gen(function* () {
          if (seats.length === 0) return
          const pool = yield* WorkerPool.make({ module, size: 1 })
          const [id] = yield* threadIds(pool)
          // As if it were lingering when it crashed.
          Atomics.store(seats, 0, id! + 1)
          const crash = yield* Effect.flip(pool.run(Crash, "exit"))
          assert.strictEqual(crash._tag, "WorkerCrashed")
          assert.strictEqual(Atomics.load(seats, 0), 0)
          assert.notStrictEqual(Atomics.load(activity, id! % 64), -1, "a dead thread does not stay busy")
        })
      )
    )
  })
})
