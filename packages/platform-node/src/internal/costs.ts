/**
 * The cost model behind adaptive pipelining: how much work may be in flight on
 * one worker. Estimates are kept per task name; a task never seen before counts
 * as long, so a burst of CPU-bound tasks is never split ahead of time between
 * the workers, while trivial tasks are sent many to a message.
 *
 * A stream is not charged by its life, which may be hours of waiting between
 * items, but by what its worker does: while the worker's event loop is mostly
 * busy, the stream fills the worker's budget; while it is mostly idle, other
 * tasks run beside the stream as if it were not there.
 *
 * @internal
 */
import type { Isolation, Job, Slot } from "./slot.ts"

/**
 * How much estimated work, in milliseconds, may be in flight on one worker,
 * and how many tasks at most. A worker process gets more: each message costs
 * it several times what it costs a thread, and the round trip is part of
 * what a task's estimate measures, so with a thread's budget its batches
 * stay small (measured: about 1.45x the pipelined throughput with these).
 */
const BUDGET_MILLIS = { thread: 1, process: 4 } as const
export const MAX_INFLIGHT = { thread: 64, process: 256 } as const

/** @internal */
export class CostModel {
  /** Estimated milliseconds per run, by task name. */
  readonly costs = new Map<string, number>()
  readonly pipelining: number | "auto"
  /** How much estimated work may be in flight on one of this pool's workers (see `BUDGET_MILLIS`). */
  private readonly budget: number
  /** Streams in flight on all workers: while there are none, no worker's event loop is sampled. */
  liveStreams = 0

  constructor(pipelining: number | "auto", isolation: Isolation) {
    this.pipelining = pipelining
    this.budget = BUDGET_MILLIS[isolation]
  }

  estimate(job: Job): number {
    return this.costs.get(job.task.name) ?? Number.POSITIVE_INFINITY
  }

  /** Whether `slot` could take any more work at all: a cheap check before looking at the queue. */
  hasRoom(slot: Slot, now: number): boolean {
    if (slot.inflight.size === 0) return true
    if (!slot.hasCell()) return false
    if (this.pipelining !== "auto") return slot.inflight.size < this.pipelining
    return slot.pendingCost < this.budget && !slot.behind && !this.streamsBusy(slot, now)
  }

  /** Whether `slot` may take `job` now: an idle worker always may, and so may one whose streams wait. */
  admits(slot: Slot, job: Job, now: number): boolean {
    if (slot.inflight.size === 0) return true
    if (!slot.hasCell()) return false
    if (this.pipelining !== "auto") return slot.inflight.size < this.pipelining
    if (slot.behind || this.streamsBusy(slot, now)) return false
    return slot.inflight.size === slot.streams || slot.pendingCost + job.estimate <= this.budget
  }

  private streamsBusy(slot: Slot, now: number): boolean {
    return slot.streams > 0 && slot.loopIsBusy(now)
  }

  started(slot: Slot, job: Job, now: number): void {
    if (job.task._tag === "StreamTask") {
      this.liveStreams++
      if (slot.streams++ === 0) slot.sampleLoop(now)
    } else {
      slot.pendingCost += this.charge(job)
    }
  }

  /**
   * Frees the job's share of the budget and learns from a successful run (not
   * from a stream's life, nor from a job taken back before it started).
   */
  finished(slot: Slot, job: Job, succeeded: boolean, now: number): void {
    if (job.task._tag === "StreamTask") {
      this.liveStreams--
      slot.streams--
      return
    }
    slot.pendingCost = slot.inflight.size === slot.streams ? 0 : slot.pendingCost - this.charge(job)
    if (!succeeded) return
    // Jumps up at once on a long run, decays slowly on short ones.
    const cost = (now - job.startedAt) / job.inflightAtStart
    const known = this.costs.get(job.task.name)
    this.costs.set(job.task.name, known === undefined || cost > known ? cost : known * 0.8 + cost * 0.2)
  }

  /** What `job` counts for in its worker's budget: its estimate, or the whole budget when unknown. */
  private charge(job: Job): number {
    return Number.isFinite(job.estimate) ? job.estimate : this.budget
  }
}
