/**
 * An idle worker thread lingers: once it has posted its last result and has
 * nothing in flight, it watches a doorbell for a short while before it goes
 * back to sleep in its event loop. Waking a sleeping thread costs more than
 * anything else on a round trip (15-35 µs of the poster's time on a 2-core
 * VM, while a trivial task's own code takes under 1 µs); a task that arrives
 * while its worker lingers wakes nobody.
 *
 * - The pool rings a worker's bell after every message it posts to it
 *   (`ringing`), and the worker counts the messages it receives. A bell
 *   ahead of that count means that a message has been posted and not yet
 *   received: the worker stops lingering, and its event loop takes the
 *   message at once.
 * - Fewer threads linger at once than the machine has cores, across every
 *   pool of the process, so that the thread that posts the next task always
 *   has a core. A lingering thread holds one of the process's linger seats
 *   (`seats`) by its thread id; when a thread exits, the pool frees any seat
 *   it held (`freeSeat`), so a thread terminated while it lingers leaks none.
 * - A linger that ends with no message backs off: the worker skips its next
 *   1, 3, 7... idle moments (up to 63) before it lingers again, and a linger
 *   that catches a message resets that. A worker whose callers come back
 *   slowly therefore lingers rarely.
 *
 * Worker processes do not linger: they share no memory with the pool.
 *
 * @internal
 */
import { availableParallelism } from "node:os"
import { threadId } from "node:worker_threads"
import type { Channel } from "../protocol.ts"
import { processWide } from "../shared/threads.ts"

/** How long, at most, an idle worker watches its bell. */
const LINGER_MILLIS = 0.1

/** The most idle moments a worker skips after lingers that caught nothing: 2^6 - 1. */
const MAX_BACKOFF = 6

/** The most seats: threads that may linger at once in one process. */
const MAX_SEATS = 64

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

/** Frees the seat the thread `id` held, if it was lingering when it ended. */
export const freeSeat = (id: number): void => {
  for (let i = 0; i < seats.length; i++) Atomics.compareExchange(seats, i, id + 1, 0)
}

/** A new bell, for one worker. */
export const makeBell = (): Int32Array => new Int32Array(new SharedArrayBuffer(4))

/** `channel`, ringing `bell` after every message it posts. */
export const ringing = (channel: Channel, bell: Int32Array): Channel => ({
  postMessage: (message, transfer) => {
    channel.postMessage(message, transfer)
    Atomics.add(bell, 0, 1)
  }
})

/** The worker's side of its bell. */
export class Linger {
  /** Messages received so far: the bell rings once for each. */
  private received = 0
  /** Idle moments to skip before the next linger. */
  private skip = 0
  private backoff = 0
  private readonly bell: Int32Array
  private readonly mark = threadId + 1

  constructor(bell: Int32Array) {
    this.bell = bell
  }

  /** A message has arrived from the pool. */
  receivedOne(): void {
    this.received = (this.received + 1) | 0
  }

  /**
   * The worker is idle, its last result posted: watches the bell for up to
   * `LINGER_MILLIS` from a free seat, then returns, so that its event loop
   * takes any message.
   */
  idle(): void {
    if (this.skip > 0) return void this.skip--
    let seat = 0
    while (seat < seats.length && Atomics.compareExchange(seats, seat, 0, this.mark) !== 0) seat++
    if (seat === seats.length) return
    const until = performance.now() + LINGER_MILLIS
    let rang = this.rang()
    while (!rang && performance.now() < until) rang = this.rang()
    Atomics.store(seats, seat, 0)
    if (rang) {
      this.backoff = 0
    } else {
      this.backoff = Math.min(this.backoff + 1, MAX_BACKOFF)
      this.skip = (1 << this.backoff) - 1
    }
  }

  /** Whether a message has been posted that this worker has not received. */
  private rang(): boolean {
    return ((Atomics.load(this.bell, 0) - this.received) | 0) > 0
  }
}
