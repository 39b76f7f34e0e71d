import { assert, describe, it } from "@effect/vitest"
import { Barrier, CountDownLatch } from "@strand/core"
import { Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"

const brokenReason = (exit: Exit.Exit<unknown, Barrier.BrokenBarrier | Barrier.InvalidArgument>) =>
  Exit.isFailure(exit)
    ? Exit.findErrorOption(exit).pipe((o) =>
        o._tag === "Some" ? ("reason" in o.value ? o.value.reason : o.value._tag) : "no error"
      )
    : "ok"

describe("Barrier", () => {
  it.effect("releases all parties together with arrival indices 0..parties-1", () =>
    Effect.gen(function* () {
      const barrier = yield* Barrier.make(3)
      const indices = yield* Effect.all([Barrier.wait(barrier), Barrier.wait(barrier), Barrier.wait(barrier)], {
        concurrency: "unbounded"
      })
      assert.deepStrictEqual([...indices].sort(), [0, 1, 2])
      assert.strictEqual(yield* Barrier.waiting(barrier), 0)
    })
  )

  it.effect("runs the action once per generation and is reusable", () =>
    Effect.gen(function* () {
      let actions = 0
      const barrier = yield* Barrier.make(2, { action: Effect.sync(() => actions++) })
      const phases: Array<string> = []
      const worker = (id: string) =>
        Effect.gen(function* () {
          for (let phase = 0; phase < 3; phase++) {
            phases.push(`${id}${phase}`)
            yield* Barrier.wait(barrier)
          }
        })
      yield* Effect.all([worker("a"), worker("b")], { concurrency: "unbounded" })
      assert.strictEqual(actions, 3)
      // Nobody enters phase n+1 before both finished phase n.
      for (let phase = 0; phase < 3; phase++) {
        assert.sameMembers(phases.slice(phase * 2, phase * 2 + 2), [`a${phase}`, `b${phase}`])
      }
    })
  )

  it.effect("a timeout breaks the barrier for every waiter", () =>
    Effect.gen(function* () {
      const barrier = yield* Barrier.make(3, { timeout: "1 second" })
      const a = yield* Effect.forkChild(Effect.exit(Barrier.wait(barrier)))
      const b = yield* Effect.forkChild(Effect.exit(Barrier.wait(barrier, { timeout: "5 seconds" })))
      yield* Effect.yieldNow
      assert.strictEqual(yield* Barrier.waiting(barrier), 2)
      yield* TestClock.adjust("1 second")
      assert.strictEqual(brokenReason(yield* Fiber.join(a)), "timeout")
      assert.strictEqual(brokenReason(yield* Fiber.join(b)), "timeout")
      assert.isTrue(yield* Barrier.broken(barrier))
      assert.strictEqual(brokenReason(yield* Effect.exit(Barrier.wait(barrier))), "timeout")
    })
  )

  it.effect("an interrupted waiter breaks the barrier for the others", () =>
    Effect.gen(function* () {
      const barrier = yield* Barrier.make(3)
      const a = yield* Effect.forkChild(Barrier.wait(barrier))
      const b = yield* Effect.forkChild(Effect.exit(Barrier.wait(barrier)))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(a)
      assert.strictEqual(brokenReason(yield* Fiber.join(b)), "interrupted")
      assert.strictEqual(yield* Barrier.waiting(barrier), 0)
    })
  )

  it.effect("abort breaks it and reset makes it usable again", () =>
    Effect.gen(function* () {
      const barrier = yield* Barrier.make(2)
      const waiter = yield* Effect.forkChild(Effect.exit(Barrier.wait(barrier)))
      yield* Effect.yieldNow
      yield* Barrier.abort(barrier)
      assert.strictEqual(brokenReason(yield* Fiber.join(waiter)), "abort")
      yield* Barrier.reset(barrier)
      assert.isFalse(yield* Barrier.broken(barrier))
      const both = yield* Effect.all([Barrier.wait(barrier), Barrier.wait(barrier)], { concurrency: 2 })
      assert.sameMembers([...both], [0, 1])
    })
  )

  it.effect("reset breaks the fibers waiting at that moment", () =>
    Effect.gen(function* () {
      const barrier = yield* Barrier.make(2)
      const waiter = yield* Effect.forkChild(Effect.exit(Barrier.wait(barrier)))
      yield* Effect.yieldNow
      yield* Barrier.reset(barrier)
      assert.strictEqual(brokenReason(yield* Fiber.join(waiter)), "reset")
      assert.isFalse(yield* Barrier.broken(barrier))
    })
  )

  it.effect("a failing action breaks the barrier", () =>
    Effect.gen(function* () {
      const barrier = yield* Barrier.make(2, { action: Effect.fail("no") })
      const results = yield* Effect.all([Effect.exit(Barrier.wait(barrier)), Effect.exit(Barrier.wait(barrier))], {
        concurrency: 2
      })
      assert.deepStrictEqual(results.map(brokenReason), ["action-failed", "action-failed"])
      assert.isTrue(yield* Barrier.broken(barrier))
    })
  )

  /**
   * Three parties on a barrier whose action takes 10 ms: the first waits with a 5 ms timeout, the
   * last trips it, and the clock stops 6 ms in, the timeout passed and the action still running.
   */
  const timeoutDuringAction = Effect.gen(function* () {
    const barrier = yield* Barrier.make(3, { action: Effect.sleep("10 millis") })
    const timed = yield* Effect.forkChild(Effect.exit(Barrier.wait(barrier, { timeout: "5 millis" })))
    const other = yield* Effect.forkChild(Effect.exit(Barrier.wait(barrier)))
    yield* Effect.yieldNow
    const last = yield* Effect.forkChild(Barrier.wait(barrier))
    yield* TestClock.adjust("6 millis")
    // The wait neither ended early nor broke the barrier.
    assert.isUndefined(timed.pollUnsafe())
    return { barrier, timed, other, last }
  })

  it.effect("a wait that times out while the action runs shares the action's outcome", () =>
    Effect.gen(function* () {
      const { barrier, last, other, timed } = yield* timeoutDuringAction
      yield* TestClock.adjust("5 millis")
      assert.deepStrictEqual(yield* Fiber.join(timed), Exit.succeed(0))
      assert.deepStrictEqual(yield* Fiber.join(other), Exit.succeed(1))
      assert.strictEqual(yield* Fiber.join(last), 2)
      assert.isFalse(yield* Barrier.broken(barrier))
    })
  )

  it.effect("a wait that times out while the action runs fails with it when the action is interrupted", () =>
    Effect.gen(function* () {
      const { last, other, timed } = yield* timeoutDuringAction
      yield* Fiber.interrupt(last)
      // Nobody passed a generation whose action did not finish.
      assert.strictEqual(brokenReason(yield* Fiber.join(timed)), "action-failed")
      assert.strictEqual(brokenReason(yield* Fiber.join(other)), "action-failed")
    })
  )

  it.effect("a wait interrupted while it waits for the action ends alone and breaks nothing", () =>
    Effect.gen(function* () {
      const { barrier, last, other, timed } = yield* timeoutDuringAction
      yield* Fiber.interrupt(timed)
      yield* TestClock.adjust("5 millis")
      // The generation was complete: the others pass, and the barrier serves the next one.
      assert.deepStrictEqual(yield* Fiber.join(other), Exit.succeed(1))
      assert.strictEqual(yield* Fiber.join(last), 2)
      assert.isFalse(yield* Barrier.broken(barrier))
      assert.strictEqual(yield* Barrier.waiting(barrier), 0)
    })
  )

  it.effect("parties must be a whole number of at least 1", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* Effect.flip(Barrier.make(0)))._tag, "InvalidArgument")
      assert.strictEqual((yield* Effect.flip(Barrier.make(2.5)))._tag, "InvalidArgument")
    })
  )
})

describe("CountDownLatch", () => {
  it.effect("opens when counted down to zero", () =>
    Effect.gen(function* () {
      const latch = yield* CountDownLatch.make(3)
      const waiter = yield* Effect.forkChild(CountDownLatch.await(latch))
      yield* CountDownLatch.countDown(latch)
      yield* CountDownLatch.countDown(latch)
      yield* Effect.yieldNow
      assert.isUndefined(waiter.pollUnsafe())
      assert.strictEqual(yield* CountDownLatch.count(latch), 1)
      yield* CountDownLatch.countDown(latch)
      yield* Fiber.join(waiter)
      yield* CountDownLatch.countDown(latch)
      assert.strictEqual(yield* CountDownLatch.count(latch), 0)
    })
  )

  it.effect("awaitTimeout gives up after the timeout; an interrupted waiter leaves the latch intact", () =>
    Effect.gen(function* () {
      const latch = yield* CountDownLatch.make(1)
      const timed = yield* Effect.forkChild(CountDownLatch.awaitTimeout(latch, "1 second"))
      const waiter = yield* Effect.forkChild(CountDownLatch.await(latch))
      yield* TestClock.adjust("1 second")
      assert.isFalse(yield* Fiber.join(timed))
      yield* Fiber.interrupt(waiter)
      yield* CountDownLatch.countDown(latch)
      assert.isTrue(yield* CountDownLatch.awaitTimeout(latch, "1 second"))
    })
  )

  it.effect("rejects a negative or fractional count", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* Effect.flip(CountDownLatch.make(-1)))._tag, "InvalidArgument")
      assert.strictEqual((yield* Effect.flip(CountDownLatch.make(0.5)))._tag, "InvalidArgument")
      yield* CountDownLatch.await(yield* CountDownLatch.make(0))
    })
  )
})
