import { assert, describe, it } from "@effect/vitest"
import { Condition, Lock, RLock } from "@strand/core"
import { Effect, Fiber, Option } from "effect"
import { TestClock } from "effect/testing"

describe("Condition", () => {
  it.effect("a consumer waits until a producer notifies", () =>
    Effect.gen(function* () {
      const cond = yield* Condition.make()
      const items: Array<number> = []
      const consumer = yield* Effect.forkChild(
        Condition.withLock(
          cond,
          Effect.gen(function* () {
            yield* Condition.waitFor(
              cond,
              Effect.sync(() => items.length > 0)
            )
            return items.shift()
          })
        )
      )
      yield* Effect.yieldNow
      assert.strictEqual(yield* Condition.waiting(cond), 1)
      yield* Condition.withLock(
        cond,
        Effect.gen(function* () {
          items.push(42)
          yield* Condition.notify(cond)
        })
      )
      assert.strictEqual(yield* Fiber.join(consumer), 42)
    })
  )

  it.effect("notify(n) wakes n waiters in FIFO order, notifyAll wakes the rest", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make()
      const cond = yield* Condition.make({ lock })
      const woken: Array<number> = []
      const fibers = []
      for (let i = 0; i < 5; i++) {
        fibers.push(
          yield* Effect.forkChild(
            Condition.withLock(
              cond,
              Effect.andThen(
                Condition.wait(cond),
                Effect.sync(() => woken.push(i))
              )
            )
          )
        )
        yield* Effect.yieldNow
      }
      yield* Condition.withLock(cond, Condition.notify(cond, 2))
      yield* Effect.yieldNow
      yield* Effect.yieldNow
      assert.deepStrictEqual(woken, [0, 1])
      yield* Condition.withLock(cond, Condition.notifyAll(cond))
      yield* Fiber.joinAll(fibers)
      assert.deepStrictEqual(woken, [0, 1, 2, 3, 4])
      assert.isFalse(yield* lock.locked)
    })
  )

  it.effect("waitTimeout returns false after the timeout, holding the lock again", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make()
      const cond = yield* Condition.make({ lock })
      const waiter = yield* Effect.forkChild(
        Condition.withLock(
          cond,
          Effect.gen(function* () {
            const notified = yield* Condition.waitTimeout(cond, "2 seconds")
            const fiberId = yield* Effect.fiberId
            return { notified, holds: Option.getOrUndefined(yield* lock.holder) === fiberId }
          })
        )
      )
      yield* Effect.yieldNow
      assert.isFalse(yield* lock.locked)
      yield* TestClock.adjust("2 seconds")
      assert.deepStrictEqual(yield* Fiber.join(waiter), { notified: false, holds: true })
      assert.strictEqual(yield* Condition.waiting(cond), 0)
    })
  )

  it.effect("waitFor with a timeout returns the predicate's last value", () =>
    Effect.gen(function* () {
      const cond = yield* Condition.make()
      const waiter = yield* Effect.forkChild(
        Condition.withLock(cond, Condition.waitFor(cond, Effect.succeed(false), { timeout: "1 second" }))
      )
      yield* TestClock.adjust("1 second")
      assert.isFalse(yield* Fiber.join(waiter))
    })
  )

  it.effect("an interrupted wait reacquires the lock before it ends", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make()
      const cond = yield* Condition.make({ lock })
      let heldOnInterrupt = false
      const waiter = yield* Effect.forkChild(
        Condition.withLock(
          cond,
          Condition.wait(cond).pipe(
            Effect.onInterrupt(() =>
              Effect.flatMap(Effect.fiberId, (id) =>
                Effect.map(lock.holder, (holder) => {
                  heldOnInterrupt = Option.getOrUndefined(holder) === id
                })
              )
            )
          )
        )
      )
      yield* Effect.yieldNow
      yield* Fiber.interrupt(waiter)
      assert.isTrue(heldOnInterrupt)
      assert.isFalse(yield* lock.locked)
      assert.strictEqual(yield* Condition.waiting(cond), 0)
    })
  )

  it.effect("a wake-up given to a waiter that is then interrupted goes to the next waiter", () =>
    Effect.gen(function* () {
      const cond = yield* Condition.make()
      const first = yield* Effect.forkChild(Condition.withLock(cond, Condition.wait(cond)))
      yield* Effect.yieldNow
      const second = yield* Effect.forkChild(Condition.withLock(cond, Effect.as(Condition.wait(cond), "second woke")))
      yield* Effect.yieldNow
      yield* Condition.withLock(cond, Condition.notify(cond))
      yield* Fiber.interrupt(first)
      assert.strictEqual(yield* Fiber.join(second), "second woke")
    })
  )

  it.effect("an RLock's holds are restored after wait", () =>
    Effect.gen(function* () {
      const lock = yield* RLock.make()
      const cond = yield* Condition.make({ lock })
      const waiter = yield* Effect.forkChild(
        Effect.gen(function* () {
          yield* lock.acquire
          yield* lock.acquire
          yield* Condition.wait(cond)
          const holds = yield* lock.holds
          yield* lock.release
          yield* lock.release
          return holds
        })
      )
      yield* Effect.yieldNow
      assert.isFalse(yield* lock.locked)
      yield* Condition.withLock(cond, Condition.notify(cond))
      assert.strictEqual(yield* Fiber.join(waiter), 2)
    })
  )

  it.effect("wait and notify without holding the lock are typed errors", () =>
    Effect.gen(function* () {
      const cond = yield* Condition.make()
      assert.strictEqual((yield* Effect.flip(Condition.wait(cond)))._tag, "LockNotHeld")
      assert.strictEqual((yield* Effect.flip(Condition.notify(cond)))._tag, "LockNotHeld")
      assert.strictEqual((yield* Effect.flip(Condition.notifyAll(cond)))._tag, "LockNotHeld")
      assert.strictEqual((yield* Effect.flip(Condition.waitTimeout(cond, "1 second")))._tag, "LockNotHeld")
    })
  )
})
