/**
 * A bounded last-in, first-out queue with back-pressure: Python's
 * `queue.LifoQueue` for fibers.
 *
 * **When to use**
 *
 * Use it for stack-like work, such as depth-first traversal or "freshest
 * first" processing, when producers must slow down when it is full.
 *
 * **Details**
 *
 * - `take` returns the item offered most recently.
 * - `offer` suspends while the queue is full, `take` while it is empty; both
 *   serve their waiters in FIFO order and can be interrupted without a trace:
 *   an offer granted room but interrupted before it resumed gives the room
 *   back and puts nothing, so a producer may retry it safely.
 * - Interrupting a `take` (or `takeTimeout`) takes nothing: an item granted
 *   to it goes to the next taker. Interrupting a `join` leaves nothing behind.
 *   Every interrupted operation can be retried safely.
 * - Python's and Java's operations are all here: `offerNow` and `takeNow`
 *   (failing with `QueueFull` and `QueueEmpty`), `offerTimeout` and
 *   `takeTimeout`, `poll`, `peek`, `takeAll`, `clear`, `isEmpty`, `isFull`,
 *   and `taskDone`, `join` and `unfinished` to wait until every item has been
 *   processed. Leave `capacity` out for an unbounded queue.
 * - `close` is Python's graceful `shutdown()`: offers fail with
 *   `QueueShutDown`, buffered items can still be taken, then takes fail with
 *   `QueueShutDown`.
 * - `shutdown` behaves as Effect's `Queue.shutdown`: buffered items are dropped
 *   (and count as done), waiting and later offers succeed with `false`,
 *   takers are interrupted.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LifoQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const stack = yield* LifoQueue.make<string>({ capacity: 10 })
 *   yield* LifoQueue.offer(stack, "first")
 *   yield* LifoQueue.offer(stack, "second")
 *   return yield* LifoQueue.take(stack) // "second"
 * })
 * ```
 *
 * @since 0.1.0
 */

import * as Effect from "effect/Effect"
import { hasProperty } from "effect/Predicate"
import { BoundedBuffer, checkCapacity, type Operations } from "./internal/buffer.ts"
import type { InvalidArgument, QueueShutDown } from "./internal/errors.ts"
import { Stack } from "./internal/stores.ts"

export {
  /**
   * The capacity is not a whole number of at least 1, or a timeout is not a duration.
   *
   * @category errors
   * @since 0.1.0
   */
  InvalidArgument,
  /**
   * `takeNow` found the queue empty.
   *
   * @category errors
   * @since 0.2.0
   */
  QueueEmpty,
  /**
   * `offerNow` found the queue full.
   *
   * @category errors
   * @since 0.2.0
   */
  QueueFull,
  /**
   * The queue was closed (or shut down): it takes no more items, and gives none once drained.
   *
   * @category errors
   * @since 0.2.0
   */
  QueueShutDown,
  /**
   * `taskDone` was called more times than items were offered.
   *
   * @category errors
   * @since 0.2.0
   */
  TaskDoneTooOften
} from "./internal/errors.ts"

const TypeId = "~@strand/core/LifoQueue" as const

/**
 * A bounded LIFO queue.
 *
 * @category models
 * @since 0.1.0
 */
export interface LifoQueue<A> extends Operations<A> {
  readonly [TypeId]: typeof TypeId
}

/**
 * Creates a bounded LIFO queue.
 *
 * **When to use**
 *
 * Use for stack-like work with back-pressure.
 *
 * **Details**
 *
 * Fails with `InvalidArgument` unless `capacity` is a whole number of at least 1.
 *
 * @example
 * ```ts
 * import { LifoQueue } from "@strand/core"
 *
 * const program = LifoQueue.make<number>({ capacity: 8 })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <A>(options?: {
  readonly capacity?: number | undefined
}): Effect.Effect<LifoQueue<A>, InvalidArgument> =>
  Effect.suspend(() => {
    const invalid = checkCapacity("LifoQueue.make", options?.capacity)
    if (invalid) return Effect.fail(invalid)
    return Effect.succeed(
      Object.assign(new BoundedBuffer<A>("LifoQueue", options?.capacity, new Stack()), { [TypeId]: TypeId } as const)
    )
  })

/**
 * Adds an item, waiting while the queue is full.
 *
 * **When to use**
 *
 * Use in producers.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LifoQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const stack = yield* LifoQueue.make<number>({ capacity: 1 })
 *   return yield* LifoQueue.offer(stack, 1) // true
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const offer = <A>(self: LifoQueue<A>, item: A): Effect.Effect<boolean, QueueShutDown> => self.offer(item)

/**
 * Removes the newest item, waiting while the queue is empty.
 *
 * **When to use**
 *
 * Use in consumers.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LifoQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const stack = yield* LifoQueue.make<number>({ capacity: 2 })
 *   yield* LifoQueue.offer(stack, 1)
 *   yield* LifoQueue.offer(stack, 2)
 *   return yield* LifoQueue.take(stack) // 2
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const take = <A>(self: LifoQueue<A>): Effect.Effect<A, QueueShutDown> => self.take

/**
 * How many items are buffered.
 *
 * **When to use**
 *
 * Use for diagnostics and metrics.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LifoQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const stack = yield* LifoQueue.make<number>({ capacity: 2 })
 *   return yield* LifoQueue.size(stack) // 0
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const size = <A>(self: LifoQueue<A>): Effect.Effect<number> => self.size

/**
 * Shuts the queue down, as Effect's `Queue.shutdown`.
 *
 * **When to use**
 *
 * Use to stop consumers and refuse further offers.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LifoQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const stack = yield* LifoQueue.make<number>({ capacity: 2 })
 *   return yield* LifoQueue.shutdown(stack) // true
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const shutdown = <A>(self: LifoQueue<A>): Effect.Effect<boolean> => self.shutdown

export {
  clear,
  close,
  isEmpty,
  isFull,
  join,
  offerNow,
  offerTimeout,
  peek,
  poll,
  takeAll,
  takeNow,
  takeTimeout,
  taskDone,
  unfinished
} from "./internal/operations.ts"

/**
 * Whether `u` is a `LifoQueue`.
 *
 * **When to use**
 *
 * Use to narrow an unknown value, as Effect's own `isX` guards do.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LifoQueue } from "@strand/core"
 *
 * const program = Effect.map(LifoQueue.make<number>(), LifoQueue.isLifoQueue) // true
 * ```
 *
 * @category guards
 * @since 0.2.0
 */
export const isLifoQueue = (u: unknown): u is LifoQueue<unknown> => hasProperty(u, TypeId)
