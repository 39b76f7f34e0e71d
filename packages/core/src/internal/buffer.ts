/**
 * A back-pressured queue over a pluggable store (a heap or a stack), shared
 * by `PriorityQueue` and `LifoQueue`: Python's `asyncio.Queue` and Java's
 * `BlockingQueue`, with `taskDone` and `join`.
 *
 * - `shutdown` follows Effect's `Queue`: buffered items are dropped, offers
 *   succeed with `false` and takers are interrupted.
 * - `close` is Python's graceful `shutdown()`: offers fail with
 *   `QueueShutDown`, buffered items can still be taken, and once they are
 *   gone takers fail with `QueueShutDown` too.
 *
 * @internal
 */

import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Latch from "effect/Latch"
import * as Option from "effect/Option"
import { type Pipeable, Class as PipeableClass } from "effect/Pipeable"
import { checkWhole, withDuration } from "./arguments.ts"
import { type InvalidArgument, QueueEmpty, QueueFull, QueueShutDown, TaskDoneTooOften } from "./errors.ts"
import { makeWaiter, Waiter, WaitQueue } from "./waiters.ts"

/** @internal */
export const checkCapacity = (operation: string, capacity: number | undefined): InvalidArgument | undefined =>
  capacity === undefined
    ? undefined
    : checkWhole(
        operation,
        "capacity",
        capacity,
        1,
        undefined,
        "a whole number of at least 1, or left out for an unbounded queue"
      )

/** @internal */
export interface Store<A> {
  readonly size: number
  push(item: A): void
  pop(): A
  peek(): A
  clear(): void
}

/**
 * The operations of a buffered queue. Every wait is FIFO among its waiters
 * and can be interrupted without a trace.
 *
 * @internal
 */
export interface Operations<A> extends Pipeable {
  /** The bound on buffered items; `Infinity` for an unbounded queue. */
  readonly capacity: number
  /** Adds an item, waiting while the queue is full; `false` after `shutdown`, `QueueShutDown` after `close`. */
  offer(item: A): Effect.Effect<boolean, QueueShutDown>
  /** Adds an item if there is room now, else fails with `QueueFull`: Python's `put_nowait`. */
  offerNow(item: A): Effect.Effect<void, QueueFull | QueueShutDown>
  /** Adds an item, waiting at most `timeout` for room; `false` if there was none in time. */
  offerTimeout(item: A, timeout: Duration.Input): Effect.Effect<boolean, QueueShutDown | InvalidArgument>
  /** Removes the next item, waiting while the queue is empty; `QueueShutDown` once closed and drained. */
  readonly take: Effect.Effect<A, QueueShutDown>
  /** Removes the next item if there is one now, else fails with `QueueEmpty`: Python's `get_nowait`. */
  readonly takeNow: Effect.Effect<A, QueueEmpty | QueueShutDown>
  /** Removes the next item, waiting at most `timeout`; `None` if none came in time. */
  takeTimeout(timeout: Duration.Input): Effect.Effect<Option.Option<A>, QueueShutDown | InvalidArgument>
  /** Removes the next item if there is one now: Java's `poll`. */
  readonly poll: Effect.Effect<Option.Option<A>>
  /** The next item, left in place: Java's `peek`. */
  readonly peek: Effect.Effect<Option.Option<A>>
  /** Removes every buffered item, in the order `take` would give them: Java's `drainTo`. */
  readonly takeAll: Effect.Effect<Array<A>>
  /** Drops every buffered item; each counts as done for `join`. */
  readonly clear: Effect.Effect<void>
  /** How many items are buffered. */
  readonly size: Effect.Effect<number>
  /** Whether no item is buffered. */
  readonly isEmpty: Effect.Effect<boolean>
  /** Whether the queue is at its capacity. */
  readonly isFull: Effect.Effect<boolean>
  /** Marks one taken item as processed: Python's `task_done()`. */
  readonly taskDone: Effect.Effect<void, TaskDoneTooOften>
  /** Waits until every item offered has been marked done: Python's `join()`. */
  readonly join: Effect.Effect<void>
  /** How many offered items are not marked done yet. */
  readonly unfinished: Effect.Effect<number>
  /** Closes gracefully: Python's `shutdown()`. `true` if this call did it. */
  readonly close: Effect.Effect<boolean>
  /** Shuts down at once, as Effect's `Queue.shutdown`. `true` if this call did it. */
  readonly shutdown: Effect.Effect<boolean>
}

/** @internal */
export class BoundedBuffer<A> extends PipeableClass implements Operations<A> {
  readonly capacity: number
  readonly store: Store<A>
  readonly takers = new WaitQueue({ onLostGrant: () => this.unreserve() })
  /** A granted offerer that was interrupted before it resumed gives its slot back. */
  readonly offerers = new WaitQueue<A>({ onLostGrant: () => this.freeSlot() })
  /** Takers that were granted an item but have not resumed to pop it yet. */
  reserved = 0
  /** Offerers that were granted a slot but have not resumed to push their item yet. */
  slots = 0
  isShutdown = false
  /** Closed gracefully: no more offers; takes drain what is buffered. */
  isClosed = false
  /** Offered items not yet marked done. */
  pending = 0
  readonly allDone = Latch.makeUnsafe(true)
  readonly operation: string

  constructor(kind: string, capacity: number | undefined, store: Store<A>) {
    super()
    this.operation = kind
    this.capacity = capacity ?? Number.POSITIVE_INFINITY
    this.store = store
  }

  /**
   * Grants free slots to waiting offerers (each pushes its own item when it
   * resumes, so an offer interrupted before then puts nothing), then hands
   * free items to waiting takers, and tells the takers of a closed, drained
   * queue that nothing more will come.
   */
  readonly settle = (): void => {
    for (
      let o = this.offerers.head();
      o !== undefined && this.store.size + this.slots < this.capacity;
      o = this.offerers.head()
    ) {
      this.slots++
      this.offerers.grant(o)
    }
    for (let t = this.takers.head(); t !== undefined && this.store.size > this.reserved; t = this.takers.head()) {
      this.reserved++
      this.takers.grant(t)
    }
    if (this.isClosed && this.store.size === this.reserved && this.takers.size > 0) {
      this.takers.drain((waiter) => WaitQueue.resumeWith(waiter, Effect.succeed(false)))
    }
  }

  /** A taker that was granted an item but interrupted gives its reservation back. */
  readonly unreserve = (): void => {
    this.reserved--
    this.settle()
  }

  private readonly freeSlot = (): void => {
    this.slots--
    this.settle()
  }

  private hasRoom(): boolean {
    return this.offerers.size === 0 && this.store.size + this.slots < this.capacity
  }

  private push(item: A): void {
    this.store.push(item)
    if (this.pending++ === 0) this.allDone.closeUnsafe()
    this.settle()
  }

  private shutDown(operation: string): QueueShutDown {
    return new QueueShutDown({ operation: `${this.operation}.${operation}` })
  }

  private waitForRoom(item: A, timeout: Duration.Duration | undefined): Effect.Effect<boolean, QueueShutDown> {
    return Effect.withFiber((fiber) => {
      if (this.isShutdown) return Effect.succeed(false)
      if (this.isClosed) return Effect.fail(this.shutDown("offer"))
      if (this.hasRoom()) {
        this.push(item)
        return Effect.succeed(true)
      }
      return Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(restore(this.offerers.park(new Waiter(fiber, item), timeout)), (granted) => {
          if (!granted || this.isShutdown) {
            return this.isClosed && !this.isShutdown ? Effect.fail(this.shutDown("offer")) : Effect.succeed(false)
          }
          this.slots--
          this.push(item)
          return Effect.succeed(true)
        })
      )
    })
  }

  offer(item: A): Effect.Effect<boolean, QueueShutDown> {
    return this.waitForRoom(item, undefined)
  }

  offerNow(item: A): Effect.Effect<void, QueueFull | QueueShutDown> {
    return Effect.suspend((): Effect.Effect<void, QueueFull | QueueShutDown> => {
      if (this.isShutdown || this.isClosed) return Effect.fail(this.shutDown("offerNow"))
      if (!this.hasRoom())
        return Effect.fail(new QueueFull({ operation: `${this.operation}.offerNow`, capacity: this.capacity }))
      this.push(item)
      return Effect.void
    })
  }

  offerTimeout(item: A, timeout: Duration.Input): Effect.Effect<boolean, QueueShutDown | InvalidArgument> {
    return withDuration(`${this.operation}.offerTimeout`, "timeout", timeout, (duration) =>
      this.waitForRoom(item, duration)
    )
  }

  private waitForItem(timeout: Duration.Duration | undefined): Effect.Effect<Option.Option<A>, QueueShutDown> {
    return Effect.withFiber((fiber) => {
      if (this.isShutdown) return Effect.interrupt
      if (this.takers.size === 0 && this.store.size > this.reserved) return Effect.succeed(Option.some(this.popNow()))
      if (this.isClosed) return Effect.fail(this.shutDown("take"))
      return Effect.flatMap(this.takers.park(makeWaiter(fiber), timeout), (granted) => {
        if (this.isShutdown) return Effect.interrupt
        if (!granted) return this.isClosed ? Effect.fail(this.shutDown("take")) : Effect.succeed(Option.none())
        this.reserved--
        return Effect.succeed(Option.some(this.popNow()))
      })
    })
  }

  // Its own path rather than waitForItem's, so that the common take allocates no Option.
  readonly take: Effect.Effect<A, QueueShutDown> = Effect.withFiber((fiber) => {
    if (this.isShutdown) return Effect.interrupt
    if (this.takers.size === 0 && this.store.size > this.reserved) return Effect.succeed(this.popNow())
    if (this.isClosed) return Effect.fail(this.shutDown("take"))
    return Effect.flatMap(this.takers.park(makeWaiter(fiber)), (granted) => {
      if (this.isShutdown) return Effect.interrupt
      if (!granted) return Effect.fail(this.shutDown("take"))
      this.reserved--
      return Effect.succeed(this.popNow())
    })
  })

  readonly takeNow: Effect.Effect<A, QueueEmpty | QueueShutDown> = Effect.suspend(
    (): Effect.Effect<A, QueueEmpty | QueueShutDown> => {
      if (this.isShutdown) return Effect.fail(this.shutDown("takeNow"))
      if (this.takers.size === 0 && this.store.size > this.reserved) return Effect.succeed(this.popNow())
      return this.isClosed
        ? Effect.fail(this.shutDown("takeNow"))
        : Effect.fail(new QueueEmpty({ operation: `${this.operation}.takeNow` }))
    }
  )

  takeTimeout(timeout: Duration.Input): Effect.Effect<Option.Option<A>, QueueShutDown | InvalidArgument> {
    return withDuration(`${this.operation}.takeTimeout`, "timeout", timeout, (duration) =>
      this.waitForItem(duration ?? undefined)
    )
  }

  readonly poll: Effect.Effect<Option.Option<A>> = Effect.sync(() =>
    this.takers.size === 0 && this.store.size > this.reserved ? Option.some(this.popNow()) : Option.none()
  )

  readonly peek: Effect.Effect<Option.Option<A>> = Effect.sync(() =>
    this.store.size > this.reserved ? Option.some(this.store.peek()) : Option.none()
  )

  readonly takeAll: Effect.Effect<Array<A>> = Effect.sync(() => {
    const items: Array<A> = []
    while (this.takers.size === 0 && this.store.size > this.reserved) items.push(this.store.pop())
    this.settle()
    return items
  })

  readonly clear: Effect.Effect<void> = Effect.sync(() => this.dropBuffered())

  /** Drops what no taker has been granted, counting each item as done. */
  private dropBuffered(): void {
    let dropped = 0
    while (this.store.size > this.reserved) {
      this.store.pop()
      dropped++
    }
    this.done(dropped)
    this.settle()
  }

  readonly size: Effect.Effect<number> = Effect.sync(() => this.store.size)
  readonly isEmpty: Effect.Effect<boolean> = Effect.sync(() => this.store.size === 0)
  readonly isFull: Effect.Effect<boolean> = Effect.sync(() => this.store.size + this.slots >= this.capacity)

  private done(n: number): void {
    this.pending -= n
    if (this.pending === 0) this.allDone.openUnsafe()
  }

  readonly taskDone: Effect.Effect<void, TaskDoneTooOften> = Effect.suspend(() => {
    if (this.pending === 0) return Effect.fail(new TaskDoneTooOften())
    this.done(1)
    return Effect.void
  })

  readonly join: Effect.Effect<void> = this.allDone.await
  readonly unfinished: Effect.Effect<number> = Effect.sync(() => this.pending)

  popNow(): A {
    const item = this.store.pop()
    this.settle()
    return item
  }

  readonly close: Effect.Effect<boolean> = Effect.sync(() => {
    if (this.isClosed || this.isShutdown) return false
    this.isClosed = true
    this.offerers.drain((waiter) => WaitQueue.resumeWith(waiter, Effect.succeed(false)))
    this.settle()
    return true
  })

  readonly shutdown: Effect.Effect<boolean> = Effect.sync(() => {
    if (this.isShutdown) return false
    this.isShutdown = true
    this.dropBuffered()
    this.store.clear()
    this.reserved = 0
    this.slots = 0
    this.offerers.drain((waiter) => WaitQueue.resumeWith(waiter, Effect.succeed(false)))
    this.takers.drain((waiter) => WaitQueue.resumeWith(waiter, Effect.interrupt))
    return true
  })
}
