// Regression tests, on fixed schedules, for primitives exact under interruption: no lost wake-up,
// no stranded or wrongly broken barrier, no interrupted offer that still puts its item, no item
// counted wrongly by a JoinableQueue.
import { assert, describe, it } from "@effect/vitest"
import { Barrier, Condition, JoinableQueue, LifoQueue, PriorityQueue } from "@strand/core"
import { Effect, Exit, Fiber, Order } from "effect"

/** Lets every fiber that can run, run. */
const settle = Effect.gen(function* () {
  for (let i = 0; i < 20; i++) yield* Effect.yieldNow
})

describe("primitives under interruption", () => {
  it.effect("Condition: a notified waiter interrupted while it re-takes the lock passes its wake-up on", () =>
    Effect.gen(function* () {
      const cond = yield* Condition.make()
      let items = 0
      const consumed: Array<number> = []
      const consumer = (id: number) =>
        Condition.withLock(
          cond,
          Effect.andThen(
            Condition.waitFor(
              cond,
              Effect.sync(() => items > 0)
            ),
            Effect.sync(() => {
              items--
              consumed.push(id)
            })
          )
        )
      const first = yield* Effect.forkChild(consumer(1))
      const second = yield* Effect.forkChild(consumer(2))
      yield* settle
      yield* Condition.withLock(
        cond,
        Effect.gen(function* () {
          items++
          yield* Condition.notify(cond, 1) // wakes the first, which then waits for this lock
          yield* settle
          yield* Effect.forkChild(Fiber.interrupt(first)) // interrupted while it re-takes the lock
          yield* settle
        })
      )
      yield* settle
      assert.isTrue(Exit.hasInterrupts((yield* Fiber.await(first)) as Exit.Exit<unknown, unknown>))
      assert.deepStrictEqual(consumed, [2])
      assert.isDefined(second.pollUnsafe())
    })
  )

  it.effect("Barrier: a released party interrupted before it resumes does not break its generation", () =>
    Effect.gen(function* () {
      const barrier = yield* Barrier.make(3)
      const first = yield* Effect.forkChild(Barrier.wait(barrier))
      const second = yield* Effect.forkChild(Barrier.wait(barrier))
      yield* settle
      assert.strictEqual(yield* Barrier.wait(barrier), 2) // trips: the others are released
      yield* Fiber.interrupt(first) // before it has resumed
      assert.strictEqual(yield* Fiber.join(second), 1)
      assert.isFalse(yield* Barrier.broken(barrier))
    })
  )

  it.effect("Barrier: interrupting the last party while the action runs breaks the barrier, never strands it", () =>
    Effect.gen(function* () {
      const barrier = yield* Barrier.make(3, { action: Effect.never })
      const parties = [yield* Effect.forkChild(Barrier.wait(barrier)), yield* Effect.forkChild(Barrier.wait(barrier))]
      yield* settle
      const last = yield* Effect.forkChild(Barrier.wait(barrier))
      yield* settle
      yield* Fiber.interrupt(last)
      for (const party of parties) {
        const error = yield* Effect.flip(Fiber.join(party))
        assert.strictEqual(error._tag, "BrokenBarrier")
        assert.strictEqual(error._tag === "BrokenBarrier" && error.reason, "action-failed")
        assert.include(error.message, "the action was interrupted")
      }
      assert.isTrue(yield* Barrier.broken(barrier))
    })
  )

  it.effect("Barrier: an action's own error reaches every party in BrokenBarrier", () =>
    Effect.gen(function* () {
      const barrier = yield* Barrier.make(2, { action: Effect.fail("the phase did not converge") })
      const party = yield* Effect.forkChild(Barrier.wait(barrier))
      yield* settle
      const own = yield* Effect.flip(Barrier.wait(barrier))
      const other = yield* Effect.flip(Fiber.join(party))
      for (const error of [own, other]) {
        assert.strictEqual(error._tag === "BrokenBarrier" && error.actionError, "the phase did not converge")
      }
    })
  )

  for (const [name, make] of [
    ["LifoQueue", LifoQueue.make<number>({ capacity: 1 })],
    ["PriorityQueue", PriorityQueue.make<number>({ capacity: 1, order: Order.Number })]
  ] as const) {
    it.effect(`${name}: an offer interrupted after it was granted room does not put its item`, () =>
      Effect.gen(function* () {
        const queue = yield* make
        yield* queue.offer(1)
        const offer = yield* Effect.forkChild(queue.offer(2))
        yield* settle
        assert.strictEqual(yield* queue.take, 1) // frees room: the offer is granted it
        yield* Fiber.interrupt(offer) // before it has resumed
        assert.strictEqual(yield* queue.size, 0)
        yield* queue.offer(3)
        assert.strictEqual(yield* queue.take, 3)
      })
    )
  }

  for (const [name, make] of [
    ["LifoQueue", LifoQueue.make<number>({ capacity: 1 })],
    ["PriorityQueue", PriorityQueue.make<number>({ capacity: 1, order: Order.Number })]
  ] as const) {
    it.effect(`${name}: a take interrupted after it was handed an item leaves the item for the next taker`, () =>
      Effect.gen(function* () {
        const queue = yield* make
        const first = yield* Effect.forkChild(queue.take)
        const second = yield* Effect.forkChild(queue.take)
        yield* settle
        yield* queue.offer(7) // hands the item to the first taker
        yield* Fiber.interrupt(first) // before it has resumed
        assert.strictEqual(yield* Fiber.join(second), 7)
        assert.strictEqual(yield* queue.size, 0)
      })
    )
  }

  it.effect("JoinableQueue: an interrupted offerAll un-counts only the item still waiting", () =>
    Effect.gen(function* () {
      const queue = yield* JoinableQueue.make<number>({ capacity: 1 })
      const producer = yield* Effect.forkChild(JoinableQueue.offerAll(queue, [1, 2]))
      yield* settle
      assert.strictEqual(yield* JoinableQueue.unfinished(queue), 2)
      yield* Fiber.interrupt(producer)
      assert.strictEqual(yield* JoinableQueue.unfinished(queue), 1)
      assert.strictEqual(yield* JoinableQueue.take(queue), 1)
      yield* JoinableQueue.taskDone(queue)
      yield* JoinableQueue.join(queue)
    })
  )

  it.effect("JoinableQueue: join returns after shutdown, which counts dropped items as done", () =>
    Effect.gen(function* () {
      const queue = yield* JoinableQueue.make<number>()
      yield* JoinableQueue.offerAll(queue, [1, 2, 3])
      const taken = yield* JoinableQueue.take(queue)
      assert.strictEqual(taken, 1)
      yield* JoinableQueue.shutdown(queue)
      assert.strictEqual(yield* JoinableQueue.unfinished(queue), 1) // the taken one is still in hand
      const joiner = yield* Effect.forkChild(JoinableQueue.join(queue))
      yield* JoinableQueue.taskDone(queue)
      yield* Fiber.join(joiner)
    })
  )
})
