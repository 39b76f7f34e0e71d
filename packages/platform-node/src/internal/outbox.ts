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
 * The one-tick batching outbox of both ends: every entry queued in one tick
 * goes out in a single `postMessage`, as a flat array of `stride` slots per
 * entry, or sooner when the tick runs long (see `MAX_BATCH_MILLIS`). If the
 * batch cannot be posted (an entry structured clone cannot copy, a bad
 * transfer list), the entries are posted one by one, and each one that still
 * fails goes to `refused`, so that only it fails.
 */
export class Outbox {
  private entries: Array<unknown> = []
  /** The transfer list of each entry, by entry index; mostly empty. */
  private lists: Array<ReadonlyArray<TransferListItem> | undefined> = []
  private moving = false
  private lastPosted = 0
  /** Entries pushed since the last post. */
  private pushes = 0
  private readonly stride: number
  private readonly port: Channel
  private readonly refused: (entry: Array<unknown>, error: unknown) => void
  private readonly posted: () => void

  /** `posted` runs after each batch has gone out. */
  constructor(
    stride: number,
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
   * The array to push one entry of `stride` values onto, in place: the hot
   * path allocates nothing per entry. Call `pushed` once the entry is on it.
   */
  next(transfer: ReadonlyArray<TransferListItem> | undefined): Array<unknown> {
    if (this.entries.length === 0) void settled.then(this.flush)
    if (transfer !== undefined) {
      this.lists[this.entries.length / this.stride] = transfer
      this.moving = true
    }
    return this.entries
  }

  /**
   * An entry was pushed: post the batch now if the thread has been busy past
   * `MAX_BATCH_MILLIS`. Reading the clock costs about as much as queuing an
   * entry, so it is read for the first entry of a batch and every 32nd after.
   */
  pushed(): void {
    if ((this.pushes++ & 31) !== 0) return
    if (performance.now() - this.lastPosted >= MAX_BATCH_MILLIS) this.flush()
  }

  /** Drops what is queued (the other end is gone). */
  discard(): void {
    this.pushes = 0
    this.entries = []
    this.lists = []
    this.moving = false
  }

  private readonly flush = (): void => {
    const batch = this.entries
    const lists = this.lists
    const moving = this.moving
    this.discard()
    if (batch.length === 0) return
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
