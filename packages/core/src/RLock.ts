/**
 * A re-entrant lock: Python's `threading.RLock` for fibers.
 *
 * **When to use**
 *
 * Use an `RLock` when code that holds the lock may call code that takes the
 * same lock again, such as a recursive function or a method that calls
 * another method of the same guarded object.
 *
 * **Details**
 *
 * - The fiber that holds the lock may acquire it again; it is free once the
 *   same fiber has released it as many times as it acquired it.
 * - Releasing an `RLock` you do not hold, or more times than you acquired it,
 *   fails with `LockNotHeld`.
 * - Waiters are served in FIFO order with direct hand-off, as with `Lock`: an
 *   interrupted or timed-out waiter leaves no trace and passes on a hold it
 *   was just handed, so an interrupted `acquire` can be retried safely.
 * - Ownership belongs to a fiber, never to its children: a fiber forked inside
 *   `withLock` is not the owner, so it waits for the lock like any other fiber
 *   (and would deadlock if its parent joined it while holding the lock).
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RLock } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* RLock.make()
 *   const inner = RLock.withLock(lock, Effect.succeed("inner"))
 *   return yield* RLock.withLock(lock, inner) // no deadlock
 * })
 * ```
 *
 * @since 0.1.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type * as Option from "effect/Option"
import type { Pipeable } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import type { DeadlockDetected, InvalidArgument, LockNotHeld } from "./internal/errors.ts"
import { LockCore, LockFace } from "./internal/lock.ts"
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
   * A timeout is not a duration (from an untyped caller).
   *
   * @category errors
   * @since 0.2.0
   */
  InvalidArgument,
  /**
   * A fiber released an `RLock` it does not hold, or more times than it acquired it.
   *
   * @category errors
   * @since 0.1.0
   */
  LockNotHeld
} from "./internal/errors.ts"

const TypeId = "~@strand/core/RLock" as const

/**
 * A FIFO-fair lock that the fiber holding it may acquire again.
 *
 * @category models
 * @since 0.1.0
 */
export interface RLock extends Pipeable {
  readonly [TypeId]: typeof TypeId
  /** The name given to `make`, used in error messages and diagnostics. */
  readonly name: string | undefined
  /** Waits for the lock, or adds a hold if this fiber holds it already. */
  readonly acquire: Effect.Effect<void, DeadlockDetected>
  /** Takes the lock (or adds a hold) if that needs no wait, and tells whether it did. */
  readonly tryAcquire: Effect.Effect<boolean>
  /** Waits at most `timeout` for the lock; `true` if it was acquired. */
  acquireTimeout(timeout: Duration.Input): Effect.Effect<boolean, DeadlockDetected | InvalidArgument>
  /** Drops one hold. Fails with `LockNotHeld` unless this fiber holds the lock. */
  readonly release: Effect.Effect<void, LockNotHeld>
  /** Runs `self` with one more hold on the lock, dropping it however `self` ends. */
  withLock<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | DeadlockDetected, R>
  /** Whether some fiber holds the lock. */
  readonly locked: Effect.Effect<boolean>
  /** How many holds the calling fiber has (0 if it does not hold the lock). */
  readonly holds: Effect.Effect<number>
  /** How many fibers are waiting for the lock. */
  readonly waiting: Effect.Effect<number>
  /** The id of the fiber that holds the lock, if any. */
  readonly holder: Effect.Effect<Option.Option<number>>
}

/**
 * Options for `RLock.make`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** A name that error messages and diagnostics show. */
  readonly name?: string | undefined
}

/**
 * Creates a re-entrant lock outside of Effect.
 *
 * **When to use**
 *
 * Use at module level or in a class field, where no Effect runs yet.
 *
 * @example
 * ```ts
 * import { RLock } from "@strand/core"
 *
 * const lock = RLock.makeUnsafe({ name: "cache" })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeUnsafe = (options?: Options): RLock => fromCore(new LockCore(true, options?.name, undefined))

/** The public face of a re-entrant lock core; the core itself stays out of the public type. */
class RLockImpl extends LockFace implements RLock {
  readonly [TypeId] = TypeId
  // A re-entrant lock never reports LockAlreadyHeld: its owner just adds a hold.
  readonly acquire: Effect.Effect<void, DeadlockDetected>
  readonly holds: Effect.Effect<number>

  constructor(core: LockCore) {
    super(core)
    this.acquire = core.acquire as Effect.Effect<void, DeadlockDetected>
    this.holds = Effect.withFiber((fiber) => Effect.succeed(core.owner === fiber.id ? core.holds : 0))
  }

  readonly acquireTimeout = (timeout: Duration.Input): Effect.Effect<boolean, DeadlockDetected | InvalidArgument> =>
    this.core.acquireTimeout(timeout) as Effect.Effect<boolean, DeadlockDetected | InvalidArgument>

  readonly withLock = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | DeadlockDetected, R> =>
    this.core.withLock(self) as Effect.Effect<A, E | DeadlockDetected, R>
}

const fromCore = (core: LockCore): RLock => new RLockImpl(core)

/**
 * Creates a re-entrant lock.
 *
 * **When to use**
 *
 * Use where the same fiber may need the lock again while it holds it. It is
 * also the default lock of a `Condition`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RLock } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* RLock.make()
 *   yield* lock.acquire
 *   yield* lock.acquire
 *   yield* lock.release
 *   yield* lock.release // now free
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options?: Options): Effect.Effect<RLock> =>
  Effect.withFiber((fiber) => Effect.succeed(fromCore(new LockCore(true, options?.name, fiber.getRef(CurrentTracker)))))

/**
 * Waits for the lock, or adds a hold if the calling fiber holds it already.
 *
 * **When to use**
 *
 * Use with `release` where the critical section does not fit one effect;
 * otherwise prefer `withLock`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RLock } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* RLock.make()
 *   yield* RLock.acquire(lock)
 *   yield* RLock.release(lock)
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const acquire = (self: RLock): Effect.Effect<void, DeadlockDetected> => self.acquire

/**
 * Takes the lock, or adds a hold, only if that needs no wait.
 *
 * **When to use**
 *
 * Use to skip work, rather than wait, when another fiber holds the lock.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RLock } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* RLock.make()
 *   return yield* RLock.tryAcquire(lock) // true
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const tryAcquire = (self: RLock): Effect.Effect<boolean> => self.tryAcquire

/**
 * Waits at most `timeout` for the lock; `true` if it was acquired.
 *
 * **When to use**
 *
 * Use when giving up after a while is better than waiting forever.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RLock } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* RLock.make()
 *   return yield* RLock.acquireTimeout(lock, "1 second") // true
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const acquireTimeout: {
  (timeout: Duration.Input): (self: RLock) => Effect.Effect<boolean, DeadlockDetected | InvalidArgument>
  (self: RLock, timeout: Duration.Input): Effect.Effect<boolean, DeadlockDetected | InvalidArgument>
} = dual(2, (self: RLock, timeout: Duration.Input) => self.acquireTimeout(timeout))

/**
 * Drops one hold; the last one hands the lock to the longest waiter.
 *
 * **When to use**
 *
 * Use once for every `acquire`.
 *
 * **Details**
 *
 * Fails with `LockNotHeld` when the calling fiber holds no hold on the lock.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RLock } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* RLock.make()
 *   yield* RLock.acquire(lock)
 *   yield* RLock.release(lock)
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const release = (self: RLock): Effect.Effect<void, LockNotHeld> => self.release

/**
 * Runs an effect with one more hold on the lock: Python's `with rlock:`.
 *
 * **When to use**
 *
 * Use for every critical section that fits in one effect, including nested ones.
 *
 * **Details**
 *
 * Only the fiber that runs `withLock` holds the lock: a fiber forked inside it
 * is not the owner.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RLock } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* RLock.make()
 *   return yield* Effect.succeed(1).pipe(RLock.withLock(lock), RLock.withLock(lock))
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const withLock: {
  (self: RLock): <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | DeadlockDetected, R>
  <A, E, R>(self: RLock, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | DeadlockDetected, R>
} = ((self: RLock, effect?: Effect.Effect<any, any, any>) =>
  effect === undefined ? (effect: Effect.Effect<any, any, any>) => self.withLock(effect) : self.withLock(effect)) as any

/**
 * Tells whether some fiber holds the lock.
 *
 * **When to use**
 *
 * Use for diagnostics and tests.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RLock } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* RLock.make()
 *   return yield* RLock.locked(lock) // false
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const locked = (self: RLock): Effect.Effect<boolean> => self.locked

/**
 * Whether `u` is a `RLock`.
 *
 * **When to use**
 *
 * Use to narrow an unknown value, as Effect's own `isX` guards do.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { RLock } from "@strand/core"
 *
 * const program = Effect.map(RLock.make(), RLock.isRLock) // true
 * ```
 *
 * @category guards
 * @since 0.2.0
 */
export const isRLock = (u: unknown): u is RLock => hasProperty(u, TypeId)
