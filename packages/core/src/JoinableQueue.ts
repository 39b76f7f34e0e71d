/**
 * An Effect `Queue` that also counts unfinished work: Python's `queue.Queue`
 * with `task_done()` and `join()`.
 *
 * **When to use**
 *
 * Use a `JoinableQueue` when a producer must wait until every item it offered
 * has been fully processed by the consumers, not just taken.
 *
 * **Details**
 *
 * - Every offered item adds one unfinished task; `taskDone` removes one.
 *   `join` waits until none is left.
 * - Calling `taskDone` more times than items were offered fails with `TaskDoneTooOften`.
 * - Offer through this module (`offer`, `offerAll`) so items are counted; take
 *   through `take` or the underlying `dequeue`, which is a plain Effect `Dequeue`.
 * - Capacity and back-pressure are those of Effect's `Queue`.
 * - An interrupted `offerAll` counts exactly the items that entered the queue:
 *   what fitted at once stays queued and counted, the item that was waiting
 *   for room is not, and the rest were never offered.
 * - `offerNow` and `takeNow` fail with `QueueFull` and `QueueEmpty` instead
 *   of waiting (Python's `put_nowait` and `get_nowait`).
 * - `close` is Python's graceful `shutdown()`: later offers fail with
 *   `QueueShutDown`, the buffered items (and offers already waiting for
 *   room, as Effect's `Queue` delivers them) can still be taken, then takes
 *   fail with `QueueShutDown`.
 * - `shutdown` drops the buffered items and counts each as done (Python's
 *   `shutdown(immediate=True)`), so `join` then waits only for items already
 *   taken.
 * - A caveat from Effect's `Queue`: when a full queue frees room, the offerer
 *   waiting for it runs at once, inside the taker's step. If that offerer's
 *   fiber interrupts the taker right then, the taker ends interrupted and the
 *   item it took is lost. Do not interrupt a taker from the producer it is
 *   unblocking.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { JoinableQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* JoinableQueue.make<number>({ capacity: 10 })
 *   const worker = Effect.forever(Effect.gen(function*() {
 *     const item = yield* JoinableQueue.take(queue)
 *     yield* Effect.log(`processed ${item}`)
 *     yield* JoinableQueue.taskDone(queue)
 *   }))
 *   yield* Effect.forkChild(worker)
 *   yield* JoinableQueue.offerAll(queue, [1, 2, 3])
 *   yield* JoinableQueue.join(queue) // every item processed
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Latch from "effect/Latch"
import { type Pipeable, Class as PipeableClass } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import * as Queue from "effect/Queue"
import { checkCapacity } from "./internal/buffer.ts"
import { type InvalidArgument, QueueEmpty, QueueFull, QueueShutDown, TaskDoneTooOften } from "./internal/errors.ts"

export {
  /**
   * The capacity is not a whole number of at least 1.
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
   * The queue was closed: it takes no more items, and gives none once drained.
   *
   * @category errors
   * @since 0.2.0
   */
  QueueShutDown,
  /**
   * `taskDone` was called more times than items were offered.
   *
   * @category errors
   * @since 0.1.0
   */
  TaskDoneTooOften
} from "./internal/errors.ts"

const TypeId = "~@strand/core/JoinableQueue" as const

/**
 * A queue with `taskDone` and `join`.
 *
 * @category models
 * @since 0.1.0
 */
export interface JoinableQueue<A> extends Pipeable {
  readonly [TypeId]: typeof TypeId
  /**
   * The take side, as a plain Effect `Dequeue` (for streams and the `Queue`
   * API). Once the queue is closed and drained, it fails with `QueueShutDown`.
   */
  readonly dequeue: Queue.Dequeue<A, QueueShutDown>
  /** Offers an item, waiting while the queue is full; `false` once it is shut down. */
  offer(item: A): Effect.Effect<boolean, QueueShutDown>
  /** Offers several items; succeeds with those that could not be offered. */
  offerAll(items: Iterable<A>): Effect.Effect<Array<A>, QueueShutDown>
  /** Offers an item if there is room now, else fails with `QueueFull`: Python's `put_nowait`. */
  offerNow(item: A): Effect.Effect<void, QueueFull | QueueShutDown>
  /** Takes an item if there is one now, else fails with `QueueEmpty`: Python's `get_nowait`. */
  readonly takeNow: Effect.Effect<A, QueueEmpty | QueueShutDown>
  /** Whether no item is buffered: Python's `empty()`. */
  readonly isEmpty: Effect.Effect<boolean>
  /** Whether the queue is at its capacity: Python's `full()`. */
  readonly isFull: Effect.Effect<boolean>
  /** Closes gracefully: Python's `shutdown()`. `true` if this call did it. */
  readonly close: Effect.Effect<boolean>
  /** Marks one taken item as processed. */
  readonly taskDone: Effect.Effect<void, TaskDoneTooOften>
  /** Waits until every offered item has been marked done. */
  readonly join: Effect.Effect<void>
  /** How many offered items are not yet marked done. */
  readonly unfinished: Effect.Effect<number>
  /** Shuts down the queue, as Effect's `Queue.shutdown`. */
  readonly shutdown: Effect.Effect<boolean>
}

/**
 * Options for `JoinableQueue.make`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** The bound on buffered items; unbounded when left out. */
  readonly capacity?: number | undefined
}

/**
 * Creates a joinable queue.
 *
 * **When to use**
 *
 * Use for producer/consumer work where the producer must know when all of it is done.
 *
 * **Details**
 *
 * Fails with `InvalidArgument` if `capacity` is given and is not a whole
 * number of at least 1.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { JoinableQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* JoinableQueue.make<string>({ capacity: 100 })
 *   yield* JoinableQueue.offer(queue, "job")
 *   return yield* JoinableQueue.unfinished(queue) // 1
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <A>(options?: Options): Effect.Effect<JoinableQueue<A>, InvalidArgument> =>
  Effect.gen(function* () {
    const capacity = options?.capacity
    const invalid = checkCapacity("JoinableQueue.make", capacity)
    if (invalid !== undefined) return yield* invalid
    const queue = yield* capacity === undefined
      ? Queue.unbounded<A, QueueShutDown>()
      : Queue.bounded<A, QueueShutDown>(capacity)
    return new JoinableQueueImpl(queue, capacity, yield* Latch.make(true))
  })

const shutDown = (operation: string) => new QueueShutDown({ operation: `JoinableQueue.${operation}` })

class JoinableQueueImpl<A> extends PipeableClass implements JoinableQueue<A> {
  readonly [TypeId] = TypeId
  private closed = false
  private count = 0
  readonly dequeue: Queue.Queue<A, QueueShutDown>
  private readonly capacity: number | undefined
  private readonly allDone: Latch.Latch
  readonly join: Effect.Effect<void>
  readonly isFull: Effect.Effect<boolean>

  constructor(queue: Queue.Queue<A, QueueShutDown>, capacity: number | undefined, allDone: Latch.Latch) {
    super()
    this.dequeue = queue
    this.capacity = capacity
    this.allDone = allDone
    this.join = allDone.await
    this.isFull = Queue.isFull(queue)
  }

  private added(n: number): void {
    if (n === 0) return
    this.count += n
    this.allDone.closeUnsafe()
  }

  private done(n: number): Effect.Effect<void> {
    return Effect.sync(() => {
      this.count -= n
      if (this.count === 0) this.allDone.openUnsafe()
    })
  }

  // Count before offering: a consumer may take and finish the item before the offer returns.
  readonly offer = (item: A): Effect.Effect<boolean, QueueShutDown> => {
    if (this.closed) return Effect.fail(shutDown("offer"))
    return Effect.uninterruptibleMask((restore) => {
      this.added(1)
      return Effect.tap(restore(Queue.offer(this.dequeue, item)).pipe(Effect.onInterrupt(() => this.done(1))), (ok) =>
        ok ? Effect.void : this.done(1)
      )
    })
  }

  // What fits goes in at once; the rest is offered one item at a time, so an interruption
  // un-counts exactly the item that was waiting, never one already in the queue.
  readonly offerAll = (items: Iterable<A>): Effect.Effect<Array<A>, QueueShutDown> =>
    Effect.suspend(() => {
      if (this.closed) return Effect.fail(shutDown("offerAll"))
      const all = Array.from(items)
      const rest = Queue.offerAllUnsafe(this.dequeue, all)
      this.added(all.length - rest.length)
      if (rest.length === 0) return Effect.succeed([])
      const rejected: Array<A> = []
      return Effect.as(
        Effect.forEach(rest, (item) => Effect.map(this.offer(item), (ok) => ok || rejected.push(item)), {
          discard: true
        }),
        rejected
      )
    })

  readonly offerNow = (item: A): Effect.Effect<void, QueueFull | QueueShutDown> =>
    Effect.suspend((): Effect.Effect<void, QueueFull | QueueShutDown> => {
      if (this.closed) return Effect.fail(shutDown("offerNow"))
      if (!Queue.offerUnsafe(this.dequeue, item)) {
        // Refused with room to spare: the queue was shut down.
        return Queue.isFullUnsafe(this.dequeue)
          ? Effect.fail(new QueueFull({ operation: "JoinableQueue.offerNow", capacity: this.capacity ?? Infinity }))
          : Effect.fail(shutDown("offerNow"))
      }
      this.added(1)
      return Effect.void
    })

  readonly takeNow: Effect.Effect<A, QueueEmpty | QueueShutDown> = Effect.suspend(
    (): Effect.Effect<A, QueueEmpty | QueueShutDown> => {
      const exit = Queue.takeUnsafe(this.dequeue)
      if (exit === undefined) return Effect.fail(new QueueEmpty({ operation: "JoinableQueue.takeNow" }))
      return Exit.isSuccess(exit) ? exit : Effect.fail(shutDown("takeNow"))
    }
  )

  readonly isEmpty: Effect.Effect<boolean> = Effect.sync(() => Queue.sizeUnsafe(this.dequeue) === 0)

  // Offers refused from now on; takers drain what is buffered, then get QueueShutDown.
  readonly close: Effect.Effect<boolean> = Effect.suspend(() => {
    if (this.closed) return Effect.succeed(false)
    this.closed = true
    return Queue.fail(this.dequeue, shutDown("take"))
  })

  readonly taskDone: Effect.Effect<void, TaskDoneTooOften> = Effect.suspend(() =>
    this.count === 0 ? Effect.fail(new TaskDoneTooOften()) : this.done(1)
  )

  readonly unfinished: Effect.Effect<number> = Effect.sync(() => this.count)

  // As Python's shutdown(immediate=True): every dropped item counts as done, so join returns.
  readonly shutdown: Effect.Effect<boolean> = Effect.suspend(() => {
    const dropped = Queue.sizeUnsafe(this.dequeue)
    return Effect.tap(Queue.shutdown(this.dequeue), () => this.done(dropped))
  })
}

/**
 * Offers an item, waiting while the queue is full.
 *
 * **When to use**
 *
 * Use to hand one unit of work to the consumers.
 *
 * **Details**
 *
 * Succeeds with `false`, and counts nothing, once the queue is shut down.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { JoinableQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* JoinableQueue.make<number>()
 *   return yield* JoinableQueue.offer(queue, 1) // true
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const offer = <A>(self: JoinableQueue<A>, item: A): Effect.Effect<boolean, QueueShutDown> => self.offer(item)

/**
 * Offers several items; succeeds with those that could not be offered.
 *
 * **When to use**
 *
 * Use to hand a batch of work to the consumers.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { JoinableQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* JoinableQueue.make<number>()
 *   return yield* JoinableQueue.offerAll(queue, [1, 2, 3]) // []
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const offerAll = <A>(self: JoinableQueue<A>, items: Iterable<A>): Effect.Effect<Array<A>, QueueShutDown> =>
  self.offerAll(items)

/**
 * Takes the next item, waiting while the queue is empty.
 *
 * **When to use**
 *
 * Use in a consumer; call `taskDone` once the item is processed.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { JoinableQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* JoinableQueue.make<number>()
 *   yield* JoinableQueue.offer(queue, 7)
 *   const item = yield* JoinableQueue.take(queue) // 7
 *   yield* JoinableQueue.taskDone(queue)
 *   return item
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const take = <A>(self: JoinableQueue<A>): Effect.Effect<A, QueueShutDown> => Queue.take(self.dequeue)

/**
 * Marks one taken item as processed: Python's `task_done()`.
 *
 * **When to use**
 *
 * Use once per item, after processing it.
 *
 * **Details**
 *
 * Fails with `TaskDoneTooOften` when no offered item is unfinished.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { JoinableQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* JoinableQueue.make<number>()
 *   yield* JoinableQueue.offer(queue, 1)
 *   yield* JoinableQueue.take(queue)
 *   yield* JoinableQueue.taskDone(queue)
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const taskDone = <A>(self: JoinableQueue<A>): Effect.Effect<void, TaskDoneTooOften> => self.taskDone

/**
 * Waits until every offered item has been marked done: Python's `join()`.
 *
 * **When to use**
 *
 * Use in the producer, to know when all of its work is finished.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { JoinableQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* JoinableQueue.make<number>()
 *   yield* JoinableQueue.join(queue) // nothing offered: returns at once
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const join = <A>(self: JoinableQueue<A>): Effect.Effect<void> => self.join

/**
 * How many offered items are not yet marked done: Python's `unfinished_tasks`.
 *
 * **When to use**
 *
 * Use for progress reports and tests.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { JoinableQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* JoinableQueue.make<number>()
 *   return yield* JoinableQueue.unfinished(queue) // 0
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const unfinished = <A>(self: JoinableQueue<A>): Effect.Effect<number> => self.unfinished

/**
 * Shuts the queue down, with the semantics of Effect's `Queue.shutdown`.
 *
 * **When to use**
 *
 * Use to stop the consumers and refuse further offers.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { JoinableQueue } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const queue = yield* JoinableQueue.make<number>()
 *   return yield* JoinableQueue.shutdown(queue) // true
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const shutdown = <A>(self: JoinableQueue<A>): Effect.Effect<boolean> => self.shutdown

/**
 * Whether `u` is a `JoinableQueue`.
 *
 * **When to use**
 *
 * Use to narrow an unknown value, as Effect's own `isX` guards do.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { JoinableQueue } from "@strand/core"
 *
 * const program = Effect.map(JoinableQueue.make<number>(), JoinableQueue.isJoinableQueue) // true
 * ```
 *
 * @category guards
 * @since 0.2.0
 */
export const isJoinableQueue = (u: unknown): u is JoinableQueue<unknown> => hasProperty(u, TypeId)
