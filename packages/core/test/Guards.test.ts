import { assert, describe, it } from "@effect/vitest"
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  CountDownLatch,
  Errors,
  Event,
  Executor,
  Future,
  JoinableQueue,
  LifoQueue,
  Lock,
  PriorityQueue,
  RLock,
  Timer
} from "@strand/core"
import { Effect, Order } from "effect"
import type { Pipeable } from "effect/Pipeable"

describe("guards", () => {
  it.effect("each isX recognises its own primitive and nothing else", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const executor = yield* Executor.make({ maxWorkers: 1 })
        const values: Array<[unknown, (u: unknown) => boolean]> = [
          [yield* Lock.make(), Lock.isLock],
          [yield* RLock.make(), RLock.isRLock],
          [yield* Condition.make(), Condition.isCondition],
          [yield* BoundedSemaphore.make(1), BoundedSemaphore.isBoundedSemaphore],
          [yield* Barrier.make(2), Barrier.isBarrier],
          [yield* CountDownLatch.make(1), CountDownLatch.isCountDownLatch],
          [yield* Timer.make("1 second", Effect.void), Timer.isTimer],
          [yield* JoinableQueue.make<number>(), JoinableQueue.isJoinableQueue],
          [yield* LifoQueue.make<number>(), LifoQueue.isLifoQueue],
          [yield* PriorityQueue.make<number>({ order: Order.Number }), PriorityQueue.isPriorityQueue],
          [executor, Executor.isExecutor],
          [yield* Executor.submit(executor, Effect.void), Future.isFuture],
          [yield* Event.make(), Event.isEvent]
        ]
        for (const [value, guard] of values) {
          for (const [other, otherGuard] of values)
            assert.strictEqual(otherGuard(value), other === value || guard === otherGuard)
          for (const junk of [undefined, null, 1, "lock", {}]) assert.isFalse(guard(junk))
          // Every primitive is Pipeable, as Effect's own are.
          assert.strictEqual((value as Pipeable).pipe((self) => [self]).at(0), value)
        }
      })
    )
  )

  it.effect("methods stay bound when passed on, as they were before the primitives became classes", () =>
    Effect.gen(function* () {
      const queue = yield* JoinableQueue.make<number>()
      yield* Effect.forEach([1, 2, 3], queue.offer, { discard: true })
      assert.strictEqual(yield* queue.unfinished, 3)
      const lock = yield* Lock.make()
      const { withLock } = lock
      assert.strictEqual(yield* withLock(Effect.succeed(7)), 7)
    })
  )
})

describe("Errors", () => {
  it.effect("isStrandError recognises core's typed errors, and only them", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make()
      const notHeld = yield* Effect.flip(Lock.release(lock))
      assert.isTrue(Errors.isStrandError(notHeld))
      assert.isTrue(Errors.isStrandError(new Errors.QueueEmpty({ operation: "LifoQueue.takeNow" })))
      for (const other of [new Error("x"), { _tag: "LockNotHeld" }, "LockNotHeld", undefined]) {
        assert.isFalse(Errors.isStrandError(other))
      }
    })
  )
})
