/**
 * The job side of the pool's engine: the FIFO queue and its admission,
 * dispatch to the least-loaded worker under the cost model, settling results,
 * cancellation, and taking back tasks a busy worker has not started (work
 * stealing). `Pool` adds the workers themselves: starting, crashing,
 * recycling and stopping them.
 *
 * @internal
 */
import * as MutableList from "effect/MutableList"
import { CostModel } from "./costs.ts"
import { QueueFull, TaskTimeout, WorkerPoolClosed } from "./errors.ts"
import { Command, Reply } from "./protocol.ts"
import { type Job, LOOP_SAMPLE_MILLIS, type PoolConfig, type PoolObserver, type Slot, State } from "./slot.ts"

/** A result code the pool itself produces; its value is a typed pool error. */
export const POOL_ERROR = -1

/**
 * How long a task sent to a busy worker may wait there before an idle worker
 * takes it over: the pipelining budget (see `CostModel`), past which the
 * estimate that sent it there was wrong.
 */
const STEAL_AFTER_MILLIS = 1

/** The queue and dispatch; the worker hooks at the bottom are `Pool`'s. */
export abstract class Dispatcher {
  readonly slots: Array<Slot> = []
  /** Workers stopped or lost whose threads have not exited yet. */
  readonly dying = new Set<Slot>()
  readonly queue = MutableList.make<Job>()
  readonly admission = MutableList.make<Job>()
  queued = 0
  nextJobId = 1
  closing = false
  totals = {
    started: 0,
    succeeded: 0,
    failed: 0,
    cancelled: 0,
    crashed: 0,
    respawned: 0,
    startFailures: 0,
    malformed: 0,
    refused: 0,
    timedOut: 0
  }
  /** A pending second look at the queue: for workers whose streams were busy, or tasks to take over. */
  protected recheck: ReturnType<typeof setTimeout> | undefined = undefined
  /** Told once nothing is queued or in flight (while the pool closes). */
  protected onIdle: (() => void) | undefined = undefined
  readonly config: PoolConfig
  readonly observer: PoolObserver
  readonly costs: CostModel

  constructor(config: PoolConfig, observer: PoolObserver) {
    this.config = config
    this.costs = new CostModel(config.pipelining, config.isolation)
    this.observer = observer
  }

  /** Keeps the pool at its minimum size, and grows it while work waits. */
  protected abstract replenish(): void
  /** Stops a worker at once, because `culprit` ignored its interruption. */
  abstract terminate(slot: Slot, culprit: Job): void
  /** Recycles a worker that has run its share of tasks. */
  protected abstract retire(slot: Slot): void
  /** Stops an idle worker gracefully. */
  protected abstract stop(slot: Slot): void
  /** Stops a worker that stays idle past its time-to-live, above the minimum size. */
  protected abstract scheduleIdle(slot: Slot): void

  /**
   * Takes back every job in flight on `slot` that its worker has not started,
   * and puts them at the head of the queue (see `putBack`). Returns the jobs
   * that had started, and those that had not but whose buffers were moved to
   * the worker (they cannot be sent again); the caller decides their fate.
   */
  protected takeBackAll(slot: Slot): { readonly started: Array<Job>; readonly stranded: Array<Job> } {
    const started: Array<Job> = []
    const stranded: Array<Job> = []
    const back: Array<Job> = []
    // In flight in the order they were sent: a worker process may start the oldest without a claim.
    let sent = 0
    for (const job of slot.inflight.values()) {
      const oldest = sent++ === 0
      if (job.state !== State.Running) continue // being cancelled: settled when the thread is gone
      if (!slot.transport.claims.takeBack(job.cell, job.id, oldest)) started.push(job)
      // Its buffers went to the lost worker: sending it again would send them empty.
      else if (job.moved) stranded.push(job)
      else back.push(job)
    }
    this.putBack(slot, back)
    return { started, stranded }
  }

  /** Moves jobs taken back from `slot` to the head of the queue, oldest first, so that nothing overtakes them. */
  protected putBack(slot: Slot, jobs: Array<Job>): void {
    for (const job of jobs) {
      slot.inflight.delete(job.id)
      this.costs.finished(slot, job, false, performance.now())
      slot.releaseCell(job)
      clearTimeout(job.backstop)
      job.state = State.Queued
      job.slot = undefined
    }
    jobs.sort((a, b) => a.id - b.id)
    for (let i = jobs.length - 1; i >= 0; i--) MutableList.prepend(this.queue, jobs[i]!)
    this.queued += jobs.length
  }

  /**
   * Work stealing. While the queue is empty and a worker is idle, jobs that
   * were sent to another worker more than `STEAL_AFTER_MILLIS` ago and have
   * not started there (it is busy with a longer task than its estimate said)
   * are taken back and sent to the idle worker. Their old worker takes no new
   * work until one of its tasks ends.
   */
  protected steal(): void {
    if (this.queued > 0 || !this.hasIdleWorker()) return
    const cutoff = performance.now() - STEAL_AFTER_MILLIS
    let young = false
    for (const slot of this.slots) {
      if (!slot.ready || slot.dead || slot.inflight.size < 2) continue
      const back: Array<Job> = []
      let sent = 0
      for (const job of slot.inflight.values()) {
        const oldest = sent++ === 0
        // A job whose buffers were moved to this worker stays with it.
        if (job.state !== State.Running || job.moved || !slot.transport.claims.isWaiting(job.cell, job.id)) continue
        if (job.startedAt > cutoff) young = true
        else if (slot.transport.claims.takeBack(job.cell, job.id, oldest)) back.push(job)
      }
      if (back.length === 0) continue
      slot.behind = true
      this.putBack(slot, back)
    }
    if (this.queued > 0) this.dispatch()
    // Jobs still waiting on a busy worker, but not for long yet: look again once they have.
    else if (young) this.lookAgain(STEAL_AFTER_MILLIS)
  }

  /** Looks at the queue and the workers again after `millis`: once, however often it is asked. */
  protected lookAgain(millis: number): void {
    if (this.recheck !== undefined || this.closing) return
    this.recheck = setTimeout(() => {
      this.recheck = undefined
      this.dispatch()
      this.steal()
    }, millis)
    this.recheck.unref()
  }

  protected hasIdleWorker(): boolean {
    return this.slots.some((s) => s.ready && !s.retiring && s.inflight.size === 0)
  }

  /** The id for the next job. */
  nextJob(): number {
    return this.nextJobId++
  }

  submit(job: Job): void {
    if (this.closing) return job.onResult(POOL_ERROR, new WorkerPoolClosed({ task: job.task.name }))
    job.enqueuedAt = performance.now()
    const { maxQueue } = this.config
    if (maxQueue !== undefined && this.queued - this.starting() >= maxQueue) {
      if (this.config.onQueueFull === "fail") {
        this.totals.refused++
        this.observer.refused()
        return job.onResult(POOL_ERROR, new QueueFull({ task: job.task.name, maxQueue }))
      }
      job.state = State.Admitting
      MutableList.append(this.admission, job)
      return
    }
    this.enqueue(job)
  }

  protected enqueue(job: Job): void {
    // Nothing is queued ahead of it: a worker that admits it takes it at once, and the queue is left
    // alone (a list that empties and fills on every task makes a new bucket each time).
    if (this.queued === 0) {
      const now = performance.now()
      const slot = this.choose(job, now)
      if (slot !== undefined) return this.start(slot, job, now)
    }
    job.state = State.Queued
    MutableList.append(this.queue, job)
    this.queued++
    this.dispatch()
    if (this.queued > 0 && this.slots.length < this.config.maxSize) this.replenish()
  }

  /**
   * Workers that are starting: each will take a task as soon as it is ready,
   * so one queued task per starting worker does not count against `maxQueue`.
   * A cold pool then admits as much as a warm one.
   */
  protected starting(): number {
    let n = 0
    for (const slot of this.slots) if (!slot.ready && !slot.dead) n++
    return n
  }

  /** Lets waiting submitters into a bounded queue that has room again. */
  protected admit(): void {
    const { maxQueue } = this.config
    while (maxQueue !== undefined && this.queued - this.starting() < maxQueue && this.admission.length > 0) {
      const job = MutableList.take(this.admission) as Job
      if (job.state === State.Admitting) this.enqueue(job)
    }
  }

  /**
   * The oldest queued job, left at the head of the queue until a worker takes
   * it: taking it and putting it back when none admits it made a new bucket
   * each time. Jobs cancelled while queued are dropped on the way.
   */
  private headQueued(): Job | undefined {
    while (this.queue.head !== undefined) {
      const job = this.queue.head.array[this.queue.head.offset]!
      if (job.state === State.Queued) return job
      MutableList.take(this.queue)
    }
    return undefined
  }

  /** Whether some worker could take more work: a loop, not `slots.some`, which made a closure per task. */
  private anyHasRoom(now: number): boolean {
    for (const slot of this.slots) if (slot.ready && !slot.retiring && this.costs.hasRoom(slot, now)) return true
    return false
  }

  /** Sends queued jobs, in FIFO order, to the least-loaded workers that admit them. */
  dispatch(): void {
    // The clock is read only when there is work to place (an idle pool settles without it).
    const now = this.queued > 0 ? performance.now() : 0
    // While no worker can take more work (the usual state of a saturated pool), leave the queue alone.
    while (this.queued > 0 && this.anyHasRoom(now)) {
      const job = this.headQueued()
      if (job === undefined) break
      const best = this.choose(job, now)
      if (best === undefined) break
      MutableList.take(this.queue)
      this.queued--
      this.start(best, job, now)
    }
    // A worker held only by busy streams may be free again soon: look again, since no reply may come.
    if (this.queued > 0 && this.costs.liveStreams > 0) this.lookAgain(LOOP_SAMPLE_MILLIS)
    this.observer.queueDepth(this.queued)
    this.admit()
  }

  /** The least-loaded worker that admits `job` now, if any; sets the job's estimate. */
  private choose(job: Job, now: number): Slot | undefined {
    job.estimate = this.costs.estimate(job)
    let best: Slot | undefined
    for (const slot of this.slots) {
      if (!slot.ready || slot.retiring || !this.costs.admits(slot, job, now)) continue
      if (
        best === undefined ||
        slot.pendingCost < best.pendingCost ||
        (slot.pendingCost === best.pendingCost && slot.inflight.size < best.inflight.size)
      ) {
        best = slot
      }
    }
    return best
  }

  protected start(slot: Slot, job: Job, now: number): void {
    if (slot.inflight.size === 0) {
      slot.busySince = now
      clearTimeout(slot.idleTimer)
    }
    job.state = State.Running
    job.slot = slot
    job.startedAt = now
    slot.inflight.set(job.id, job)
    job.inflightAtStart = slot.inflight.size
    this.costs.started(slot, job, now)
    this.totals.started++
    this.observer.started(job, now - job.enqueuedAt)
    const span = job.span
    if (span !== undefined) {
      span.attribute("strand.worker.id", slot.id)
      span.attribute("strand.thread.id", slot.transport.threadId)
      if (slot.transport.isolation === "process") span.attribute("strand.process.id", slot.transport.pid)
      span.attribute("strand.queued_ms", now - job.enqueuedAt)
    }
    slot.sendJob(job)
    if (job.timeout > 0) this.backstop(slot, job)
    if (++slot.dispatched === this.config.maxTasksPerWorker) this.retire(slot)
  }

  /**
   * The worker enforces a job's timeout; this backstop stops a handler that
   * never yields. A method of its own: a closure in `start` would make `start`
   * allocate its variables on the heap on every call, timeout or not.
   */
  private backstop(slot: Slot, job: Job): void {
    job.backstop = setTimeout(() => {
      if (job.state !== State.Running) return
      job.state = State.Cancelling
      job.outcome = { code: POOL_ERROR, value: new TaskTimeout({ task: job.task.name, timeoutMillis: job.timeout }) }
      this.terminate(slot, job)
    }, job.timeout + this.config.gracePeriod)
  }

  /** Lets a stream's worker send `n` more items: its consumer has pulled that many. */
  credit(job: Job, n: number): void {
    if (job.state === State.Running) job.slot!.control(Command.Credit, job.id, n)
  }

  /** Finishes a job: frees its place on the worker and hands the result to the caller. */
  settle(job: Job, code: number, value: unknown): void {
    if (job.state === State.Done) return
    // A job stopped for a reason of the pool's (a timeout, a closing scope) reports that reason.
    if (code === Reply.Interrupted && job.outcome !== undefined) {
      code = job.outcome.code
      value = job.outcome.value
    }
    const slot = job.slot
    job.state = State.Done
    clearTimeout(job.backstop)
    if (slot?.inflight.delete(job.id)) {
      const now = performance.now()
      slot.releaseCell(job)
      slot.behind = false
      this.costs.finished(slot, job, code === Reply.Success, now)
      slot.completed++
      this.observer.finished(job, slot, code, value, now)
      if (slot.inflight.size === 0) {
        slot.busyMillis += now - slot.busySince
        this.observer.utilization(slot)
      }
    }
    if (code === Reply.Success || code === Reply.End) this.totals.succeeded++
    else if (code === Reply.Interrupted) this.totals.cancelled++
    else {
      this.totals.failed++
      if (code === Reply.Timeout || value instanceof TaskTimeout) {
        this.totals.timedOut++
        this.observer.timedOut()
      }
    }
    job.replay?.finish()
    job.end(code, value)
    job.onSettled?.()
    if (slot !== undefined && !slot.dead) {
      if (slot.retiring && slot.inflight.size === 0) this.stop(slot)
      else if (slot.inflight.size === 0) this.scheduleIdle(slot)
    }
    this.dispatch()
    if (slot?.inflight.size === 0) this.steal()
    this.checkIdle()
  }

  /** Cancels a job; the returned promise resolves once it has really stopped. */
  cancel(job: Job): Promise<void> | undefined {
    switch (job.state) {
      case State.Queued:
      case State.Admitting: {
        if (job.state === State.Queued) this.queued--
        job.state = State.Done
        job.release()
        this.totals.cancelled++
        this.observer.queueDepth(this.queued)
        this.admit()
        this.checkIdle()
        return undefined
      }
      case State.Running: {
        const slot = job.slot!
        job.state = State.Cancelling
        slot.control(Command.Interrupt, job.id)
        const grace = setTimeout(() => {
          if (job.state === State.Cancelling) this.terminate(slot, job)
        }, this.config.gracePeriod)
        return new Promise((resolve) => {
          job.onSettled = () => {
            clearTimeout(grace)
            resolve()
          }
        })
      }
      default:
        return undefined
    }
  }

  protected failQueued(error: (job: Job) => unknown): void {
    for (let job = this.headQueued(); job !== undefined; job = this.headQueued()) {
      MutableList.take(this.queue)
      this.queued--
      job.state = State.Done
      job.end(POOL_ERROR, error(job))
    }
    for (
      let job = MutableList.take(this.admission);
      job !== MutableList.Empty;
      job = MutableList.take(this.admission)
    ) {
      if (job.state !== State.Admitting) continue
      job.state = State.Done
      job.end(POOL_ERROR, error(job))
    }
    this.observer.queueDepth(this.queued)
  }

  protected checkIdle(): void {
    if (this.onIdle !== undefined && this.inflightCount() === 0 && this.queued === 0) this.onIdle()
  }

  inflightCount(): number {
    let n = 0
    for (const slot of this.slots) n += slot.inflight.size
    for (const slot of this.dying) n += slot.inflight.size
    return n
  }
}
