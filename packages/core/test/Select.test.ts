import { assert, describe, it } from "@effect/vitest"
import { Select } from "@strand/core"
import { Cause, Deferred, Effect, Fiber, Queue, Schema } from "effect"
import { TestClock } from "effect/testing"

describe("Select", () => {
  it.effect("takes from the first ready source, in listed order", () =>
    Effect.gen(function* () {
      const urgent = yield* Queue.unbounded<string>()
      const normal = yield* Queue.unbounded<string>()
      yield* Queue.offer(normal, "routine")
      yield* Queue.offer(urgent, "fire")
      assert.deepStrictEqual(yield* Select.select([urgent, normal]), { index: 0, value: "fire" })
      assert.deepStrictEqual(yield* Select.select([urgent, normal]), { index: 1, value: "routine" })
    })
  )

  it.effect("waits until a source is ready, including a deferred", () =>
    Effect.gen(function* () {
      const jobs = yield* Queue.bounded<string>(4)
      const stop = yield* Deferred.make<string>()
      const selector = yield* Effect.forkChild(Select.select([stop, jobs]))
      yield* Effect.yieldNow
      assert.isUndefined(selector.pollUnsafe())
      yield* Deferred.succeed(stop, "stop")
      assert.deepStrictEqual(yield* Fiber.join(selector), { index: 0, value: "stop" })
      // A done deferred stays ready: reading it consumes nothing.
      assert.deepStrictEqual(yield* Select.select([stop, jobs]), { index: 0, value: "stop" })
    })
  )

  it.effect("fails with a TimeoutError when nothing is ready in time", () =>
    Effect.gen(function* () {
      const queue = yield* Queue.unbounded<number>()
      const selector = yield* Effect.forkChild(Effect.flip(Select.select([queue], { timeout: "1 second" })))
      yield* TestClock.adjust("1 second")
      assert.isTrue(Cause.isTimeoutError(yield* Fiber.join(selector)))
      yield* Queue.offer(queue, 1)
      assert.strictEqual(yield* Queue.size(queue), 1)
    })
  )

  it.effect("an interrupted select takes nothing", () =>
    Effect.gen(function* () {
      const a = yield* Queue.unbounded<number>()
      const b = yield* Queue.unbounded<number>()
      const selector = yield* Effect.forkChild(Select.select([a, b]))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(selector)
      yield* Queue.offerAll(a, [1])
      yield* Queue.offerAll(b, [2])
      assert.deepStrictEqual([yield* Queue.size(a), yield* Queue.size(b)], [1, 1])
    })
  )

  it.effect("a shut-down queue ends the select with its failure", () =>
    Effect.gen(function* () {
      const queue = yield* Queue.unbounded<number>()
      const selector = yield* Effect.forkChild(Effect.exit(Select.select([queue])))
      yield* Effect.yieldNow
      yield* Queue.shutdown(queue)
      const exit = yield* Fiber.join(selector)
      assert.strictEqual(exit._tag, "Failure")
    })
  )

  it.effect.prop(
    "takes exactly one item per select and never loses one, whatever the interleaving",
    [
      Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3 }))),
      Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 8 }))
    ],
    ([targets, selectors]) =>
      Effect.gen(function* () {
        const queues = yield* Effect.forEach([0, 1, 2, 3], () => Queue.unbounded<number>())
        const taken: Array<number> = []
        // Selectors start first and wait; producers then offer to every queue, many items at once.
        const fibers = yield* Effect.forEach(Array.from({ length: selectors }), () =>
          Effect.forkChild(Effect.flatMap(Select.select(queues), ({ value }) => Effect.sync(() => taken.push(value))))
        )
        yield* Effect.yieldNow
        yield* Effect.forEach(targets, (q, item) => Queue.offer(queues[q]!, item), {
          concurrency: "unbounded",
          discard: true
        })
        for (let i = 0; i < selectors; i++) yield* Effect.yieldNow
        const remaining = (yield* Effect.forEach(queues, (q) => Queue.clear(q))).flat()
        const expectedTaken = Math.min(selectors, targets.length)
        assert.strictEqual(taken.length, expectedTaken)
        assert.deepStrictEqual(
          [...taken, ...remaining].sort((x, y) => x - y),
          targets.map((_, i) => i)
        )
        yield* Effect.forEach(fibers, Fiber.interrupt, { discard: true })
      })
  )
})
