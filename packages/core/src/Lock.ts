/**
 * A FIFO-fair, owner-aware mutual-exclusion lock: Python's `threading.Lock`
 * for fibers.
 *
 * **When to use**
 *
 * Use a `Lock` to guard a read-modify-write that spans a yield point (a race
 * condition), when only one fiber at a time may run a critical section.
 *
 * **Details**
 *
 * - Waiters get the lock in arrival order, with direct hand-off: a release gives
 *   the lock to the longest waiter in O(1), so nobody can barge in and none starves.
 * - The waiter resumes in the same turn of the event loop, once the releasing
 *   fiber has stopped, as a promise-based lock hands off. Past 64 hand-offs in
 *   one turn, the rest wait for the next, so fibers that pass a lock back and
 *   forth cannot starve timers and I/O. `RLock`, `Condition`,
 *   `BoundedSemaphore`, `Barrier` and the queues wake their waiters the same way.
 * - The lock knows its owner fiber. Releasing a lock you do not hold fails with
 *   `LockNotHeld`; acquiring a `Lock` you already hold fails with
 *   `LockAlreadyHeld` instead of deadlocking (use `RLock` for re-entrancy).
 * - A waiter that is interrupted or times out leaves no trace. If the lock had
 *   just been handed to it, it passes the lock on; an interrupted `acquire`
 *   can be retried safely. `withLock` releases however its effect ends.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Lock } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* Lock.make()
 *   let counter = 0
 *   const increment = Lock.withLock(lock, Effect.gen(function*() {
 *     const read = counter
 *     yield* Effect.yieldNow
 *     counter = read + 1
 *   }))
 *   yield* Effect.all(Array.from({ length: 100 }, () => increment), { concurrency: "unbounded" })
 *   return counter // 100
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
import type { DeadlockDetected, InvalidArgument, LockAlreadyHeld, LockNotHeld } from "./internal/errors.ts"
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
   * A fiber tried to acquire a `Lock` it already holds, which would deadlock.
   *
   * @category errors
   * @since 0.1.0
   */
  LockAlreadyHeld,
  /**
   * A fiber released a lock (or waited on or notified a `Condition`) without holding the lock.
   *
   * @category errors
   * @since 0.1.0
   */
  LockNotHeld
} from "./internal/errors.ts"

const TypeId = "~@strand/core/Lock" as const

/**
 * A FIFO-fair, owner-aware, non-re-entrant lock.
 *
 * @category models
 * @since 0.1.0
 */
export interface Lock extends Pipeable {
  readonly [TypeId]: typeof TypeId
  /** The name given to `make`, used in error messages and diagnostics. */
  readonly name: string | undefined
  /** Waits for the lock. Fails with `LockAlreadyHeld` if this fiber holds it already. */
  readonly acquire: Effect.Effect<void, LockAlreadyHeld | DeadlockDetected>
  /** Takes the lock if it is free, without waiting, and tells whether it did. */
  readonly tryAcquire: Effect.Effect<boolean>
  /** Waits at most `timeout` for the lock; `true` if it was acquired. */
  acquireTimeout(timeout: Duration.Input): Effect.Effect<boolean, LockAlreadyHeld | DeadlockDetected | InvalidArgument>
  /** Releases the lock. Fails with `LockNotHeld` unless this fiber holds it. */
  readonly release: Effect.Effect<void, LockNotHeld>
  /** Runs `self` while holding the lock, releasing it however `self` ends. */
  withLock<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | LockAlreadyHeld | DeadlockDetected, R>
  /** Whether some fiber holds the lock. */
  readonly locked: Effect.Effect<boolean>
  /** How many fibers are waiting for the lock. */
  readonly waiting: Effect.Effect<number>
  /** The id of the fiber that holds the lock, if any. */
  readonly holder: Effect.Effect<Option.Option<number>>
}

/**
 * Options for `Lock.make`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** A name that error messages and diagnostics show. */
  readonly name?: string | undefined
}

/** The public face of a lock core; the core itself stays out of the public type. */
class LockImpl extends LockFace implements Lock {
  readonly [TypeId] = TypeId
  readonly acquire: Effect.Effect<void, LockAlreadyHeld | DeadlockDetected>

  constructor(core: LockCore) {
    super(core)
    this.acquire = core.acquire
  }

  readonly acquireTimeout = (
    timeout: Duration.Input
  ): Effect.Effect<boolean, LockAlreadyHeld | DeadlockDetected | InvalidArgument> => this.core.acquireTimeout(timeout)

  readonly withLock = <A, E, R>(
    self: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | LockAlreadyHeld | DeadlockDetected, R> => this.core.withLock(self)
}

const fromCore = (core: LockCore): Lock => new LockImpl(core)

/**
 * Creates a lock outside of Effect.
 *
 * **When to use**
 *
 * Use at module level or in a class field, where no Effect runs yet.
 *
 * **Details**
 *
 * A lock made outside of Effect sees no `Diagnostics.layer`, so it is never tracked.
 *
 * @example
 * ```ts
 * import { Lock } from "@strand/core"
 *
 * const lock = Lock.makeUnsafe({ name: "accounts" })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const makeUnsafe = (options?: Options): Lock => fromCore(new LockCore(false, options?.name, undefined))

/**
 * Creates a lock.
 *
 * **When to use**
 *
 * Use to guard a critical section that only one fiber may run at a time.
 *
 * **Details**
 *
 * The lock starts free. Give it a `name` to see it in error messages and in
 * lock-order checks. Made under `Diagnostics.layer`, its waits are checked for
 * deadlocks, and a wait that would close a cycle fails with `DeadlockDetected`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Lock } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* Lock.make({ name: "balance" })
 *   yield* lock.acquire
 *   yield* lock.release
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options?: Options): Effect.Effect<Lock> =>
  Effect.withFiber((fiber) =>
    Effect.succeed(fromCore(new LockCore(false, options?.name, fiber.getRef(CurrentTracker))))
  )

/**
 * Waits for the lock, in FIFO order.
 *
 * **When to use**
 *
 * Use with `release` where the critical section does not fit one effect;
 * otherwise prefer `withLock`, which cannot forget to release.
 *
 * **Details**
 *
 * The wait can be interrupted and then leaves no trace. Acquiring a lock this
 * fiber already holds fails with `LockAlreadyHeld`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Lock } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* Lock.make()
 *   yield* Lock.acquire(lock)
 *   yield* Lock.release(lock)
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const acquire = (self: Lock): Effect.Effect<void, LockAlreadyHeld | DeadlockDetected> => self.acquire

/**
 * Takes the lock only if it is free right now: Python's `acquire(blocking=False)`.
 *
 * **When to use**
 *
 * Use to skip work, rather than wait, when another fiber holds the lock.
 *
 * **Details**
 *
 * Succeeds with `true` if this fiber now holds the lock. A free lock that
 * fibers are queued for cannot be free, since a release hands it straight on.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Lock } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* Lock.make()
 *   const first = yield* Lock.tryAcquire(lock) // true
 *   return first
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const tryAcquire = (self: Lock): Effect.Effect<boolean> => self.tryAcquire

/**
 * Waits at most `timeout` for the lock: Python's `acquire(timeout=...)`.
 *
 * **When to use**
 *
 * Use when giving up after a while is better than waiting forever.
 *
 * **Details**
 *
 * Succeeds with `true` if the lock was acquired, `false` if the time ran out.
 * A waiter that times out leaves no trace in the queue.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Lock } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* Lock.make()
 *   const acquired = yield* Lock.acquireTimeout(lock, "100 millis")
 *   if (acquired) yield* Lock.release(lock)
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const acquireTimeout: {
  (
    timeout: Duration.Input
  ): (self: Lock) => Effect.Effect<boolean, LockAlreadyHeld | DeadlockDetected | InvalidArgument>
  (self: Lock, timeout: Duration.Input): Effect.Effect<boolean, LockAlreadyHeld | DeadlockDetected | InvalidArgument>
} = dual(2, (self: Lock, timeout: Duration.Input) => self.acquireTimeout(timeout))

/**
 * Releases the lock and hands it to the longest waiter.
 *
 * **When to use**
 *
 * Use after `acquire`, once the critical section is over.
 *
 * **Details**
 *
 * Fails with `LockNotHeld` when the calling fiber does not hold the lock.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Lock } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* Lock.make()
 *   yield* Lock.acquire(lock)
 *   yield* Lock.release(lock)
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const release = (self: Lock): Effect.Effect<void, LockNotHeld> => self.release

/**
 * Runs an effect while holding the lock: Python's `with lock:`.
 *
 * **When to use**
 *
 * Use for every critical section that fits in one effect.
 *
 * **Details**
 *
 * The lock is released however the effect ends: success, failure, defect or
 * interruption. Only the fiber that runs `withLock` holds the lock; a fiber
 * forked inside it does not.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Lock } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* Lock.make()
 *   return yield* Effect.succeed(42).pipe(Lock.withLock(lock))
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const withLock: {
  (self: Lock): <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | LockAlreadyHeld | DeadlockDetected, R>
  <A, E, R>(self: Lock, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | LockAlreadyHeld | DeadlockDetected, R>
} = ((self: Lock, effect?: Effect.Effect<any, any, any>) =>
  effect === undefined ? (effect: Effect.Effect<any, any, any>) => self.withLock(effect) : self.withLock(effect)) as any

/**
 * Tells whether some fiber holds the lock: Python's `locked()`.
 *
 * **When to use**
 *
 * Use for diagnostics and tests; the answer may change at the next yield.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Lock } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* Lock.make()
 *   return yield* Lock.locked(lock) // false
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const locked = (self: Lock): Effect.Effect<boolean> => self.locked

/**
 * Whether `u` is a `Lock`.
 *
 * **When to use**
 *
 * Use to narrow an unknown value, as Effect's own `isX` guards do.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Lock } from "@strand/core"
 *
 * const program = Effect.map(Lock.make(), Lock.isLock) // true
 * ```
 *
 * @category guards
 * @since 0.2.0
 */
export const isLock = (u: unknown): u is Lock => hasProperty(u, TypeId)
