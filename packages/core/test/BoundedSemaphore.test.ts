import { assert, describe, it } from "@effect/vitest"
import { BoundedSemaphore } from "@strand/core"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"

describe("BoundedSemaphore", () => {
  it.effect("bounds concurrency", () =>
    Effect.gen(function* () {
      const sem = yield* BoundedSemaphore.make(3)
      let running = 0
      let peak = 0
      const task = Effect.gen(function* () {
        running++
        peak = Math.max(peak, running)
        yield* Effect.sleep("10 millis")
        running--
      }).pipe(BoundedSemaphore.withPermits(sem, 1))
      const all = yield* Effect.forkChild(
        Effect.all(
          Array.from({ length: 10 }, () => task),
          { concurrency: "unbounded" }
        )
      )
      yield* TestClock.adjust("100 millis")
      yield* Fiber.join(all)
      assert.strictEqual(peak, 3)
      assert.strictEqual(yield* BoundedSemaphore.available(sem), 3)
    })
  )

  it.effect("construction validates its permits", () =>
    Effect.gen(function* () {
      const negative = yield* Effect.flip(BoundedSemaphore.make(-1))
      assert.strictEqual(negative._tag, "InvalidArgument")
      assert.include(negative.message, "permits")
      assert.strictEqual((yield* Effect.flip(BoundedSemaphore.make(1.5)))._tag, "InvalidArgument")
      assert.strictEqual((yield* BoundedSemaphore.make(0)).permits, 0)
    })
  )

  it.effect("releasing more than was taken is a typed error", () =>
    Effect.gen(function* () {
      const sem = yield* BoundedSemaphore.make(2)
      const error = yield* Effect.flip(BoundedSemaphore.release(sem))
      assert.strictEqual(error._tag, "SemaphoreOverRelease")
      yield* BoundedSemaphore.acquire(sem, 1)
      assert.strictEqual((yield* Effect.flip(BoundedSemaphore.release(sem, 2)))._tag, "SemaphoreOverRelease")
      yield* BoundedSemaphore.release(sem, 1)
      assert.strictEqual(yield* BoundedSemaphore.available(sem), 2)
    })
  )

  it.effect("asking for more permits than exist is a typed error, not a hang", () =>
    Effect.gen(function* () {
      const sem = yield* BoundedSemaphore.make(2)
      assert.strictEqual((yield* Effect.flip(BoundedSemaphore.acquire(sem, 3)))._tag, "InvalidArgument")
      assert.strictEqual((yield* Effect.flip(BoundedSemaphore.acquire(sem, -1)))._tag, "InvalidArgument")
      assert.strictEqual((yield* Effect.flip(BoundedSemaphore.tryAcquire(sem, 2.5)))._tag, "InvalidArgument")
    })
  )

  it.effect("weighted takes are served FIFO: small takes do not starve a large one", () =>
    Effect.gen(function* () {
      const sem = yield* BoundedSemaphore.make(3)
      const order: Array<string> = []
      yield* BoundedSemaphore.acquire(sem, 2)
      const large = yield* Effect.forkChild(
        Effect.andThen(
          BoundedSemaphore.acquire(sem, 3),
          Effect.sync(() => order.push("large"))
        )
      )
      yield* Effect.yieldNow
      // One permit is free, but the large take is ahead in the queue, so the small one waits.
      const small = yield* Effect.forkChild(
        Effect.andThen(
          BoundedSemaphore.acquire(sem, 1),
          Effect.sync(() => order.push("small"))
        )
      )
      yield* Effect.yieldNow
      assert.isFalse(yield* BoundedSemaphore.tryAcquire(sem, 1))
      assert.deepStrictEqual(order, [])
      yield* BoundedSemaphore.release(sem, 2)
      yield* Fiber.join(large)
      assert.deepStrictEqual(order, ["large"])
      yield* BoundedSemaphore.release(sem, 3)
      yield* Fiber.join(small)
      assert.deepStrictEqual(order, ["large", "small"])
    })
  )

  it.effect("a large waiter that times out lets the smaller ones behind it through", () =>
    Effect.gen(function* () {
      const sem = yield* BoundedSemaphore.make(3)
      yield* BoundedSemaphore.acquire(sem, 2)
      const large = yield* Effect.forkChild(BoundedSemaphore.acquireTimeout(sem, "1 second", 3))
      yield* Effect.yieldNow
      const small = yield* Effect.forkChild(BoundedSemaphore.acquire(sem, 1))
      yield* Effect.yieldNow
      yield* TestClock.adjust("1 second")
      assert.isFalse(yield* Fiber.join(large))
      yield* Fiber.join(small)
      assert.strictEqual(yield* BoundedSemaphore.available(sem), 0)
    })
  )

  it.effect("an interrupted waiter leaves no trace, even after its permits were granted", () =>
    Effect.gen(function* () {
      const sem = yield* BoundedSemaphore.make(2)
      yield* BoundedSemaphore.acquire(sem, 2)
      const waiter = yield* Effect.forkChild(BoundedSemaphore.acquire(sem, 2))
      yield* Effect.yieldNow
      yield* BoundedSemaphore.release(sem, 2)
      // Granted but not yet resumed: interrupting it must give the permits back.
      yield* Fiber.interrupt(waiter)
      assert.strictEqual(yield* BoundedSemaphore.available(sem), 2)
      const other = yield* Effect.forkChild(BoundedSemaphore.acquire(sem, 1))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(other)
      assert.strictEqual(yield* sem.waiting, 0)
    })
  )
})
