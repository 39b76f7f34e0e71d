/**
 * The FIFO wait queue behind every blocking Strand primitive.
 *
 * A waiter is parked with `Effect.callback`. Whoever grants it (a release, a
 * notify, a barrier trip) removes it from the queue, marks it granted and
 * schedules its resumption on the waiter's own dispatcher, so a hand-off costs
 * O(1) and never runs another fiber on the granter's stack. A waiter that is
 * interrupted before it resumes is removed in O(1); if it had already been
 * granted, `onLostGrant` passes the grant on, so nothing leaks.
 *
 * Timed waits never race a forked copy of the wait against a sleep (a forked
 * waiter could be granted after the race was lost): a timer fiber expires the
 * waiter in place, and expiring and granting are decided synchronously, so
 * exactly one of them happens.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import type * as Scheduler from "effect/Scheduler"

/** @internal */
export interface Waiter {
  /** The fiber that will own whatever is granted. */
  readonly fiberId: number
  granted: boolean
  dispatcher: Scheduler.SchedulerDispatcher | undefined
  resume: ((effect: Effect.Effect<boolean>) => void) | undefined
}

/** @internal */
export const makeWaiter = <W extends object>(fiberId: number, extra: W): Waiter & W =>
  Object.assign(extra, { fiberId, granted: false, dispatcher: undefined, resume: undefined })

const granted = Effect.succeed(true)
const expired = Effect.succeed(false)

/** @internal */
export class WaitQueue<W extends Waiter> {
  readonly waiters = new Set<W>()
  /** Called after a waiter leaves without a grant (interrupted or timed out). */
  readonly onLeave: (() => void) | undefined

  constructor(onLeave?: () => void) {
    this.onLeave = onLeave
  }

  get size(): number {
    return this.waiters.size
  }

  /** The longest-waiting waiter, or `undefined`. */
  head(): W | undefined {
    for (const waiter of this.waiters) return waiter
    return undefined
  }

  /**
   * Parks the current fiber until `grant` is called for `waiter` (then it
   * succeeds with `true`) or until `timeout` passes (then `false`). If the
   * fiber is interrupted first, the waiter is removed; if it had been granted
   * but not resumed yet, `onLostGrant` passes the grant to someone else.
   */
  park(waiter: W, onLostGrant: (waiter: W) => void, timeout?: Duration.Input): Effect.Effect<boolean> {
    const wait = Effect.withFiber((fiber) => {
      waiter.dispatcher = fiber.currentDispatcher
      return Effect.callback<boolean>((resume) => {
        waiter.resume = resume
        this.waiters.add(waiter)
        return Effect.sync(() => {
          waiter.resume = undefined
          if (waiter.granted) {
            waiter.granted = false
            onLostGrant(waiter)
          } else if (this.waiters.delete(waiter)) {
            this.onLeave?.()
          }
        })
      })
    })
    if (timeout === undefined) return wait
    return Effect.flatMap(
      Effect.forkChild(
        Effect.andThen(
          Effect.sleep(timeout),
          Effect.sync(() => this.expire(waiter))
        )
      ),
      (timer) => Effect.ensuring(wait, Fiber.interrupt(timer))
    )
  }

  /** Removes `waiter` from the queue and schedules its resumption. */
  grant(waiter: W): void {
    this.waiters.delete(waiter)
    waiter.granted = true
    waiter.dispatcher!.scheduleTask(() => {
      const resume = waiter.resume
      if (waiter.granted && resume !== undefined) {
        waiter.resume = undefined
        resume(granted)
      }
    }, 0)
  }

  /** Ends a timed wait that has not been granted. */
  private expire(waiter: W): void {
    if (waiter.granted || !this.waiters.delete(waiter)) return
    const resume = waiter.resume
    waiter.resume = undefined
    this.onLeave?.()
    resume?.(expired)
  }

  /** Removes every waiter and hands each one to `f` (for shutdown and abort). */
  drain(f: (waiter: W) => void): void {
    const all = Array.from(this.waiters)
    this.waiters.clear()
    for (const waiter of all) f(waiter)
  }

  /** Resumes a waiter removed by `drain` with `effect`. */
  static resumeWith(waiter: Waiter, effect: Effect.Effect<boolean>): void {
    const resume = waiter.resume
    waiter.resume = undefined
    resume?.(effect)
  }
}
