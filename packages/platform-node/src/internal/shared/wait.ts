/**
 * Waiting on a shared cell, the two ways a thread may wait: as a fiber (with
 * `Atomics.waitAsync`, so that the thread's event loop keeps running) or by
 * blocking the thread (with `Atomics.wait`, refused on the main thread).
 *
 * Every wait is a slice of at most `SLICE_MILLIS`: the caller looks again after
 * each one, which is how a waiter notices that a holder has died, and bounds the
 * cost of a wake-up lost to an interrupted fiber.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import { BlockingOnMainThread } from "./errors.ts"
import { onMainThread } from "./threads.ts"

/** The longest a waiter sleeps before it looks at the shared state again. */
const SLICE_MILLIS = 50

/**
 * How many times a waiter reads the cell before it sleeps (a microsecond or two). Waking a
 * sleeping thread costs tens of microseconds (55 µs for a round trip of two on a 2-core VM),
 * while the other thread often answers within a few: reading first, then sleeping, is what
 * adaptive mutexes do.
 */
const SPINS = 1_000

/**
 * How a waiter on a count that moves only when someone may sleep (see `wake`)
 * says so: the flag it raises before it sleeps, and the cell whose change it
 * waits for, which moves without a notify, with its value when it last looked.
 */
export interface Flagged {
  readonly flag: number
  readonly cell: number
  readonly value: number
}

/** Whether the wait is over already: `view[index]` moved, or the flagged cell did. */
const moved = (view: Int32Array, index: number, expected: number, flagged: Flagged | undefined): boolean =>
  Atomics.load(view, index) !== expected ||
  (flagged !== undefined && Atomics.load(view, flagged.cell) !== flagged.value)

/** Whether the wait ended within a short spin. */
const changedSoon = (view: Int32Array, index: number, expected: number, flagged: Flagged | undefined): boolean => {
  for (let i = 0; i < SPINS; i++) if (moved(view, index, expected, flagged)) return true
  return false
}

/**
 * A pending `Atomics.waitAsync` does not keep Node's event loop alive: a thread whose only work
 * is a fiber waiting for another thread would simply end. While any fiber of this thread waits,
 * one ref'd timer keeps the loop running (made and cleared only when the count leaves or
 * reaches 0).
 */
let waiting = 0
let keepAlive: ReturnType<typeof setInterval> | undefined
const holdLoop = (): void => {
  if (waiting++ === 0) keepAlive = setInterval(() => {}, 1 << 30)
}
const releaseLoop = (): void => {
  if (--waiting === 0) {
    clearInterval(keepAlive)
    keepAlive = undefined
  }
}

/** How a wait ended: woken, the cell no longer held `expected`, or the slice ran out. */
export type Woken = "ok" | "not-equal" | "timed-out"

/**
 * Waits, as a fiber, until `view[index]` is notified or no longer `expected`,
 * for at most one slice. It can be interrupted, even where the caller is not
 * interruptible otherwise (so that what follows a successful wait, such as
 * taking a lock, cannot be cut off). A wake-up that lands on an interrupted
 * wait is passed on to the next waiter, so none is lost.
 */
export const waitAsync = (view: Int32Array, index: number, expected: number, flagged?: Flagged): Effect.Effect<Woken> =>
  Effect.interruptible(waitAsyncUninterruptible(view, index, expected, flagged))

/** `waitAsync`, under the caller's interruptibility: for a wait that must finish, such as taking a lock back. */
export const waitAsyncUninterruptible = (
  view: Int32Array,
  index: number,
  expected: number,
  flagged?: Flagged
): Effect.Effect<Woken> =>
  Effect.callback<Woken>((resume) => {
    if (changedSoon(view, index, expected, flagged) || !announce(view, index, expected, flagged)) {
      return resume(Effect.succeed("not-equal"))
    }
    const result = Atomics.waitAsync(view, index, expected, SLICE_MILLIS)
    if (!result.async) return resume(Effect.succeed(result.value))
    let abandoned = false
    holdLoop()
    void result.value.then((woken) => {
      releaseLoop()
      if (!abandoned) return resume(Effect.succeed(woken))
      if (woken === "ok") Atomics.notify(view, index, 1)
    })
    return Effect.sync(() => {
      abandoned = true
    })
  })

/**
 * Blocks this thread until `view[index]` is notified or no longer `expected`,
 * for at most one slice, or `deadline` (from `performance.now()`) if sooner.
 * Throws `BlockingOnMainThread` on the main thread.
 */
export const waitSync = (
  view: Int32Array,
  index: number,
  expected: number,
  deadline: number,
  operation: string,
  flagged?: Flagged
): Woken => {
  if (onMainThread) throw new BlockingOnMainThread({ operation })
  if (changedSoon(view, index, expected, flagged) || !announce(view, index, expected, flagged)) return "not-equal"
  return Atomics.wait(view, index, expected, Math.max(0, Math.min(SLICE_MILLIS, deadline - performance.now())))
}

/**
 * Raises the flag (where the wait has one) before this waiter sleeps; `false` if the wait is over
 * meanwhile. The flag goes up before the cells are read again, and a notifier reads the flag
 * after it has changed its cell, so one of the two always sees the other.
 */
const announce = (view: Int32Array, index: number, expected: number, flagged: Flagged | undefined): boolean => {
  if (flagged === undefined) return true
  Atomics.store(view, flagged.flag, 1)
  return !moved(view, index, expected, flagged)
}

/**
 * Wakes everyone who may sleep on the count `view[index]`, after the caller
 * changed the cell they watch (see `Flagged`): only if `view[flag]` is up does
 * it move the count and notify. It lowers the flag, so a burst of changes
 * costs a read each, and one notify. A sleeper that wakes for another reason
 * leaves the flag up, which costs at most one needless notify.
 */
export const wake = (view: Int32Array, index: number, flag: number): void => {
  if (Atomics.load(view, flag) === 0 || Atomics.exchange(view, flag, 0) === 0) return
  Atomics.add(view, index, 1)
  Atomics.notify(view, index)
}

/** The `performance.now()` deadline of a blocking wait of `timeoutMillis` (`undefined`: none). */
export const deadlineOf = (timeoutMillis: number | undefined): number =>
  timeoutMillis === undefined ? Number.POSITIVE_INFINITY : performance.now() + timeoutMillis
