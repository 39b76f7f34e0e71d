/**
 * The worker pool's engine: worker slots, the FIFO job queue and dispatch.
 *
 * It runs outside any fiber, on worker events and microtasks, so that every
 * step of a job's life is O(1) and costs no fiber switch: a caller parks on an
 * `Effect.callback`, the pool resumes it when the result arrives.
 *
 * @internal
 */

import * as MutableList from "effect/MutableList"
import { CostModel } from "./costs.ts"
import { PayloadError, QueueFull, TaskTimeout, WorkerCrashed, WorkerPoolClosed, WorkerSpawnError } from "./errors.ts"
import { Command, isControl, isReply, isReplyBatch, isWaiting, RESULT_STRIDE, Reply, takeBack } from "./protocol.ts"
import { type Job, LOOP_SAMPLE_MILLIS, type PoolConfig, type PoolObserver, Slot, State } from "./slot.ts"
import { startThread, type Thread } from "./thread.ts"

export { Job, type PoolConfig, type PoolObserver, Slot } from "./slot.ts"

/** How long a worker that is being stopped may take to hand over its buffered stdout and stderr. */
const DRAIN_BOUND_MILLIS = 1000

/** A result code the pool itself produces; its value is a typed pool error. */
export const POOL_ERROR = -1

/**
 * How long a task sent to a busy worker may wait there before an idle worker
 * takes it over: the pipelining budget (see `CostModel`), past which the
 * estimate that sent it there was wrong.
 */
const STEAL_AFTER_MILLIS = 1

/** The pool engine. */
export class Pool {
  readonly slots: Array<Slot> = []
  /** Started, idle workers that are not in the pool yet: they replace a lost worker at once. */
  readonly spares: Array<Slot> = []
  readonly dying = new Set<Slot>()
  readonly queue = MutableList.make<Job>()
  readonly admission = MutableList.make<Job>()
  queued = 0
  nextJobId = 1
  nextSlotId = 1
  /** Start failures in a row; a worker that becomes ready resets it. */
  startupFailures = 0
  lastStartupFailure = ""
  closing = false
  backoff: ReturnType<typeof setTimeout> | undefined = undefined
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
  private recheck: ReturnType<typeof setTimeout> | undefined = undefined
  /** Callers of `awaitReady`, told when every starting worker is ready or one fails. */
  private readyWaiters: Array<(error: WorkerSpawnError | undefined) => void> = []
  readonly config: PoolConfig
  readonly observer: PoolObserver
  private onIdle: (() => void) | undefined = undefined

  readonly costs: CostModel

  constructor(config: PoolConfig, observer: PoolObserver) {
    this.config = config
    this.costs = new CostModel(config.pipelining)
    this.observer = observer
  }

  // ---------------------------------------------------------------- workers

  /** Starts a worker; a module that cannot even be loaded counts as a startup failure. */
  spawn(spare = false): Slot | undefined {
    const { config } = this
    let slot: Slot | undefined
    let thread: Thread
    try {
      thread = startThread(config, () => slot!.ready, {
        protocol: (message) => this.onMessage(slot!, message),
        // The module's own messages on parentPort: never results, handed to the caller's `messages`.
        stray: (message) => this.observer.message(slot!, message),
        failed: (reason) => this.crashed(slot!, { reason }),
        exited: (exitCode) => {
          this.crashed(slot!, { reason: `the worker thread exited with code ${exitCode}`, exitCode })
          this.exited(slot!)
        }
      })
    } catch (error) {
      this.totals.startFailures++
      this.startupFailed(error instanceof Error ? error.message : String(error))
      return undefined
    }
    const started = new Slot(this.nextSlotId++, thread.worker, thread.port, thread.cells, (id, issue) =>
      this.unsendable(started, id, issue)
    )
    slot = started
    started.spare = spare
    if (spare) this.spares.push(started)
    else this.slots.push(started)
    started.startTimer = setTimeout(() => {
      if (started.ready || started.dead) return
      started.startFailure =
        `it did not report ready within ${config.startupTimeout / 1000} s (startupTimeout). Does ` +
        `${config.module.pathname} call WorkerRunner.launch at its top level? A module that never calls it ` +
        "keeps the thread alive doing nothing"
      this.crashed(started, { reason: started.startFailure })
      void started.worker.terminate()
    }, config.startupTimeout)
    started.startTimer.unref()
    return started
  }

  private onMessage(slot: Slot, message: unknown): void {
    if (isReplyBatch(message)) {
      for (let i = 0; i < message.length; i += RESULT_STRIDE) {
        if (!isReply(message, i)) {
          this.malformed(slot)
          continue
        }
        const job = slot.inflight.get(message[i + 1] as number)
        if (job === undefined) continue
        const code = message[i] as number
        if (code === Reply.Item) job.onResult(code, message[i + 2])
        else this.settle(job, code, message[i + 2])
      }
      return
    }
    if (!isControl(message)) return this.malformed(slot)
    switch (message._) {
      case "ready": {
        if (slot.dead) return
        clearTimeout(slot.startTimer)
        slot.ready = true
        this.startupFailures = 0
        if (!slot.spare) {
          this.dispatch()
          this.steal()
        }
        this.notifyReady()
        return
      }
      case "failed":
        slot.startFailure = message.reason
        return
      case "drained":
        slot.drained?.()
        return
    }
  }

  private malformed(slot: Slot): void {
    this.totals.malformed++
    this.observer.warn(`worker #${slot.id} sent a malformed message on the pool's channel; it was ignored`)
  }

  /** A command whose payload structured clone cannot copy: only that task fails. */
  private unsendable(slot: Slot, id: number, issue: string): void {
    const job = slot.inflight.get(id)
    if (job !== undefined)
      this.settle(job, POOL_ERROR, new PayloadError({ task: job.task.name, side: "caller", issue }))
  }

  /** A worker stopped unexpectedly: fail its jobs at once and replace it. */
  private crashed(slot: Slot, crash: { reason: string; exitCode?: number }): void {
    if (slot.dead) return
    clearTimeout(slot.startTimer)
    slot.crash = crash
    this.remove(slot)
    if (!slot.ready) {
      this.totals.startFailures++
      return this.startupFailed(slot.startFailure ?? crash.reason)
    }
    this.totals.crashed++
    if (slot.inflight.size === 0) {
      // Nobody is waiting on this worker, so nobody would hear why it went: log it.
      this.observer.warn(`worker #${slot.id} (thread ${slot.worker.threadId}) crashed between tasks: ${crash.reason}`)
    }
    // A ready spare takes the worker's place before its callers resume, so they see a full pool;
    // starting a new thread (milliseconds of work) waits until they have been told.
    this.promoteSpare(this.config.minSize)
    // The tasks it had not started go back to the queue: they never ran. Those it had started fail.
    const started = this.takeBackAll(slot)
    for (const job of started) {
      this.settle(
        job,
        POOL_ERROR,
        new WorkerCrashed({ task: job.task.name, workerId: slot.id, reason: crash.reason, ...exitCodeOf(crash) })
      )
    }
    this.replenish()
  }

  /** Moves a ready spare into the pool while it has fewer than `below` live workers. */
  private promoteSpare(below: number): boolean {
    const live = this.slots.filter((s) => !s.retiring).length
    const spare = this.spares.findIndex((s) => s.ready)
    if (live >= below || spare < 0) return false
    const [slot] = this.spares.splice(spare, 1)
    slot!.spare = false
    this.slots.push(slot!)
    this.totals.respawned++
    return true
  }

  /** A worker died before it was ready: fail what cannot run, and retry with a backoff. */
  private startupFailed(reason: string): void {
    this.startupFailures++
    this.lastStartupFailure = reason
    if (!this.slots.some((s) => s.ready)) {
      this.failQueued(() => new WorkerSpawnError({ module: String(this.config.module), reason }))
    } else {
      this.observer.warn(`a replacement worker did not start: ${reason}`)
    }
    this.notifyReady()
    this.replenish()
  }

  /** The thread is gone: jobs that were being cancelled on it are now settled. */
  private exited(slot: Slot): void {
    this.dying.delete(slot)
    for (const job of Array.from(slot.inflight.values())) this.settle(job, Reply.Interrupted, undefined)
    slot.markExited()
    this.checkIdle()
  }

  /** Stops giving `slot` work and takes it out of the pool. */
  private remove(slot: Slot): void {
    slot.dead = true
    slot.retiring = true
    clearTimeout(slot.idleTimer)
    const list = slot.spare ? this.spares : this.slots
    const index = list.indexOf(slot)
    if (index >= 0) list.splice(index, 1)
    this.dying.add(slot)
  }

  /**
   * Terminates a worker that must stop now, because `culprit` ignored its
   * interruption. Of the other jobs in flight on it, those that had not
   * started go back to the head of the queue, in order (they never ran); those
   * that had started fail with `WorkerCrashed` and are not run again behind
   * their callers' backs.
   */
  terminate(slot: Slot, culprit: Job): void {
    if (slot.dead) return
    this.remove(slot)
    const started = this.takeBackAll(slot)
    const reason =
      `its worker was stopped to end task "${culprit.task.name}", which ignored its interruption; ` +
      "this task had started, so it is not run again"
    for (const job of started) {
      this.settle(job, POOL_ERROR, new WorkerCrashed({ task: job.task.name, workerId: slot.id, reason }))
    }
    void slot.worker.terminate()
    this.replenish()
  }

  /**
   * Takes back every job in flight on `slot` that its worker has not started,
   * and puts them at the head of the queue (see `putBack`). Returns the jobs
   * that had started and are not being cancelled: the caller decides their
   * fate.
   */
  private takeBackAll(slot: Slot): Array<Job> {
    const started: Array<Job> = []
    const back: Array<Job> = []
    for (const job of slot.inflight.values()) {
      if (job.state !== State.Running) continue // being cancelled: settled when the thread is gone
      if (takeBack(slot.cells, job.cell, job.id)) back.push(job)
      else started.push(job)
    }
    this.putBack(slot, back)
    return started
  }

  /** Moves jobs taken back from `slot` to the head of the queue, oldest first, so that nothing overtakes them. */
  private putBack(slot: Slot, jobs: Array<Job>): void {
    for (const job of jobs) {
      slot.inflight.delete(job.id)
      this.costs.takenBack(slot, job)
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
  private steal(): void {
    if (this.queued > 0 || !this.hasIdleWorker()) return
    const cutoff = performance.now() - STEAL_AFTER_MILLIS
    let young = false
    for (const slot of this.slots) {
      if (!slot.ready || slot.dead || slot.inflight.size < 2) continue
      const back: Array<Job> = []
      for (const job of slot.inflight.values()) {
        if (job.state !== State.Running || !isWaiting(slot.cells, job.cell, job.id)) continue
        if (job.startedAt > cutoff) young = true
        else if (takeBack(slot.cells, job.cell, job.id)) back.push(job)
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
  private lookAgain(millis: number): void {
    if (this.recheck !== undefined || this.closing) return
    this.recheck = setTimeout(() => {
      this.recheck = undefined
      this.dispatch()
      this.steal()
    }, millis)
    this.recheck.unref()
  }

  /** Starts the pool's first workers and its spares. */
  open(): void {
    for (let i = 0; i < this.config.minSize; i++) this.spawn()
    for (let i = 0; i < this.config.spares; i++) this.spawn(true)
  }

  /**
   * Keeps the pool at its minimum size, and grows it while work waits: a ready
   * spare takes a lost worker's place at once, then a new spare is started.
   */
  private replenish(afterBackoff = false): void {
    if (this.closing || (this.backoff !== undefined && !afterBackoff)) return
    const starting = this.slots.filter((s) => !s.ready).length
    const live = this.slots.filter((s) => !s.retiring).length
    let wanted = Math.max(0, this.config.minSize - live)
    if (wanted === 0 && live < this.config.maxSize && this.queued > starting && !this.hasIdleWorker()) wanted = 1
    for (; wanted > 0; wanted--) {
      // A ready spare serves at once, whether it replaces a lost worker or grows the pool.
      if (this.promoteSpare(this.config.maxSize)) continue
      if (this.startupFailures > 0 && !afterBackoff) {
        // A worker that dies before it is ready would die again at once: back off.
        const delay = Math.min(5000, 50 * 2 ** this.startupFailures)
        this.backoff = setTimeout(() => {
          this.backoff = undefined
          this.replenish(true)
        }, delay)
        this.backoff.unref()
        return
      }
      afterBackoff = false
      this.spawn()
      this.totals.respawned++
    }
    while (this.spares.length < this.config.spares && this.startupFailures === 0) this.spawn(true)
    this.dispatch()
  }

  private hasIdleWorker(): boolean {
    return this.slots.some((s) => s.ready && !s.retiring && s.inflight.size === 0)
  }

  // ------------------------------------------------------------------- jobs

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

  private enqueue(job: Job): void {
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
  private starting(): number {
    let n = 0
    for (const slot of this.slots) if (!slot.ready && !slot.dead) n++
    return n
  }

  /** Lets waiting submitters into a bounded queue that has room again. */
  private admit(): void {
    const { maxQueue } = this.config
    while (maxQueue !== undefined && this.queued - this.starting() < maxQueue && this.admission.length > 0) {
      const job = MutableList.take(this.admission) as Job
      if (job.state === State.Admitting) this.enqueue(job)
    }
  }

  private takeQueued(): Job | undefined {
    while (this.queue.length > 0) {
      const job = MutableList.take(this.queue) as Job
      if (job.state !== State.Queued) continue // cancelled while queued
      this.queued--
      return job
    }
    return undefined
  }

  /** Sends queued jobs, in FIFO order, to the least-loaded workers that admit them. */
  dispatch(): void {
    const now = performance.now()
    // While no worker can take more work (the usual state of a saturated pool), leave the queue alone.
    while (
      this.queued > 0 &&
      this.slots.some((slot) => slot.ready && !slot.retiring && this.costs.hasRoom(slot, now))
    ) {
      const job = this.takeQueued()
      if (job === undefined) break
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
      if (best === undefined) {
        MutableList.prepend(this.queue, job)
        this.queued++
        break
      }
      this.start(best, job, now)
    }
    // A worker held only by busy streams may be free again soon: look again, since no reply may come.
    if (this.queued > 0 && this.slots.some((slot) => slot.streams > 0)) this.lookAgain(LOOP_SAMPLE_MILLIS)
    this.observer.queueDepth(this.queued)
    this.admit()
  }

  private start(slot: Slot, job: Job, now: number): void {
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
    this.observer.started(now - job.enqueuedAt)
    slot.sendJob(job)
    if (job.timeout > 0) {
      // The worker enforces the timeout; this backstop stops a handler that never yields.
      job.backstop = setTimeout(() => {
        if (job.state !== State.Running) return
        job.state = State.Cancelling
        job.outcome = { code: POOL_ERROR, value: new TaskTimeout({ task: job.task.name, timeoutMillis: job.timeout }) }
        this.terminate(slot, job)
      }, job.timeout + this.config.gracePeriod)
    }
    if (++slot.dispatched === this.config.maxTasksPerWorker) this.retire(slot)
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
      this.observer.finished(code, now - job.startedAt)
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
    job.onResult(code, value)
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

  /** Recycles a worker that has run its share of tasks. */
  private retire(slot: Slot): void {
    slot.retiring = true
    this.replenish()
    if (slot.inflight.size === 0) this.stop(slot)
  }

  /** Stops an idle worker gracefully: it first hands over its buffered output, within a bound. */
  private stop(slot: Slot): void {
    if (slot.dead) return
    const drained = slot.drain(DRAIN_BOUND_MILLIS)
    this.remove(slot)
    void drained.then(() => slot.worker.terminate())
  }

  private scheduleIdle(slot: Slot): void {
    if (this.slots.length <= this.config.minSize || this.closing) return
    clearTimeout(slot.idleTimer)
    slot.idleTimer = setTimeout(() => {
      if (slot.inflight.size === 0 && this.slots.length > this.config.minSize) this.stop(slot)
    }, this.config.idleTimeToLive)
    slot.idleTimer.unref()
  }

  private failQueued(error: (job: Job) => unknown): void {
    for (let job = this.takeQueued(); job !== undefined; job = this.takeQueued()) {
      job.state = State.Done
      job.onResult(POOL_ERROR, error(job))
    }
    for (
      let job = MutableList.take(this.admission);
      job !== MutableList.Empty;
      job = MutableList.take(this.admission)
    ) {
      if (job.state !== State.Admitting) continue
      job.state = State.Done
      job.onResult(POOL_ERROR, error(job))
    }
    this.observer.queueDepth(this.queued)
  }

  // -------------------------------------------------------------- lifecycle

  /** Resolves once every starting worker (spares too) is ready, or with the first startup failure. */
  awaitReady(): Promise<WorkerSpawnError | undefined> {
    return new Promise((resolve) => {
      this.readyWaiters.push(resolve)
      this.notifyReady()
    })
  }

  private notifyReady(): void {
    if (this.readyWaiters.length === 0) return
    let outcome: WorkerSpawnError | undefined
    if (this.startupFailures > 0) {
      outcome = new WorkerSpawnError({ module: String(this.config.module), reason: this.lastStartupFailure })
    } else if (!this.slots.every((s) => s.ready) || !this.spares.every((s) => s.ready)) {
      return
    }
    const waiters = this.readyWaiters
    this.readyWaiters = []
    for (const resolve of waiters) resolve(outcome)
  }

  private checkIdle(): void {
    if (this.onIdle !== undefined && this.inflightCount() === 0 && this.queued === 0) this.onIdle()
  }

  inflightCount(): number {
    let n = 0
    for (const slot of this.slots) n += slot.inflight.size
    for (const slot of this.dying) n += slot.inflight.size
    return n
  }

  /** Closes the pool: finishes or interrupts the work, then terminates every worker. */
  async close(): Promise<void> {
    this.closing = true
    clearTimeout(this.backoff)
    clearTimeout(this.recheck)
    this.failQueued((job) => new WorkerPoolClosed({ task: job.task.name }))
    const interruptAll = () => {
      for (const slot of [...this.slots, ...this.dying]) {
        for (const job of Array.from(slot.inflight.values())) {
          // Its caller is told why the task stopped, rather than seeing a bare interruption.
          job.outcome ??= { code: POOL_ERROR, value: new WorkerPoolClosed({ task: job.task.name }) }
          void this.cancel(job)
        }
      }
    }
    if (this.config.onClose === "interrupt") interruptAll()
    if (this.inflightCount() > 0) {
      await new Promise<void>((resolve) => {
        this.onIdle = resolve
        // "finish" waits at most closeTimeout, then interrupts what is still running.
        if (Number.isFinite(this.config.closeTimeout)) setTimeout(interruptAll, this.config.closeTimeout).unref()
      })
    }
    for (const slot of [...this.slots, ...this.spares]) this.stop(slot)
    await Promise.all(Array.from(this.dying, (slot) => slot.exited))
  }
}

const exitCodeOf = (crash: { exitCode?: number }): { exitCode?: number } =>
  crash.exitCode === undefined ? {} : { exitCode: crash.exitCode }
