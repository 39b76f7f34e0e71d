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

import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import { hasProperty } from "effect/Predicate"
import { BoundedBuffer, checkCapacity, type Operations } from "./internal/buffer.ts"
import type { InvalidArgument, QueueEmpty, QueueFull, QueueShutDown, TaskDoneTooOften } from "./internal/errors.ts"
import { Stack } from "./internal/stores.ts"

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

const TypeId = "~@strand/core/LifoQueue" as const

/**
 * A bounded LIFO queue.
 *
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
 * @since 0.1.0
 */
export const shutdown = <A>(self: LifoQueue<A>): Effect.Effect<boolean> => self.shutdown

/**
 * Adds an item if there is room now: Python's `put_nowait`.
 *
 * **Details**
 *
 * Fails with `QueueFull` when the queue is full, and with `QueueShutDown` once it is shut down or closed.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LifoQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* LifoQueue.make<number>({ capacity: 1 })
 *   yield* LifoQueue.offerNow(queue, 1)
 *   return yield* Effect.flip(LifoQueue.offerNow(queue, 2)) // QueueFull
 * })
 * ```
 *
 * @since 0.2.0
 */
export const offerNow = <A>(self: LifoQueue<A>, item: A): Effect.Effect<void, QueueFull | QueueShutDown> =>
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
 * import { Effect } from "effect"
 * import { LifoQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* LifoQueue.make<number>({ capacity: 1 })
 *   return yield* LifoQueue.offerTimeout(queue, 1, "1 second") // true
 * })
 * ```
 *
 * @since 0.2.0
 */
export const offerTimeout = <A>(
  self: LifoQueue<A>,
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
 * import { Effect } from "effect"
 * import { LifoQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* LifoQueue.make<number>({ capacity: 4 })
 *   yield* LifoQueue.offer(queue, 1)
 *   return yield* LifoQueue.takeNow(queue) // 1
 * })
 * ```
 *
 * @since 0.2.0
 */
export const takeNow = <A>(self: LifoQueue<A>): Effect.Effect<A, QueueEmpty | QueueShutDown> => self.takeNow

/**
 * Removes the next item, waiting at most `timeout`: Java's timed `poll`.
 *
 * **Details**
 *
 * Succeeds with `None` if no item came in time. A timeout that is not a duration fails with `InvalidArgument`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LifoQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* LifoQueue.make<number>({ capacity: 4 })
 *   return yield* LifoQueue.takeTimeout(queue, "10 millis") // Option.none()
 * })
 * ```
 *
 * @since 0.2.0
 */
export const takeTimeout = <A>(
  self: LifoQueue<A>,
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
 * import { Effect } from "effect"
 * import { LifoQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* LifoQueue.make<number>({ capacity: 4 })
 *   return yield* LifoQueue.poll(queue) // Option.none()
 * })
 * ```
 *
 * @since 0.2.0
 */
export const poll = <A>(self: LifoQueue<A>): Effect.Effect<Option.Option<A>> => self.poll

/**
 * The next item, left in the queue: Java's `peek`.
 *
 * **Details**
 *
 * Succeeds with `None` when the queue is empty.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LifoQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* LifoQueue.make<number>({ capacity: 4 })
 *   yield* LifoQueue.offer(queue, 1)
 *   return yield* LifoQueue.peek(queue) // Option.some(1)
 * })
 * ```
 *
 * @since 0.2.0
 */
export const peek = <A>(self: LifoQueue<A>): Effect.Effect<Option.Option<A>> => self.peek

/**
 * Removes every buffered item, in the order `take` would give them: Java's `drainTo`.
 *
 * **Details**
 *
 * Waiting offerers are let in as room frees up; the items they bring stay for the next take.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LifoQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* LifoQueue.make<number>({ capacity: 4 })
 *   yield* LifoQueue.offer(queue, 1)
 *   return yield* LifoQueue.takeAll(queue) // [1]
 * })
 * ```
 *
 * @since 0.2.0
 */
export const takeAll = <A>(self: LifoQueue<A>): Effect.Effect<Array<A>> => self.takeAll

/**
 * Drops every buffered item: Java's `clear`.
 *
 * **Details**
 *
 * Each dropped item counts as done for `join`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LifoQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* LifoQueue.make<number>({ capacity: 4 })
 *   yield* LifoQueue.offer(queue, 1)
 *   yield* LifoQueue.clear(queue)
 *   return yield* LifoQueue.isEmpty(queue) // true
 * })
 * ```
 *
 * @since 0.2.0
 */
export const clear = <A>(self: LifoQueue<A>): Effect.Effect<void> => self.clear

/**
 * Whether no item is buffered: Python's `empty()`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LifoQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* LifoQueue.make<number>({ capacity: 4 })
 *   return yield* LifoQueue.isEmpty(queue) // true
 * })
 * ```
 *
 * @since 0.2.0
 */
export const isEmpty = <A>(self: LifoQueue<A>): Effect.Effect<boolean> => self.isEmpty

/**
 * Whether the queue is at its capacity: Python's `full()`.
 *
 * **Details**
 *
 * An unbounded queue is never full.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LifoQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* LifoQueue.make<number>({ capacity: 1 })
 *   yield* LifoQueue.offer(queue, 1)
 *   return yield* LifoQueue.isFull(queue) // true
 * })
 * ```
 *
 * @since 0.2.0
 */
export const isFull = <A>(self: LifoQueue<A>): Effect.Effect<boolean> => self.isFull

/**
 * Marks one taken item as processed: Python's `task_done()`.
 *
 * **Details**
 *
 * Fails with `TaskDoneTooOften` when no offered item is unfinished.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LifoQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* LifoQueue.make<number>({ capacity: 4 })
 *   yield* LifoQueue.offer(queue, 1)
 *   yield* LifoQueue.take(queue)
 *   yield* LifoQueue.taskDone(queue)
 *   yield* LifoQueue.join(queue) // returns at once
 * })
 * ```
 *
 * @since 0.2.0
 */
export const taskDone = <A>(self: LifoQueue<A>): Effect.Effect<void, TaskDoneTooOften> => self.taskDone

/**
 * Waits until every offered item has been marked done: Python's `join()`.
 *
 * **Details**
 *
 * An interrupted `join` leaves nothing behind. Items dropped by `clear` or `shutdown` count as done.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LifoQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* LifoQueue.make<number>({ capacity: 4 })
 *   yield* LifoQueue.join(queue) // nothing offered: returns at once
 * })
 * ```
 *
 * @since 0.2.0
 */
export const join = <A>(self: LifoQueue<A>): Effect.Effect<void> => self.join

/**
 * How many offered items are not marked done yet.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LifoQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* LifoQueue.make<number>({ capacity: 4 })
 *   yield* LifoQueue.offer(queue, 1)
 *   return yield* LifoQueue.unfinished(queue) // 1
 * })
 * ```
 *
 * @since 0.2.0
 */
export const unfinished = <A>(self: LifoQueue<A>): Effect.Effect<number> => self.unfinished

/**
 * Closes the queue gracefully: Python's `shutdown()`.
 *
 * **Details**
 *
 * Offers (waiting or later) fail with `QueueShutDown`; the buffered items can still be taken, and once they are gone takes fail with `QueueShutDown` too. Succeeds with `true` if this call closed it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { LifoQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* LifoQueue.make<number>({ capacity: 4 })
 *   yield* LifoQueue.offer(queue, 1)
 *   yield* LifoQueue.close(queue)
 *   return yield* LifoQueue.take(queue) // 1, then QueueShutDown
 * })
 * ```
 *
 * @since 0.2.0
 */
export const close = <A>(self: LifoQueue<A>): Effect.Effect<boolean> => self.close

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
 * @since 0.2.0
 */
export const isLifoQueue = (u: unknown): u is LifoQueue<unknown> => hasProperty(u, TypeId)
