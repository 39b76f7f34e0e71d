import { assert, describe, it } from "@effect/vitest"
import { Timer } from "@strand/core"
import { Effect, Exit, Fiber, Scope } from "effect"
import { TestClock } from "effect/testing"

describe("Timer", () => {
  it.effect("runs its effect after the delay", () =>
    Effect.gen(function* () {
      let ran = 0
      const timer = yield* Timer.make(
        "1 second",
        Effect.sync(() => ++ran)
      )
      assert.strictEqual(yield* Timer.state(timer), "idle")
      yield* Timer.start(timer)
      const result = yield* Effect.forkChild(Timer.await(timer))
      yield* TestClock.adjust("999 millis")
      assert.strictEqual(ran, 0)
      yield* TestClock.adjust("1 millis")
      assert.strictEqual(yield* Fiber.join(result), 1)
      assert.strictEqual(yield* Timer.state(timer), "done")
      assert.isFalse(yield* Timer.cancel(timer))
    })
  )

  it.effect("a timer cancelled before it fires never runs its effect", () =>
    Effect.gen(function* () {
      let ran = false
      const timer = yield* Timer.make(
        "1 second",
        Effect.sync(() => (ran = true))
      )
      yield* Timer.start(timer)
      yield* TestClock.adjust("500 millis")
      assert.isTrue(yield* Timer.cancel(timer))
      yield* TestClock.adjust("10 seconds")
      assert.isFalse(ran)
      assert.strictEqual((yield* Effect.flip(Timer.await(timer)))._tag, "TimerCancelled")
      assert.strictEqual(yield* Timer.state(timer), "cancelled")
    })
  )

  it.effect("starting twice is a typed error", () =>
    Effect.gen(function* () {
      const timer = yield* Timer.make("1 second", Effect.void)
      yield* Timer.start(timer)
      assert.strictEqual((yield* Effect.flip(Timer.start(timer)))._tag, "TimerAlreadyStarted")
    })
  )

  it.effect("closing the scope cancels a pending timer", () =>
    Effect.gen(function* () {
      let ran = false
      const scope = yield* Scope.make()
      const timer = yield* Timer.make(
        "1 second",
        Effect.sync(() => (ran = true))
      ).pipe(Scope.provide(scope))
      yield* Timer.start(timer)
      yield* Scope.close(scope, Exit.void)
      yield* TestClock.adjust("2 seconds")
      assert.isFalse(ran)
      assert.strictEqual(yield* Timer.state(timer), "cancelled")
    })
  )

  it.effect("the effect's failure reaches await", () =>
    Effect.gen(function* () {
      const timer = yield* Timer.make("1 second", Effect.fail("late"))
      yield* Timer.start(timer)
      const waiter = yield* Effect.forkChild(Effect.flip(Timer.await(timer)))
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(waiter), "late")
    })
  )
})
