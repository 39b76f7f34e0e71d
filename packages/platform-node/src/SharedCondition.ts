/**
 * A condition variable in shared memory, for threads: Python's
 * `multiprocessing.Condition`, bound to a `SharedLock`.
 *
 * **When to use**
 *
 * Use a `SharedCondition` when tasks on several threads must wait until shared
 * state, guarded by the condition's lock, reaches some shape: a buffer has
 * room, a stage has finished.
 *
 * **Details**
 *
 * - `wait` must be called holding the lock (else `SharedLockNotHeld`, as
 *   Python raises `RuntimeError`): it releases the lock, waits for a `notify`,
 *   and takes the lock back before it returns, even when it is interrupted or
 *   times out.
 * - `notify(n)` and `notifyAll` must be called holding the lock too.
 * - `notify(n)` wakes exactly `n` waiters, or all there are if fewer: a
 *   notification is counted in shared memory and taken by one waiter, so none
 *   wakes without one. Still check the state after `wait` (another thread may
 *   have changed it first), or use `waitFor`, which does.
 * - `wait` waits as a fiber and never blocks the thread; `waitSync` blocks a
 *   worker's synchronous code and throws `BlockingOnMainThread` on the main
 *   thread.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedCondition, SharedLock, SharedValue } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const ready = yield* SharedCondition.make()
 *   const items = yield* SharedValue.make("int32", 0)
 *   const producer = SharedLock.withLock(
 *     SharedCondition.lock(ready),
 *     Effect.andThen(Effect.sync(() => items.add(1)), SharedCondition.notify(ready))
 *   )
 *   yield* Effect.forkChild(producer)
 *   yield* SharedLock.withLock(
 *     SharedCondition.lock(ready),
 *     SharedCondition.waitFor(ready, () => items.get() > 0)
 *   )
 * })
 * ```
 *
 * @since 0.6.0
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import { type Pipeable, Class as PipeableClass } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import type * as Schema from "effect/Schema"
import type { SharedLockNotHeld } from "./internal/shared/errors.ts"
import * as cell from "./internal/shared/lock.ts"
import { fromCells, isFields, notHeld, toFields } from "./internal/shared/lock.ts"
import { isSharedView, sharedSchema } from "./internal/shared/schema.ts"
import { self as thisThread } from "./internal/shared/threads.ts"
import { waitSync as block, deadlineOf, waitAsync } from "./internal/shared/wait.ts"
import * as SharedLock from "./SharedLock.ts"

const TypeId = "~@strand/platform-node/SharedCondition" as const

/**
 * A condition variable in shared memory, with its lock.
 *
 * @category models
 * @since 0.6.0
 */
export interface SharedCondition extends Pipeable {
  readonly [TypeId]: typeof TypeId
  /** The lock that guards the state waited for. */
  readonly lock: SharedLock.SharedLock
  /** The condition's cell: a count of notifications. */
  readonly cells: Int32Array
}

class SharedConditionImpl extends PipeableClass implements SharedCondition {
  readonly [TypeId] = TypeId
  readonly lock: SharedLock.SharedLock
  readonly cells: Int32Array
  constructor(lock: SharedLock.SharedLock, cells: Int32Array) {
    super()
    this.lock = lock
    this.cells = cells
  }
  override toString(): string {
    return `the condition of ${this.lock.label}`
  }
}

/**
 * Creates a shared condition, on `lock` if given, else on a new `SharedLock`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedCondition, SharedLock } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* SharedLock.make({ name: "queue" })
 *   const notEmpty = yield* SharedCondition.make({ lock })
 *   return SharedCondition.lock(notEmpty) === lock // true
 * })
 * ```
 *
 * @category constructors
 * @since 0.6.0
 */
export const make = (options?: {
  readonly lock?: SharedLock.SharedLock | undefined
  readonly name?: string | undefined
}): Effect.Effect<SharedCondition> =>
  Effect.sync(
    () =>
      new SharedConditionImpl(
        options?.lock ?? SharedLock.makeUnsafe({ name: options?.name }),
        new Int32Array(new SharedArrayBuffer(12))
      )
  )

/**
 * The lock the condition is bound to.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedCondition, SharedLock } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const cond = yield* SharedCondition.make()
 *   yield* SharedLock.withLock(SharedCondition.lock(cond), SharedCondition.notifyAll(cond))
 * })
 * ```
 *
 * @category getters
 * @since 0.6.0
 */
export const lock = (self: SharedCondition): SharedLock.SharedLock => self.lock

const holds = (self: SharedCondition): boolean => cell.holder(self.lock.cells, self.lock.at) === thisThread

/**
 * Cells: a count of notifications that sleepers wait on, the waiters not yet
 * notified, and the notifications not yet taken. `notify(n)` moves up to `n`
 * waiters from the second count to the third; a waiter returns once it has
 * taken one, so exactly `n` wake (Python's `notify(n)`), and a wait that ends
 * by timeout or interruption takes itself off the second count (or, if every
 * waiter has been notified meanwhile, takes its notification).
 */
const SEQ = 0
const WAITERS = 1
const TOKENS = 2

/** Takes a notification if one is there. */
const takeToken = (cells: Int32Array): boolean => {
  for (let tokens = Atomics.load(cells, TOKENS); tokens > 0; tokens = Atomics.load(cells, TOKENS)) {
    if (Atomics.compareExchange(cells, TOKENS, tokens, tokens - 1) === tokens) return true
  }
  return false
}

/** Gives up to `n` waiters a notification each, and wakes them. */
const wake = (cells: Int32Array, n: number): void => {
  for (;;) {
    const waiters = Atomics.load(cells, WAITERS)
    const woken = Math.min(n, waiters)
    if (woken === 0) return
    if (Atomics.compareExchange(cells, WAITERS, waiters, waiters - woken) !== waiters) continue
    Atomics.add(cells, TOKENS, woken)
    Atomics.add(cells, SEQ, 1)
    Atomics.notify(cells, SEQ, woken)
    return
  }
}

/** A waiter gives up: off the waiters if it is still among them, else it takes its notification; whether it did. */
const leave = (cells: Int32Array): boolean => {
  for (;;) {
    const waiters = Atomics.load(cells, WAITERS)
    if (waiters > 0) {
      if (Atomics.compareExchange(cells, WAITERS, waiters, waiters - 1) === waiters) return false
    } else if (takeToken(cells)) {
      return true
    }
  }
}

/**
 * Releases the lock, waits for a notification (at most `timeout`), then takes
 * the lock back; whether a notification came.
 */
const waitWith = (
  self: SharedCondition,
  timeout: Duration.Input | undefined
): Effect.Effect<boolean, SharedLockNotHeld> =>
  Effect.uninterruptibleMask((restore) => {
    if (!holds(self)) return Effect.fail(notHeld(self.lock, "SharedCondition.wait"))
    const cells = self.cells
    Atomics.add(cells, WAITERS, 1)
    cell.give(self.lock.cells, self.lock.at)
    // Set in the same step as the notification is taken, so that an interruption cannot lose it.
    let took = false
    const notified = Effect.suspend(function loop(): Effect.Effect<void> {
      const seen = Atomics.load(cells, SEQ)
      took = takeToken(cells)
      return took ? Effect.void : Effect.flatMap(waitAsync(cells, SEQ, seen), loop)
    })
    const waited =
      timeout === undefined
        ? Effect.as(notified, true)
        : Effect.map(Effect.timeoutOption(notified, timeout), Option.isSome)
    return Effect.flatMap(Effect.exit(restore(waited)), (exit) => {
      // Timed out or interrupted: off the waiters, so that no notification is spent on this one.
      // A notification it took (or that reached it as it left) counts as woken; if it was
      // interrupted, the notification goes on to another waiter.
      const woken = took || leave(cells)
      if (Exit.isFailure(exit) && woken) wake(cells, 1)
      const result = Exit.isFailure(exit) ? exit : Exit.succeed(woken)
      // The lock comes back however the wait ended, so that the caller's withLock can release it.
      return Effect.andThen(cell.take(self.lock.cells, self.lock.at, false), result)
    })
  })

/**
 * Waits for a notification, holding the lock before and after.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedCondition, SharedLock } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const cond = yield* SharedCondition.make()
 *   yield* Effect.forkChild(SharedLock.withLock(SharedCondition.lock(cond), SharedCondition.notify(cond)))
 *   yield* SharedLock.withLock(SharedCondition.lock(cond), SharedCondition.wait(cond))
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const wait = (self: SharedCondition): Effect.Effect<void, SharedLockNotHeld> =>
  Effect.asVoid(waitWith(self, undefined))

/**
 * Waits at most `timeout` for a notification; whether one came. The lock is
 * held again either way.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedCondition, SharedLock } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const cond = yield* SharedCondition.make()
 *   return yield* SharedLock.withLock(SharedCondition.lock(cond), SharedCondition.waitTimeout(cond, "10 millis"))
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const waitTimeout = (
  self: SharedCondition,
  timeout: Duration.Input
): Effect.Effect<boolean, SharedLockNotHeld> => waitWith(self, timeout)

/**
 * Waits until `predicate` holds, checking it under the lock after each
 * notification: Python's `wait_for`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedCondition, SharedLock, SharedValue } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const cond = yield* SharedCondition.make()
 *   const stage = yield* SharedValue.make("int32", 1)
 *   yield* SharedLock.withLock(SharedCondition.lock(cond), SharedCondition.waitFor(cond, () => stage.get() === 1))
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const waitFor = (self: SharedCondition, predicate: () => boolean): Effect.Effect<void, SharedLockNotHeld> =>
  Effect.suspend(function loop(): Effect.Effect<void, SharedLockNotHeld> {
    if (!holds(self)) return Effect.fail(notHeld(self.lock, "SharedCondition.waitFor"))
    return predicate() ? Effect.void : Effect.flatMap(wait(self), loop)
  })

/** Wakes up to `n` waiters; the caller must hold the lock. */
const notifyHolding = (self: SharedCondition, n: number, operation: string): SharedLockNotHeld | undefined => {
  if (!holds(self)) return notHeld(self.lock, operation)
  wake(self.cells, n)
  return undefined
}

/**
 * Wakes up to `n` waiters (default 1); the caller must hold the lock.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedCondition, SharedLock } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const cond = yield* SharedCondition.make()
 *   yield* SharedLock.withLock(SharedCondition.lock(cond), SharedCondition.notify(cond, 2))
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const notify = (self: SharedCondition, n = 1): Effect.Effect<void, SharedLockNotHeld> =>
  Effect.suspend(() => {
    const error = notifyHolding(self, n, "SharedCondition.notify")
    return error === undefined ? Effect.void : Effect.fail(error)
  })

/**
 * Wakes every waiter; the caller must hold the lock.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedCondition, SharedLock } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const cond = yield* SharedCondition.make()
 *   yield* SharedLock.withLock(SharedCondition.lock(cond), SharedCondition.notifyAll(cond))
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const notifyAll = (self: SharedCondition): Effect.Effect<void, SharedLockNotHeld> =>
  notify(self, Number.POSITIVE_INFINITY)

/**
 * How many waiters have not been notified yet.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedCondition } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const cond = yield* SharedCondition.make()
 *   return yield* SharedCondition.waiting(cond) // 0
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const waiting = (self: SharedCondition): Effect.Effect<number> =>
  Effect.sync(() => Atomics.load(self.cells, WAITERS))

/**
 * Blocks this worker thread for a notification, at most `timeoutMillis`,
 * holding the lock before and after; whether one came. Throws
 * `SharedLockNotHeld` without the lock, `BlockingOnMainThread` on the main
 * thread.
 *
 * @example
 * ```ts
 * import { SharedCondition, SharedLock } from "@strand/platform-node"
 *
 * // in a worker task's synchronous code
 * const awaitStage = (cond: SharedCondition.SharedCondition, reached: () => boolean) =>
 *   SharedLock.withLockSync(SharedCondition.lock(cond), () => {
 *     while (!reached()) SharedCondition.waitSync(cond)
 *   })
 * ```
 *
 * @category blocking
 * @since 0.6.0
 */
export const waitSync = (self: SharedCondition, options?: { readonly timeoutMillis?: number | undefined }): boolean => {
  if (!holds(self)) throw notHeld(self.lock, "SharedCondition.waitSync")
  const deadline = deadlineOf(options?.timeoutMillis)
  const cells = self.cells
  Atomics.add(cells, WAITERS, 1)
  cell.give(self.lock.cells, self.lock.at)
  // Whether this waiter has taken a notification or left; a throw in between leaves too.
  let settled = false
  try {
    for (;;) {
      const seen = Atomics.load(cells, SEQ)
      if (takeToken(cells)) {
        settled = true
        return true
      }
      if (performance.now() >= deadline) {
        settled = true
        return leave(cells)
      }
      block(cells, SEQ, seen, deadline, "SharedCondition.waitSync")
    }
  } finally {
    if (!settled) leave(cells)
    cell.takeSync(self.lock.cells, self.lock.at, undefined, self.lock.label)
  }
}

/**
 * Wakes up to `n` waiters from synchronous code; throws `SharedLockNotHeld`
 * without the lock.
 *
 * @example
 * ```ts
 * import { SharedCondition, SharedLock } from "@strand/platform-node"
 *
 * const announce = (cond: SharedCondition.SharedCondition) =>
 *   SharedLock.withLockSync(SharedCondition.lock(cond), () => SharedCondition.notifySync(cond))
 * ```
 *
 * @category blocking
 * @since 0.6.0
 */
export const notifySync = (self: SharedCondition, n = 1): void => {
  const error = notifyHolding(self, n, "SharedCondition.notifySync")
  if (error !== undefined) throw error
}

/**
 * Whether `u` is a `SharedCondition`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { SharedCondition } from "@strand/platform-node"
 *
 * const program = Effect.map(SharedCondition.make(), SharedCondition.isSharedCondition) // true
 * ```
 *
 * @category guards
 * @since 0.6.0
 */
export const isSharedCondition = (u: unknown): u is SharedCondition => hasProperty(u, TypeId)

/**
 * What it encodes to in a task's payload: shared memory, which structured clone shares.
 *
 * @category models
 * @since 0.6.0
 */
export interface Encoded {
  readonly lock: SharedLock.Encoded
  readonly cells: Int32Array
}

/**
 * The schema of a `SharedCondition` (with its lock), for a task's payload or
 * result.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { SharedCondition, Task } from "@strand/platform-node"
 *
 * const Consume = Task.make("Consume", {
 *   payload: Schema.Struct({ ready: SharedCondition.schema }),
 *   success: Schema.Void
 * })
 * ```
 *
 * @category schemas
 * @since 0.6.0
 */
export const schema: Schema.Codec<SharedCondition, Encoded> = sharedSchema({
  name: "SharedCondition",
  is: isSharedCondition,
  isFields: (u): u is Encoded =>
    typeof u === "object" && u !== null && isFields((u as Encoded).lock) && isSharedView((u as Encoded).cells, 3),
  encode: (cond) => ({ lock: toFields(cond.lock), cells: cond.cells }),
  decode: (fields) =>
    new SharedConditionImpl(fromCells(fields.lock.name, fields.lock.cells, fields.lock.at), fields.cells)
})
