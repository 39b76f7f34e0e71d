/**
 * A one-shot latch that opens once it has been counted down to zero, as Java's
 * `CountDownLatch`.
 *
 * **When to use**
 *
 * Use it when one or more fibers must wait until N other events have happened,
 * such as N workers having started. For a plain open/closed signal (Python's
 * `Event`), use `Event`.
 *
 * **Details**
 *
 * Built on Effect's `Latch`. Counting down past zero does nothing; the latch
 * never closes again. An interrupted `await` consumes nothing and can be
 * retried safely; `countDown` is never blocked. For a plain open/closed
 * signal there is `Event`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CountDownLatch } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const started = yield* CountDownLatch.make(3)
 *   for (let i = 0; i < 3; i++) {
 *     yield* Effect.forkChild(Effect.andThen(Effect.log(`worker ${i} started`), CountDownLatch.countDown(started)))
 *   }
 *   yield* CountDownLatch.await(started)
 * })
 * ```
 *
 * @since 0.1.0
 */

import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Latch from "effect/Latch"
import * as Option from "effect/Option"
import { type Pipeable, Class as PipeableClass } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import { checkWhole, withDuration } from "./internal/arguments.ts"
import type { InvalidArgument } from "./internal/errors.ts"

export {
  /**
   * The initial count is not a whole number of at least 0.
   *
   * @category errors
   * @since 0.1.0
   */
  InvalidArgument
} from "./internal/errors.ts"

const TypeId = "~@strand/core/CountDownLatch" as const

/**
 * A latch that opens when its count reaches zero.
 *
 * @category models
 * @since 0.1.0
 */
export interface CountDownLatch extends Pipeable {
  readonly [TypeId]: typeof TypeId
  /** Decrements the count; at zero, releases every waiter. */
  readonly countDown: Effect.Effect<void>
  /** Waits until the count reaches zero. */
  readonly await: Effect.Effect<void>
  /** The current count. */
  readonly count: Effect.Effect<number>
}

/**
 * Creates a latch with an initial count.
 *
 * **When to use**
 *
 * Use to wait for a known number of events.
 *
 * **Details**
 *
 * Fails with `InvalidArgument` unless `count` is a whole number of at least 0.
 * A latch made with 0 is open from the start.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CountDownLatch } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const latch = yield* CountDownLatch.make(1)
 *   yield* CountDownLatch.countDown(latch)
 *   yield* CountDownLatch.await(latch)
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (count: number): Effect.Effect<CountDownLatch, InvalidArgument> =>
  Effect.suspend(() => {
    const invalid = checkWhole("CountDownLatch.make", "count", count, 0)
    if (invalid !== undefined) {
      return Effect.fail(invalid)
    }
    return Effect.succeed<CountDownLatch>(new CountDownLatchImpl(count))
  })

class CountDownLatchImpl extends PipeableClass implements CountDownLatch {
  readonly [TypeId] = TypeId
  private remaining: number
  private readonly latch: Latch.Latch
  readonly await: Effect.Effect<void>

  constructor(count: number) {
    super()
    this.remaining = count
    this.latch = Latch.makeUnsafe(count === 0)
    this.await = this.latch.await
  }

  readonly countDown: Effect.Effect<void> = Effect.suspend(() => {
    if (this.remaining === 0) return Effect.void
    return --this.remaining === 0 ? Effect.asVoid(this.latch.open) : Effect.void
  })

  readonly count: Effect.Effect<number> = Effect.sync(() => this.remaining)
}

/**
 * Decrements the count; when it reaches zero, every waiter is released.
 *
 * **When to use**
 *
 * Use once per awaited event.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CountDownLatch } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const latch = yield* CountDownLatch.make(2)
 *   yield* CountDownLatch.countDown(latch)
 *   return yield* CountDownLatch.count(latch) // 1
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const countDown = (self: CountDownLatch): Effect.Effect<void> => self.countDown

const await_ = (self: CountDownLatch): Effect.Effect<void> => self.await

export {
  /**
   * Waits until the count reaches zero.
   *
   * **When to use**
   *
   * Use in the fiber that needs every event to have happened.
   *
   * @example
   * ```ts
   * import { Effect } from "effect"
   * import { CountDownLatch } from "@strand/core"
   *
   * const program = Effect.gen(function*() {
   *   const latch = yield* CountDownLatch.make(0)
   *   yield* CountDownLatch.await(latch) // returns at once
   * })
   * ```
   *
   * @since 0.1.0
   */
  await_ as await
}

/**
 * Waits at most `timeout` for the count to reach zero; `true` if it did.
 *
 * **When to use**
 *
 * Use when the events may never all happen.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CountDownLatch } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const latch = yield* CountDownLatch.make(1)
 *   return yield* CountDownLatch.awaitTimeout(latch, "10 millis") // false
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const awaitTimeout = (self: CountDownLatch, timeout: Duration.Input): Effect.Effect<boolean, InvalidArgument> =>
  withDuration("CountDownLatch.awaitTimeout", "timeout", timeout, (duration) =>
    Effect.map(Effect.timeoutOption(self.await, duration ?? 0), Option.isSome)
  )

/**
 * The current count.
 *
 * **When to use**
 *
 * Use for diagnostics and progress reports.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CountDownLatch } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const latch = yield* CountDownLatch.make(3)
 *   return yield* CountDownLatch.count(latch) // 3
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const count = (self: CountDownLatch): Effect.Effect<number> => self.count

/**
 * Whether `u` is a `CountDownLatch`.
 *
 * **When to use**
 *
 * Use to narrow an unknown value, as Effect's own `isX` guards do.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { CountDownLatch } from "@strand/core"
 *
 * const program = Effect.map(CountDownLatch.make(1), CountDownLatch.isCountDownLatch) // true
 * ```
 *
 * @category guards
 * @since 0.2.0
 */
export const isCountDownLatch = (u: unknown): u is CountDownLatch => hasProperty(u, TypeId)
