// LifoQueue and PriorityQueue as Python's asyncio.Queue and Java's BlockingQueue: non-blocking and
// timed operations, peek and drain, graceful close, task counting, unbounded capacity.
import { assert, describe, it } from "@effect/vitest"
import { LifoQueue, PriorityQueue } from "@strand/core"
import { Effect, Fiber, Option, Order } from "effect"
import { TestClock } from "effect/testing"

const kinds = [
  ["LifoQueue", (capacity?: number) => LifoQueue.make<number>({ capacity }), [3, 2, 1]],
  ["PriorityQueue", (capacity?: number) => PriorityQueue.make<number>({ capacity, order: Order.Number }), [1, 2, 3]]
] as const

for (const [name, make, order] of kinds) {
  describe(name, () => {
    it.effect("offerNow and takeNow fail with QueueFull and QueueEmpty instead of waiting", () =>
      Effect.gen(function* () {
        const queue = yield* make(1)
        assert.strictEqual((yield* Effect.flip(queue.takeNow))._tag, "QueueEmpty")
        yield* queue.offerNow(7)
        const full = yield* Effect.flip(queue.offerNow(8))
        assert.strictEqual(full._tag, "QueueFull")
        assert.include(full.message, `${name}.offerNow`)
        assert.isTrue(yield* queue.isFull)
        assert.strictEqual(yield* queue.takeNow, 7)
        assert.isTrue(yield* queue.isEmpty)
      })
    )

    it.effect("timed offer and take give up at the deadline, and leave no trace", () =>
      Effect.gen(function* () {
        const queue = yield* make(1)
        const taking = yield* Effect.forkChild(queue.takeTimeout("1 second"))
        yield* TestClock.adjust("1 second")
        assert.deepStrictEqual(yield* Fiber.join(taking), Option.none())
        yield* queue.offer(1)
        const offering = yield* Effect.forkChild(queue.offerTimeout(2, "1 second"))
        yield* TestClock.adjust("1 second")
        assert.isFalse(yield* Fiber.join(offering))
        assert.strictEqual(yield* queue.size, 1)
        const inTime = yield* Effect.forkChild(queue.offerTimeout(3, "1 second"))
        yield* TestClock.adjust("500 millis")
        assert.strictEqual(yield* queue.take, 1)
        assert.isTrue(yield* Fiber.join(inTime))
        assert.deepStrictEqual(yield* queue.takeTimeout(0), Option.some(3))
        assert.strictEqual((yield* Effect.flip(queue.offerTimeout(4, "soon" as never)))._tag, "InvalidArgument")
      })
    )

    it.effect("poll, peek, takeAll and clear; an unbounded queue is never full", () =>
      Effect.gen(function* () {
        const queue = yield* make()
        assert.strictEqual(queue.capacity, Number.POSITIVE_INFINITY)
        assert.deepStrictEqual(yield* queue.poll, Option.none())
        for (const n of [1, 2, 3]) yield* queue.offerNow(n)
        assert.isFalse(yield* queue.isFull)
        assert.deepStrictEqual(yield* queue.peek, Option.some(order[0]))
        assert.strictEqual(yield* queue.size, 3)
        assert.deepStrictEqual(yield* queue.poll, Option.some(order[0]))
        assert.deepStrictEqual(yield* queue.takeAll, order.slice(1))
        yield* queue.offer(9)
        yield* queue.clear
        assert.isTrue(yield* queue.isEmpty)
      })
    )

    it.effect("taskDone and join count every offered item; clear counts dropped ones as done", () =>
      Effect.gen(function* () {
        const queue = yield* make(4)
        yield* queue.join // nothing offered
        yield* queue.offer(1)
        yield* queue.offer(2)
        assert.strictEqual(yield* queue.unfinished, 2)
        const joiner = yield* Effect.forkChild(queue.join)
        yield* queue.take
        yield* queue.taskDone
        yield* Effect.yieldNow
        assert.isUndefined(joiner.pollUnsafe())
        yield* queue.clear // drops the other item: done
        yield* Fiber.join(joiner)
        assert.strictEqual((yield* Effect.flip(queue.taskDone))._tag, "TaskDoneTooOften")
      })
    )

    it.effect("close is graceful: offers fail with QueueShutDown, buffered items can still be taken", () =>
      Effect.gen(function* () {
        const queue = yield* make(1)
        yield* queue.offer(1)
        const waitingOffer = yield* Effect.forkChild(queue.offer(2))
        yield* Effect.yieldNow
        assert.isTrue(yield* queue.close)
        assert.isFalse(yield* queue.close)
        assert.strictEqual((yield* Effect.flip(Fiber.join(waitingOffer)))._tag, "QueueShutDown")
        assert.strictEqual((yield* Effect.flip(queue.offer(3)))._tag, "QueueShutDown")
        assert.strictEqual((yield* Effect.flip(queue.offerNow(3)))._tag, "QueueShutDown")
        assert.strictEqual(yield* queue.take, 1)
        assert.strictEqual((yield* Effect.flip(queue.take))._tag, "QueueShutDown")
        assert.strictEqual((yield* Effect.flip(queue.takeNow))._tag, "QueueShutDown")
      })
    )

    it.effect("close wakes takers waiting on an empty queue with QueueShutDown", () =>
      Effect.gen(function* () {
        const queue = yield* make(1)
        const taker = yield* Effect.forkChild(queue.take)
        yield* Effect.yieldNow
        yield* queue.close
        assert.strictEqual((yield* Effect.flip(Fiber.join(taker)))._tag, "QueueShutDown")
      })
    )

    it.effect("an interrupted takeTimeout or offerTimeout leaves no waiter behind", () =>
      Effect.gen(function* () {
        const queue = yield* make(1)
        const taker = yield* Effect.forkChild(queue.takeTimeout("1 minute"))
        yield* Effect.yieldNow
        yield* Fiber.interrupt(taker)
        yield* queue.offer(5)
        assert.strictEqual(yield* queue.takeNow, 5) // the interrupted taker took nothing
        yield* queue.offer(6)
        const offerer = yield* Effect.forkChild(queue.offerTimeout(7, "1 minute"))
        yield* Effect.yieldNow
        yield* Fiber.interrupt(offerer)
        assert.strictEqual(yield* queue.take, 6)
        assert.isTrue(yield* queue.isEmpty) // the interrupted offer put nothing
      })
    )
  })
}
