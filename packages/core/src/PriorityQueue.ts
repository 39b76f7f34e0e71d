/**
 * A priority queue with back-pressure: Python's `queue.PriorityQueue`
 * for fibers.
 *
 * **When to use**
 *
 * Use it when consumers must always take the most urgent item first, and
 * producers must slow down when the queue is full.
 *
 * **Details**
 *
 * - Items come out smallest first by the given `Order`; equal items come out in
 *   the order they were offered (the queue is stable).
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
 * import { Effect, Order } from "effect"
 * import { PriorityQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const jobs = yield* PriorityQueue.make<{ priority: number; name: string }>({
 *     capacity: 100,
 *     order: Order.mapInput(Order.Number, (job) => job.priority)
 *   })
 *   yield* PriorityQueue.offer(jobs, { priority: 2, name: "later" })
 *   yield* PriorityQueue.offer(jobs, { priority: 1, name: "first" })
 *   return (yield* PriorityQueue.take(jobs)).name // "first"
 * })
 * ```
 *
 * @since 0.1.0
 */

import * as Effect from "effect/Effect"
import type * as Order from "effect/Order"
import { hasProperty } from "effect/Predicate"
import { BoundedBuffer, checkCapacity, type Operations } from "./internal/buffer.ts"
import type { InvalidArgument, QueueShutDown } from "./internal/errors.ts"
import { Heap } from "./internal/stores.ts"

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

const TypeId = "~@strand/core/PriorityQueue" as const

/**
 * A bounded, stable priority queue.
 *
 * @category models
 * @since 0.1.0
 */
export interface PriorityQueue<A> extends Operations<A> {
  readonly [TypeId]: typeof TypeId
}

/**
 * Options for `PriorityQueue.make`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<A> {
  /** The bound on buffered items; leave it out for an unbounded queue. */
  readonly capacity?: number | undefined
  /** Smaller items come out first. */
  readonly order: Order.Order<A>
}

/**
 * Creates a bounded priority queue.
 *
 * **When to use**
 *
 * Use for work that must be served most urgent first.
 *
 * **Details**
 *
 * Fails with `InvalidArgument` unless `capacity` is a whole number of at least 1.
 *
 * @example
 * ```ts
 * import { Effect, Order } from "effect"
 * import { PriorityQueue } from "@strand/core"
 *
 * const program = PriorityQueue.make<number>({ capacity: 16, order: Order.Number })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <A>(options: Options<A>): Effect.Effect<PriorityQueue<A>, InvalidArgument> =>
  Effect.suspend(() => {
    const invalid = checkCapacity("PriorityQueue.make", options.capacity)
    if (invalid) return Effect.fail(invalid)
    return Effect.succeed(
      Object.assign(new BoundedBuffer<A>("PriorityQueue", options.capacity, new Heap(options.order)), {
        [TypeId]: TypeId
      } as const)
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
 * import { Effect, Order } from "effect"
 * import { PriorityQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* PriorityQueue.make<number>({ capacity: 1, order: Order.Number })
 *   return yield* PriorityQueue.offer(queue, 3) // true
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const offer = <A>(self: PriorityQueue<A>, item: A): Effect.Effect<boolean, QueueShutDown> => self.offer(item)

/**
 * Removes the smallest item, waiting while the queue is empty.
 *
 * **When to use**
 *
 * Use in consumers.
 *
 * @example
 * ```ts
 * import { Effect, Order } from "effect"
 * import { PriorityQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* PriorityQueue.make<number>({ capacity: 4, order: Order.Number })
 *   yield* PriorityQueue.offer(queue, 3)
 *   yield* PriorityQueue.offer(queue, 1)
 *   return yield* PriorityQueue.take(queue) // 1
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const take = <A>(self: PriorityQueue<A>): Effect.Effect<A, QueueShutDown> => self.take

/**
 * How many items are buffered.
 *
 * **When to use**
 *
 * Use for diagnostics and metrics.
 *
 * @example
 * ```ts
 * import { Effect, Order } from "effect"
 * import { PriorityQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* PriorityQueue.make<number>({ capacity: 4, order: Order.Number })
 *   return yield* PriorityQueue.size(queue) // 0
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const size = <A>(self: PriorityQueue<A>): Effect.Effect<number> => self.size

/**
 * Shuts the queue down, as Effect's `Queue.shutdown`.
 *
 * **When to use**
 *
 * Use to stop consumers and refuse further offers.
 *
 * @example
 * ```ts
 * import { Effect, Order } from "effect"
 * import { PriorityQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* PriorityQueue.make<number>({ capacity: 4, order: Order.Number })
 *   return yield* PriorityQueue.shutdown(queue) // true
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const shutdown = <A>(self: PriorityQueue<A>): Effect.Effect<boolean> => self.shutdown

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
 * Whether `u` is a `PriorityQueue`.
 *
 * **When to use**
 *
 * Use to narrow an unknown value, as Effect's own `isX` guards do.
 *
 * @example
 * ```ts
 * import { Effect, Order } from "effect"
 * import { PriorityQueue } from "@strand/core"
 *
 * const program = Effect.map(PriorityQueue.make<number>({ order: Order.Number }), PriorityQueue.isPriorityQueue) // true
 * ```
 *
 * @category guards
 * @since 0.2.0
 */
export const isPriorityQueue = (u: unknown): u is PriorityQueue<unknown> => hasProperty(u, TypeId)
