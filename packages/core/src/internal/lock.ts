/**
 * The mutual-exclusion core shared by `Lock` and `RLock`: an owner, a hold
 * count and a FIFO queue of waiters with direct hand-off.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import { LockAlreadyHeld, LockNotHeld } from "./errors.ts"
import { makeWaiter, WaitQueue } from "./waiters.ts"

const granted = Effect.succeed(true)

/** @internal */
export class LockCore {
  owner: number | undefined = undefined
  holds = 0
  readonly queue = new WaitQueue({ onLostGrant: () => this.handOff() })

  readonly reentrant: boolean
  readonly name: string | undefined

  constructor(reentrant: boolean, name: string | undefined) {
    this.reentrant = reentrant
    this.name = name
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

  /** Takes the lock for `fiberId` if that needs no wait. */
  tryTakeUnsafe(fiberId: number): boolean {
    if (this.owner === undefined) {
      this.owner = fiberId
      this.holds = 1
      return true
    }
    if (this.reentrant && this.owner === fiberId) {
      this.holds++
      return true
    }
    return false
  }

  /** Acquires for `fiber`, waiting at most `timeout` if one is given. */
  acquireFor(fiber: Fiber.Fiber<unknown, unknown>, timeout?: Duration.Input): Effect.Effect<boolean, LockAlreadyHeld> {
    if (this.tryTakeUnsafe(fiber.id)) return granted
    if (this.owner === fiber.id) {
      return Effect.fail(new LockAlreadyHeld({ lock: this.describe(), caller: fiber.id }))
    }
    return this.queue.park(makeWaiter(fiber), timeout)
  }

  // Its success value is the boolean of `acquireFor`, which no caller of `acquire` can see.
  readonly acquire: Effect.Effect<void, LockAlreadyHeld> = Effect.withFiber((fiber) =>
    this.acquireFor(fiber)
  ) as Effect.Effect<void, LockAlreadyHeld>

  readonly tryAcquire: Effect.Effect<boolean> = Effect.withFiber((fiber) =>
    Effect.succeed(this.tryTakeUnsafe(fiber.id))
  )

  acquireTimeout(timeout: Duration.Input): Effect.Effect<boolean, LockAlreadyHeld> {
    return Effect.withFiber((fiber) => this.acquireFor(fiber, timeout))
  }

  /** Drops one hold of `fiberId`; the last one hands the lock on. */
  releaseFor(fiberId: number, operation: string): Effect.Effect<void, LockNotHeld> {
    if (this.owner !== fiberId) return Effect.fail(this.notHeld(fiberId, operation))
    if (--this.holds === 0) this.handOff()
    return Effect.void
  }

  readonly release: Effect.Effect<void, LockNotHeld> = Effect.withFiber((fiber) => this.releaseFor(fiber.id, "release"))

  withLock<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | LockAlreadyHeld, R> {
    return Effect.uninterruptibleMask((restore) =>
      Effect.withFiber((fiber) => {
        const id = fiber.id
        // The release is registered in the same uninterruptible step that takes the lock.
        const release = () => {
          if (this.owner === id && --this.holds === 0) this.handOff()
          return undefined
        }
        if (this.tryTakeUnsafe(id)) return Effect.onExitPrimitive(restore(self), release, true)
        return Effect.flatMap(restore(this.acquireFor(fiber)), () =>
          Effect.onExitPrimitive(restore(self), release, true)
        )
      })
    )
  }

  /** Releases every hold of `fiberId` at once (for `Condition.wait`) and returns how many there were. */
  releaseAllUnsafe(): number {
    const holds = this.holds
    this.handOff()
    return holds
  }

  /** Reacquires the lock for `fiber` with `holds` holds, waiting uninterruptibly. */
  reacquire(fiber: Fiber.Fiber<unknown, unknown>, holds: number): Effect.Effect<void> {
    const restoreHolds = Effect.sync(() => {
      this.holds = holds
    })
    return Effect.suspend(() => {
      if (this.tryTakeUnsafe(fiber.id)) return restoreHolds
      return Effect.uninterruptible(Effect.andThen(this.queue.park(makeWaiter(fiber)), restoreHolds))
    })
  }

  notHeld(fiberId: number, operation: string): LockNotHeld {
    return new LockNotHeld({
      lock: this.describe(),
      operation,
      caller: fiberId,
      ...(this.owner === undefined ? {} : { owner: this.owner })
    })
  }

  describe(): string {
    const kind = this.reentrant ? "RLock" : "Lock"
    return this.name === undefined ? kind : `${kind} "${this.name}"`
  }
}
