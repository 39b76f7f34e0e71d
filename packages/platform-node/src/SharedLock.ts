/**
 * A lock in shared memory, for threads: Python's `multiprocessing.Lock`, robust
 * against a holder that dies.
 *
 * **When to use**
 *
 * Use a `SharedLock` when code on several threads (the main thread and worker
 * tasks) updates the same shared memory, such as a `SharedValue`, in steps that
 * must not interleave. Between fibers of one thread, `Lock` from `@strand/core`
 * is cheaper and FIFO.
 *
 * **Details**
 *
 * - Its state lives in a `SharedArrayBuffer`. Pass it to a task in its payload
 *   (give the field `SharedLock.schema`): the worker gets the same lock, not a
 *   copy. It cannot cross to a worker process (`isolation: "process"`).
 * - Waiting never blocks the main thread: the Effect forms wait as a fiber,
 *   with `Atomics.waitAsync`, and can be interrupted or timed out; a wake-up
 *   that lands on an interrupted waiter is passed on. In a worker's plain
 *   synchronous code, `acquireSync`, `releaseSync` and `withLockSync` block the
 *   thread instead; on the main thread they throw `BlockingOnMainThread`.
 * - The lock belongs to a thread, not a fiber: any fiber of the holder thread
 *   may release it, and it is not re-entrant.
 * - Sleeping waiters are woken in the order they slept, but a thread that did
 *   not sleep may take a lock just released (barging), as with a futex: unlike
 *   `Lock`, it is not FIFO across threads.
 * - **A holder that dies.** When a pool's worker thread ends while it holds the
 *   lock, the next acquirer (within 50 ms) takes the lock over instead of
 *   waiting forever, and the lock is marked inconsistent: `withLock` fails with
 *   `OwnerDied`, naming the dead thread, until `repair` runs under the lock and
 *   succeeds. This is a robust mutex's `EOWNERDEAD`; Python's locks hang.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedLock, SharedValue } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* SharedLock.make({ name: "balance" })
 *   const balance = yield* SharedValue.make("float64", 100)
 *   // a compound update: read, decide, write
 *   yield* SharedLock.withLock(lock, Effect.sync(() => {
 *     if (balance.get() >= 30) balance.set(balance.get() - 30)
 *   }))
 *   return balance.get() // 70
 * })
 * ```
 *
 * @since 0.6.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import type { Pipeable } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import type * as Schema from "effect/Schema"
import { BlockingOnMainThread, OwnerDied, SharedLockAlreadyHeld, SharedLockNotHeld } from "./internal/shared/errors.ts"
import * as cell from "./internal/shared/lock.ts"
import {
  fromCells,
  isFields,
  type LockFields,
  LockTypeId,
  labelOf,
  notHeld,
  ownerDied,
  toFields
} from "./internal/shared/lock.ts"
import { sharedSchema } from "./internal/shared/schema.ts"
import { self as thisThread } from "./internal/shared/threads.ts"

// The lock's typed errors, each documented where it is defined.
export { BlockingOnMainThread, OwnerDied, SharedLockAlreadyHeld, SharedLockNotHeld }

const TypeId = LockTypeId

/**
 * A lock whose state lives in shared memory, usable from any thread it is
 * passed to.
 *
 * @category models
 * @since 0.6.0
 */
export interface SharedLock extends Pipeable {
  readonly [TypeId]: typeof TypeId
  /** How error messages name the lock. */
  readonly label: string
  /** The lock's two cells of shared memory. */
  readonly cells: Int32Array
  /** Where the lock's cells start in `cells`. */
  readonly at: number
}

/**
 * Options for `SharedLock.make`.
 *
 * @category models
 * @since 0.6.0
 */
export interface Options {
  /** A name that error messages show. */
  readonly name?: string | undefined
}

/**
 * Creates a shared lock outside of Effect.
 *
 * **When to use**
 *
 * Use at module level, or in a worker's synchronous code.
 *
 * @example
 * ```ts
 * import { SharedLock } from "@strand/platform-node"
 *
 * const lock = SharedLock.makeUnsafe({ name: "totals" })
 * ```
 *
 * @category constructors
 * @since 0.6.0
 */
export const makeUnsafe = (options?: Options): SharedLock =>
  fromCells(labelOf("shared lock", options?.name), new Int32Array(new SharedArrayBuffer(4 * cell.LOCK_CELLS)), 0)

/**
 * Creates a shared lock, free.
 *
 * **When to use**
 *
 * Use to guard shared memory that several threads update.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedLock } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* SharedLock.make({ name: "totals" })
 *   return yield* SharedLock.withLock(lock, Effect.succeed("guarded"))
 * })
 * ```
 *
 * @category constructors
 * @since 0.6.0
 */
export const make = (options?: Options): Effect.Effect<SharedLock> => Effect.sync(() => makeUnsafe(options))

/** Fails with `OwnerDied` if a holder died and the guarded data has not been repaired since. */
const checkConsistent = (self: SharedLock): Effect.Effect<void, OwnerDied> =>
  Effect.suspend(() => {
    const died = ownerDied(self)
    return died === undefined ? Effect.void : Effect.fail(died)
  })

/**
 * Waits for the lock as a fiber, without blocking the thread.
 *
 * **When to use**
 *
 * Use with `release` where the critical section does not fit one effect;
 * otherwise prefer `withLock`, which cannot forget to release.
 *
 * **Details**
 *
 * The wait can be interrupted, and then leaves no trace. If a holder died and
 * the data has not been repaired, it fails with `OwnerDied` **while holding the
 * lock**: put the data right and call `markConsistent`, or `release`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedLock } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* SharedLock.make()
 *   yield* SharedLock.acquire(lock)
 *   yield* SharedLock.release(lock)
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const acquire = (self: SharedLock): Effect.Effect<void, OwnerDied> =>
  Effect.andThen(cell.take(self.cells, self.at), checkConsistent(self))

/**
 * Takes the lock only if it is free right now, and tells whether it did.
 *
 * **When to use**
 *
 * Use to skip work, rather than wait, when another thread holds the lock.
 *
 * **Details**
 *
 * A holder that died is noticed here too: the lock is taken over, and the
 * result is `OwnerDied` while holding it, as with `acquire`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedLock } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* SharedLock.make()
 *   return yield* SharedLock.tryAcquire(lock) // true
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const tryAcquire = (self: SharedLock): Effect.Effect<boolean, OwnerDied> =>
  Effect.suspend(() =>
    cell.tryTake(self.cells, self.at) ? Effect.as(checkConsistent(self), true) : Effect.succeed(false)
  )

/**
 * Waits at most `timeout` for the lock; `true` if it was acquired.
 *
 * **When to use**
 *
 * Use where a thread that holds the lock too long must not stall the caller.
 *
 * **Details**
 *
 * The timeout runs on Effect's `Clock`, so `TestClock` drives it in tests.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedLock } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* SharedLock.make()
 *   const got = yield* SharedLock.acquireTimeout(lock, "100 millis")
 *   if (got) yield* SharedLock.release(lock)
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const acquireTimeout: {
  (timeout: Duration.Input): (self: SharedLock) => Effect.Effect<boolean, OwnerDied>
  (self: SharedLock, timeout: Duration.Input): Effect.Effect<boolean, OwnerDied>
} = dual(
  2,
  (self: SharedLock, timeout: Duration.Input): Effect.Effect<boolean, OwnerDied> =>
    Effect.map(Effect.timeoutOption(acquire(self), timeout), Option.isSome)
)

/**
 * Releases the lock.
 *
 * **Details**
 *
 * Fails with `SharedLockNotHeld` unless this thread holds the lock.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedLock } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* SharedLock.make()
 *   yield* SharedLock.acquire(lock)
 *   yield* SharedLock.release(lock)
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const release = (self: SharedLock): Effect.Effect<void, SharedLockNotHeld> =>
  Effect.suspend(() => (cell.give(self.cells, self.at) ? Effect.void : Effect.fail(notHeld(self, "release"))))

/**
 * Runs an effect while holding the lock, releasing it however the effect ends.
 *
 * **When to use**
 *
 * Use for every critical section: the release cannot be forgotten.
 *
 * **Details**
 *
 * If a holder died and the data has not been repaired, the effect does not run:
 * the lock is released and the result is `OwnerDied`. Catch it and `repair`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedLock } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* SharedLock.make()
 *   return yield* Effect.succeed(42).pipe(SharedLock.withLock(lock))
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const withLock: {
  (self: SharedLock): <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | OwnerDied, R>
  <A, E, R>(self: SharedLock, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | OwnerDied, R>
} = dual(
  2,
  <A, E, R>(self: SharedLock, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | OwnerDied, R> =>
    Effect.uninterruptibleMask((restore) => {
      // The release is registered in the same uninterruptible step that takes the lock.
      const held = (): Effect.Effect<A, E | OwnerDied, R> => {
        const died = ownerDied(self)
        if (died !== undefined) {
          cell.give(self.cells, self.at)
          return Effect.fail(died)
        }
        return Effect.onExitPrimitive(restore(effect), () => void cell.give(self.cells, self.at), true)
      }
      return cell.tryTake(self.cells, self.at) ? held() : Effect.flatMap(cell.take(self.cells, self.at), held)
    })
)

/**
 * Runs an effect that puts the guarded data right after a holder died, then
 * marks the lock consistent again.
 *
 * **When to use**
 *
 * Use when `withLock` failed with `OwnerDied`: check the data the dead thread
 * may have left half-updated, and fix or rebuild it.
 *
 * **Details**
 *
 * The effect runs under the lock whether or not a holder died (so it is safe
 * to run twice). The lock is marked consistent only if the effect succeeds.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedLock, SharedValue } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* SharedLock.make()
 *   const total = yield* SharedValue.make("int32", 0)
 *   yield* SharedLock.withLock(lock, Effect.sync(() => total.add(1))).pipe(
 *     Effect.catchTag("OwnerDied", () => SharedLock.repair(lock, Effect.sync(() => total.set(0))))
 *   )
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const repair: {
  (self: SharedLock): <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  <A, E, R>(self: SharedLock, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R>
} = dual(
  2,
  <A, E, R>(self: SharedLock, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(cell.take(self.cells, self.at), () =>
        Effect.onExitPrimitive(
          restore(effect),
          (exit) => {
            if (exit._tag === "Success") cell.markConsistent(self.cells, self.at)
            cell.give(self.cells, self.at)
          },
          true
        )
      )
    )
)

/**
 * Marks the lock consistent again, after `acquire` failed with `OwnerDied` and
 * the data has been put right; fails with `SharedLockNotHeld` unless this thread
 * holds the lock.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedLock } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* SharedLock.make()
 *   yield* SharedLock.acquire(lock).pipe(
 *     Effect.catchTag("OwnerDied", () => SharedLock.markConsistent(lock))
 *   )
 *   yield* SharedLock.release(lock)
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const markConsistent = (self: SharedLock): Effect.Effect<void, SharedLockNotHeld> =>
  Effect.suspend(() => {
    if (cell.holder(self.cells, self.at) !== thisThread) return Effect.fail(notHeld(self, "markConsistent"))
    cell.markConsistent(self.cells, self.at)
    return Effect.void
  })

/**
 * Tells whether some thread holds the lock.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedLock } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* SharedLock.make()
 *   return yield* SharedLock.locked(lock) // false
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const locked = (self: SharedLock): Effect.Effect<boolean> =>
  Effect.sync(() => cell.holder(self.cells, self.at) !== undefined)

/**
 * The id of the thread that holds the lock (`0` is the main thread), if any.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedLock } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* SharedLock.make()
 *   return yield* SharedLock.holder(lock) // Option.none()
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const holder = (self: SharedLock): Effect.Effect<Option.Option<number>> =>
  Effect.sync(() => Option.fromUndefinedOr(cell.holder(self.cells, self.at)))

// The blocking forms, for a worker's synchronous code, documented beside the cells they block on.
export { acquireSync, releaseSync, type SyncOptions, withLockSync } from "./internal/shared/lock.ts"

/**
 * Whether `u` is a `SharedLock`.
 *
 * @example
 * ```ts
 * import { SharedLock } from "@strand/platform-node"
 *
 * SharedLock.isSharedLock(SharedLock.makeUnsafe()) // true
 * ```
 *
 * @category guards
 * @since 0.6.0
 */
export const isSharedLock = (u: unknown): u is SharedLock => hasProperty(u, TypeId)

/**
 * What a shared lock encodes to: its name and its cells, which structured clone shares.
 *
 * @category models
 * @since 0.6.0
 */
export interface Encoded extends LockFields {}

/**
 * The schema of a `SharedLock`, for a task's payload or result: the lock
 * crosses by sharing its memory, never as a copy.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { SharedLock, Task } from "@strand/platform-node"
 *
 * const Deposit = Task.make("Deposit", {
 *   payload: Schema.Struct({ lock: SharedLock.schema, amount: Schema.Number }),
 *   success: Schema.Void
 * })
 * ```
 *
 * @category schemas
 * @since 0.6.0
 */
export const schema: Schema.Codec<SharedLock, Encoded> = sharedSchema({
  name: "SharedLock",
  is: isSharedLock,
  isFields,
  encode: toFields,
  decode: (fields) => fromCells(fields.name, fields.cells, fields.at)
})
