import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { assert, describe, it } from "@effect/vitest"
import {
  SharedArray,
  SharedBarrier,
  SharedChannel,
  SharedCondition,
  SharedEvent,
  SharedLock,
  SharedSemaphore,
  SharedValue,
  WorkerPool
} from "@strand/platform-node"
import { Cause, Deferred, type Duration, Effect, Exit, Fiber, Option, Schedule, Schema, Stream } from "effect"
import { TestClock } from "effect/testing"
import {
  Announce,
  Arrive,
  AwaitEvent,
  ConsumeFrom,
  CountUp,
  DrainSync,
  HoldLock,
  Licensed,
  MakeCounter,
  Mismatch,
  ProduceInto,
  ReadCounter,
  SumCopy,
  SumSlice,
  TrySendSync,
  WaitCondition
} from "./fixtures/shared-tasks.ts"

const module = new URL("./fixtures/shared-worker.ts", import.meta.url)

const errorOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined

const pool = (size = 2) => WorkerPool.make({ module, size, concurrentTasksPerWorker: 1 })

describe("SharedValue and SharedArray", () => {
  it.effect("atomic operations on every kind; float64 compares bits", () =>
    Effect.gen(function* () {
      const i = yield* SharedValue.make("int32", 2 ** 31 - 1)
      assert.strictEqual(i.add(1), -(2 ** 31), "int32 wraps as Int32Array does")
      assert.isTrue(i.compareAndSet(-(2 ** 31), 5))
      assert.isFalse(i.compareAndSet(4, 6))
      assert.strictEqual(
        i.update((n) => n * 3),
        15
      )
      const f = yield* SharedValue.make("float64", 0.5)
      assert.strictEqual(f.add(0.25), 0.75)
      assert.isTrue(f.compareAndSet(0.75, Number.NaN))
      assert.isTrue(f.compareAndSet(Number.NaN, -0))
      assert.isFalse(f.compareAndSet(0, 1), "0 and -0 differ")
      const b = yield* SharedValue.make("bigint64", 2n ** 62n)
      assert.strictEqual(b.add(2n ** 62n), -(2n ** 63n))
      assert.strictEqual(yield* SharedValue.update(b, (n) => n + 1n), -(2n ** 63n) + 1n)
      const array = yield* SharedArray.fromIterable("float64", [1, 2, 3])
      assert.strictEqual(array.add(2, 0.5), 3.5)
      assert.deepStrictEqual(Array.from(array.view), [1, 2, 3.5])
      assert.strictEqual(yield* SharedArray.get(array, 1), 2)
    })
  )

  it.live("made on a worker and returned in a result, the value is the worker's own memory, not a copy", () =>
    Effect.gen(function* () {
      const workers = yield* pool(1)
      const counter = yield* workers.run(MakeCounter, undefined)
      assert.strictEqual(counter.add(1), 42)
      assert.strictEqual(yield* workers.run(ReadCounter, undefined), 42, "the worker sees the caller's add")
    }).pipe(Effect.scoped)
  )

  it.effect("misuse: a wrong kind, length, initial value or index is a typed error", () =>
    Effect.gen(function* () {
      const kind = yield* Effect.flip(SharedValue.make("float32" as "float64", 0))
      assert.strictEqual(kind._tag, "InvalidArgument")
      assert.include(kind.message, '"int32", "float64" or "bigint64"')
      const initial = yield* Effect.flip(SharedValue.make("bigint64", 1 as unknown as bigint))
      assert.include(initial.message, "must be a bigint")
      const length = yield* Effect.flip(SharedArray.make("int32", -1))
      assert.include(length.message, "length must be an integer")
      const values = yield* Effect.flip(SharedArray.fromIterable("int32", [1, 2n as unknown as number]))
      assert.include(values.message, "values[1] must be a number")
      const array = yield* SharedArray.make("int32", 3, { name: "bins" })
      const index = yield* Effect.flip(SharedArray.add(array, 3, 1))
      assert.strictEqual(index._tag, "IndexOutOfRange")
      assert.include(index.message, 'shared array "bins" has 3 element(s): index 3')
      assert.throws(() => array.get(1.5), /not an integer/)
    })
  )

  it.live(
    "the counter race across worker threads: racy loses nothing only by luck; add and the lock lose nothing",
    () =>
      Effect.gen(function* () {
        const workers = yield* pool()
        const lock = yield* SharedLock.make()
        for (const mode of ["atomic", "locked"] as const) {
          const counter = yield* SharedValue.make("int32", 0)
          const threads = yield* Effect.all(
            Array.from({ length: 4 }, () => workers.run(CountUp, { counter, lock, times: 50_000, mode })),
            { concurrency: "unbounded" }
          )
          assert.strictEqual(counter.get(), 200_000, mode)
          assert.strictEqual(new Set(threads).size, 2, "both worker threads took part")
        }
        // Racy updates run too (how many are lost depends on timing; the example prints it).
        const racy = yield* SharedValue.make("int32", 0)
        yield* workers.run(CountUp, { counter: racy, lock, times: 1_000, mode: "racy" })
        assert.strictEqual(racy.get(), 1_000, "one thread alone loses nothing")
      }).pipe(Effect.scoped)
  )

  it.live("a data-parallel map over slices of a shared array: the sum and a histogram, no data copied", () =>
    Effect.gen(function* () {
      const workers = yield* pool()
      const n = 1_000_000
      const data = yield* SharedArray.make("float64", n)
      for (let i = 0; i < n; i++) data.view[i] = (i % 1000) / 1000
      const bins = yield* SharedArray.make("int32", 10)
      const slices = Array.from({ length: 8 }, (_, k) => ({ data, bins, start: (k * n) / 8, end: ((k + 1) * n) / 8 }))
      const sums = yield* workers.map(SumSlice, slices)
      const expected = (n / 1000) * ((999 * 1000) / 2 / 1000)
      assert.closeTo(
        sums.reduce((a, b) => a + b, 0),
        expected,
        1e-6
      )
      assert.deepStrictEqual(
        Array.from(bins.view),
        Array.from({ length: 10 }, () => n / 10)
      )
      // The same sum over copied slices agrees: the shared one only saves the copies.
      const copies = yield* workers.map(
        SumCopy,
        slices.map(({ end, start }) => data.view.slice(start, end))
      )
      assert.closeTo(
        copies.reduce((a, b) => a + b, 0),
        expected,
        1e-6
      )
    }).pipe(Effect.scoped)
  )
})

describe("SharedEvent", () => {
  it.live("set wakes a worker's fiber and a main-thread fiber; clear makes them wait again", () =>
    Effect.gen(function* () {
      const workers = yield* pool(1)
      const event = yield* SharedEvent.make({ name: "go" })
      const remote = yield* Effect.forkChild(workers.run(AwaitEvent, { event }))
      const local = yield* Effect.forkChild(SharedEvent.wait(event))
      yield* Effect.yieldNow
      assert.isUndefined(remote.pollUnsafe())
      yield* SharedEvent.set(event)
      assert.notStrictEqual(yield* Fiber.join(remote), 0, "woken on a worker thread")
      yield* Fiber.join(local)
      yield* SharedEvent.clear(event)
      assert.isFalse(yield* SharedEvent.isSet(event))
    }).pipe(Effect.scoped)
  )

  it("a fiber waiting for another thread keeps its process alive (a pending Atomics.waitAsync does not)", async () => {
    const script = fileURLToPath(new URL("./fixtures/wait-alone.ts", import.meta.url))
    const { stdout } = await promisify(execFile)(process.execPath, [script], { timeout: 20_000 })
    assert.strictEqual(stdout, "woken by the other thread\n")
  })

  it.effect("waitTimeout runs on Effect's clock; an interrupted wait leaves no trace", () =>
    Effect.gen(function* () {
      const event = yield* SharedEvent.make()
      const timed = yield* Effect.forkChild(SharedEvent.waitTimeout(event, "1 second"))
      yield* TestClock.adjust("1 second")
      assert.isFalse(yield* Fiber.join(timed))
      const waiter = yield* Effect.forkChild(SharedEvent.wait(event))
      yield* Fiber.interrupt(waiter)
      yield* SharedEvent.set(event)
      assert.isTrue(yield* SharedEvent.waitTimeout(event, "1 second"))
    })
  )
})

describe("SharedSemaphore", () => {
  it.live("never lets more than its permits in, across threads", () =>
    Effect.gen(function* () {
      const workers = yield* pool()
      const permits = yield* SharedSemaphore.make(1)
      const inside = yield* SharedValue.make("int32", 0)
      const peak = yield* SharedValue.make("int32", 0)
      const mainSide = SharedSemaphore.withPermit(
        permits,
        Effect.gen(function* () {
          peak.update((p) => Math.max(p, inside.add(1)))
          yield* Effect.yieldNow
          inside.add(-1)
        })
      )
      yield* Effect.all(
        [
          workers.run(Licensed, { permits, inside, peak, rounds: 2_000 }),
          workers.run(Licensed, { permits, inside, peak, rounds: 2_000 }),
          Effect.repeat(mainSide, { times: 500 })
        ],
        { concurrency: "unbounded" }
      )
      assert.strictEqual(peak.get(), 1)
      assert.strictEqual(yield* SharedSemaphore.available(permits), 1)
    }).pipe(Effect.scoped)
  )

  it.effect("timeout, interruption and misuse", () =>
    Effect.gen(function* () {
      const permits = yield* SharedSemaphore.make(1, { name: "licences" })
      assert.isTrue(yield* SharedSemaphore.tryAcquire(permits))
      assert.isFalse(yield* SharedSemaphore.tryAcquire(permits))
      const timed = yield* Effect.forkChild(SharedSemaphore.acquireTimeout(permits, "1 second"))
      yield* TestClock.adjust("1 second")
      assert.isFalse(yield* Fiber.join(timed))
      const waiter = yield* Effect.forkChild(SharedSemaphore.acquire(permits))
      yield* Fiber.interrupt(waiter)
      yield* SharedSemaphore.release(permits)
      assert.strictEqual(yield* SharedSemaphore.available(permits), 1, "the interrupted waiter took nothing")
      const over = yield* Effect.flip(SharedSemaphore.release(permits))
      assert.strictEqual(over._tag, "SharedSemaphoreOverRelease")
      assert.include(over.message, 'shared semaphore "licences"')
      const invalid = yield* Effect.flip(SharedSemaphore.make(0))
      assert.include(invalid.message, "permits must be an integer from 1")
      const signal = yield* SharedSemaphore.make(1, { initial: 0 })
      assert.isFalse(yield* SharedSemaphore.tryAcquire(signal), "Python's Semaphore(0): nothing free until a release")
      yield* SharedSemaphore.release(signal)
      assert.isTrue(yield* SharedSemaphore.tryAcquire(signal))
      const initial = yield* Effect.flip(SharedSemaphore.make(2, { initial: 3 }))
      assert.include(initial.message, "initial must be an integer from 0 to permits (2)")
    })
  )
})

describe("SharedCondition", () => {
  it.live("a worker's notify wakes a main-thread fiber waiting under the lock", () =>
    Effect.gen(function* () {
      const workers = yield* pool(1)
      const cond = yield* SharedCondition.make({ name: "ready" })
      const value = yield* SharedValue.make("int32", 0)
      const waiter = yield* Effect.forkChild(
        SharedLock.withLock(
          SharedCondition.lock(cond),
          SharedCondition.waitFor(cond, () => value.get() === 1)
        )
      )
      yield* workers.run(Announce, { cond, value })
      yield* Fiber.join(waiter)
      assert.isFalse(yield* SharedLock.locked(SharedCondition.lock(cond)))
    }).pipe(Effect.scoped)
  )

  it.live(
    "notify(n) wakes exactly n waiters, on worker threads and main-thread fibers alike (CPython's test_notify_n)",
    () =>
      Effect.gen(function* () {
        const workers = yield* pool()
        const cond = yield* SharedCondition.make()
        const woken = yield* SharedValue.make("int32", 0)
        const lock = SharedCondition.lock(cond)
        const fiberWaiter = SharedLock.withLock(lock, SharedCondition.wait(cond)).pipe(
          Effect.andThen(SharedValue.add(woken, 1))
        )
        const waiters = yield* Effect.forkChild(
          Effect.all(
            [
              workers.run(WaitCondition, { cond, woken }),
              workers.run(WaitCondition, { cond, woken }),
              ...Array.from({ length: 4 }, () => fiberWaiter)
            ],
            { concurrency: "unbounded" }
          )
        )
        const until = (done: () => boolean) =>
          Effect.suspend(() => (done() ? Effect.void : Effect.fail("not yet"))).pipe(
            Effect.retry({ schedule: Schedule.spaced("1 millis") })
          )
        const waiting = () => Effect.runSync(SharedCondition.waiting(cond))
        yield* until(() => waiting() === 6)
        const notify = (n: number) => SharedLock.withLock(lock, SharedCondition.notify(cond, n))
        yield* notify(2)
        // Two notifications taken off the six waiters: only two can wake, each taking one.
        assert.strictEqual(waiting(), 4)
        yield* until(() => woken.get() === 2)
        yield* notify(4)
        yield* until(() => woken.get() === 6)
        yield* notify(3)
        assert.strictEqual(waiting(), 0)
        yield* Fiber.join(waiters)
        assert.strictEqual(woken.get(), 6)
      }).pipe(Effect.scoped)
  )

  it.effect(
    "interrupted while it takes the lock back after a notify: it waits for the lock, lets go, and leaves no notification behind",
    () =>
      Effect.gen(function* () {
        const cond = yield* SharedCondition.make()
        const lock = SharedCondition.lock(cond)
        const waiter = yield* Effect.forkChild(SharedLock.withLock(lock, SharedCondition.wait(cond)))
        yield* Effect.yieldNow
        assert.strictEqual(yield* SharedCondition.waiting(cond), 1)
        // The notifier keeps the lock after notifying, so the waiter is woken but must wait to re-take it.
        const letGo = yield* Deferred.make<void>()
        const notifier = yield* Effect.forkChild(
          SharedLock.withLock(lock, Effect.andThen(SharedCondition.notify(cond), Deferred.await(letGo)))
        )
        yield* Effect.yieldNow
        const interrupting = yield* Effect.forkChild(Fiber.interrupt(waiter))
        yield* Effect.yieldNow
        assert.isUndefined(interrupting.pollUnsafe(), "the interruption waits until the lock is taken back")
        yield* Deferred.succeed(letGo, undefined)
        yield* Fiber.join(notifier)
        yield* Fiber.join(interrupting)
        assert.isTrue(Exit.hasInterrupts(waiter.pollUnsafe()!))
        assert.isFalse(yield* SharedLock.locked(lock))
        assert.strictEqual(yield* SharedCondition.waiting(cond), 0)
        // Nothing doubled: a later waiter finds no leftover notification and times out.
        const later = yield* Effect.forkChild(SharedLock.withLock(lock, SharedCondition.waitTimeout(cond, "1 second")))
        yield* TestClock.adjust("1 second")
        assert.isFalse(yield* Fiber.join(later))
      })
  )

  it.effect("waitTimeout takes the lock back; wait and notify without the lock are typed errors", () =>
    Effect.gen(function* () {
      const cond = yield* SharedCondition.make()
      const lock = SharedCondition.lock(cond)
      const timed = yield* Effect.forkChild(SharedLock.withLock(lock, SharedCondition.waitTimeout(cond, "1 second")))
      yield* TestClock.adjust("1 second")
      assert.isFalse(yield* Fiber.join(timed))
      assert.isFalse(yield* SharedLock.locked(lock))
      // Interrupted while waiting: the lock is taken back, then released by withLock.
      const waiter = yield* Effect.forkChild(SharedLock.withLock(lock, SharedCondition.wait(cond)))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(waiter)
      assert.isFalse(yield* SharedLock.locked(lock))
      assert.strictEqual((yield* Effect.flip(SharedCondition.wait(cond)))._tag, "SharedLockNotHeld")
      assert.strictEqual((yield* Effect.flip(SharedCondition.notify(cond)))._tag, "SharedLockNotHeld")
      assert.throws(() => SharedCondition.notifySync(cond), /does not hold it/)
    })
  )
})

describe("SharedBarrier", () => {
  it.live(
    "releases worker threads and the main thread together, generation after generation; exactly one gets index 0",
    () =>
      Effect.gen(function* () {
        const workers = yield* pool()
        const barrier = yield* SharedBarrier.make(3)
        // Ten passes in lockstep, as CPython's test_barrier_10.
        for (let generation = 0; generation < 10; generation++) {
          const indexes = yield* Effect.all(
            [
              workers.run(Arrive, { barrier, timeoutMillis: 10_000 }),
              workers.run(Arrive, { barrier, timeoutMillis: 10_000 }),
              SharedBarrier.wait(barrier)
            ],
            { concurrency: "unbounded" }
          )
          assert.deepStrictEqual([...indexes].sort(), [0, 1, 2])
        }
      }).pipe(Effect.scoped)
  )

  it.effect("a timeout breaks it for everyone until reset; abort; misuse", () =>
    Effect.gen(function* () {
      const barrier = yield* SharedBarrier.make(3)
      const first = yield* Effect.forkChild(Effect.exit(SharedBarrier.wait(barrier)))
      const second = yield* Effect.forkChild(Effect.exit(SharedBarrier.wait(barrier, { timeout: "1 second" })))
      yield* Effect.yieldNow
      assert.strictEqual(yield* SharedBarrier.waiting(barrier), 2)
      yield* TestClock.adjust("1 second")
      for (const fiber of [first, second]) {
        const error = errorOf(yield* Fiber.join(fiber))
        assert.strictEqual(error?._tag, "BrokenBarrier")
      }
      assert.isTrue(yield* SharedBarrier.broken(barrier))
      assert.strictEqual((yield* Effect.flip(SharedBarrier.wait(barrier)))._tag, "BrokenBarrier")
      yield* SharedBarrier.reset(barrier)
      assert.isFalse(yield* SharedBarrier.broken(barrier))
      const waiting = yield* Effect.forkChild(Effect.exit(SharedBarrier.wait(barrier)))
      yield* Effect.yieldNow
      yield* SharedBarrier.abort(barrier)
      const aborted = errorOf(yield* Fiber.join(waiting))
      assert.strictEqual(aborted?.reason, "abort")
      const interrupted = yield* SharedBarrier.make(2)
      const fiber = yield* Effect.forkChild(SharedBarrier.wait(interrupted))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(fiber)
      assert.strictEqual((yield* Effect.flip(SharedBarrier.wait(interrupted))).reason, "interrupted")
      const invalid = yield* Effect.flip(SharedBarrier.make(0))
      assert.include(invalid.message, "parties must be an integer from 1")
      // A default timeout, as Python's Barrier(parties, timeout=...): a wait without its own uses it.
      const late = yield* SharedBarrier.make(2, { timeout: "1 second" })
      const alone = yield* Effect.forkChild(Effect.exit(SharedBarrier.wait(late)))
      yield* Effect.yieldNow
      yield* TestClock.adjust("1 second")
      assert.strictEqual(errorOf(yield* Fiber.join(alone))?.reason, "timeout")
      const badTimeout = yield* Effect.flip(SharedBarrier.make(2, { timeout: "soon" as Duration.Input }))
      assert.include(badTimeout.message, "timeout must be a duration")
      // One party: every wait passes at once (CPython's test_single_thread).
      const single = yield* SharedBarrier.make(1)
      assert.deepStrictEqual([yield* SharedBarrier.wait(single), yield* SharedBarrier.wait(single)], [0, 0])
    })
  )
})

describe("SharedChannel", () => {
  it.live("many producer threads into one main-thread stream: every item once, back-pressure on a small ring", () =>
    Effect.gen(function* () {
      const workers = yield* pool()
      const channel = yield* SharedChannel.make(Schema.Number, { capacity: 64, bytes: 1024 })
      const producers = yield* Effect.forkChild(
        Effect.all(
          [0, 1, 2, 3].map((k) => workers.run(ProduceInto, { out: channel, from: k * 10_000, count: 10_000 })),
          { concurrency: "unbounded" }
        ).pipe(Effect.andThen(SharedChannel.close(channel)))
      )
      const seen = yield* Stream.runCollect(SharedChannel.stream(channel))
      yield* Fiber.join(producers)
      assert.strictEqual(seen.length, 40_000)
      assert.strictEqual(new Set(seen).size, 40_000)
      // Each producer's items arrive in its order.
      const fromFirst = seen.filter((n) => n < 10_000)
      assert.deepStrictEqual(
        fromFirst,
        Array.from({ length: 10_000 }, (_, i) => i)
      )
    }).pipe(Effect.scoped)
  )

  it.effect("a stream with batch: 1 stopped by take leaves every other item in the channel", () =>
    Effect.gen(function* () {
      const channel = yield* SharedChannel.make(Schema.Number)
      yield* SharedChannel.sendAll(channel, [1, 2, 3, 4, 5])
      const first = yield* Stream.runCollect(Stream.take(SharedChannel.stream(channel, { batch: 1 }), 2))
      assert.deepStrictEqual(first, [1, 2])
      assert.strictEqual(yield* SharedChannel.size(channel), 3)
      assert.strictEqual(yield* SharedChannel.receive(channel), 3)
    })
  )

  /** One of the channel's two locks, reached through its encoded form: the send lock, or the receive lock. */
  const channelLock = (channel: SharedChannel.SharedChannel<number>, side: "send" | "receive") => {
    const { buffer } = Schema.encodeSync(SharedChannel.schema(Schema.Number))(channel)
    return Schema.decodeSync(SharedLock.schema)({
      name: `the channel's ${side} lock`,
      cells: new Int32Array(buffer, side === "send" ? 64 : 128, 2),
      at: 0
    })
  }

  /** Has a worker take `lock` and die holding it; the dead thread's id. */
  const dieHolding = (workers: WorkerPool.Service, lock: SharedLock.SharedLock) =>
    Effect.gen(function* () {
      const held = yield* SharedEvent.make()
      const release = yield* SharedEvent.make()
      const holder = yield* Effect.forkChild(Effect.exit(workers.run(HoldLock, { lock, held, release, die: true })))
      yield* SharedEvent.wait(held)
      const dead = Option.getOrThrow(yield* SharedLock.holder(lock))
      yield* SharedEvent.set(release)
      yield* Fiber.join(holder)
      return dead
    })

  it.live(
    "a sender that dies holding the send lock: what was sent whole is received, then the channel is broken, naming the thread",
    () =>
      Effect.gen(function* () {
        const workers = yield* pool(1)
        const channel = yield* SharedChannel.make(Schema.Number, { name: "jobs" })
        yield* SharedChannel.send(channel, 1)
        const dead = yield* dieHolding(workers, channelLock(channel, "send"))
        assert.strictEqual(yield* SharedChannel.receive(channel), 1)
        // Empty: the receiver looks at the send lock before it waits, and finds its holder dead.
        const error = yield* Effect.flip(SharedChannel.receive(channel))
        assert.strictEqual(error._tag, "ChannelClosed")
        assert.strictEqual((error as SharedChannel.ChannelClosed).brokenBy, dead)
        assert.include(error.message, `shared channel "jobs", which thread ${dead} left half-way`)
        const send = yield* Effect.flip(SharedChannel.send(channel, 2))
        assert.strictEqual((send as SharedChannel.ChannelClosed).brokenBy, dead)
        assert.isTrue(yield* SharedChannel.isClosed(channel))
        yield* SharedChannel.close(channel)
      }).pipe(Effect.scoped)
  )

  it.live(
    "a receiver that dies holding the receive lock: a sender that finds the channel full, and every receive, fail naming the thread",
    () =>
      Effect.gen(function* () {
        const workers = yield* pool(1)
        const channel = yield* SharedChannel.make(Schema.Number, { name: "jobs", capacity: 1 })
        yield* SharedChannel.send(channel, 1)
        const dead = yield* dieHolding(workers, channelLock(channel, "receive"))
        // Full: the sender looks at the receive lock before it waits, and finds its holder dead.
        const send = yield* Effect.flip(SharedChannel.send(channel, 2))
        assert.strictEqual(send._tag, "ChannelClosed")
        assert.strictEqual((send as SharedChannel.ChannelClosed).brokenBy, dead)
        const receive = yield* Effect.flip(SharedChannel.receive(channel))
        assert.strictEqual(
          (receive as SharedChannel.ChannelClosed).brokenBy,
          dead,
          "its half-taken item is not trusted"
        )
        const stream = yield* Effect.flip(Stream.runCollect(SharedChannel.stream(channel)))
        assert.strictEqual((stream as SharedChannel.ChannelClosed).brokenBy, dead)
      }).pipe(Effect.scoped)
  )

  it.effect("the counts of items and units wrap around Int32 without losing or repeating an item", () =>
    Effect.gen(function* () {
      const channel = yield* SharedChannel.make(Schema.Number, { capacity: 8, bytes: 128 })
      // White-box: the senders' and receivers' counts (see internal/shared/ring.ts), set just short of 2^31.
      const { buffer } = Schema.encodeSync(SharedChannel.schema(Schema.Number))(channel)
      const cells = new Int32Array(buffer, 0, 48)
      for (const at of [19, 23, 35, 39]) cells[at] = 2 ** 31 - 3
      for (const at of [20, 24, 36]) cells[at] = 2 ** 31 - 13
      for (let round = 0; round < 10; round++) {
        const items = Array.from({ length: 5 }, (_, i) => round * 5 + i)
        yield* SharedChannel.sendAll(channel, items)
        assert.strictEqual(yield* SharedChannel.size(channel), 5)
        assert.deepStrictEqual(
          yield* Stream.runCollect(Stream.take(SharedChannel.stream(channel, { batch: 3 }), 5)),
          items
        )
      }
      assert.isBelow(cells[19]!, 0, "the senders' count went past 2^31")
      assert.strictEqual(yield* SharedChannel.size(channel), 0)
    })
  )

  it.live("the main thread produces, a worker consumes with a Stream", () =>
    Effect.gen(function* () {
      const workers = yield* pool(1)
      const channel = yield* SharedChannel.make(Schema.Number, { capacity: 16 })
      const consumer = yield* Effect.forkChild(workers.run(ConsumeFrom, { input: channel }))
      yield* SharedChannel.sendAll(
        channel,
        Array.from({ length: 1_000 }, (_, i) => i)
      )
      yield* SharedChannel.close(channel)
      assert.strictEqual(yield* Fiber.join(consumer), (999 * 1000) / 2)
    }).pipe(Effect.scoped)
  )

  it.live(
    "a worker's blocking forms: receiveSync sleeps until the main thread sends, sendSync on a full channel times out",
    () =>
      Effect.gen(function* () {
        const workers = yield* pool(2)
        // A ring of 2 items: the worker's receiveSync sleeps, over and over, until a send wakes it.
        const channel = yield* SharedChannel.make(Schema.Number, { capacity: 2 })
        const drained = yield* Effect.forkChild(workers.run(DrainSync, { input: channel }))
        for (let i = 1; i <= 1_000; i++) {
          yield* SharedChannel.send(channel, i)
          if (i % 100 === 0) yield* Effect.sleep("1 millis") // the receiver drains the ring and sleeps
        }
        yield* SharedChannel.close(channel)
        assert.strictEqual(yield* Fiber.join(drained), (1_000 * 1_001) / 2)
        const full = yield* SharedChannel.make(Schema.Number, { capacity: 1 })
        yield* SharedChannel.send(full, 1)
        assert.isFalse(yield* workers.run(TrySendSync, { out: full, item: 2, timeoutMillis: 20 }), "full: it timed out")
        assert.strictEqual(yield* SharedChannel.size(full), 1, "and sent nothing")
        const sending = yield* Effect.forkChild(workers.run(TrySendSync, { out: full, item: 3, timeoutMillis: 10_000 }))
        assert.strictEqual(yield* SharedChannel.receive(full), 1, "a receive makes room for the sleeping sender")
        assert.isTrue(yield* Fiber.join(sending))
        assert.strictEqual(yield* SharedChannel.receive(full), 3)
      }).pipe(Effect.scoped)
  )

  it.live("a schema that differs between sender and receiver is a typed error on receive", () =>
    Effect.gen(function* () {
      const workers = yield* pool(1)
      const channel = yield* SharedChannel.make(Schema.Number)
      yield* workers.run(Mismatch, { out: channel as unknown as SharedChannel.SharedChannel<string> })
      const error = yield* Effect.flip(SharedChannel.receive(channel))
      assert.strictEqual(error._tag, "ChannelItemError")
      assert.include(error.message, "does not decode")
    }).pipe(Effect.scoped)
  )

  it.effect("close, interruption, and misuse", () =>
    Effect.gen(function* () {
      const channel = yield* SharedChannel.make(Schema.String, { capacity: 1, bytes: 16, name: "names" })
      yield* SharedChannel.send(channel, "a")
      // Full: a send waits, and an interrupted one leaves nothing behind.
      const blocked = yield* Effect.forkChild(SharedChannel.send(channel, "b"))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(blocked)
      assert.strictEqual(yield* SharedChannel.size(channel), 1)
      const large = yield* Effect.flip(SharedChannel.send(channel, "x".repeat(100)))
      assert.strictEqual(large._tag, "ChannelItemError")
      assert.include(large.message, "more than the channel's 16")
      const wrong = yield* Effect.flip(SharedChannel.send(channel, 1 as unknown as string))
      assert.include(wrong.message, "does not encode")
      yield* SharedChannel.close(channel)
      assert.strictEqual((yield* Effect.flip(SharedChannel.send(channel, "c")))._tag, "ChannelClosed")
      assert.strictEqual(yield* SharedChannel.receive(channel), "a", "what was sent before close is still received")
      const closed = yield* Effect.flip(SharedChannel.receive(channel))
      assert.strictEqual(closed._tag, "ChannelClosed")
      assert.include(closed.message, "closed and empty")
      const invalid = yield* Effect.flip(SharedChannel.make(Schema.String, { capacity: 0 }))
      assert.include(invalid.message, "capacity must be an integer from 1")
      // Items of any other schema cross as their JSON form: checked on both sides.
      const Point = Schema.Struct({ x: Schema.Number, at: Schema.Date })
      const points = yield* SharedChannel.make(Point)
      const at = new Date(0)
      yield* SharedChannel.send(points, { x: 1.5, at })
      assert.deepStrictEqual(yield* SharedChannel.receive(points), { x: 1.5, at })
      const shape = yield* Effect.flip(SharedChannel.send(points, { x: "1" } as unknown as typeof Point.Type))
      assert.strictEqual(shape._tag, "ChannelItemError")
      assert.include(shape.message, "does not encode with the channel's schema")
      const idle = yield* SharedChannel.make(Schema.String)
      assert.throws(() => SharedChannel.receiveSync(idle), /would block the main thread/)
      // A receive that times out (on Effect's clock) takes nothing: the next item still arrives.
      const timed = yield* Effect.forkChild(Effect.timeoutOption(SharedChannel.receive(idle), "1 second"))
      yield* TestClock.adjust("1 second")
      assert.isTrue(Option.isNone(yield* Fiber.join(timed)))
      yield* SharedChannel.send(idle, "late")
      assert.strictEqual(yield* SharedChannel.receive(idle), "late")
      assert.isTrue(Option.isNone(SharedChannel.receiveSync(idle, { timeoutMillis: 0 })), "empty, no wait needed")
    })
  )
})
