import { assert, describe, it } from "@effect/vitest"
import { Event } from "@strand/core"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"

describe("Event", () => {
  it.effect("set wakes every waiter and lets later waits pass; clear makes them wait again", () =>
    Effect.gen(function* () {
      const event = yield* Event.make()
      assert.isFalse(yield* Event.isSet(event))
      const waiters = yield* Effect.forEach([1, 2, 3], (n) => Effect.forkChild(Effect.as(Event.wait(event), n)))
      yield* Effect.yieldNow
      assert.isUndefined(waiters[0]!.pollUnsafe())
      yield* Event.set(event)
      assert.deepStrictEqual(yield* Fiber.joinAll(waiters), [1, 2, 3])
      yield* Event.wait(event) // set: passes at once
      yield* Event.clear(event)
      assert.isFalse(yield* Event.isSet(event))
      const later = yield* Effect.forkChild(Event.wait(event))
      yield* Effect.yieldNow
      assert.isUndefined(later.pollUnsafe())
      yield* Event.set(event)
      yield* Fiber.join(later)
    })
  )

  it.effect("a waiter woken by set returns even if clear follows before it runs, as in Python", () =>
    Effect.gen(function* () {
      const event = yield* Event.make()
      const waiter = yield* Effect.forkChild(Event.wait(event))
      yield* Effect.yieldNow
      yield* Event.set(event)
      yield* Event.clear(event) // before the waiter has run
      yield* Fiber.join(waiter)
      assert.isFalse(yield* Event.isSet(event))
    })
  )

  it.effect("waitTimeout succeeds with whether the event was set in time", () =>
    Effect.gen(function* () {
      const event = yield* Event.make()
      const timedOut = yield* Effect.forkChild(Event.waitTimeout(event, "1 second"))
      yield* TestClock.adjust("1 second")
      assert.isFalse(yield* Fiber.join(timedOut))
      const inTime = yield* Effect.forkChild(Event.waitTimeout(event, "1 second"))
      yield* TestClock.adjust("500 millis")
      yield* Event.set(event)
      assert.isTrue(yield* Fiber.join(inTime))
      assert.isTrue(yield* Event.waitTimeout(event, 0))
    })
  )

  it.effect("an interrupted wait leaves no trace: the others are still woken", () =>
    Effect.gen(function* () {
      const event = yield* Event.make()
      const interrupted = yield* Effect.forkChild(Event.wait(event))
      const other = yield* Effect.forkChild(Event.wait(event))
      yield* Effect.yieldNow
      yield* Fiber.interrupt(interrupted)
      yield* Event.set(event)
      yield* Fiber.join(other)
      assert.isTrue(yield* Event.isSet(event))
    })
  )

  it.effect("a timeout that is not a duration fails at once with InvalidArgument", () =>
    Effect.gen(function* () {
      const event = yield* Event.make({ set: true })
      const error = yield* Effect.flip(Event.waitTimeout(event, "soon" as never))
      assert.strictEqual(error._tag, "InvalidArgument")
      assert.include(error.message, "Event.waitTimeout")
    })
  )
})
