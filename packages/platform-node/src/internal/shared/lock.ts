/**
 * A robust futex lock in two cells of shared memory, which every shared
 * primitive that needs mutual exclusion embeds.
 *
 * - `view[at]` is 0 when free, else `(holder + 1) << 1`, with bit 0 set when a
 *   waiter may be sleeping (so that a release knows whether to wake one).
 * - `view[at + 1]` is 0 while the guarded data is consistent, else the id + 1
 *   of a thread that died holding the lock, until someone repairs it.
 *
 * A waiter that finds the holder in the register of dead threads takes the
 * lock over with one compare-and-swap, so exactly one waiter inherits it.
 * Waiters are woken one at a time in the order they slept, but a thread that
 * has not slept may take a lock that was just released (barging), as with any
 * futex mutex: the lock is not FIFO across threads.
 *
 * `SharedLock`'s blocking forms (`acquireSync`, `releaseSync`,
 * `withLockSync`), which `SharedLock` exports, are documented here too.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { Class as PipeableClass } from "effect/Pipeable"
import type { SharedLock } from "../../SharedLock.ts"
import { OwnerDied, SharedLockAlreadyHeld, SharedLockNotHeld } from "./errors.ts"
import { isNamedRecord, isSharedView } from "./schema.ts"
import { isDead, self } from "./threads.ts"
import { deadlineOf, waitAsync, waitAsyncUninterruptible, waitSync } from "./wait.ts"

/** How many cells a lock takes. */
export const LOCK_CELLS = 2

const mine = (self + 1) << 1

/** The thread that holds a lock whose state is `state` (not 0). */
const holderOf = (state: number): number => (state >>> 1) - 1

/**
 * Takes the lock from a dead holder whose state is `state`, marking the guarded
 * data inconsistent; whether it did (the holder is alive, or another thread
 * changed the state first).
 */
const takeOver = (view: Int32Array, at: number, state: number, taken: number): boolean => {
  const holder = holderOf(state)
  if (holder === self || !isDead(holder) || Atomics.compareExchange(view, at, state, taken) !== state) return false
  Atomics.store(view, at + 1, holder + 1)
  return true
}

/** Takes the lock if it is free, or its holder is dead, without waiting. */
export const tryTake = (view: Int32Array, at: number): boolean => {
  const state = Atomics.compareExchange(view, at, 0, mine)
  return state === 0 || takeOver(view, at, state, mine | (state & 1))
}

/**
 * One attempt of a waiter: 0 if it took the lock (free, or from a dead holder),
 * else the state to sleep on, with the waiter bit set.
 */
const attempt = (view: Int32Array, at: number): number => {
  for (;;) {
    const state = Atomics.load(view, at)
    if (state === 0) {
      if (Atomics.compareExchange(view, at, 0, mine | 1) === 0) return 0
      continue
    }
    if (takeOver(view, at, state, mine | 1)) return 0
    if (holderOf(state) !== self && isDead(holderOf(state))) continue
    if ((state & 1) === 0 && Atomics.compareExchange(view, at, state, state | 1) !== state) continue
    return state | 1
  }
}

/**
 * Waits for the lock as a fiber. Only the waits can be interrupted, so an
 * interruption never lands between taking the lock and returning; with
 * `interruptible: false`, not even those (to take a lock back after a wait).
 */
export const take = (view: Int32Array, at: number, interruptible = true): Effect.Effect<void> => {
  const wait = interruptible ? waitAsync : waitAsyncUninterruptible
  // Once it has slept, a waiter takes the lock marked contended (by `attempt`), so that its
  // release wakes whoever sleeps behind it: the plain `tryTake` is for the first try only.
  const loop = (): Effect.Effect<void> => {
    const sleepOn = attempt(view, at)
    return sleepOn === 0 ? Effect.void : Effect.flatMap(wait(view, at, sleepOn), loop)
  }
  return Effect.suspend(() => (tryTake(view, at) ? Effect.void : loop()))
}

/**
 * Blocks this thread for the lock, at most `timeoutMillis`; whether it took it.
 * Throws `SharedLockAlreadyHeld` if this thread holds it already.
 */
export const takeSync = (view: Int32Array, at: number, timeoutMillis: number | undefined, name: string): boolean => {
  if (tryTake(view, at)) return true
  const deadline = deadlineOf(timeoutMillis)
  for (;;) {
    const sleepOn = attempt(view, at)
    if (sleepOn === 0) return true
    if (holderOf(sleepOn) === self) throw new SharedLockAlreadyHeld({ lock: name, thread: self })
    if (performance.now() >= deadline) return false
    waitSync(view, at, sleepOn, deadline, `acquiring ${name}`)
  }
}

/**
 * Takes the lock only if it is free: one compare-and-swap, the fast path of a
 * primitive that embeds a lock. A lock that was free had no dead holder, so
 * its guarded data is consistent.
 */
export const takeFree = (view: Int32Array, at: number): boolean => Atomics.compareExchange(view, at, 0, mine) === 0

/** Releases the lock if this thread holds it; `false` if it does not. */
export const give = (view: Int32Array, at: number): boolean => {
  const state = Atomics.load(view, at)
  if (state === 0 || holderOf(state) !== self) return false
  release(view, at)
  return true
}

/** Releases a lock this thread is known to hold, and wakes a waiter if one may sleep. */
export const release = (view: Int32Array, at: number): void => {
  if ((Atomics.exchange(view, at, 0) & 1) === 1) Atomics.notify(view, at, 1)
}

/** The thread that holds the lock, if any. */
export const holder = (view: Int32Array, at: number): number | undefined => {
  const state = Atomics.load(view, at)
  return state === 0 ? undefined : holderOf(state)
}

/** The thread that died holding the lock, while the data it guards has not been repaired. */
export const diedHolding = (view: Int32Array, at: number): number | undefined => {
  const flag = Atomics.load(view, at + 1)
  return flag === 0 ? undefined : flag - 1
}

/** Marks the guarded data consistent again. */
export const markConsistent = (view: Int32Array, at: number): void => {
  Atomics.store(view, at + 1, 0)
}

/** The type id of a `SharedLock`. */
export const LockTypeId = "~@strand/platform-node/SharedLock" as const

/** A lock on two cells of `cells` from `at`: a `SharedLock`, or the one a primitive embeds. */
export class SharedLockImpl extends PipeableClass {
  readonly [LockTypeId] = LockTypeId
  readonly label: string
  readonly cells: Int32Array
  readonly at: number
  constructor(label: string, cells: Int32Array, at: number) {
    super()
    this.label = label
    this.cells = cells
    this.at = at
  }
  override toString(): string {
    return this.label
  }
}

/** How messages name a primitive of `kind`: `a shared lock`, or `shared lock "name"`. */
export const labelOf = (kind: string, name: string | undefined): string =>
  name === undefined ? `a ${kind}` : `${kind} "${name}"`

/** A lock on two cells of `cells` from `at`. */
export const fromCells = (label: string, cells: Int32Array, at: number): SharedLockImpl =>
  new SharedLockImpl(label, cells, at)

/** The error for `operation` on `lock` by a thread that does not hold it. */
export const notHeld = (lock: SharedLockImpl, operation: string): SharedLockNotHeld => {
  const current = holder(lock.cells, lock.at)
  return new SharedLockNotHeld({
    lock: lock.label,
    operation,
    thread: self,
    ...(current === undefined ? {} : { holder: current })
  })
}

/** What a lock encodes to. */
export interface LockFields {
  readonly name: string
  readonly cells: Int32Array
  readonly at: number
}

/** Whether `u` is the fields of a lock. */
export const isFields = (u: unknown): u is LockFields =>
  isNamedRecord(u) &&
  typeof (u as LockFields).at === "number" &&
  isSharedView((u as LockFields).cells, (u as LockFields).at + 2)

/** A lock's fields. */
export const toFields = (lock: SharedLockImpl): LockFields => ({ name: lock.label, cells: lock.cells, at: lock.at })

/** `OwnerDied` if a holder died and the guarded data has not been repaired since. */
export const ownerDied = (self: SharedLock): OwnerDied | undefined => {
  const died = diedHolding(self.cells, self.at)
  return died === undefined ? undefined : new OwnerDied({ lock: self.label, thread: died })
}

/**
 * Options for the blocking forms.
 *
 * @category models
 * @since 0.6.0
 */
export interface SyncOptions {
  /** The longest to block, in milliseconds; without it, as long as it takes. */
  readonly timeoutMillis?: number | undefined
}

/**
 * Blocks this worker thread until it holds the lock: for plain synchronous code.
 *
 * **When to use**
 *
 * Use inside a worker task's synchronous loop, where no fiber can yield.
 *
 * **Details**
 *
 * Returns `false` if `timeoutMillis` ran out first. Throws
 * `BlockingOnMainThread` on the main thread, `SharedLockAlreadyHeld` if this
 * thread holds the lock (another fiber of it may: wait as a fiber instead),
 * and `OwnerDied`, holding the lock, if a holder died.
 *
 * @example
 * ```ts
 * import { SharedLock } from "@strand/platform-node"
 *
 * // in a worker task's synchronous code
 * const critical = (lock: SharedLock.SharedLock, work: () => void) => {
 *   SharedLock.acquireSync(lock)
 *   try {
 *     work()
 *   } finally {
 *     SharedLock.releaseSync(lock)
 *   }
 * }
 * ```
 *
 * @category blocking
 * @since 0.6.0
 */
export const acquireSync = (self: SharedLock, options?: SyncOptions): boolean => {
  if (!takeSync(self.cells, self.at, options?.timeoutMillis, self.label)) return false
  const died = ownerDied(self)
  if (died !== undefined) throw died
  return true
}

/**
 * Releases the lock from synchronous code; throws `SharedLockNotHeld` unless
 * this thread holds it.
 *
 * @example
 * ```ts
 * import { SharedLock } from "@strand/platform-node"
 *
 * const lock = SharedLock.makeUnsafe()
 * if (SharedLock.acquireSync(lock, { timeoutMillis: 10 })) SharedLock.releaseSync(lock)
 * ```
 *
 * @category blocking
 * @since 0.6.0
 */
export const releaseSync = (self: SharedLock): void => {
  if (!give(self.cells, self.at)) throw notHeld(self, "releaseSync")
}

/**
 * Runs `f` while this worker thread holds the lock, blocking for it.
 *
 * **Details**
 *
 * Throws as `acquireSync` does; with `OwnerDied`, `f` does not run and the lock
 * is released.
 *
 * @example
 * ```ts
 * import { SharedLock, SharedValue } from "@strand/platform-node"
 *
 * // in a worker task's synchronous code
 * const deposit = (lock: SharedLock.SharedLock, balance: SharedValue.SharedValue<"float64">, amount: number) =>
 *   SharedLock.withLockSync(lock, () => balance.set(balance.get() + amount))
 * ```
 *
 * @category blocking
 * @since 0.6.0
 */
export const withLockSync = <A>(self: SharedLock, f: () => A): A => {
  takeSync(self.cells, self.at, undefined, self.label)
  try {
    const died = ownerDied(self)
    if (died !== undefined) throw died
    return f()
  } finally {
    give(self.cells, self.at)
  }
}
