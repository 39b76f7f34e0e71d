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
 * - `shutdown` behaves as Effect's `Queue.shutdown`: buffered items are dropped,
 *   waiting and later offers succeed with `false`, takers are interrupted.
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
import { BoundedBuffer, checkCapacity } from "./internal/buffer.ts"
import type { InvalidArgument } from "./internal/errors.ts"
import { Stack } from "./internal/stores.ts"

export {
  /**
   * The capacity is not a whole number of at least 1.
   *
   * @since 0.1.0
   */
  InvalidArgument
} from "./internal/errors.ts"

const TypeId = "~@strand/core/LifoQueue" as const

/**
 * A bounded LIFO queue.
 *
 * @since 0.1.0
 */
export interface LifoQueue<A> {
  readonly [TypeId]: typeof TypeId
  /** The bound on buffered items. */
  readonly capacity: number
  /** Adds an item, waiting while the queue is full; `false` once it is shut down. */
  offer(item: A): Effect.Effect<boolean>
  /** Removes the newest item, waiting while the queue is empty. */
  readonly take: Effect.Effect<A>
  /** How many items are buffered. */
  readonly size: Effect.Effect<number>
  /** Shuts the queue down; `true` if this call did it. */
  readonly shutdown: Effect.Effect<boolean>
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
export const make = <A>(options: { readonly capacity: number }): Effect.Effect<LifoQueue<A>, InvalidArgument> =>
  Effect.suspend(() => {
    const invalid = checkCapacity("LifoQueue.make", options.capacity)
    if (invalid) return Effect.fail(invalid)
    const buffer = new BoundedBuffer<A>(options.capacity, new Stack())
    return Effect.succeed<LifoQueue<A>>({
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
export const offer = <A>(self: LifoQueue<A>, item: A): Effect.Effect<boolean> => self.offer(item)

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
export const take = <A>(self: LifoQueue<A>): Effect.Effect<A> => self.take

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
