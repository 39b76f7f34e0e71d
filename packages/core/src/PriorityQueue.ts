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

import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type * as Order from "effect/Order"
import { hasProperty } from "effect/Predicate"
import { BoundedBuffer, checkCapacity, type Operations } from "./internal/buffer.ts"
import type { InvalidArgument, QueueEmpty, QueueFull, QueueShutDown, TaskDoneTooOften } from "./internal/errors.ts"
import { Heap } from "./internal/stores.ts"

export {
  /**
   * The capacity is not a whole number of at least 1, or a timeout is not a duration.
   *
   * @since 0.1.0
   */
  InvalidArgument,
  /**
   * `takeNow` found the queue empty.
   *
   * @since 0.2.0
   */
  QueueEmpty,
  /**
   * `offerNow` found the queue full.
   *
   * @since 0.2.0
   */
  QueueFull,
  /**
   * The queue was closed (or shut down): it takes no more items, and gives none once drained.
   *
   * @since 0.2.0
   */
  QueueShutDown,
  /**
   * `taskDone` was called more times than items were offered.
   *
   * @since 0.2.0
   */
  TaskDoneTooOften
} from "./internal/errors.ts"

const TypeId = "~@strand/core/PriorityQueue" as const

/**
 * A bounded, stable priority queue.
 *
 * @since 0.1.0
 */
export interface PriorityQueue<A> extends Operations<A> {
  readonly [TypeId]: typeof TypeId
}

/**
 * Options for `PriorityQueue.make`.
 *
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
 * @since 0.1.0
 */
export const shutdown = <A>(self: PriorityQueue<A>): Effect.Effect<boolean> => self.shutdown

/**
 * Adds an item if there is room now: Python's `put_nowait`.
 *
 * **Details**
 *
 * Fails with `QueueFull` when the queue is full, and with `QueueShutDown` once it is shut down or closed.
 *
 * @example
 * ```ts
 * import { Effect, Order } from "effect"
 * import { PriorityQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* PriorityQueue.make<number>({ capacity: 1, order: Order.Number })
 *   yield* PriorityQueue.offerNow(queue, 1)
 *   return yield* Effect.flip(PriorityQueue.offerNow(queue, 2)) // QueueFull
 * })
 * ```
 *
 * @since 0.2.0
 */
export const offerNow = <A>(self: PriorityQueue<A>, item: A): Effect.Effect<void, QueueFull | QueueShutDown> =>
  self.offerNow(item)

/**
 * Adds an item, waiting at most `timeout` for room: Java's timed `offer`.
 *
 * **Details**
 *
 * Succeeds with `false` if no room came in time. A timeout that is not a duration fails with `InvalidArgument`.
 *
 * @example
 * ```ts
 * import { Effect, Order } from "effect"
 * import { PriorityQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* PriorityQueue.make<number>({ capacity: 1, order: Order.Number })
 *   return yield* PriorityQueue.offerTimeout(queue, 1, "1 second") // true
 * })
 * ```
 *
 * @since 0.2.0
 */
export const offerTimeout = <A>(
  self: PriorityQueue<A>,
  item: A,
  timeout: Duration.Input
): Effect.Effect<boolean, QueueShutDown | InvalidArgument> => self.offerTimeout(item, timeout)

/**
 * Removes the next item if there is one now: Python's `get_nowait`.
 *
 * **Details**
 *
 * Fails with `QueueEmpty` when the queue is empty, and with `QueueShutDown` once it is closed and drained.
 *
 * @example
 * ```ts
 * import { Effect, Order } from "effect"
 * import { PriorityQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* PriorityQueue.make<number>({ capacity: 4, order: Order.Number })
 *   yield* PriorityQueue.offer(queue, 1)
 *   return yield* PriorityQueue.takeNow(queue) // 1
 * })
 * ```
 *
 * @since 0.2.0
 */
export const takeNow = <A>(self: PriorityQueue<A>): Effect.Effect<A, QueueEmpty | QueueShutDown> => self.takeNow

/**
 * Removes the next item, waiting at most `timeout`: Java's timed `poll`.
 *
 * **Details**
 *
 * Succeeds with `None` if no item came in time. A timeout that is not a duration fails with `InvalidArgument`.
 *
 * @example
 * ```ts
 * import { Effect, Order } from "effect"
 * import { PriorityQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* PriorityQueue.make<number>({ capacity: 4, order: Order.Number })
 *   return yield* PriorityQueue.takeTimeout(queue, "10 millis") // Option.none()
 * })
 * ```
 *
 * @since 0.2.0
 */
export const takeTimeout = <A>(
  self: PriorityQueue<A>,
  timeout: Duration.Input
): Effect.Effect<Option.Option<A>, QueueShutDown | InvalidArgument> => self.takeTimeout(timeout)

/**
 * Removes the next item if there is one now, without failing: Java's `poll`.
 *
 * **Details**
 *
 * Succeeds with `None` when the queue is empty.
 *
 * @example
 * ```ts
 * import { Effect, Order } from "effect"
 * import { PriorityQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* PriorityQueue.make<number>({ capacity: 4, order: Order.Number })
 *   return yield* PriorityQueue.poll(queue) // Option.none()
 * })
 * ```
 *
 * @since 0.2.0
 */
export const poll = <A>(self: PriorityQueue<A>): Effect.Effect<Option.Option<A>> => self.poll

/**
 * The next item, left in the queue: Java's `peek`.
 *
 * **Details**
 *
 * Succeeds with `None` when the queue is empty.
 *
 * @example
 * ```ts
 * import { Effect, Order } from "effect"
 * import { PriorityQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* PriorityQueue.make<number>({ capacity: 4, order: Order.Number })
 *   yield* PriorityQueue.offer(queue, 1)
 *   return yield* PriorityQueue.peek(queue) // Option.some(1)
 * })
 * ```
 *
 * @since 0.2.0
 */
export const peek = <A>(self: PriorityQueue<A>): Effect.Effect<Option.Option<A>> => self.peek

/**
 * Removes every buffered item, in the order `take` would give them: Java's `drainTo`.
 *
 * **Details**
 *
 * Waiting offerers are let in as room frees up; the items they bring stay for the next take.
 *
 * @example
 * ```ts
 * import { Effect, Order } from "effect"
 * import { PriorityQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* PriorityQueue.make<number>({ capacity: 4, order: Order.Number })
 *   yield* PriorityQueue.offer(queue, 1)
 *   return yield* PriorityQueue.takeAll(queue) // [1]
 * })
 * ```
 *
 * @since 0.2.0
 */
export const takeAll = <A>(self: PriorityQueue<A>): Effect.Effect<Array<A>> => self.takeAll

/**
 * Drops every buffered item: Java's `clear`.
 *
 * **Details**
 *
 * Each dropped item counts as done for `join`.
 *
 * @example
 * ```ts
 * import { Effect, Order } from "effect"
 * import { PriorityQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* PriorityQueue.make<number>({ capacity: 4, order: Order.Number })
 *   yield* PriorityQueue.offer(queue, 1)
 *   yield* PriorityQueue.clear(queue)
 *   return yield* PriorityQueue.isEmpty(queue) // true
 * })
 * ```
 *
 * @since 0.2.0
 */
export const clear = <A>(self: PriorityQueue<A>): Effect.Effect<void> => self.clear

/**
 * Whether no item is buffered: Python's `empty()`.
 *
 * @example
 * ```ts
 * import { Effect, Order } from "effect"
 * import { PriorityQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* PriorityQueue.make<number>({ capacity: 4, order: Order.Number })
 *   return yield* PriorityQueue.isEmpty(queue) // true
 * })
 * ```
 *
 * @since 0.2.0
 */
export const isEmpty = <A>(self: PriorityQueue<A>): Effect.Effect<boolean> => self.isEmpty

/**
 * Whether the queue is at its capacity: Python's `full()`.
 *
 * **Details**
 *
 * An unbounded queue is never full.
 *
 * @example
 * ```ts
 * import { Effect, Order } from "effect"
 * import { PriorityQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* PriorityQueue.make<number>({ capacity: 1, order: Order.Number })
 *   yield* PriorityQueue.offer(queue, 1)
 *   return yield* PriorityQueue.isFull(queue) // true
 * })
 * ```
 *
 * @since 0.2.0
 */
export const isFull = <A>(self: PriorityQueue<A>): Effect.Effect<boolean> => self.isFull

/**
 * Marks one taken item as processed: Python's `task_done()`.
 *
 * **Details**
 *
 * Fails with `TaskDoneTooOften` when no offered item is unfinished.
 *
 * @example
 * ```ts
 * import { Effect, Order } from "effect"
 * import { PriorityQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* PriorityQueue.make<number>({ capacity: 4, order: Order.Number })
 *   yield* PriorityQueue.offer(queue, 1)
 *   yield* PriorityQueue.take(queue)
 *   yield* PriorityQueue.taskDone(queue)
 *   yield* PriorityQueue.join(queue) // returns at once
 * })
 * ```
 *
 * @since 0.2.0
 */
export const taskDone = <A>(self: PriorityQueue<A>): Effect.Effect<void, TaskDoneTooOften> => self.taskDone

/**
 * Waits until every offered item has been marked done: Python's `join()`.
 *
 * **Details**
 *
 * An interrupted `join` leaves nothing behind. Items dropped by `clear` or `shutdown` count as done.
 *
 * @example
 * ```ts
 * import { Effect, Order } from "effect"
 * import { PriorityQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* PriorityQueue.make<number>({ capacity: 4, order: Order.Number })
 *   yield* PriorityQueue.join(queue) // nothing offered: returns at once
 * })
 * ```
 *
 * @since 0.2.0
 */
export const join = <A>(self: PriorityQueue<A>): Effect.Effect<void> => self.join

/**
 * How many offered items are not marked done yet.
 *
 * @example
 * ```ts
 * import { Effect, Order } from "effect"
 * import { PriorityQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* PriorityQueue.make<number>({ capacity: 4, order: Order.Number })
 *   yield* PriorityQueue.offer(queue, 1)
 *   return yield* PriorityQueue.unfinished(queue) // 1
 * })
 * ```
 *
 * @since 0.2.0
 */
export const unfinished = <A>(self: PriorityQueue<A>): Effect.Effect<number> => self.unfinished

/**
 * Closes the queue gracefully: Python's `shutdown()`.
 *
 * **Details**
 *
 * Offers (waiting or later) fail with `QueueShutDown`; the buffered items can still be taken, and once they are gone takes fail with `QueueShutDown` too. Succeeds with `true` if this call closed it.
 *
 * @example
 * ```ts
 * import { Effect, Order } from "effect"
 * import { PriorityQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* PriorityQueue.make<number>({ capacity: 4, order: Order.Number })
 *   yield* PriorityQueue.offer(queue, 1)
 *   yield* PriorityQueue.close(queue)
 *   return yield* PriorityQueue.take(queue) // 1, then QueueShutDown
 * })
 * ```
 *
 * @since 0.2.0
 */
export const close = <A>(self: PriorityQueue<A>): Effect.Effect<boolean> => self.close

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
 * @since 0.2.0
 */
export const isPriorityQueue = (u: unknown): u is PriorityQueue<unknown> => hasProperty(u, TypeId)
