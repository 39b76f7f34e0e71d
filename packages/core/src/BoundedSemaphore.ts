/**
 * A counting semaphore that cannot be released past its size and serves
 * weighted takes in strict FIFO order: Python's `threading.BoundedSemaphore`.
 *
 * **When to use**
 *
 * Use it to bound access to a resource (connections, memory, CPU slots) when a
 * release without a matching take is a bug you want reported, or when takes
 * have different weights and a large one must not starve behind small ones.
 * For plain bounding where neither matters, Effect's own `Semaphore` is enough.
 *
 * **Details**
 *
 * - `make(permits)` validates its count: a negative or fractional count fails with `InvalidArgument`.
 * - Releasing more permits than are taken fails with `SemaphoreOverRelease`.
 * - Takes are served strictly FIFO: while a large take waits at the head, later
 *   small takes wait behind it even if they would fit, so the large one is served
 *   as soon as enough permits are free.
 * - Asking for more permits than the semaphore has fails with `InvalidArgument`,
 *   since that take could never be served.
 * - An interrupted or timed-out waiter leaves no trace; permits granted to it
 *   go back to the semaphore.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BoundedSemaphore } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const connections = yield* BoundedSemaphore.make(3)
 *   const query = (id: number) => Effect.succeed(id).pipe(BoundedSemaphore.withPermits(connections, 1))
 *   return yield* Effect.all([1, 2, 3, 4, 5].map(query), { concurrency: "unbounded" })
 * })
 * ```
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import { dual } from "effect/Function"
import { type Pipeable, Class as PipeableClass } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import { checkWhole, withDuration } from "./internal/arguments.ts"
import { type DeadlockDetected, type InvalidArgument, SemaphoreOverRelease } from "./internal/errors.ts"
import { CurrentTracker, type Resource, type Tracker, trackWait } from "./internal/tracker.ts"
import { Waiter, WaitQueue } from "./internal/waiters.ts"

export {
  /**
   * A wait was refused because it would close a cycle of fibers waiting on each
   * other (only under `Diagnostics.layer`).
   *
   * @category errors
   * @since 0.1.0
   */
  DeadlockDetected,
  /**
   * A count given to the semaphore is not a whole number in range.
   *
   * @category errors
   * @since 0.1.0
   */
  InvalidArgument,
  /**
   * More permits were released than are taken.
   *
   * @category errors
   * @since 0.1.0
   */
  SemaphoreOverRelease
} from "./internal/errors.ts"

const TypeId = "~@strand/core/BoundedSemaphore" as const

/**
 * A bounded, FIFO-fair, weighted semaphore.
 *
 * @category models
 * @since 0.1.0
 */
export interface BoundedSemaphore extends Pipeable {
  readonly [TypeId]: typeof TypeId
  /** The number of permits it was made with. */
  readonly permits: number
  /** Waits for `n` permits (default 1), in FIFO order. */
  acquire(n?: number): Effect.Effect<void, InvalidArgument | DeadlockDetected>
  /** Takes `n` permits only if that needs no wait. */
  tryAcquire(n?: number): Effect.Effect<boolean, InvalidArgument>
  /** Waits at most `timeout` for `n` permits; `true` if they were taken. */
  acquireTimeout(timeout: Duration.Input, n?: number): Effect.Effect<boolean, InvalidArgument | DeadlockDetected>
  /** Gives back `n` permits (default 1). */
  release(n?: number): Effect.Effect<void, InvalidArgument | SemaphoreOverRelease>
  /** Runs an effect holding `n` permits, giving them back however it ends. */
  withPermits(
    n: number
  ): <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E | InvalidArgument | DeadlockDetected, R>
  /** How many permits are free right now. */
  readonly available: Effect.Effect<number>
  /** How many fibers are waiting. */
  readonly waiting: Effect.Effect<number>
}

class BoundedSemaphoreImpl extends PipeableClass implements BoundedSemaphore, Resource {
  readonly [TypeId] = TypeId
  readonly permits: number
  free: number
  // A waiter that leaves the head may unblock smaller takes behind it.
  readonly queue = new WaitQueue<number>({
    onLostGrant: (waiter) => this.passOnLostGrant(waiter),
    onLeave: () => this.dispatch()
  })
  readonly tracker: Tracker | undefined
  readonly label: string
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

/**
 * Creates a bounded semaphore with `permits` permits.
 *
 * **When to use**
 *
 * Use to bound concurrent access to a resource, reporting over-release as an error.
 *
 * **Details**
 *
 * Fails with `InvalidArgument` unless `permits` is a whole number of at least 0.
 * A `name` shows in diagnostics; made under `Diagnostics.layer`, its waits are
 * checked for deadlocks, assuming permits are given back by the fibers that took them.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BoundedSemaphore } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const sem = yield* BoundedSemaphore.make(2)
 *   yield* BoundedSemaphore.acquire(sem)
 *   yield* BoundedSemaphore.release(sem)
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (
  permits: number,
  options?: { readonly name?: string | undefined }
): Effect.Effect<BoundedSemaphore, InvalidArgument> =>
  Effect.withFiber((fiber) => {
    const invalid = checkWhole("BoundedSemaphore.make", "permits", permits, 0)
    if (invalid !== undefined) return Effect.fail(invalid)
    return Effect.succeed(new BoundedSemaphoreImpl(permits, options?.name, fiber.getRef(CurrentTracker)))
  })

/**
 * Waits for `n` permits (default 1), served in FIFO order.
 *
 * **When to use**
 *
 * Use with `release` where the work does not fit one effect; otherwise prefer `withPermits`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BoundedSemaphore } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const sem = yield* BoundedSemaphore.make(4)
 *   yield* BoundedSemaphore.acquire(sem, 3)
 *   yield* BoundedSemaphore.release(sem, 3)
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const acquire: {
  (n?: number): (self: BoundedSemaphore) => Effect.Effect<void, InvalidArgument | DeadlockDetected>
  (self: BoundedSemaphore, n?: number): Effect.Effect<void, InvalidArgument | DeadlockDetected>
} = dual(
  (args) => isBoundedSemaphore(args[0]),
  (self: BoundedSemaphore, n?: number) => self.acquire(n)
)

/**
 * Takes `n` permits (default 1) only if they are free and nobody is waiting.
 *
 * **When to use**
 *
 * Use to skip work, rather than wait, when the resource is busy.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BoundedSemaphore } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const sem = yield* BoundedSemaphore.make(1)
 *   return yield* BoundedSemaphore.tryAcquire(sem) // true
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const tryAcquire: {
  (n?: number): (self: BoundedSemaphore) => Effect.Effect<boolean, InvalidArgument>
  (self: BoundedSemaphore, n?: number): Effect.Effect<boolean, InvalidArgument>
} = dual(
  (args) => isBoundedSemaphore(args[0]),
  (self: BoundedSemaphore, n?: number) => self.tryAcquire(n)
)

/**
 * Waits at most `timeout` for `n` permits (default 1).
 *
 * **When to use**
 *
 * Use when giving up after a while is better than waiting forever.
 *
 * **Details**
 *
 * Succeeds with `true` if the permits were taken, `false` if the time ran out.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BoundedSemaphore } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const sem = yield* BoundedSemaphore.make(1)
 *   return yield* BoundedSemaphore.acquireTimeout(sem, "1 second", 1) // true
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const acquireTimeout: {
  (
    timeout: Duration.Input,
    n?: number
  ): (self: BoundedSemaphore) => Effect.Effect<boolean, InvalidArgument | DeadlockDetected>
  (
    self: BoundedSemaphore,
    timeout: Duration.Input,
    n?: number
  ): Effect.Effect<boolean, InvalidArgument | DeadlockDetected>
} = dual(
  (args) => isBoundedSemaphore(args[0]),
  (self: BoundedSemaphore, timeout: Duration.Input, n?: number) => self.acquireTimeout(timeout, n)
)

/**
 * Gives back `n` permits (default 1) and serves waiters in FIFO order.
 *
 * **When to use**
 *
 * Use once for every `acquire`, with the same count.
 *
 * **Details**
 *
 * Fails with `SemaphoreOverRelease` if fewer than `n` permits are taken.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BoundedSemaphore } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const sem = yield* BoundedSemaphore.make(1)
 *   yield* BoundedSemaphore.acquire(sem)
 *   yield* BoundedSemaphore.release(sem)
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const release: {
  (n?: number): (self: BoundedSemaphore) => Effect.Effect<void, InvalidArgument | SemaphoreOverRelease>
  (self: BoundedSemaphore, n?: number): Effect.Effect<void, InvalidArgument | SemaphoreOverRelease>
} = dual(
  (args) => isBoundedSemaphore(args[0]),
  (self: BoundedSemaphore, n?: number) => self.release(n)
)

/**
 * Runs an effect while holding `n` permits: Python's `with sem:`.
 *
 * **When to use**
 *
 * Use for every bounded section that fits in one effect.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BoundedSemaphore } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const sem = yield* BoundedSemaphore.make(2)
 *   return yield* Effect.succeed("done").pipe(BoundedSemaphore.withPermits(sem, 2))
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const withPermits: {
  (
    self: BoundedSemaphore,
    n: number
  ): <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | InvalidArgument | DeadlockDetected, R>
  <A, E, R>(
    self: BoundedSemaphore,
    n: number,
    effect: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | InvalidArgument | DeadlockDetected, R>
} = ((self: BoundedSemaphore, n: number, effect?: Effect.Effect<any, any, any>) =>
  effect === undefined ? self.withPermits(n) : self.withPermits(n)(effect)) as any

/**
 * How many permits are free right now.
 *
 * **When to use**
 *
 * Use for diagnostics and tests.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BoundedSemaphore } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const sem = yield* BoundedSemaphore.make(2)
 *   return yield* BoundedSemaphore.available(sem) // 2
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const available = (self: BoundedSemaphore): Effect.Effect<number> => self.available

/**
 * Whether `u` is a `BoundedSemaphore`.
 *
 * **When to use**
 *
 * Use to narrow an unknown value, as Effect's own `isX` guards do.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { BoundedSemaphore } from "@strand/core"
 *
 * const program = Effect.map(BoundedSemaphore.make(2), BoundedSemaphore.isBoundedSemaphore) // true
 * ```
 *
 * @category guards
 * @since 0.2.0
 */
export const isBoundedSemaphore = (u: unknown): u is BoundedSemaphore => hasProperty(u, TypeId)
