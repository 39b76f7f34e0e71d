import { assert, describe, it } from "@effect/vitest"
import { JoinableQueue, LifoQueue, PriorityQueue } from "@strand/core"
import { Effect, Exit, Fiber, Order } from "effect"
import { TestClock } from "effect/testing"

describe("JoinableQueue", () => {
  it.effect("join waits until every offered item is marked done", () =>
    Effect.gen(function* () {
      const queue = yield* JoinableQueue.make<number>({ capacity: 2 })
      const processed: Array<number> = []
      const worker = Effect.forever(
        Effect.gen(function* () {
          const item = yield* JoinableQueue.take(queue)
          yield* Effect.sleep("1 second")
          processed.push(item)
          yield* JoinableQueue.taskDone(queue)
        })
      )
      yield* Effect.forkChild(worker)
      const producer = yield* Effect.forkChild(
        Effect.andThen(JoinableQueue.offerAll(queue, [1, 2, 3, 4]), JoinableQueue.join(queue))
      )
      yield* TestClock.adjust("3 seconds")
      assert.isUndefined(producer.pollUnsafe())
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(producer)
      assert.deepStrictEqual(processed, [1, 2, 3, 4])
      assert.strictEqual(yield* JoinableQueue.unfinished(queue), 0)
    })
  )

  it.effect("taskDone more often than items offered is a typed error", () =>
    Effect.gen(function* () {
      const queue = yield* JoinableQueue.make<string>()
      assert.strictEqual((yield* Effect.flip(JoinableQueue.taskDone(queue)))._tag, "TaskDoneTooOften")
      yield* JoinableQueue.offer(queue, "a")
      yield* JoinableQueue.taskDone(queue)
      assert.strictEqual((yield* Effect.flip(JoinableQueue.taskDone(queue)))._tag, "TaskDoneTooOften")
    })
  )

  it.effect("an interrupted offer on a full queue is not counted", () =>
    Effect.gen(function* () {
      const queue = yield* JoinableQueue.make<number>({ capacity: 1 })
      yield* JoinableQueue.offer(queue, 1)
      const blocked = yield* Effect.forkChild(JoinableQueue.offer(queue, 2))
      yield* Effect.yieldNow
      assert.strictEqual(yield* JoinableQueue.unfinished(queue), 2)
      yield* Fiber.interrupt(blocked)
      assert.strictEqual(yield* JoinableQueue.unfinished(queue), 1)
      const joiner = yield* Effect.forkChild(JoinableQueue.join(queue))
      yield* JoinableQueue.take(queue)
      yield* JoinableQueue.taskDone(queue)
      yield* Fiber.join(joiner)
    })
  )

  it.effect("rejects a capacity below 1", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* Effect.flip(JoinableQueue.make({ capacity: 0 })))._tag, "InvalidArgument")
    })
  )
})

describe("PriorityQueue", () => {
  it.effect("takes the smallest first and is stable for equal priorities", () =>
    Effect.gen(function* () {
      const queue = yield* PriorityQueue.make<{ p: number; name: string }>({
        capacity: 10,
        order: Order.mapInput(Order.Number, (x: { p: number }) => x.p)
      })
      for (const [p, name] of [
        [2, "c"],
        [1, "a"],
        [2, "d"],
        [1, "b"],
        [0, "z"]
      ] as const) {
        yield* PriorityQueue.offer(queue, { p, name })
      }
      const out: Array<string> = []
      for (let i = 0; i < 5; i++) out.push((yield* PriorityQueue.take(queue)).name)
      assert.deepStrictEqual(out, ["z", "a", "b", "c", "d"])
    })
  )

  it.effect("offer suspends while full and take while empty", () =>
    Effect.gen(function* () {
      const queue = yield* PriorityQueue.make<number>({ capacity: 2, order: Order.Number })
      const taker = yield* Effect.forkChild(PriorityQueue.take(queue))
      yield* Effect.yieldNow
      assert.isUndefined(taker.pollUnsafe())
      yield* PriorityQueue.offer(queue, 5)
      assert.strictEqual(yield* Fiber.join(taker), 5)
      yield* PriorityQueue.offer(queue, 3)
      yield* PriorityQueue.offer(queue, 4)
      const offerer = yield* Effect.forkChild(PriorityQueue.offer(queue, 1))
      yield* Effect.yieldNow
      assert.isUndefined(offerer.pollUnsafe())
      assert.strictEqual(yield* PriorityQueue.take(queue), 3)
      assert.isTrue(yield* Fiber.join(offerer))
      assert.strictEqual(yield* PriorityQueue.take(queue), 1)
      assert.strictEqual(yield* PriorityQueue.take(queue), 4)
    })
  )

  it.effect("interrupted offerers and takers leave no trace", () =>
    Effect.gen(function* () {
      const queue = yield* PriorityQueue.make<number>({ capacity: 1, order: Order.Number })
      const taker = yield* Effect.forkChild(PriorityQueue.take(queue))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(taker)
      yield* PriorityQueue.offer(queue, 1)
      const offerer = yield* Effect.forkChild(PriorityQueue.offer(queue, 2))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(offerer)
      assert.strictEqual(yield* PriorityQueue.take(queue), 1)
      assert.strictEqual(yield* PriorityQueue.size(queue), 0)
    })
  )

  it.effect("a taker granted an item but interrupted before it ran passes the item on", () =>
    Effect.gen(function* () {
      const queue = yield* PriorityQueue.make<number>({ capacity: 4, order: Order.Number })
      const first = yield* Effect.forkChild(PriorityQueue.take(queue))
      yield* Effect.yieldNow
      const second = yield* Effect.forkChild(PriorityQueue.take(queue))
      yield* Effect.yieldNow
      yield* PriorityQueue.offer(queue, 9)
      yield* Fiber.interrupt(first)
      assert.strictEqual(yield* Fiber.join(second), 9)
    })
  )

  it.effect("shutdown matches Effect's Queue: items dropped, offers false, takers interrupted", () =>
    Effect.gen(function* () {
      const queue = yield* PriorityQueue.make<number>({ capacity: 1, order: Order.Number })
      const taker = yield* Effect.forkChild(PriorityQueue.take(queue))
      yield* Effect.yieldNow
      yield* PriorityQueue.offer(queue, 1)
      yield* Fiber.join(taker)
      yield* PriorityQueue.offer(queue, 2)
      const blockedOffer = yield* Effect.forkChild(PriorityQueue.offer(queue, 3))
      yield* Effect.yieldNow
      assert.isTrue(yield* PriorityQueue.shutdown(queue))
      assert.isFalse(yield* PriorityQueue.shutdown(queue))
      assert.isFalse(yield* Fiber.join(blockedOffer))
      assert.strictEqual(yield* PriorityQueue.size(queue), 0)
      assert.isFalse(yield* PriorityQueue.offer(queue, 4))
      const exit = yield* Effect.exit(PriorityQueue.take(queue))
      assert.isTrue(Exit.hasInterrupts(exit))
    })
  )

  it.effect("rejects a capacity below 1", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(PriorityQueue.make<number>({ capacity: 0, order: Order.Number }))
      assert.strictEqual(error._tag, "InvalidArgument")
    })
  )
})

describe("LifoQueue", () => {
  it.effect("takes the newest item first, with back-pressure", () =>
    Effect.gen(function* () {
      const stack = yield* LifoQueue.make<number>({ capacity: 3 })
      for (const n of [1, 2, 3]) yield* LifoQueue.offer(stack, n)
      const offerer = yield* Effect.forkChild(LifoQueue.offer(stack, 4))
      yield* Effect.yieldNow
      assert.isUndefined(offerer.pollUnsafe())
      assert.strictEqual(yield* LifoQueue.take(stack), 3)
      yield* Fiber.join(offerer)
      const out = [yield* LifoQueue.take(stack), yield* LifoQueue.take(stack), yield* LifoQueue.take(stack)]
      assert.deepStrictEqual(out, [4, 2, 1])
    })
  )

  it.effect("a take that times out leaves no waiter behind", () =>
    Effect.gen(function* () {
      const stack = yield* LifoQueue.make<number>({ capacity: 1 })
      const taker = yield* Effect.forkChild(Effect.timeoutOption(LifoQueue.take(stack), "1 second"))
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* Fiber.join(taker))._tag, "None")
      yield* LifoQueue.offer(stack, 1)
      assert.strictEqual(yield* LifoQueue.size(stack), 1)
      assert.isTrue(yield* LifoQueue.shutdown(stack))
      assert.strictEqual((yield* Effect.flip(LifoQueue.make({ capacity: -1 })))._tag, "InvalidArgument")
    })
  )
})

describe("JoinableQueue, as Python's queue.Queue", () => {
  it.effect("offerNow and takeNow fail with QueueFull and QueueEmpty; isEmpty and isFull", () =>
    Effect.gen(function* () {
      const queue = yield* JoinableQueue.make<number>({ capacity: 1 })
      assert.isTrue(yield* queue.isEmpty)
      assert.strictEqual((yield* Effect.flip(queue.takeNow))._tag, "QueueEmpty")
      yield* queue.offerNow(1)
      assert.isTrue(yield* queue.isFull)
      assert.strictEqual((yield* Effect.flip(queue.offerNow(2)))._tag, "QueueFull")
      assert.strictEqual(yield* queue.unfinished, 1)
      assert.strictEqual(yield* queue.takeNow, 1)
      yield* JoinableQueue.taskDone(queue)
      yield* JoinableQueue.join(queue)
    })
  )

  it.effect("close is graceful: offers fail with QueueShutDown, takers drain the rest, then fail", () =>
    Effect.gen(function* () {
      const queue = yield* JoinableQueue.make<number>()
      yield* JoinableQueue.offerAll(queue, [1, 2])
      assert.isTrue(yield* queue.close)
      assert.isFalse(yield* queue.close)
      assert.strictEqual((yield* Effect.flip(JoinableQueue.offer(queue, 3)))._tag, "QueueShutDown")
      assert.strictEqual((yield* Effect.flip(queue.offerNow(3)))._tag, "QueueShutDown")
      assert.deepStrictEqual([yield* JoinableQueue.take(queue), yield* JoinableQueue.take(queue)], [1, 2])
      assert.strictEqual((yield* Effect.flip(JoinableQueue.take(queue)))._tag, "QueueShutDown")
      assert.strictEqual((yield* Effect.flip(queue.takeNow))._tag, "QueueShutDown")
    })
  )

  it.effect("close wakes a taker waiting on an empty queue with QueueShutDown", () =>
    Effect.gen(function* () {
      const queue = yield* JoinableQueue.make<number>()
      const taker = yield* Effect.forkChild(JoinableQueue.take(queue))
      yield* Effect.yieldNow
      yield* queue.close
      assert.strictEqual((yield* Effect.flip(Fiber.join(taker)))._tag, "QueueShutDown")
    })
  )
})
