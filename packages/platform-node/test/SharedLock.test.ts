import { assert, describe, it } from "@effect/vitest"
import { SharedEvent, SharedLock, SharedValue, WorkerPool } from "@strand/platform-node"
import { Cause, Effect, Exit, Fiber, Option } from "effect"
import { TestClock } from "effect/testing"
import { BlockOnHeld, CountUp, HoldLock } from "./fixtures/shared-tasks.ts"

const module = new URL("./fixtures/shared-worker.ts", import.meta.url)

const errorOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined

/** Resolves after `n` turns of the main thread's event loop: it cannot, if something blocks the thread. */
const loopTurns = (n: number) =>
  Effect.promise(
    () =>
      new Promise<void>((resolve) => {
        let left = n
        const turn = () => (--left === 0 ? resolve() : setImmediate(turn))
        setImmediate(turn)
      })
  )

describe("SharedLock", () => {
  it.effect("excludes fibers of one thread; withLock releases however the effect ends", () =>
    Effect.gen(function* () {
      const lock = yield* SharedLock.make({ name: "totals" })
      let inside = 0
      let most = 0
      const critical = SharedLock.withLock(
        lock,
        Effect.gen(function* () {
          inside++
          most = Math.max(most, inside)
          yield* Effect.yieldNow
          inside--
        })
      )
      yield* Effect.all(
        Array.from({ length: 20 }, () => critical),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(most, 1)
      const failed = yield* Effect.exit(SharedLock.withLock(lock, Effect.fail("boom")))
      assert.isTrue(Exit.isFailure(failed))
      assert.isFalse(yield* SharedLock.locked(lock))
    })
  )

  it.effect("acquireTimeout gives up on Effect's clock, and an interrupted waiter leaves no trace", () =>
    Effect.gen(function* () {
      const lock = yield* SharedLock.make()
      yield* SharedLock.acquire(lock)
      const timed = yield* Effect.forkChild(SharedLock.acquireTimeout(lock, "1 second"))
      yield* TestClock.adjust("1 second")
      assert.isFalse(yield* Fiber.join(timed))
      const waiter = yield* Effect.forkChild(SharedLock.acquire(lock))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(waiter)
      yield* SharedLock.release(lock)
      assert.isTrue(yield* SharedLock.tryAcquire(lock))
      assert.deepStrictEqual(yield* SharedLock.holder(lock), Option.some(0))
      yield* SharedLock.release(lock)
    })
  )

  it.effect("misuse: releasing a free lock, blocking on a lock this thread holds, blocking the main thread", () =>
    Effect.gen(function* () {
      const lock = yield* SharedLock.make({ name: "ledger" })
      const notHeld = errorOf(yield* Effect.exit(SharedLock.release(lock)))
      assert.strictEqual(notHeld?._tag, "SharedLockNotHeld")
      assert.include(notHeld?.message, 'shared lock "ledger"')
      assert.include(notHeld?.message, "nobody holds it")
      assert.throws(() => SharedLock.releaseSync(lock), /does not hold it/)
      // Free: the blocking form takes it without blocking, even here.
      assert.isTrue(SharedLock.acquireSync(lock))
      const thrown = (f: () => unknown) => {
        try {
          f()
        } catch (error) {
          return error as { readonly _tag: string; readonly message: string }
        }
        assert.fail("expected a throw")
      }
      const twice = thrown(() => SharedLock.acquireSync(lock))
      assert.strictEqual(twice._tag, "SharedLockAlreadyHeld")
      assert.include(twice.message, "would deadlock")
      SharedLock.releaseSync(lock)
      // Waiting in the blocking form would stop the main thread: refused, typed.
      const event = yield* SharedEvent.make()
      const blocking = thrown(() => SharedEvent.waitSync(event))
      assert.strictEqual(blocking._tag, "BlockingOnMainThread")
      assert.include(blocking.message, "use the Effect form")
    })
  )

  it.live("threads: no update is lost under the lock, from workers' sync code and fibers and the main thread", () =>
    Effect.gen(function* () {
      const pool = yield* WorkerPool.make({ module, size: 2, concurrentTasksPerWorker: 1 })
      const lock = yield* SharedLock.make()
      const counter = yield* SharedValue.make("int32", 0)
      const times = 20_000
      const main = SharedLock.withLock(
        lock,
        Effect.sync(() => counter.set(counter.get() + 1))
      )
      const threads = yield* Effect.all(
        [
          pool.run(CountUp, { counter, lock, times, mode: "locked" }),
          pool.run(CountUp, { counter, lock, times, mode: "fiber" }),
          Effect.as(Effect.repeat(main, { times: 999 }), 0)
        ],
        { concurrency: "unbounded" }
      )
      assert.strictEqual(counter.get(), 2 * times + 1000)
      assert.strictEqual(new Set(threads).size, 3, "two worker threads and the main thread took part")
    }).pipe(Effect.scoped)
  )

  it.live("waiting for a lock a worker holds never blocks the main thread's event loop", () =>
    Effect.gen(function* () {
      const pool = yield* WorkerPool.make({ module, size: 1 })
      const lock = yield* SharedLock.make()
      const held = yield* SharedEvent.make()
      const release = yield* SharedEvent.make()
      const holder = yield* Effect.forkChild(pool.run(HoldLock, { lock, held, release, die: false }))
      yield* SharedEvent.wait(held)
      const waiter = yield* Effect.forkChild(SharedLock.withLock(lock, Effect.succeed("got it")))
      // The worker lets go only after the main loop has turned 200 times while the fiber waits.
      yield* loopTurns(200)
      assert.isTrue(yield* SharedLock.locked(lock))
      assert.isUndefined(waiter.pollUnsafe())
      yield* SharedEvent.set(release)
      assert.strictEqual(yield* Fiber.join(waiter), "got it")
      yield* Fiber.join(holder)
    }).pipe(Effect.scoped)
  )

  it.live("a worker that dies holding the lock: the next acquirer gets OwnerDied, then repair", () =>
    Effect.gen(function* () {
      const pool = yield* WorkerPool.make({ module, size: 1 })
      const lock = yield* SharedLock.make({ name: "accounts" })
      const held = yield* SharedEvent.make()
      const release = yield* SharedEvent.make()
      const holder = yield* Effect.forkChild(Effect.exit(pool.run(HoldLock, { lock, held, release, die: true })))
      yield* SharedEvent.wait(held)
      const dead = Option.getOrThrow(yield* SharedLock.holder(lock))
      // Waiting already when the holder dies: the wait ends instead of hanging.
      const waiter = yield* Effect.forkChild(Effect.exit(SharedLock.withLock(lock, Effect.succeed("ran"))))
      yield* SharedEvent.set(release)
      const crashed = errorOf(yield* Fiber.join(holder))
      assert.strictEqual(crashed?._tag, "WorkerCrashed")
      const died = errorOf(yield* Fiber.join(waiter))
      assert.strictEqual(died?._tag, "OwnerDied")
      assert.strictEqual((died as SharedLock.OwnerDied).thread, dead)
      assert.include(died?.message, `thread ${dead} died holding shared lock "accounts"`)
      // Until repaired, every withLock fails, and nothing stays held.
      assert.strictEqual(errorOf(yield* Effect.exit(SharedLock.withLock(lock, Effect.void)))?._tag, "OwnerDied")
      assert.isFalse(yield* SharedLock.locked(lock))
      // A failed repair leaves it inconsistent; a successful one puts it right.
      yield* Effect.exit(SharedLock.repair(lock, Effect.fail("not yet")))
      assert.strictEqual(errorOf(yield* Effect.exit(SharedLock.withLock(lock, Effect.void)))?._tag, "OwnerDied")
      assert.strictEqual(yield* SharedLock.repair(lock, Effect.succeed("fixed")), "fixed")
      assert.strictEqual(yield* SharedLock.withLock(lock, Effect.succeed("ran")), "ran")
      // The manual form: acquire fails holding the lock; markConsistent clears it.
      const again = yield* SharedEvent.make()
      const go = yield* SharedEvent.make()
      yield* Effect.forkChild(Effect.exit(pool.run(HoldLock, { lock, held: again, release: go, die: true })))
      yield* SharedEvent.wait(again)
      yield* SharedEvent.set(go)
      const acquired = errorOf(yield* Effect.exit(SharedLock.acquire(lock)))
      assert.strictEqual(acquired?._tag, "OwnerDied")
      assert.deepStrictEqual(yield* SharedLock.holder(lock), Option.some(0))
      yield* SharedLock.markConsistent(lock)
      yield* SharedLock.release(lock)
      assert.strictEqual(yield* SharedLock.withLock(lock, Effect.succeed(1)), 1)
    }).pipe(Effect.scoped)
  )

  it.live("misuse across threads: releasing a worker's lock, a worker blocking on a lock it holds", () =>
    Effect.gen(function* () {
      const pool = yield* WorkerPool.make({ module, size: 1 })
      const lock = yield* SharedLock.make()
      assert.strictEqual(yield* pool.run(BlockOnHeld, { lock }), "SharedLockAlreadyHeld")
      assert.isFalse(yield* SharedLock.locked(lock))
      const held = yield* SharedEvent.make()
      const release = yield* SharedEvent.make()
      const holder = yield* Effect.forkChild(pool.run(HoldLock, { lock, held, release, die: false }))
      yield* SharedEvent.wait(held)
      const notHeld = errorOf(yield* Effect.exit(SharedLock.release(lock)))
      assert.strictEqual(notHeld?._tag, "SharedLockNotHeld")
      assert.include(notHeld?.message, "holds it")
      yield* SharedEvent.set(release)
      yield* Fiber.join(holder)
    }).pipe(Effect.scoped)
  )

  it.live("a shared lock cannot cross to a worker process: a typed PayloadError", () =>
    Effect.gen(function* () {
      const pool = yield* WorkerPool.make({ module, size: 1, isolation: "process" })
      const lock = yield* SharedLock.make()
      const counter = yield* SharedValue.make("int32", 0)
      const error = yield* Effect.flip(pool.run(CountUp, { counter, lock, times: 1, mode: "atomic" }))
      assert.strictEqual(error._tag, "PayloadError")
      assert.include(error.message, "SharedArrayBuffer")
    }).pipe(Effect.scoped)
  )
})
