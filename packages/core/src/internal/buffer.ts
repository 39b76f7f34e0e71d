/**
 * A bounded, back-pressured queue over a pluggable store (a heap or a stack),
 * shared by `PriorityQueue` and `LifoQueue`. Its shutdown follows Effect's
 * `Queue`: buffered items are dropped, offers succeed with `false` and takers
 * are interrupted.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { InvalidArgument } from "./errors.ts"
import { makeWaiter, Waiter, WaitQueue } from "./waiters.ts"

/** @internal */
export const checkCapacity = (operation: string, capacity: number): InvalidArgument | undefined =>
  Number.isInteger(capacity) && capacity >= 1
    ? undefined
    : new InvalidArgument({
        operation,
        argument: "capacity",
        value: capacity,
        expected: "a whole number of at least 1"
      })

/** @internal */
export interface Store<A> {
  readonly size: number
  push(item: A): void
  pop(): A
  clear(): void
}

/** @internal */
export class BoundedBuffer<A> {
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

  constructor(capacity: number, store: Store<A>) {
    this.capacity = capacity
    this.store = store
  }

  /**
   * Grants free slots to waiting offerers (each pushes its own item when it
   * resumes, so an offer interrupted before then puts nothing), then hands
   * free items to waiting takers.
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

  offer(item: A): Effect.Effect<boolean> {
    return Effect.withFiber((fiber) => {
      if (this.isShutdown) return Effect.succeed(false)
      if (this.offerers.size === 0 && this.store.size + this.slots < this.capacity) {
        this.store.push(item)
        this.settle()
        return Effect.succeed(true)
      }
      return Effect.uninterruptibleMask((restore) =>
        Effect.map(restore(this.offerers.park(new Waiter(fiber, item))), (granted) => {
          if (!granted || this.isShutdown) return false
          this.slots--
          this.store.push(item)
          this.settle()
          return true
        })
      )
    })
  }

  readonly take: Effect.Effect<A> = Effect.withFiber((fiber) => {
    if (this.isShutdown) return Effect.interrupt
    if (this.takers.size === 0 && this.store.size > this.reserved) return Effect.succeed(this.popNow())
    return Effect.flatMap(this.takers.park(makeWaiter(fiber)), () => {
      if (this.isShutdown) return Effect.interrupt
      this.reserved--
      return Effect.succeed(this.popNow())
    })
  })

  popNow(): A {
    const item = this.store.pop()
    this.settle()
    return item
  }

  readonly shutdown: Effect.Effect<boolean> = Effect.sync(() => {
    if (this.isShutdown) return false
    this.isShutdown = true
    this.store.clear()
    this.reserved = 0
    this.slots = 0
    this.offerers.drain((waiter) => WaitQueue.resumeWith(waiter, Effect.succeed(false)))
    this.takers.drain((waiter) => WaitQueue.resumeWith(waiter, Effect.interrupt))
    return true
  })
}
