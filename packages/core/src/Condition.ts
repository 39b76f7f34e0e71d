/**
 * A condition variable: Python's `threading.Condition` for fibers.
 *
 * **When to use**
 *
 * Use a `Condition` when fibers must wait until some shared state, guarded by a
 * lock, satisfies a predicate: a producer and consumer on a buffer, a pool of
 * resources, a phase change.
 *
 * **Details**
 *
 * - A condition is bound to a `Lock` or an `RLock`; by default a fresh `RLock`, as in Python.
 * - `wait` releases the lock atomically (every hold, for an `RLock`) and always
 *   reacquires it before it returns, even when it is interrupted or times out.
 * - Wake-ups are FIFO and never lost: a notified waiter that is interrupted,
 *   whether before it runs or while it re-takes the lock, passes its wake-up
 *   to the next waiter (as CPython 3.13 does). An interrupted `wait` can be
 *   retried safely: it consumed nothing.
 * - Calling `wait`, `waitFor`, `notify` or `notifyAll` without holding the lock
 *   fails with `LockNotHeld`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Condition } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const cond = yield* Condition.make()
 *   const items: Array<number> = []
 *   const consumer = Condition.withLock(cond, Effect.gen(function*() {
 *     yield* Condition.waitFor(cond, Effect.sync(() => items.length > 0))
 *     return items.shift()!
 *   }))
 *   const producer = Condition.withLock(cond, Effect.gen(function*() {
 *     items.push(42)
 *     yield* Condition.notify(cond)
 *   }))
 *   const [item] = yield* Effect.all([consumer, producer], { concurrency: 2 })
 *   return item // 42
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import { dual } from "effect/Function"
import { type Pipeable, Class as PipeableClass } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import { deadlineOf, withDuration } from "./internal/arguments.ts"
import type { InvalidArgument, LockNotHeld } from "./internal/errors.ts"
import type { Figures } from "./internal/figures.ts"
import { coreOf } from "./internal/lock.ts"
import type { Resource } from "./internal/tracker.ts"
import { makeWaiter, WaitQueue } from "./internal/waiters.ts"
import type * as Lock from "./Lock.ts"
import * as RLock from "./RLock.ts"

export {
  /**
   * A timeout is not a duration (from an untyped caller).
   *
   * @category errors
   * @since 0.2.0
   */
  InvalidArgument,
  /**
   * `wait`, `waitFor`, `notify` or `notifyAll` was called by a fiber that does not hold the condition's lock.
   *
   * @category errors
   * @since 0.1.0
   */
  LockNotHeld
} from "./internal/errors.ts"

const TypeId = "~@strand/core/Condition" as const

/**
 * A condition variable bound to a `Lock` or `RLock`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Condition extends Pipeable {
  readonly [TypeId]: typeof TypeId
  /** The lock that guards the condition's state. */
  readonly lock: Lock.Lock | RLock.RLock
  /** Releases the lock, waits for a notification, then reacquires the lock. */
  readonly wait: Effect.Effect<void, LockNotHeld>
  /** As `wait`, but gives up after `timeout`: `true` if notified, `false` if the time ran out. */
  waitTimeout(timeout: Duration.Input): Effect.Effect<boolean, LockNotHeld | InvalidArgument>
  /** Wakes up to `n` waiters, longest waiting first. */
  notify(n?: number): Effect.Effect<void, LockNotHeld>
  /** Wakes every waiter. */
  readonly notifyAll: Effect.Effect<void, LockNotHeld>
  /** How many fibers are waiting. */
  readonly waiting: Effect.Effect<number>
}

/**
 * Options for `Condition.make`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** The lock to bind to. Defaults to a new `RLock`. */
  readonly lock?: Lock.Lock | RLock.RLock | undefined
}

class ConditionImpl extends PipeableClass implements Condition, Resource {
  readonly [TypeId] = TypeId
  readonly queue = new WaitQueue({ onLostGrant: () => this.passOn() })
  readonly lock: Lock.Lock | RLock.RLock
  readonly label: string
  figures: Figures | undefined = undefined
  readonly named = false

  constructor(lock: Lock.Lock | RLock.RLock) {
    super()
    this.lock = lock
    this.label = `Condition on ${coreOf(lock).label}`
    coreOf(lock).tracker?.register(this)
  }

  /** Nobody holds a condition: a waiter waits for any notifier, so it closes no cycle. */
  holders(): ReadonlyArray<number> {
    return []
  }

  /** A notified waiter that was interrupted before it ran passes its wake-up on. */
  readonly passOn = (): void => {
    const next = this.queue.head()
    if (next !== undefined) this.queue.grant(next)
  }

  park(timeout: Duration.Input | undefined, operation: string): Effect.Effect<boolean, LockNotHeld> {
    return Effect.withFiber((fiber) => {
      const core = coreOf(this.lock)
      if (core.owner !== fiber.id) return Effect.fail(core.notHeld(fiber.id, operation))
      return Effect.uninterruptibleMask((restore) => {
        const holds = core.releaseAllUnsafe(fiber)
        const tracker = core.tracker
        tracker?.recordWait(fiber, this)
        return Effect.flatMap(Effect.exit(restore(this.queue.park(makeWaiter(fiber), timeout))), (exit) => {
          tracker?.doneWaiting(fiber)
          const woken = Exit.isSuccess(exit) && exit.value
          // A notified waiter interrupted while it re-took the lock would swallow the wake-up:
          // pass it to the next waiter, as CPython does (gh-112202).
          const after = woken ? Effect.onInterrupt(restore(exit), () => Effect.sync(this.passOn)) : exit
          return Effect.andThen(core.reacquire(fiber, holds), after)
        })
      })
    })
  }

  readonly wait = Effect.asVoid(this.park(undefined, "Condition.wait"))

  waitTimeout(timeout: Duration.Input): Effect.Effect<boolean, LockNotHeld | InvalidArgument> {
    return withDuration("Condition.waitTimeout", "timeout", timeout, (duration) =>
      this.park(duration, "Condition.wait")
    )
  }

  notify(n = 1): Effect.Effect<void, LockNotHeld> {
    return this.whileHeld("Condition.notify", () => {
      for (let i = 0; i < n; i++) {
        const next = this.queue.head()
        if (next === undefined) return
        this.queue.grant(next)
      }
    })
  }

  readonly notifyAll = this.whileHeld("Condition.notifyAll", () => {
    for (let next = this.queue.head(); next !== undefined; next = this.queue.head()) {
      this.queue.grant(next)
    }
  })

  readonly waiting = Effect.sync(() => this.queue.size)

  whileHeld(operation: string, f: () => void): Effect.Effect<void, LockNotHeld> {
    return Effect.withFiber((fiber) => {
      const core = coreOf(this.lock)
      if (core.owner !== fiber.id) return Effect.fail(core.notHeld(fiber.id, operation))
      f()
      return Effect.void
    })
  }
}

/**
 * Creates a condition variable.
 *
 * **When to use**
 *
 * Use to let fibers wait for a change to state that a lock guards.
 *
 * **Details**
 *
 * Pass `lock` to share an existing `Lock` or `RLock` (several conditions may
 * share one lock); otherwise the condition makes its own `RLock`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Condition, Lock } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* Lock.make()
 *   const notEmpty = yield* Condition.make({ lock })
 *   const notFull = yield* Condition.make({ lock })
 *   return [notEmpty, notFull]
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options?: Options): Effect.Effect<Condition> =>
  Effect.map(
    options?.lock === undefined ? RLock.make() : Effect.succeed(options.lock),
    (lock) => new ConditionImpl(lock)
  )

/**
 * Runs an effect while holding the condition's lock: Python's `with cond:`.
 *
 * **When to use**
 *
 * Use around every `wait`, `waitFor` and `notify`, and around the reads and
 * writes of the state the condition guards.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Condition } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const cond = yield* Condition.make()
 *   yield* Condition.withLock(cond, Condition.notifyAll(cond))
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const withLock: {
  (
    self: Condition
  ): <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | Lock.LockAlreadyHeld | Lock.DeadlockDetected, R>
  <A, E, R>(
    self: Condition,
    effect: Effect.Effect<A, E, R>
  ): Effect.Effect<A, E | Lock.LockAlreadyHeld | Lock.DeadlockDetected, R>
} = ((self: Condition, effect?: Effect.Effect<any, any, any>) => {
  const core = coreOf(self.lock)
  return effect === undefined ? (effect: Effect.Effect<any, any, any>) => core.withLock(effect) : core.withLock(effect)
}) as any

/**
 * Releases the lock, waits for a notification, and reacquires the lock.
 *
 * **When to use**
 *
 * Use inside a loop that rechecks the predicate, or use `waitFor`, which is
 * that loop.
 *
 * **Details**
 *
 * The lock is held again when `wait` returns, whether it was notified,
 * interrupted or failed. Fails with `LockNotHeld` unless the caller holds the lock.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Condition } from "@strand/core"
 *
 * declare const cond: Condition.Condition
 * declare let ready: boolean
 * const awaitReady = Condition.withLock(cond, Effect.gen(function*() {
 *   while (!ready) yield* Condition.wait(cond)
 * }))
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const wait = (self: Condition): Effect.Effect<void, LockNotHeld> => self.wait

/**
 * Waits for a notification for at most `timeout`: Python's `wait(timeout)`.
 *
 * **When to use**
 *
 * Use when the waiter must give up after a while.
 *
 * **Details**
 *
 * Succeeds with `true` if notified, `false` if the time ran out; the lock is
 * held again either way.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Condition } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const cond = yield* Condition.make()
 *   return yield* Condition.withLock(cond, Condition.waitTimeout(cond, "10 millis")) // false
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const waitTimeout: {
  (timeout: Duration.Input): (self: Condition) => Effect.Effect<boolean, LockNotHeld | InvalidArgument>
  (self: Condition, timeout: Duration.Input): Effect.Effect<boolean, LockNotHeld | InvalidArgument>
} = dual(2, (self: Condition, timeout: Duration.Input) => self.waitTimeout(timeout))

/**
 * Waits until `predicate` holds: Python's `wait_for(predicate, timeout)`.
 *
 * **When to use**
 *
 * Use instead of a hand-written `while (!predicate) wait` loop.
 *
 * **Details**
 *
 * The predicate is evaluated with the lock held, first before any wait and
 * again after each wake-up. With a `timeout`, it gives up once the whole wait
 * has taken that long. Succeeds with the last value of the predicate.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Condition } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const cond = yield* Condition.make()
 *   let count = 0
 *   return yield* Condition.withLock(
 *     cond,
 *     Condition.waitFor(cond, Effect.sync(() => count > 0), { timeout: "1 second" })
 *   )
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const waitFor: {
  <E, R>(
    predicate: Effect.Effect<boolean, E, R>,
    options?: { readonly timeout?: Duration.Input | undefined }
  ): (self: Condition) => Effect.Effect<boolean, E | LockNotHeld | InvalidArgument, R>
  <E, R>(
    self: Condition,
    predicate: Effect.Effect<boolean, E, R>,
    options?: { readonly timeout?: Duration.Input | undefined }
  ): Effect.Effect<boolean, E | LockNotHeld | InvalidArgument, R>
} = dual(
  (args) => isCondition(args[0]),
  <E, R>(
    self: Condition,
    predicate: Effect.Effect<boolean, E, R>,
    options?: { readonly timeout?: Duration.Input | undefined }
  ): Effect.Effect<boolean, E | LockNotHeld | InvalidArgument, R> =>
    Effect.gen(function* () {
      const deadline = yield* deadlineOf("Condition.waitFor", options?.timeout)
      let result = yield* predicate
      while (!result) {
        // The timed wait runs on this fiber, which holds the lock: a raced copy on another
        // fiber (Effect.timeout) would not own it.
        if (deadline === undefined) {
          yield* self.wait
        } else {
          const remaining = deadline - (yield* Clock.currentTimeMillis)
          if (remaining <= 0) break
          yield* self.waitTimeout(remaining)
        }
        result = yield* predicate
      }
      return result
    })
)

/**
 * Wakes up to `n` waiters (default 1), longest waiting first.
 *
 * **When to use**
 *
 * Use after changing the guarded state in a way that lets `n` waiters proceed.
 *
 * **Details**
 *
 * Fails with `LockNotHeld` unless the caller holds the lock. Woken waiters
 * run once they have reacquired the lock, so after the notifier releases it.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Condition } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const cond = yield* Condition.make()
 *   yield* Condition.withLock(cond, Condition.notify(cond, 2))
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const notify: {
  (n?: number): (self: Condition) => Effect.Effect<void, LockNotHeld>
  (self: Condition, n?: number): Effect.Effect<void, LockNotHeld>
} = dual(
  (args) => isCondition(args[0]),
  (self: Condition, n?: number) => self.notify(n)
)

/**
 * Wakes every waiter: Python's `notify_all()`.
 *
 * **When to use**
 *
 * Use when a change may let every waiter proceed, or when waiters wait for different predicates.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Condition } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const cond = yield* Condition.make()
 *   yield* Condition.withLock(cond, Condition.notifyAll(cond))
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const notifyAll = (self: Condition): Effect.Effect<void, LockNotHeld> => self.notifyAll

/**
 * How many fibers are waiting on the condition.
 *
 * **When to use**
 *
 * Use for diagnostics and tests.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Condition } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const cond = yield* Condition.make()
 *   return yield* Condition.waiting(cond) // 0
 * })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const waiting = (self: Condition): Effect.Effect<number> => self.waiting

/**
 * Whether `u` is a `Condition`.
 *
 * **When to use**
 *
 * Use to narrow an unknown value, as Effect's own `isX` guards do.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Condition } from "@strand/core"
 *
 * const program = Effect.map(Condition.make(), Condition.isCondition) // true
 * ```
 *
 * @category guards
 * @since 0.2.0
 */
export const isCondition = (u: unknown): u is Condition => hasProperty(u, TypeId)
