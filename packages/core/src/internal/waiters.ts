/**
 * The FIFO wait queue behind every blocking Strand primitive.
 *
 * A waiter is parked with `Effect.callback`. Whoever grants it (a release, a
 * notify, a barrier trip) unlinks it, marks it granted and schedules its
 * resumption (`resumeSoon`), so a hand-off costs O(1) and never runs another
 * fiber on the granter's stack. A waiter that is
 * interrupted (or times out) before it resumes is unlinked in O(1); if it had
 * already been granted, `onLostGrant` passes the grant on, so nothing leaks.
 *
 * Timed waits never race a forked copy of the wait against a sleep (a forked
 * waiter could be granted after the race was lost): a timer fiber expires the
 * waiter in place, and expiring and granting are decided synchronously, so
 * exactly one of them happens.
 *
 * The queue is an intrusive doubly-linked list: a waiter costs one small
 * object, which keeps 100,000 parked fibers cheap.
 *
 * @internal
 */
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"

/** @internal */
export class Waiter<D = undefined> {
  /** The waiting fiber, which will own whatever is granted. */
  readonly fiber: Fiber.Fiber<unknown, unknown>
  /** What the waiter asks for: a permit count, an item to offer. */
  readonly data: D
  granted = false
  prev: Waiter<D> | undefined = undefined
  next: Waiter<D> | undefined = undefined
  resume: ((effect: Effect.Effect<boolean>) => void) | undefined = undefined

  constructor(fiber: Fiber.Fiber<unknown, unknown>, data: D) {
    // Not `fiber.currentDispatcher`: reading it allocates a dispatcher, which only a granted waiter needs.
    this.fiber = fiber
    this.data = data
  }
}

/** @internal */
export const makeWaiter = (fiber: Fiber.Fiber<unknown, unknown>): Waiter => new Waiter(fiber, undefined)

const granted = Effect.succeed(true)
const expired = Effect.succeed(false)

/**
 * The most hand-offs resumed on a microtask in one turn of the event loop;
 * the rest of that turn's go through the scheduler.
 */
const MAX_INLINE = 64
/** Hand-offs resumed on a microtask since the scheduler last ran `endTurn`. */
let inline = 0
const endTurn = () => {
  inline = 0
}
/** Resumptions are chained on it, not given to `queueMicrotask`, which makes an `AsyncResource` per call. */
const settled = Promise.resolve()

/**
 * Schedules a granted waiter's resumption. A microtask runs it once the
 * granter's fiber has stopped, in the same turn of the event loop, as a
 * promise-based lock hands off; a scheduled task would wait for the next turn,
 * which doubles the cost of a contended hand-off. So that fibers handing a
 * lock back and forth cannot starve the event loop (timers, I/O, signals),
 * at most `MAX_INLINE` hand-offs per turn take a microtask, and the rest the
 * waiting fiber's dispatcher. (Effect resumes a fiber parked on a promise the
 * same way, outside its dispatcher.) A fiber on a scheduler in "sync"
 * execution mode, which `Effect.runSync` flushes, always resumes through its
 * dispatcher.
 */
const resumeSoon = (fiber: Fiber.Fiber<unknown, unknown>, resume: () => void): void => {
  const dispatcher = fiber.currentDispatcher
  if (inline < MAX_INLINE && fiber.cache.scheduler.executionMode === "async") {
    if (inline++ === 0) dispatcher.scheduleTask(endTurn, 0)
    void settled.then(resume)
  } else {
    dispatcher.scheduleTask(resume, 0)
  }
}

/** @internal */
export class WaitQueue<D = undefined> {
  first: Waiter<D> | undefined = undefined
  last: Waiter<D> | undefined = undefined
  size = 0
  /** Passes on a grant whose waiter was interrupted before it resumed. */
  readonly onLostGrant: (waiter: Waiter<D>) => void
  /** Called after a waiter leaves without a grant (interrupted or timed out). */
  readonly onLeave: (() => void) | undefined

  constructor(options?: {
    readonly onLostGrant?: ((waiter: Waiter<D>) => void) | undefined
    readonly onLeave?: (() => void) | undefined
  }) {
    this.onLostGrant = options?.onLostGrant ?? (() => {})
    this.onLeave = options?.onLeave
  }

  /** The longest-waiting waiter, or `undefined`. */
  head(): Waiter<D> | undefined {
    return this.first
  }

  private link(waiter: Waiter<D>): void {
    waiter.prev = this.last
    waiter.next = undefined
    if (this.last === undefined) this.first = waiter
    else this.last.next = waiter
    this.last = waiter
    this.size++
  }

  /** Removes `waiter` if it is queued; tells whether it was. */
  private unlink(waiter: Waiter<D>): boolean {
    // Only the first waiter has no predecessor.
    if (waiter.prev === undefined && this.first !== waiter) return false
    if (waiter.prev === undefined) this.first = waiter.next
    else waiter.prev.next = waiter.next
    if (waiter.next === undefined) this.last = waiter.prev
    else waiter.next.prev = waiter.prev
    waiter.prev = undefined
    waiter.next = undefined
    this.size--
    return true
  }

  /**
   * Parks the current fiber until `grant` is called for `waiter` (then it
   * succeeds with `true`) or until `timeout` passes (then `false`). If the
   * fiber is interrupted first, the waiter is removed; if it had been granted
   * but not resumed yet, `onLostGrant` passes the grant to someone else.
   */
  park(waiter: Waiter<D>, timeout?: Duration.Input): Effect.Effect<boolean> {
    const wait = Effect.callback<boolean>((resume) => {
      waiter.resume = resume
      this.link(waiter)
      return Effect.sync(() => {
        waiter.resume = undefined
        if (waiter.granted) {
          waiter.granted = false
          this.onLostGrant(waiter)
        } else if (this.unlink(waiter)) {
          this.onLeave?.()
        }
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

  /** Removes `waiter` from the queue and schedules its resumption (see `resumeSoon`). */
  grant(waiter: Waiter<D>): void {
    this.unlink(waiter)
    waiter.granted = true
    resumeSoon(waiter.fiber, () => {
      const resume = waiter.resume
      if (waiter.granted && resume !== undefined) {
        waiter.resume = undefined
        resume(granted)
      }
    })
  }

  /** Ends a timed wait that has not been granted. */
  private expire(waiter: Waiter<D>): void {
    if (waiter.granted || !this.unlink(waiter)) return
    const resume = waiter.resume
    waiter.resume = undefined
    this.onLeave?.()
    resume?.(expired)
  }

  /** Removes every waiter and hands each one to `f` (for shutdown and abort). */
  drain(f: (waiter: Waiter<D>) => void): void {
    const all: Array<Waiter<D>> = []
    for (let w = this.first; w !== undefined; w = w.next) all.push(w)
    for (const waiter of all) this.unlink(waiter)
    for (const waiter of all) f(waiter)
  }

  /** Resumes a waiter removed by `drain` with `effect`. */
  static resumeWith(waiter: Waiter<any>, effect: Effect.Effect<boolean>): void {
    const resume = waiter.resume
    waiter.resume = undefined
    resume?.(effect)
  }
}
