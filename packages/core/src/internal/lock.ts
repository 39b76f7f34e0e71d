/**
 * The mutual-exclusion core shared by `Lock` and `RLock`: an owner, a hold
 * count and a FIFO queue of waiters with direct hand-off.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { LockAlreadyHeld, LockNotHeld } from "./errors.ts"
import { makeWaiter, type Waiter, WaitQueue } from "./waiters.ts"

/** @internal */
export class LockCore {
  owner: number | undefined = undefined
  holds = 0
  readonly queue = new WaitQueue<Waiter>()

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
    this.owner = next.fiberId
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

  /** Acquires for `fiberId`, waiting at most `timeout` if one is given. */
  acquireFor(fiberId: number, timeout?: Duration.Input): Effect.Effect<boolean, LockAlreadyHeld> {
    if (this.tryTakeUnsafe(fiberId)) return Effect.succeed(true)
    if (this.owner === fiberId) {
      return Effect.fail(new LockAlreadyHeld({ lock: this.describe(), caller: fiberId }))
    }
    return this.queue.park(makeWaiter(fiberId, {}), this.handOff, timeout)
  }

  readonly acquire: Effect.Effect<void, LockAlreadyHeld> = Effect.withFiber((fiber) =>
    Effect.asVoid(this.acquireFor(fiber.id))
  )

  readonly tryAcquire: Effect.Effect<boolean> = Effect.withFiber((fiber) =>
    Effect.succeed(this.tryTakeUnsafe(fiber.id))
  )

  acquireTimeout(timeout: Duration.Input): Effect.Effect<boolean, LockAlreadyHeld> {
    return Effect.withFiber((fiber) => this.acquireFor(fiber.id, timeout))
  }

  /** Drops one hold of `fiberId`; the last one hands the lock on. */
  releaseFor(fiberId: number, operation: string): Effect.Effect<void, LockNotHeld> {
    if (this.owner !== fiberId) return Effect.fail(this.notHeld(fiberId, operation))
    if (--this.holds === 0) this.handOff()
    return Effect.void
  }

  readonly release: Effect.Effect<void, LockNotHeld> = Effect.withFiber((fiber) => this.releaseFor(fiber.id, "release"))

  withLock<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E | LockAlreadyHeld, R> {
    return Effect.withFiber((fiber) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(restore(this.acquireFor(fiber.id)), () =>
          Effect.onExit(restore(self), () => Effect.ignore(this.releaseFor(fiber.id, "withLock")))
        )
      )
    )
  }

  /** Releases every hold of `fiberId` at once (for `Condition.wait`) and returns how many there were. */
  releaseAllUnsafe(): number {
    const holds = this.holds
    this.handOff()
    return holds
  }

  /** Reacquires the lock for `fiberId` with `holds` holds, waiting uninterruptibly. */
  reacquire(fiberId: number, holds: number): Effect.Effect<void> {
    const restoreHolds = Effect.sync(() => {
      this.holds = holds
    })
    return Effect.suspend(() => {
      if (this.tryTakeUnsafe(fiberId)) return restoreHolds
      return Effect.uninterruptible(
        Effect.andThen(this.queue.park(makeWaiter(fiberId, {}), this.handOff), restoreHolds)
      )
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
