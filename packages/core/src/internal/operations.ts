/**
 * The operations that `LifoQueue` and `PriorityQueue` share beyond offer and
 * take (Python's `asyncio.Queue` and Java's `BlockingQueue`), written once
 * and re-exported by both modules.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Option from "effect/Option"
import type { Operations } from "./buffer.ts"
import type { InvalidArgument, QueueEmpty, QueueFull, QueueShutDown, TaskDoneTooOften } from "./errors.ts"

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
export const offerNow = <A>(self: Operations<A>, item: A): Effect.Effect<void, QueueFull | QueueShutDown> =>
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
  self: Operations<A>,
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
export const takeNow = <A>(self: Operations<A>): Effect.Effect<A, QueueEmpty | QueueShutDown> => self.takeNow

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
  self: Operations<A>,
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
export const poll = <A>(self: Operations<A>): Effect.Effect<Option.Option<A>> => self.poll

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
export const peek = <A>(self: Operations<A>): Effect.Effect<Option.Option<A>> => self.peek

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
export const takeAll = <A>(self: Operations<A>): Effect.Effect<Array<A>> => self.takeAll

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
export const clear = <A>(self: Operations<A>): Effect.Effect<void> => self.clear

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
export const isEmpty = <A>(self: Operations<A>): Effect.Effect<boolean> => self.isEmpty

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
export const isFull = <A>(self: Operations<A>): Effect.Effect<boolean> => self.isFull

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
export const taskDone = <A>(self: Operations<A>): Effect.Effect<void, TaskDoneTooOften> => self.taskDone

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
export const join = <A>(self: Operations<A>): Effect.Effect<void> => self.join

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
export const unfinished = <A>(self: Operations<A>): Effect.Effect<number> => self.unfinished

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
export const close = <A>(self: Operations<A>): Effect.Effect<boolean> => self.close
