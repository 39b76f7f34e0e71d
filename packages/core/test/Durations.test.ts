// Every Duration.Input a primitive takes is decoded up front: an invalid one from an untyped
// caller fails at once with the same InvalidArgument, rather than hanging or throwing later.
import { assert, describe, it } from "@effect/vitest"
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  CountDownLatch,
  Diagnostics,
  Executor,
  Future,
  Lock,
  RLock,
  Select,
  Timer
} from "@strand/core"
import { Effect, Layer, Queue } from "effect"

const bad: ReadonlyArray<unknown> = ["banana", "5 secs", -1, Number.NaN, { nope: 1 }, null]

/** Fails with InvalidArgument naming the operation and the argument, whatever `bad` duration it gets. */
const refuses = <A, E, R>(operation: string, make: (input: never) => Effect.Effect<A, E, R>, inputs = bad) =>
  Effect.gen(function* () {
    for (const input of inputs) {
      const error = yield* Effect.flip(make(input as never))
      assert.strictEqual((error as { _tag?: string })._tag, "InvalidArgument", `${operation} with ${String(input)}`)
      const message = (error as unknown as Error).message
      assert.include(message, operation)
      assert.include(message, "must be a duration that is not negative")
    }
  })

describe("durations", () => {
  it.effect("Timer.make refuses an invalid delay at once, instead of a timer that never fires", () =>
    Effect.scoped(refuses("Timer.make", (delay) => Timer.make(delay, Effect.void)))
  )

  it.effect("lock, semaphore and latch timeouts", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make()
      yield* refuses("acquireTimeout", (t) => Lock.acquireTimeout(lock, t))
      assert.isFalse(yield* Lock.locked(lock))
      const rlock = yield* RLock.make()
      yield* refuses("acquireTimeout", (t) => RLock.acquireTimeout(rlock, t))
      const semaphore = yield* BoundedSemaphore.make(1)
      yield* refuses("acquireTimeout", (t) => BoundedSemaphore.acquireTimeout(semaphore, t))
      const latch = yield* CountDownLatch.make(1)
      yield* refuses("CountDownLatch.awaitTimeout", (t) => CountDownLatch.awaitTimeout(latch, t))
    })
  )

  it.effect("condition, barrier, select and future timeouts", () =>
    Effect.gen(function* () {
      const cond = yield* Condition.make()
      yield* refuses("Condition.waitTimeout", (t) => Condition.withLock(cond, Condition.waitTimeout(cond, t)))
      yield* refuses("Condition.waitFor", (t) =>
        Condition.withLock(cond, Condition.waitFor(cond, Effect.succeed(false), { timeout: t }))
      )
      yield* refuses("Barrier.make", (t) => Barrier.make(2, { timeout: t }))
      const barrier = yield* Barrier.make(2)
      yield* refuses("Barrier.wait", (t) => Barrier.wait(barrier, { timeout: t }))
      assert.isFalse(yield* Barrier.broken(barrier))
      const queue = yield* Queue.unbounded<number>()
      yield* refuses("Select.select", (t) => Select.select([queue], { timeout: t }))
      const executor = yield* Executor.make({ maxWorkers: 1 })
      const future = yield* Executor.submit(executor, Effect.void)
      yield* refuses("Future.wait", (t) => Future.wait([future], { timeout: t }))
    })
  )

  it.effect("Diagnostics.layer refuses an invalid starvationThreshold", () =>
    // A null option means "the default" there, as for any option left out.
    refuses(
      "Diagnostics",
      (t) => Layer.build(Diagnostics.layer({ starvationThreshold: t })).pipe(Effect.scoped),
      bad.filter((input) => input !== null)
    )
  )
})
