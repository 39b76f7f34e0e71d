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
 * - Wake-ups can be spurious, as Python's documentation allows: check the state
 *   again after `wait`, or use `waitFor` with a predicate, which does so.
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
        new Int32Array(new SharedArrayBuffer(4))
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
 * Releases the lock, waits for a notification (at most `timeout`), then takes
 * the lock back; whether a notification came.
 */
const waitWith = (
  self: SharedCondition,
  timeout: Duration.Input | undefined
): Effect.Effect<boolean, SharedLockNotHeld> =>
  Effect.uninterruptibleMask((restore) => {
    if (!holds(self)) return Effect.fail(notHeld(self.lock, "SharedCondition.wait"))
    const seen = Atomics.load(self.cells, 0)
    cell.give(self.lock.cells, self.lock.at)
    const changed = Effect.suspend(function loop(): Effect.Effect<void> {
      return Atomics.load(self.cells, 0) !== seen ? Effect.void : Effect.flatMap(waitAsync(self.cells, 0, seen), loop)
    })
    const waited =
      timeout === undefined
        ? Effect.as(changed, true)
        : Effect.map(Effect.timeoutOption(changed, timeout), Option.isSome)
    return Effect.flatMap(Effect.exit(restore(waited)), (exit) =>
      // The lock comes back however the wait ended, so that the caller's withLock can release it.
      Effect.andThen(cell.take(self.lock.cells, self.lock.at, false), exit)
    )
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
const wake = (self: SharedCondition, n: number, operation: string): SharedLockNotHeld | undefined => {
  if (!holds(self)) return notHeld(self.lock, operation)
  Atomics.add(self.cells, 0, 1)
  Atomics.notify(self.cells, 0, n)
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
    const error = wake(self, n, "SharedCondition.notify")
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
  const seen = Atomics.load(self.cells, 0)
  cell.give(self.lock.cells, self.lock.at)
  try {
    for (;;) {
      if (Atomics.load(self.cells, 0) !== seen) return true
      if (performance.now() >= deadline) return false
      block(self.cells, 0, seen, deadline, "SharedCondition.waitSync")
    }
  } finally {
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
  const error = wake(self, n, "SharedCondition.notifySync")
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
    typeof u === "object" && u !== null && isFields((u as Encoded).lock) && isSharedView((u as Encoded).cells, 1),
  encode: (cond) => ({ lock: toFields(cond.lock), cells: cond.cells }),
  decode: (fields) =>
    new SharedConditionImpl(fromCells(fields.lock.name, fields.lock.cells, fields.lock.at), fields.cells)
})
