/**
 * The cost model behind adaptive pipelining: how much work may be in flight on
 * one worker. Estimates are kept per task name; a task never seen before counts
 * as long, so a burst of CPU-bound tasks is never split ahead of time between
 * the workers, while trivial tasks are sent many to a message.
 *
 * @internal
 */
import type { Job, Slot } from "./slot.ts"

/** How much estimated work, in milliseconds, may be in flight on one worker. */
const BUDGET_MILLIS = 1
export const MAX_INFLIGHT = 64

/** @internal */
export class CostModel {
  /** Estimated milliseconds per run, by task name. */
  readonly costs = new Map<string, number>()
  readonly pipelining: number | "auto"

  constructor(pipelining: number | "auto") {
    this.pipelining = pipelining
  }

  estimate(job: Job): number {
    return this.costs.get(job.task.name) ?? Number.POSITIVE_INFINITY
  }

  /** Whether `slot` could take any more work at all: a cheap check before looking at the queue. */
  hasRoom(slot: Slot): boolean {
    if (slot.inflight.size === 0) return true
    if (this.pipelining !== "auto") return slot.inflight.size < this.pipelining
    return slot.pendingCost < BUDGET_MILLIS && slot.inflight.size < MAX_INFLIGHT
  }

  /** Whether `slot` may take `job` now: an idle worker always may. */
  admits(slot: Slot, job: Job): boolean {
    if (slot.inflight.size === 0) return true
    if (this.pipelining !== "auto") return slot.inflight.size < this.pipelining
    return slot.pendingCost + job.estimate <= BUDGET_MILLIS && slot.inflight.size < MAX_INFLIGHT
  }

  started(slot: Slot, job: Job): void {
    slot.pendingCost += charge(job)
  }

  /** Frees the job's share of the budget and learns from a successful run. */
  finished(slot: Slot, job: Job, succeeded: boolean, now: number): void {
    slot.pendingCost = slot.inflight.size === 0 ? 0 : slot.pendingCost - charge(job)
    if (!succeeded) return
    // Jumps up at once on a long run, decays slowly on short ones.
    const cost = (now - job.startedAt) / job.inflightAtStart
    const known = this.costs.get(job.task.name)
    this.costs.set(job.task.name, known === undefined || cost > known ? cost : known * 0.8 + cost * 0.2)
  }
}

const charge = (job: Job): number => (Number.isFinite(job.estimate) ? job.estimate : BUDGET_MILLIS)
