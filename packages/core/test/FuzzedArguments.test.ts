// Fuzzed arguments from JavaScript callers, at every constructor and timeout of the core
// primitives: any value either works or fails with a typed InvalidArgument, never a defect or a
// throw past the API. Timed waits run under the TestClock, so no property waits for real.
import { assert, describe, it } from "@effect/vitest"
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  CountDownLatch,
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
import { Cause, Effect, Exit, Fiber, Order, Schema } from "effect"
import { TestClock } from "effect/testing"

/** What JavaScript callers pass by mistake: numbers of every kind, strings, objects, nothing. */
const Anything = Schema.Union([
  Schema.Number,
  Schema.String,
  Schema.Boolean,
  Schema.Null,
  Schema.Undefined,
  Schema.Literals(["5 seconds", "banana", "-1 millis", "Infinity"]),
  Schema.Array(Schema.Number),
  Schema.Record(Schema.String, Schema.Number)
])

/** Fails the property unless `exit` succeeded or failed with InvalidArgument only. */
const typedOrFine = (name: string, value: unknown, exit: Exit.Exit<unknown, unknown>) => {
  if (Exit.isSuccess(exit)) return
  const shown = typeof value === "number" ? String(value) : JSON.stringify(value)
  assert.isTrue(
    exit.cause.reasons.every((reason) => reason._tag === "Fail"),
    `${name}(${shown}) must fail typed, not with ${Cause.pretty(exit.cause)}`
  )
  const error = Exit.findErrorOption(exit)
  assert.strictEqual(error._tag === "Some" && (error.value as { _tag: string })._tag, "InvalidArgument", name)
}

/**
 * Runs `effect` while the TestClock moves 1000 days ahead. A wait still pending then had a valid
 * timeout longer than that (1e300 ms is one): it is interrupted, and counts as fine.
 */
const settle = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(effect)
    yield* TestClock.adjust("1000 days")
    if (fiber.pollUnsafe() === undefined) {
      yield* Fiber.interrupt(fiber)
      return Exit.void
    }
    return yield* Fiber.await(fiber)
  })

describe("fuzzed arguments", () => {
  it.effect.prop(
    "constructors take any value and answer typed",
    { value: Anything },
    ({ value }) =>
      Effect.scoped(
        Effect.gen(function* () {
          const any = value as never
          const cases: Array<[string, Effect.Effect<unknown, unknown, never>]> = [
            ["BoundedSemaphore.make", BoundedSemaphore.make(any)],
            ["Barrier.make", Barrier.make(any)],
            ["Barrier.make timeout", Barrier.make(2, { timeout: any })],
            ["CountDownLatch.make", CountDownLatch.make(any)],
            ["JoinableQueue.make", JoinableQueue.make({ capacity: any })],
            ["LifoQueue.make", LifoQueue.make({ capacity: any })],
            ["PriorityQueue.make", PriorityQueue.make({ order: Order.Number, capacity: any })],
            ["Executor.make", Effect.scoped(Executor.make({ maxWorkers: any }))],
            ["Timer.make", Effect.scoped(Timer.make(any, Effect.void))]
          ]
          for (const [name, effect] of cases) typedOrFine(name, value, yield* Effect.exit(effect))
        })
      ),
    { arbitrary: { runs: 300 } }
  )

  it.effect.prop(
    "timed waits take any timeout and answer typed",
    { value: Anything },
    ({ value }) =>
      Effect.gen(function* () {
        const any = value as never
        const lock = yield* Lock.make()
        const rlock = yield* RLock.make()
        const condition = yield* Condition.make()
        const event = yield* Event.make()
        const latch = yield* CountDownLatch.make(1)
        const cases: Array<[string, Effect.Effect<unknown, unknown>]> = [
          ["Lock.acquireTimeout", Lock.withLock(lock, Effect.void).pipe(Effect.andThen(lock.acquireTimeout(any)))],
          ["RLock.acquireTimeout", rlock.acquireTimeout(any)],
          ["Condition.waitTimeout", Condition.withLock(condition, Condition.waitTimeout(condition, any))],
          ["Event.waitTimeout", Event.waitTimeout(event, any)],
          ["CountDownLatch.awaitTimeout", CountDownLatch.awaitTimeout(latch, any)],
          ["Future.wait", Future.wait([], { timeout: any })]
        ]
        for (const [name, effect] of cases) typedOrFine(name, value, yield* settle(effect))
      }),
    { arbitrary: { runs: 200 } }
  )
})
