/**
 * A bounded priority queue with back-pressure: Python's `queue.PriorityQueue`
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
 * - `shutdown` behaves as Effect's `Queue.shutdown`: buffered items are dropped,
 *   waiting and later offers succeed with `false`, takers are interrupted.
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
import { BoundedBuffer, checkCapacity } from "./internal/buffer.ts"
import type { InvalidArgument } from "./internal/errors.ts"
import { Heap } from "./internal/stores.ts"

export {
  /**
   * The capacity is not a whole number of at least 1.
   *
   * @since 0.1.0
   */
  InvalidArgument
} from "./internal/errors.ts"

const TypeId = "~@strand/core/PriorityQueue" as const

/**
 * A bounded, stable priority queue.
 *
 * @since 0.1.0
 */
export interface PriorityQueue<A> {
  readonly [TypeId]: typeof TypeId
  /** The bound on buffered items. */
  readonly capacity: number
  /** Adds an item, waiting while the queue is full; `false` once it is shut down. */
  offer(item: A): Effect.Effect<boolean>
  /** Removes the smallest item, waiting while the queue is empty. */
  readonly take: Effect.Effect<A>
  /** How many items are buffered. */
  readonly size: Effect.Effect<number>
  /** Shuts the queue down; `true` if this call did it. */
  readonly shutdown: Effect.Effect<boolean>
}

/**
 * Options for `PriorityQueue.make`.
 *
 * @since 0.1.0
 */
export interface Options<A> {
  /** The bound on buffered items. */
  readonly capacity: number
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
    const buffer = new BoundedBuffer(options.capacity, new Heap(options.order))
    return Effect.succeed<PriorityQueue<A>>({
      [TypeId]: TypeId,
      capacity: options.capacity,
      offer: (item) => buffer.offer(item),
      take: buffer.take,
      size: Effect.sync(() => buffer.store.size),
      shutdown: buffer.shutdown
    })
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
export const offer = <A>(self: PriorityQueue<A>, item: A): Effect.Effect<boolean> => self.offer(item)

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
export const take = <A>(self: PriorityQueue<A>): Effect.Effect<A> => self.take

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
