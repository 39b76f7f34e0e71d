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
import { dual } from "effect/Function"
import type { Pipeable } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import { checkWhole } from "./internal/arguments.ts"
import { SemaphoreCore } from "./internal/boundedSemaphore.ts"
import type { DeadlockDetected, InvalidArgument, SemaphoreOverRelease } from "./internal/errors.ts"
import { CurrentTracker } from "./internal/tracker.ts"

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

/** The public face of a semaphore core. */
class BoundedSemaphoreImpl extends SemaphoreCore implements BoundedSemaphore {
  readonly [TypeId] = TypeId
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
