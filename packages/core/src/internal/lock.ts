/**
 * The mutual-exclusion core shared by `Lock` and `RLock`: an owner, a hold
 * count and a FIFO queue of waiters with direct hand-off. When made under
 * `Diagnostics.layer`, it reports every acquisition, wait and release to the
 * tracker, which refuses a wait that would close a deadlock.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import { Class as PipeableClass } from "effect/Pipeable"
import { withDuration } from "./arguments.ts"
import type { DeadlockDetected, InvalidArgument } from "./errors.ts"
import { LockAlreadyHeld, LockNotHeld } from "./errors.ts"
import type { Figures } from "./figures.ts"
import { type Hold, type Resource, type Tracker, trackWait } from "./tracker.ts"
import { makeWaiter, WaitQueue } from "./waiters.ts"

const granted = Effect.succeed(true)

type AnyFiber = Fiber.Fiber<unknown, unknown>

/** @internal */
export class LockCore implements Resource {
  owner: number | undefined = undefined
  holds = 0
  readonly queue = new WaitQueue({ onLostGrant: () => this.handOff() })
  readonly reentrant: boolean
  readonly name: string | undefined
  readonly label: string
  figures: Figures | undefined = undefined
  hold: Hold | undefined = undefined
  spareHold: Hold | undefined = undefined
  readonly named: boolean
  readonly tracker: Tracker | undefined

  constructor(reentrant: boolean, name: string | undefined, tracker: Tracker | undefined) {
    this.reentrant = reentrant
    this.name = name
    this.named = name !== undefined
    this.tracker = tracker
    const kind = reentrant ? "RLock" : "Lock"
    this.label = tracker === undefined ? (name === undefined ? kind : `${kind} "${name}"`) : tracker.label(kind, name)
    tracker?.register(this)
  }

  holders(): ReadonlyArray<number> {
    return this.owner === undefined ? [] : [this.owner]
  }

  /** Hands the lock to the longest waiter, or frees it. O(1). */
  readonly handOff = (): void => {
    const next = this.queue.head()
    if (next === undefined) {
      this.owner = undefined
      this.holds = 0
      return
    }
    this.owner = next.fiber.id
    this.holds = 1
    this.queue.grant(next)
  }

  /** Takes the lock for `fiber` if that needs no wait. */
  takeNow(fiber: AnyFiber): boolean {
    if (this.owner === undefined) {
      this.owner = fiber.id
      this.holds = 1
      this.tracker?.acquired(fiber, this)
      return true
    }
    if (this.reentrant && this.owner === fiber.id) {
      this.holds++
      return true
    }
    return false
  }

  /** Acquires for `fiber`, waiting at most `timeout` if one is given. */
  acquireFor(fiber: AnyFiber, timeout?: Duration.Input): Effect.Effect<boolean, LockAlreadyHeld | DeadlockDetected> {
    if (this.takeNow(fiber)) return granted
    if (this.owner === fiber.id) {
      return Effect.fail(new LockAlreadyHeld({ lock: this.label, caller: fiber.id }))
    }
    return trackWait(this.tracker, fiber, this, this.queue.park(makeWaiter(fiber), timeout), () =>
      this.tracker?.acquired(fiber, this)
    )
  }

  // Its success value is the boolean of `acquireFor`, which no caller of `acquire` can see.
  readonly acquire: Effect.Effect<void, LockAlreadyHeld | DeadlockDetected> = Effect.withFiber((fiber) =>
    this.acquireFor(fiber)
  ) as Effect.Effect<void, LockAlreadyHeld | DeadlockDetected>

  readonly tryAcquire: Effect.Effect<boolean> = Effect.withFiber((fiber) => Effect.succeed(this.takeNow(fiber)))

  acquireTimeout(
    timeout: Duration.Input
  ): Effect.Effect<boolean, LockAlreadyHeld | DeadlockDetected | InvalidArgument> {
    return withDuration(`${this.label}.acquireTimeout`, "timeout", timeout, (duration) =>
      Effect.withFiber((fiber) => this.acquireFor(fiber, duration))
    )
  }

  /** Drops one hold of `fiber`; the last one hands the lock on. */
  private dropHold(fiber: AnyFiber): void {
    if (--this.holds > 0) return
    this.tracker?.released(fiber.id, this, fiber.context)
    this.handOff()
  }

  releaseFor(fiber: AnyFiber, operation: string): Effect.Effect<void, LockNotHeld> {
    if (this.owner !== fiber.id) return Effect.fail(this.notHeld(fiber.id, operation))
    this.dropHold(fiber)
    return Effect.void
  }

  readonly release: Effect.Effect<void, LockNotHeld> = Effect.withFiber((fiber) => this.releaseFor(fiber, "release"))

  withLock<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | LockAlreadyHeld | DeadlockDetected, R> {
    return Effect.uninterruptibleMask((restore) => {
      // The mask's body runs on the calling fiber, so it is the current one here.
      const fiber = Fiber.getCurrent()!
      // The release is registered in the same uninterruptible step that takes the lock.
      const release = () => {
        if (this.owner === fiber.id) this.dropHold(fiber)
        return undefined
      }
      if (this.takeNow(fiber)) return Effect.onExitPrimitive(restore(self), release, true)
      return Effect.flatMap(restore(this.acquireFor(fiber)), () => Effect.onExitPrimitive(restore(self), release, true))
    })
  }

  /** Releases every hold of `fiber` at once (for `Condition.wait`) and returns how many there were. */
  releaseAllUnsafe(fiber: AnyFiber): number {
    const holds = this.holds
    this.tracker?.released(fiber.id, this, fiber.context)
    this.handOff()
    return holds
  }

  /** Reacquires the lock for `fiber` with `holds` holds, waiting uninterruptibly. */
  reacquire(fiber: AnyFiber, holds: number): Effect.Effect<void> {
    const restoreHolds = Effect.sync(() => {
      this.holds = holds
    })
    return Effect.suspend(() => {
      if (this.takeNow(fiber)) return restoreHolds
      // A waiter that must get the lock back cannot be refused: a cycle it closes is reported,
      // and the wait is recorded so that other fibers see the cycle too.
      const wait = trackWait(
        this.tracker,
        fiber,
        this,
        this.queue.park(makeWaiter(fiber)),
        () => this.tracker?.acquired(fiber, this),
        false
      ) as Effect.Effect<boolean> // not refusable: it never fails with DeadlockDetected
      return Effect.uninterruptible(Effect.andThen(wait, restoreHolds))
    })
  }

  notHeld(fiberId: number, operation: string): LockNotHeld {
    return new LockNotHeld({
      lock: this.label,
      operation,
      caller: fiberId,
      ...(this.owner === undefined ? {} : { owner: this.owner })
    })
  }
}

/**
 * What `Lock` and `RLock` share in front of their core: the core stays out of
 * their public types, and each adds its own acquire, timed acquire and
 * `withLock` (a re-entrant lock never fails with `LockAlreadyHeld`).
 *
 * @internal
 */
export abstract class LockFace extends PipeableClass {
  readonly name: string | undefined
  readonly tryAcquire: Effect.Effect<boolean>
  readonly release: Effect.Effect<void, LockNotHeld>
  readonly locked: Effect.Effect<boolean>
  readonly waiting: Effect.Effect<number>
  readonly holder: Effect.Effect<Option.Option<number>>
  protected readonly core: LockCore

  constructor(core: LockCore) {
    super()
    this.core = core
    this.name = core.name
    this.tryAcquire = core.tryAcquire
    this.release = core.release
    this.locked = Effect.sync(() => core.owner !== undefined)
    this.waiting = Effect.sync(() => core.queue.size)
    this.holder = Effect.sync(() => Option.fromNullishOr(core.owner))
    cores.set(this, core)
  }
}

/** The core behind each public Lock or RLock; kept out of their public types. */
const cores = new WeakMap<object, LockCore>()

/** The core of a Lock or RLock made by this package. @internal */
export const coreOf = (lock: object): LockCore => cores.get(lock)!
