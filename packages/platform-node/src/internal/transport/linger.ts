/**
 * An idle worker thread lingers: once it has posted its last result and has
 * nothing in flight, it watches a doorbell for a short while before it goes
 * back to sleep in its event loop. Waking a thread that sleeps in its event
 * loop costs more than anything else on a round trip (15-35 µs of the
 * poster's time on a 2-core VM, while a trivial task's own code takes under
 * 1 µs).
 *
 * - The pool rings a worker's bell after every message it posts to it
 *   (`ringing`): it counts the message on the bell and wakes a worker that
 *   sleeps on it. The worker counts the messages it receives; a bell ahead of
 *   that count means that a message has been posted and not yet received.
 * - A worker spins on its bell for up to `SPIN_MILLIS`, from one of the
 *   process's linger seats, while fewer of the process's other workers are
 *   active than there are seats (on 2 cores: none). A task sent in that time
 *   wakes nobody and makes no system call. There are one fewer seats than
 *   cores, across every pool of the process, so that the thread that posts
 *   the next task keeps a core. A lingering thread holds its seat by its
 *   thread id; when a thread exits, the pool frees any seat it held
 *   (`freeSeat`).
 * - Otherwise (other workers are busy, or were within `ACTIVE_MILLIS`, so a
 *   spin would take a core they need), and after a spin that caught nothing,
 *   the worker sleeps on its bell with `Atomics.wait` for up to
 *   `SLEEP_MILLIS`: it takes no core, and the post that wakes it costs its
 *   poster about a third less than waking an event loop (a futex instead of
 *   an event fd; 10 against 16 µs measured). Its event loop does not run
 *   meanwhile, so the worker module's own timers and I/O, which have nothing
 *   in flight to serve, wait at most that long.
 * - A message that rings while the worker lingers is taken at once, with
 *   `receiveMessageOnPort`, rather than on the next turn of the event loop,
 *   which saves the turn's system calls (one task in flight per worker: 4 to
 *   11 % less process CPU time a task in 5 of 6 interleaved pairs of runs).
 * - While it lingers, its event loop does not turn: a linger runs inside the
 *   delivery of a message (or of the result before it), and a message that
 *   arrives meanwhile is delivered in the same turn. So a worker lingers only
 *   within `TURN_MILLIS` of its event loop's last turn (a `setImmediate`
 *   marks each); past that, it lets its messages run dry and the loop turn,
 *   so that the worker module's own timers and I/O run, however fast tasks
 *   keep coming.
 * - Each thread marks in `activity` whether it is busy (handling a message
 *   from the pool: a task's synchronous work runs then), or when it last
 *   was, so that the others can tell whether it is active. A worker whose
 *   tasks only wait (a timer, I/O, a live stream between items) takes no
 *   core, and after `ACTIVE_MILLIS` no longer counts.
 * - A linger that ends with no message backs off: the worker skips its next
 *   1, 3, 7... idle moments (up to 63) before it lingers again, and a linger
 *   that catches a message resets that. A worker whose callers come back
 *   slowly therefore lingers rarely, and its event loop runs undisturbed.
 *
 * Worker processes do not linger: they share no memory with the pool.
 *
 * @internal
 */
import { availableParallelism } from "node:os"
import { threadId } from "node:worker_threads"
import type { Channel } from "../protocol.ts"
import { processWide } from "../shared/threads.ts"

/** How long, at most, an idle worker spins on its bell. */
const SPIN_MILLIS = 0.1

/**
 * How long, at most, an idle worker sleeps on its bell before its event loop
 * runs again. Longer than the kernel's timer tick (4 ms at HZ=250, as on
 * this machine): a timed wait that ends before the next tick programs a timer of its
 * own, on every sleep, which cost the sleeper 3 µs more CPU a wake on a 2-core
 * VM (2 ms: 4.1 user and 4.0 system µs; 4 ms and more, as untimed: 2.6 and 2.4).
 */
const SLEEP_MILLIS = 5

/** How long after its event loop last turned an idle worker may still linger. */
const TURN_MILLIS = 1

/** A thread that was busy at most this long ago (by `Date.now`) still counts as active. */
const ACTIVE_MILLIS = 1

/** The most idle moments a worker skips after lingers that caught nothing: 2^6 - 1. */
const MAX_BACKOFF = 6

/** The most seats: threads that may linger at once in one process. */
const MAX_SEATS = 64

/** The slots of `activity`: a thread uses slot `threadId % ACTIVITY_SLOTS`. */
const ACTIVITY_SLOTS = 64

/** In a slot of `activity`: the thread is busy. */
const BUSY = -1

/**
 * The process's linger seats: each holds 0, or the id of the thread lingering
 * in it (plus one). Made by the main thread and handed to every worker, as the
 * register of dead threads is (see `shared/threads.ts`), so that pools started
 * inside workers share them.
 */
export const seats: Int32Array = processWide("linger-seats", "seats", () => {
  // One seat fewer than the cores: the thread that posts the next task keeps one.
  const count = Math.min(MAX_SEATS, availableParallelism() - 1)
  return new Int32Array(new SharedArrayBuffer(4 * Math.max(0, count)))
})

/**
 * Each worker thread's activity, handed to every worker as `seats` is: `BUSY`,
 * or when it last was (`Date.now()`, its low 31 bits). Two threads whose
 * ids are equal modulo the slots share one slot, which only makes them look
 * active to each other more or less often.
 */
export const activity: Int32Array = processWide(
  "linger-activity",
  "activity",
  () => new Int32Array(new SharedArrayBuffer(4 * ACTIVITY_SLOTS))
)

/** Frees the seat the thread `id` held, if it was lingering when it ended, and marks it idle. */
export const freeSeat = (id: number): void => {
  for (let i = 0; i < seats.length; i++) Atomics.compareExchange(seats, i, id + 1, 0)
  Atomics.compareExchange(activity, id % ACTIVITY_SLOTS, BUSY, 0)
}

/** A new bell, for one worker. */
export const makeBell = (): Int32Array => new Int32Array(new SharedArrayBuffer(4))

/** `channel`, ringing `bell` after every message it posts. */
export const ringing = (channel: Channel, bell: Int32Array): Channel => ({
  postMessage: (message, transfer) => {
    channel.postMessage(message, transfer)
    Atomics.add(bell, 0, 1)
    Atomics.notify(bell, 0, 1)
  }
})

const clock = (): number => Date.now() & 0x7fffffff

/** The worker's side of its bell. */
export class Linger {
  /** Messages received so far: the bell rings once for each. */
  private received = 0
  private busy = false
  /** When the event loop last turned (`performance.now`, in its check phase). */
  private turnAt = 0
  /** Whether a `setImmediate` will mark the event loop's next turn. */
  private armed = false
  /** Idle moments to skip before the next linger. */
  private skip = 0
  private backoff = 0
  private readonly bell: Int32Array
  private readonly mark = threadId + 1
  private readonly slot = threadId % ACTIVITY_SLOTS

  constructor(bell: Int32Array) {
    this.bell = bell
  }

  /** A message has arrived from the pool, through the event loop or taken at once (see `idle`): the worker is busy. */
  receivedOne(): void {
    this.received = (this.received + 1) | 0
    if (this.busy) return
    this.busy = true
    Atomics.store(activity, this.slot, BUSY)
  }

  /** The message has been handled: what is left in flight waits, or runs on later turns. */
  handled(): void {
    if (!this.busy) return
    this.busy = false
    Atomics.store(activity, this.slot, clock())
  }

  /**
   * The worker is idle, its last result posted: spins on the bell from a
   * free seat while fewer other workers are active than there are seats,
   * else (or if the spin caught nothing) sleeps on it; not at all past
   * `TURN_MILLIS` since the event loop last turned. Returns whether a
   * message rang, to be taken at once; otherwise its event loop takes any
   * message.
   */
  idle(): boolean {
    // It has just run what posted the last result.
    const now = clock()
    this.busy = false
    Atomics.store(activity, this.slot, now)
    if (this.skip > 0) {
      this.skip--
      return false
    }
    if (!this.armed) {
      this.armed = true
      setImmediate(this.turned)
    }
    if (performance.now() - this.turnAt >= TURN_MILLIS) return false
    if ((this.fewerActiveThan(seats.length, now) && this.spin()) || this.sleep()) {
      this.backoff = 0
      return true
    }
    this.backoff = Math.min(this.backoff + 1, MAX_BACKOFF)
    this.skip = (1 << this.backoff) - 1
    return false
  }

  /** The event loop has turned: a linger may follow again. */
  private readonly turned = (): void => {
    this.armed = false
    this.turnAt = performance.now()
  }

  /** Whether fewer than `limit` other threads are busy or were within `ACTIVE_MILLIS`; stops counting at `limit`. */
  private fewerActiveThan(limit: number, now: number): boolean {
    let active = 0
    for (let i = 0; i < ACTIVITY_SLOTS && active < limit; i++) {
      if (i === this.slot) continue
      const mark = Atomics.load(activity, i)
      const since = (now - mark) | 0
      if (mark === BUSY || (since >= 0 && since <= ACTIVE_MILLIS)) active++
    }
    return active < limit
  }

  /** Spins on the bell for up to `SPIN_MILLIS` from a free seat; whether it rang. */
  private spin(): boolean {
    let seat = 0
    while (seat < seats.length && Atomics.compareExchange(seats, seat, 0, this.mark) !== 0) seat++
    if (seat === seats.length) return false
    const until = performance.now() + SPIN_MILLIS
    let rang = this.rang()
    while (!rang && performance.now() < until) rang = this.rang()
    Atomics.store(seats, seat, 0)
    return rang
  }

  /** Sleeps on the bell for up to `SLEEP_MILLIS`; whether it rang. */
  private sleep(): boolean {
    return Atomics.wait(this.bell, 0, this.received, SLEEP_MILLIS) !== "timed-out"
  }

  /** Whether a message has been posted that this worker has not received. */
  private rang(): boolean {
    return ((Atomics.load(this.bell, 0) - this.received) | 0) > 0
  }
}
