/**
 * The state and operations behind `BoundedSemaphore`: free permits, a FIFO
 * queue of weighted waiters served strictly in order, and, when made under
 * `Diagnostics.layer`, the permits each fiber holds for deadlock detection.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import { Class as PipeableClass } from "effect/Pipeable"
import { checkWhole, withDuration } from "./arguments.ts"
import { type DeadlockDetected, type InvalidArgument, SemaphoreOverRelease } from "./errors.ts"
import type { Figures } from "./figures.ts"
import { type Resource, type Tracker, trackWait } from "./tracker.ts"
import { Waiter, WaitQueue } from "./waiters.ts"

/** @internal */
export class SemaphoreCore extends PipeableClass implements Resource {
  readonly permits: number
  free: number
  // A waiter that leaves the head may unblock smaller takes behind it.
  readonly queue = new WaitQueue<number>({
    onLostGrant: (waiter) => this.passOnLostGrant(waiter),
    onLeave: () => this.dispatch()
  })
  readonly tracker: Tracker | undefined
  readonly label: string
  figures: Figures | undefined = undefined
  readonly named: boolean
  /** Permits held by each fiber, kept only when tracked. */
  readonly held = new Map<number, number>()

  constructor(permits: number, name: string | undefined, tracker: Tracker | undefined) {
    super()
    this.permits = permits
    this.free = permits
    this.tracker = tracker
    this.named = name !== undefined
    this.label = tracker?.label("BoundedSemaphore", name) ?? `BoundedSemaphore "${name ?? "unnamed"}"`
    tracker?.register(this)
  }

  holders(): ReadonlyArray<number> {
    return Array.from(this.held.keys())
  }

  /** Serves waiters from the head while the head fits: strict FIFO. */
  readonly dispatch = (): void => {
    for (let head = this.queue.head(); head !== undefined && head.data <= this.free; head = this.queue.head()) {
      this.free -= head.data
      this.queue.grant(head)
    }
  }

  readonly passOnLostGrant = (waiter: Waiter<number>): void => {
    this.free += waiter.data
    this.dispatch()
  }

  check(operation: string, n: number): InvalidArgument | undefined {
    return checkWhole(
      `BoundedSemaphore.${operation}`,
      "n",
      n,
      0,
      this.permits,
      `a whole number from 0 to the semaphore's ${this.permits} permits`
    )
  }

  takeNow(n: number): boolean {
    if (this.queue.size > 0 || n > this.free) return false
    this.free -= n
    return true
  }

  /** Records that `fiber` took `n` permits (tracked semaphores only). */
  trackTake(fiber: Fiber.Fiber<unknown, unknown>, n: number): void {
    const tracker = this.tracker
    if (tracker === undefined || n === 0) return
    const before = this.held.get(fiber.id) ?? 0
    this.held.set(fiber.id, before + n)
    if (before === 0) tracker.acquired(fiber, this)
  }

  /**
   * Records that `fiber` gave back `n` permits. Permits given back by a fiber
   * that holds none count against the longest holder: deadlock detection
   * assumes permits go back through the fibers that took them, as `withPermits` does.
   */
  trackRelease(fiber: Fiber.Fiber<unknown, unknown>, n: number): void {
    const tracker = this.tracker
    if (tracker === undefined) return
    let remaining = n
    const order = this.held.has(fiber.id) ? [fiber.id, ...this.held.keys()] : Array.from(this.held.keys())
    for (const holder of order) {
      if (remaining === 0) break
      const count = this.held.get(holder) ?? 0
      const taken = Math.min(count, remaining)
      remaining -= taken
      if (count - taken > 0) this.held.set(holder, count - taken)
      else if (this.held.delete(holder)) tracker.released(holder, this, fiber.context)
    }
  }

  take(
    operation: string,
    n: number,
    timeout: Duration.Input | undefined
  ): Effect.Effect<boolean, InvalidArgument | DeadlockDetected> {
    return Effect.withFiber((fiber): Effect.Effect<boolean, InvalidArgument | DeadlockDetected> => {
      const invalid = this.check(operation, n)
      if (invalid) return Effect.fail(invalid)
      if (this.takeNow(n)) {
        this.trackTake(fiber, n)
        return Effect.succeed(true)
      }
      return trackWait(this.tracker, fiber, this, this.queue.park(new Waiter(fiber, n), timeout), () =>
        this.trackTake(fiber, n)
      )
    })
  }

  acquire(n = 1): Effect.Effect<void, InvalidArgument | DeadlockDetected> {
    return Effect.asVoid(this.take("acquire", n, undefined))
  }

  tryAcquire(n = 1): Effect.Effect<boolean, InvalidArgument> {
    return Effect.withFiber((fiber) => {
      const invalid = this.check("tryAcquire", n)
      if (invalid) return Effect.fail(invalid)
      const taken = this.takeNow(n)
      if (taken) this.trackTake(fiber, n)
      return Effect.succeed(taken)
    })
  }

  acquireTimeout(timeout: Duration.Input, n = 1): Effect.Effect<boolean, InvalidArgument | DeadlockDetected> {
    return withDuration("BoundedSemaphore.acquireTimeout", "timeout", timeout, (duration) =>
      this.take("acquireTimeout", n, duration)
    )
  }

  /** Gives back `n` permits, which must be taken; serves waiters in FIFO order. */
  releaseUnsafe(fiber: Fiber.Fiber<unknown, unknown>, n: number): void {
    this.trackRelease(fiber, n)
    this.free += n
    this.dispatch()
  }

  release(n = 1): Effect.Effect<void, InvalidArgument | SemaphoreOverRelease> {
    return Effect.withFiber((fiber): Effect.Effect<void, InvalidArgument | SemaphoreOverRelease> => {
      const invalid = this.check("release", n)
      if (invalid) return Effect.fail(invalid)
      const taken = this.permits - this.free
      if (n > taken) {
        return Effect.fail(new SemaphoreOverRelease({ permits: this.permits, taken, released: n }))
      }
      this.releaseUnsafe(fiber, n)
      return Effect.void
    })
  }

  withPermits(n: number) {
    return <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | InvalidArgument | DeadlockDetected, R> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(restore(this.acquire(n)), () =>
          Effect.onExit(restore(self), () =>
            Effect.withFiber((fiber) => Effect.sync(() => this.releaseUnsafe(fiber, n)))
          )
        )
      )
  }

  readonly available = Effect.sync(() => this.free)
  readonly waiting = Effect.sync(() => this.queue.size)
}
