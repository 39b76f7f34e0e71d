/**
 * The one-tick batching outbox that both ends of a worker's private channel
 * post through.
 *
 * @internal
 */
import type { TransferListItem } from "node:worker_threads"
import type { Channel } from "./protocol.ts"

/**
 * How long, at most, an entry waits in an outbox while its thread is busy. A
 * thread that runs synchronous work (a CPU-bound stream, tasks pipelined behind
 * a long one) does not reach the end of its tick for a long time; its outbox
 * then goes out as soon as a millisecond has passed since the last message.
 */
const MAX_BATCH_MILLIS = 1

/** Flushes are chained on it, not given to `queueMicrotask`, which makes an `AsyncResource` per call. */
const settled = Promise.resolve()

/**
 * A staging array that grew past this many slots (a burst of stream items, say)
 * is dropped after its batch, so that one burst does not hold memory for good.
 */
const MAX_KEPT_SLOTS = 1 << 16

/**
 * The one-tick batching outbox of both ends: every entry queued in one tick
 * goes out in a single `postMessage`, as a flat array of `stride` slots per
 * entry, or sooner when the tick runs long (see `MAX_BATCH_MILLIS`). If the
 * batch cannot be posted (an entry structured clone cannot copy, a bad
 * transfer list), the entries are posted one by one, and each one that still
 * fails goes to `refused`, so that only it fails.
 *
 * Entries are staged in an array kept from batch to batch, and each batch is
 * copied out of it at its exact size: an array grown from empty for every
 * batch allocated about three times the batch's size, on every task.
 */
export class Outbox {
  /** The staged entries in `[0, used)`; the slots past `used` hold `undefined`. */
  private staged: Array<unknown> = []
  private used = 0
  /** The transfer list of each entry, by entry index; mostly empty. */
  private lists: Array<ReadonlyArray<TransferListItem> | undefined> = []
  private moving = false
  private lastPosted = 0
  /** Entries put since the last post. */
  private puts = 0
  private readonly stride: 3 | 7
  private readonly port: Channel
  private readonly refused: (entry: Array<unknown>, error: unknown) => void
  private readonly posted: () => void

  /** `stride` is 3 (a result) or 7 (a command); `posted` runs after each batch has gone out. */
  constructor(
    stride: 3 | 7,
    port: Channel,
    refused: (entry: Array<unknown>, error: unknown) => void,
    posted: () => void = () => {}
  ) {
    this.stride = stride
    this.port = port
    this.refused = refused
    this.posted = posted
  }

  /**
   * Queues one entry: its first `stride` values (the others are ignored), and
   * the buffers to move with it. Posts the batch now if the thread has been
   * busy past `MAX_BATCH_MILLIS`; reading the clock costs about as much as
   * queuing an entry, so it is read for the first entry of a batch and every
   * 32nd after.
   */
  put(
    transfer: ReadonlyArray<TransferListItem> | undefined,
    v0: unknown,
    v1: unknown,
    v2: unknown,
    v3?: unknown,
    v4?: unknown,
    v5?: unknown,
    v6?: unknown
  ): void {
    const at = this.used
    if (at === 0) void settled.then(this.flush)
    if (transfer !== undefined) {
      this.lists[at / this.stride] = transfer
      this.moving = true
    }
    const staged = this.staged
    staged[at] = v0
    staged[at + 1] = v1
    staged[at + 2] = v2
    if (this.stride === 7) {
      staged[at + 3] = v3
      staged[at + 4] = v4
      staged[at + 5] = v5
      staged[at + 6] = v6
    }
    this.used = at + this.stride
    if ((this.puts++ & 31) !== 0) return
    if (performance.now() - this.lastPosted >= MAX_BATCH_MILLIS) this.flush()
  }

  /** Whether nothing is queued. */
  get empty(): boolean {
    return this.used === 0
  }

  /** Drops what is queued (the other end is gone). */
  discard(): void {
    this.staged = []
    this.reset()
  }

  /** Empties the batch; the staged slots must have been cleared or dropped. */
  private reset(): void {
    this.used = 0
    this.puts = 0
    this.lists = []
    this.moving = false
  }

  private readonly flush = (): void => {
    const used = this.used
    if (used === 0) return
    const batch = this.staged.slice(0, used)
    const lists = this.lists
    const moving = this.moving
    // What was sent is not kept alive by the staging array.
    if (this.staged.length > MAX_KEPT_SLOTS) this.staged = []
    else this.staged.fill(undefined, 0, used)
    this.reset()
    this.lastPosted = performance.now()
    try {
      this.port.postMessage(batch, moving ? lists.flatMap((list) => list ?? []) : undefined)
    } catch {
      for (let i = 0; i < batch.length; i += this.stride) {
        const entry = batch.slice(i, i + this.stride)
        try {
          this.port.postMessage(entry, lists[i / this.stride])
        } catch (error) {
          this.refused(entry, error)
        }
      }
    }
    this.posted()
  }
}
