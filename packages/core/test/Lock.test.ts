import { assert, describe, it } from "@effect/vitest"
import { Lock, RLock } from "@strand/core"
import { Effect, Exit, Fiber, Option } from "effect"
import { TestClock } from "effect/testing"

const waiters = (lock: Lock.Lock | RLock.RLock) => Effect.runSync(lock.waiting)

describe("Lock", () => {
  it.effect("prevents the lost update of a read-yield-write", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make()
      let counter = 0
      const increment = Lock.withLock(
        lock,
        Effect.gen(function* () {
          const read = counter
          yield* Effect.yieldNow
          counter = read + 1
        })
      )
      yield* Effect.all(
        Array.from({ length: 200 }, () => increment),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(counter, 200)
      assert.isFalse(yield* Lock.locked(lock))
    })
  )

  it.effect("serves waiters in arrival order", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make()
      const order: Array<number> = []
      yield* lock.acquire
      const fibers: Array<Fiber.Fiber<unknown, unknown>> = []
      for (let i = 0; i < 5; i++) {
        fibers.push(
          yield* Effect.forkChild(
            Lock.withLock(
              lock,
              Effect.sync(() => order.push(i))
            )
          )
        )
        yield* Effect.yieldNow
      }
      assert.strictEqual(waiters(lock), 5)
      yield* lock.release
      yield* Fiber.joinAll(fibers)
      assert.deepStrictEqual(order, [0, 1, 2, 3, 4])
    })
  )

  it.effect("hands off directly, so a tryAcquire cannot barge past waiters", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make()
      yield* lock.acquire
      const waiter = yield* Effect.forkChild(Lock.withLock(lock, Effect.void))
      yield* Effect.yieldNow
      yield* lock.release
      assert.deepStrictEqual(yield* lock.holder, Option.some(waiter.id))
      assert.isFalse(yield* lock.tryAcquire)
      yield* Fiber.join(waiter)
      assert.isFalse(yield* lock.locked)
    })
  )

  it.effect("tryAcquire succeeds only on a free lock", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make()
      assert.isTrue(yield* Lock.tryAcquire(lock))
      const other = yield* Effect.forkChild(Lock.tryAcquire(lock))
      assert.isFalse(yield* Fiber.join(other))
      yield* Lock.release(lock)
    })
  )

  it.effect("acquireTimeout gives up after the timeout and leaves no waiter behind", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make()
      yield* lock.acquire
      const waiter = yield* Effect.forkChild(Lock.acquireTimeout(lock, "1 second"))
      yield* Effect.yieldNow
      assert.strictEqual(waiters(lock), 1)
      yield* TestClock.adjust("999 millis")
      assert.isUndefined(waiter.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      assert.isFalse(yield* Fiber.join(waiter))
      assert.strictEqual(waiters(lock), 0)
      yield* lock.release
      assert.isFalse(yield* lock.locked)
    })
  )

  it.effect("acquireTimeout succeeds when the lock is released in time", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make()
      yield* lock.acquire
      const waiter = yield* Effect.forkChild(
        Effect.gen(function* () {
          const acquired = yield* Lock.acquireTimeout(lock, "1 second")
          if (acquired) yield* lock.release
          return acquired
        })
      )
      yield* TestClock.adjust("500 millis")
      yield* lock.release
      assert.isTrue(yield* Fiber.join(waiter))
      assert.isFalse(yield* lock.locked)
    })
  )

  it.effect("a release and a timeout at the same instant never leak the lock", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make()
      const holder = yield* Effect.forkChild(
        Effect.andThen(lock.acquire, Effect.andThen(Effect.sleep("1 second"), lock.release))
      )
      yield* Effect.yieldNow
      const waiter = yield* Effect.forkChild(Lock.acquireTimeout(lock, "1 second"))
      yield* Effect.yieldNow
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(holder)
      const acquired = yield* Fiber.join(waiter)
      // Either the waiter owns the lock, or nobody does: it never stays held by a fiber that gave up.
      assert.deepStrictEqual(yield* lock.holder, acquired ? Option.some(waiter.id) : Option.none())
    })
  )

  it.effect("an interrupted waiter leaves no trace", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make()
      yield* lock.acquire
      const waiter = yield* Effect.forkChild(lock.acquire)
      yield* Effect.yieldNow
      assert.strictEqual(waiters(lock), 1)
      yield* Fiber.interrupt(waiter)
      assert.strictEqual(waiters(lock), 0)
      yield* lock.release
      assert.isFalse(yield* lock.locked)
    })
  )

  it.effect("a waiter interrupted after the hand-off passes the lock on", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make()
      yield* lock.acquire
      const first = yield* Effect.forkChild(lock.acquire)
      const second = yield* Effect.forkChild(Lock.withLock(lock, Effect.succeed("second ran")))
      yield* Effect.yieldNow
      // The release grants `first`, whose resumption is only scheduled; interrupt it before it runs.
      yield* lock.release
      assert.deepStrictEqual(yield* lock.holder, Option.some(first.id))
      yield* Fiber.interrupt(first)
      assert.strictEqual(yield* Fiber.join(second), "second ran")
      assert.isFalse(yield* lock.locked)
    })
  )

  it.effect("withLock releases on failure and on interruption", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make()
      const failed = yield* Effect.exit(Lock.withLock(lock, Effect.fail("boom")))
      assert.isTrue(Exit.isFailure(failed))
      assert.isFalse(yield* lock.locked)
      const holder = yield* Effect.forkChild(Lock.withLock(lock, Effect.never))
      yield* Effect.yieldNow
      assert.isTrue(yield* lock.locked)
      yield* Fiber.interrupt(holder)
      assert.isFalse(yield* lock.locked)
    })
  )

  it.effect("releasing a lock you do not hold is a typed error", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make({ name: "accounts" })
      const free = yield* Effect.flip(Lock.release(lock))
      assert.strictEqual(free._tag, "LockNotHeld")
      assert.include(free.message, 'Lock "accounts"')
      yield* lock.acquire
      const other = yield* Effect.forkChild(Effect.flip(Lock.release(lock)))
      const error = yield* Fiber.join(other)
      assert.strictEqual(error._tag, "LockNotHeld")
      assert.isTrue(yield* lock.locked)
    })
  )

  it.effect("acquiring a Lock twice from one fiber is a typed error, not a deadlock", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make()
      yield* lock.acquire
      const error = yield* Effect.flip(lock.acquire)
      assert.strictEqual(error._tag, "LockAlreadyHeld")
      assert.include(error.message, "RLock")
      assert.isFalse(yield* lock.tryAcquire)
    })
  )

  it.effect("handing off among 10,000 waiters stays O(1) per release", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make()
      let done = 0
      yield* Effect.all(
        Array.from({ length: 10_000 }, () =>
          Lock.withLock(
            lock,
            Effect.sync(() => done++)
          )
        ),
        { concurrency: "unbounded", discard: true }
      )
      assert.strictEqual(done, 10_000)
      assert.strictEqual(waiters(lock), 0)
    })
  )

  it.effect("a release resumes the next waiter in the same turn of the event loop", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make()
      const order: Array<string> = []
      yield* lock.acquire
      const waiter = yield* Effect.forkChild(
        Lock.withLock(
          lock,
          Effect.sync(() => order.push("waiter"))
        )
      )
      yield* Effect.yieldNow
      assert.strictEqual(waiters(lock), 1)
      // A task for the next turn, queued before the release: the waiter must run first.
      yield* Effect.sync(() => setImmediate(() => order.push("next turn")))
      yield* lock.release
      yield* Fiber.join(waiter)
      yield* Effect.promise(() => new Promise((resolve) => setImmediate(resolve)))
      assert.deepStrictEqual(order, ["waiter", "next turn"])
    })
  )

  it.effect("fibers handing a lock back and forth do not starve the event loop", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make()
      const rounds = 10_000
      let sections = 0
      let turnedAt: number | undefined
      // Neither player ever yields: from the first release on, each hand-off resumes the other.
      const player = Effect.gen(function* () {
        for (let i = 0; i < rounds; i++)
          yield* Lock.withLock(
            lock,
            Effect.sync(() => sections++)
          )
      })
      yield* lock.acquire
      const players = yield* Effect.forkChild(Effect.all([player, player], { concurrency: 2, discard: true }))
      while (waiters(lock) < 2) yield* Effect.yieldNow
      yield* Effect.sync(() => setImmediate(() => (turnedAt = sections)))
      yield* lock.release
      yield* Fiber.join(players)
      assert.strictEqual(sections, 2 * rounds)
      // The next turn of the event loop came while they still ran.
      assert.isDefined(turnedAt)
      assert.isBelow(turnedAt!, 2 * rounds)
    })
  )
})

describe("RLock", () => {
  it.effect("the owner may re-enter; others wait until it has released every hold", () =>
    Effect.gen(function* () {
      const lock = yield* RLock.make()
      yield* lock.acquire
      yield* lock.acquire
      assert.strictEqual(yield* lock.holds, 2)
      const other = yield* Effect.forkChild(RLock.withLock(lock, Effect.succeed("other")))
      yield* Effect.yieldNow
      yield* lock.release
      yield* Effect.yieldNow
      assert.isUndefined(other.pollUnsafe())
      yield* lock.release
      assert.strictEqual(yield* Fiber.join(other), "other")
      assert.isFalse(yield* lock.locked)
    })
  )

  it.effect("nested withLock does not deadlock", () =>
    Effect.gen(function* () {
      const lock = yield* RLock.make()
      const result = yield* Effect.succeed(7).pipe(RLock.withLock(lock), RLock.withLock(lock), RLock.withLock(lock))
      assert.strictEqual(result, 7)
      assert.isFalse(yield* lock.locked)
    })
  )

  it.effect("releasing more than acquired, or from another fiber, is a typed error", () =>
    Effect.gen(function* () {
      const lock = yield* RLock.make()
      yield* lock.acquire
      const other = yield* Effect.forkChild(Effect.flip(lock.release))
      assert.strictEqual((yield* Fiber.join(other))._tag, "LockNotHeld")
      yield* lock.release
      const extra = yield* Effect.flip(lock.release)
      assert.strictEqual(extra._tag, "LockNotHeld")
    })
  )

  it.effect("a fiber forked inside withLock is not the owner", () =>
    Effect.gen(function* () {
      const lock = yield* RLock.make()
      const childGotIt = yield* RLock.withLock(lock, Effect.forkChild(lock.tryAcquire).pipe(Effect.flatMap(Fiber.join)))
      assert.isFalse(childGotIt)
    })
  )

  it.effect("acquireTimeout times out, and an interrupted waiter leaves no trace", () =>
    Effect.gen(function* () {
      const lock = yield* RLock.make()
      yield* lock.acquire
      const timed = yield* Effect.forkChild(RLock.acquireTimeout(lock, "10 seconds"))
      const blocked = yield* Effect.forkChild(lock.acquire)
      yield* Effect.yieldNow
      yield* TestClock.adjust("10 seconds")
      assert.isFalse(yield* Fiber.join(timed))
      yield* Fiber.interrupt(blocked)
      assert.strictEqual(waiters(lock), 0)
      yield* lock.release
      assert.isFalse(yield* lock.locked)
    })
  )
})
