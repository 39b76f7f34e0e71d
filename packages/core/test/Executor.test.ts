import { assert, describe, it } from "@effect/vitest"
import { Executor, Future } from "@strand/core"
import { Effect, Exit, Fiber, Scope, Stream } from "effect"
import { TestClock } from "effect/testing"

describe("Executor", () => {
  it.effect("submit returns futures that can be awaited", () =>
    Effect.gen(function* () {
      const executor = yield* Executor.make({ maxWorkers: 2 })
      const a = yield* Executor.submit(executor, Effect.succeed(25))
      const b = yield* Executor.submit(executor, Effect.succeed(100))
      assert.deepStrictEqual([yield* a.await, yield* b.await], [25, 100])
      assert.isTrue(yield* a.isDone)
    })
  )

  it.effect("runs at most maxWorkers at once and map keeps the input order", () =>
    Effect.gen(function* () {
      const executor = yield* Executor.make({ maxWorkers: 3 })
      let running = 0
      let peak = 0
      const job = (n: number) =>
        Effect.gen(function* () {
          running++
          peak = Math.max(peak, running)
          yield* Effect.sleep(`${10 - n} millis`)
          running--
          return n * 2
        })
      const fiber = yield* Effect.forkChild(Executor.map(executor, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], job))
      yield* TestClock.adjust("1 second")
      assert.deepStrictEqual(yield* Fiber.join(fiber), [0, 2, 4, 6, 8, 10, 12, 14, 16, 18])
      assert.strictEqual(peak, 3)
    })
  )

  it.effect("cancel stops pending and running work", () =>
    Effect.gen(function* () {
      const executor = yield* Executor.make({ maxWorkers: 1 })
      let ran = 0
      const running = yield* Executor.submit(
        executor,
        Effect.andThen(
          Effect.sleep("1 hour"),
          Effect.sync(() => ran++)
        )
      )
      const pending = yield* Executor.submit(
        executor,
        Effect.sync(() => ran++)
      )
      yield* Effect.yieldNow
      assert.isTrue(yield* pending.cancel)
      assert.isTrue(yield* running.cancel)
      assert.isFalse(yield* running.cancel)
      assert.strictEqual((yield* Effect.flip(running.await))._tag, "FutureCancelled")
      assert.strictEqual((yield* Effect.flip(pending.await))._tag, "FutureCancelled")
      assert.strictEqual(ran, 0)
    })
  )

  it.effect("shutdown refuses new work and can cancel what has not started", () =>
    Effect.gen(function* () {
      const executor = yield* Executor.make({ maxWorkers: 1 })
      const first = yield* Executor.submit(executor, Effect.as(Effect.sleep("1 second"), "first"))
      const second = yield* Executor.submit(executor, Effect.succeed("second"))
      yield* Effect.yieldNow
      const shutdown = yield* Effect.forkChild(Executor.shutdown(executor, { wait: true, cancelPending: true }))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(shutdown)
      assert.strictEqual(yield* first.await, "first")
      assert.strictEqual((yield* Effect.flip(second.await))._tag, "FutureCancelled")
      const error = yield* Effect.flip(Executor.submit(executor, Effect.void))
      assert.strictEqual(error._tag, "ExecutorShutdown")
    })
  )

  it.effect("closing the scope normally waits for submitted work", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const executor = yield* Executor.make({ maxWorkers: 2 }).pipe(Scope.provide(scope))
      let finished = false
      yield* Executor.submit(
        executor,
        Effect.andThen(
          Effect.sleep("1 second"),
          Effect.sync(() => (finished = true))
        )
      )
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(closing)
      assert.isTrue(finished)
    })
  )

  it.effect("closing the scope by interruption cancels everything", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const executor = yield* Executor.make({ maxWorkers: 1 }).pipe(Scope.provide(scope))
      const future = yield* Executor.submit(executor, Effect.never)
      yield* Scope.close(scope, Exit.interrupt(0))
      assert.strictEqual((yield* Effect.flip(future.await))._tag, "FutureCancelled")
    })
  )

  it.effect("maxWorkers must be a whole number of at least 1", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* Effect.flip(Executor.make({ maxWorkers: 0 })))._tag, "InvalidArgument")
    })
  )
})

describe("Executor, as Java's ExecutorService", () => {
  it.effect("shutdownNow cancels and returns what never started, interrupts what runs, and terminates", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const executor = yield* Executor.make({ maxWorkers: 1 })
        const running = yield* Executor.submit(executor, Effect.never)
        const pending = yield* Executor.submit(executor, Effect.never)
        yield* Effect.yieldNow
        assert.isFalse(yield* Executor.isShutdown(executor))
        const neverStarted = yield* Executor.shutdownNow(executor)
        assert.deepStrictEqual(neverStarted, [pending] as Array<unknown>)
        assert.isTrue(yield* Executor.isShutdown(executor))
        assert.isTrue(yield* Executor.awaitTermination(executor, "1 second"))
        assert.isTrue(yield* Executor.isTerminated(executor))
        assert.isTrue(yield* running.isCancelled)
        assert.isTrue(yield* pending.isCancelled)
        assert.strictEqual((yield* Effect.flip(running.await))._tag, "FutureCancelled")
        assert.strictEqual((yield* Effect.flip(Executor.submit(executor, Effect.void)))._tag, "ExecutorShutdown")
      })
    )
  )

  it.effect("awaitTermination times out on an executor that is not shut down; isCancelled is false for done work", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const executor = yield* Executor.make({ maxWorkers: 2 })
        const done = yield* Executor.submit(executor, Effect.succeed(1))
        assert.strictEqual(yield* done.await, 1)
        assert.isFalse(yield* done.isCancelled)
        const waiting = yield* Effect.forkChild(Executor.awaitTermination(executor, "1 second"))
        yield* TestClock.adjust("1 second")
        assert.isFalse(yield* Fiber.join(waiting))
        assert.isFalse(yield* Executor.isTerminated(executor))
        const error = yield* Effect.flip(Executor.awaitTermination(executor, "whenever" as never))
        assert.strictEqual(error._tag, "InvalidArgument")
      })
    )
  )
})

describe("Future.wait and asCompleted", () => {
  const setup = Effect.gen(function* () {
    const executor = yield* Executor.make({ maxWorkers: 4 })
    const fast = yield* Executor.submit(executor, Effect.as(Effect.sleep("1 second"), "fast"))
    const failing = yield* Executor.submit(executor, Effect.andThen(Effect.sleep("2 seconds"), Effect.fail("bad")))
    const slow = yield* Executor.submit(executor, Effect.as(Effect.sleep("3 seconds"), "slow"))
    return [fast, failing, slow] as const
  })

  it.effect("a future given twice is one future, in done as in pending", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const executor = yield* Executor.make({ maxWorkers: 2 })
        const done = yield* Executor.submit(executor, Effect.succeed(1))
        const never = yield* Executor.submit(executor, Effect.never)
        yield* Effect.yieldNow
        const result = yield* Future.wait([done, done, never, never], { timeout: "1 second" }).pipe(
          Effect.forkChild,
          Effect.tap(() => TestClock.adjust("1 second")),
          Effect.flatMap(Fiber.join)
        )
        assert.deepStrictEqual([result.done.length, result.pending.length], [1, 1])
        yield* never.cancel
      })
    )
  )

  it.effect("FirstCompleted returns once one is done", () =>
    Effect.gen(function* () {
      const futures = yield* setup
      const waiter = yield* Effect.forkChild(Future.wait(futures, { returnWhen: "FirstCompleted" }))
      yield* TestClock.adjust("1 second")
      const { done, pending } = yield* Fiber.join(waiter)
      assert.deepStrictEqual([done.length, pending.length], [1, 2])
      assert.strictEqual(done[0], futures[0])
      // The executor's scope waits for the rest, as Python's `with` block does.
      yield* TestClock.adjust("2 seconds")
    })
  )

  it.effect("FirstException returns once one has failed", () =>
    Effect.gen(function* () {
      const futures = yield* setup
      const waiter = yield* Effect.forkChild(Future.wait(futures, { returnWhen: "FirstException" }))
      yield* TestClock.adjust("2 seconds")
      const { done, pending } = yield* Fiber.join(waiter)
      assert.deepStrictEqual([done.length, pending.length], [2, 1])
      yield* TestClock.adjust("1 second")
    })
  )

  it.effect("AllCompleted, with a timeout that runs out first", () =>
    Effect.gen(function* () {
      const futures = yield* setup
      const timed = yield* Effect.forkChild(Future.wait(futures, { timeout: "2500 millis" }))
      const all = yield* Effect.forkChild(Future.wait(futures))
      yield* TestClock.adjust("2500 millis")
      const partial = yield* Fiber.join(timed)
      assert.deepStrictEqual([partial.done.length, partial.pending.length], [2, 1])
      yield* TestClock.adjust("500 millis")
      assert.strictEqual((yield* Fiber.join(all)).done.length, 3)
    })
  )

  it.effect("asCompleted streams results in completion order", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(
        Future.asCompleted(
          [3, 1, 2].map((n) => Effect.as(Effect.sleep(`${n} seconds`), n)),
          { concurrency: 3 }
        ).pipe(Stream.runCollect)
      )
      yield* TestClock.adjust("3 seconds")
      assert.deepStrictEqual(Array.from(yield* Fiber.join(fiber)), [1, 2, 3])
    })
  )
})
