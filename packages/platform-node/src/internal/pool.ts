/**
 * The worker pool's engine: worker slots, the FIFO job queue and dispatch.
 *
 * It runs outside any fiber, on worker events and microtasks, so that every
 * step of a job's life is O(1) and costs no fiber switch: a caller parks on an
 * `Effect.callback`, the pool resumes it when the result arrives.
 *
 * @internal
 */

import { Worker } from "node:worker_threads"
import * as MutableList from "effect/MutableList"
import { CostModel } from "./costs.ts"
import { QueueFull, TaskTimeout, WorkerCrashed, WorkerPoolClosed, WorkerSpawnError } from "./errors.ts"
import { Command, READY, RESULT_STRIDE, Result, WORKER_MARK } from "./protocol.ts"
import { type Job, type PoolConfig, type PoolObserver, Slot, State } from "./slot.ts"

export { Job, type PoolConfig, type PoolObserver, Slot } from "./slot.ts"

/** A result code the pool itself produces; its value is a typed pool error. */
export const POOL_ERROR = -1

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
  startupFailures = 0
  lastStartupFailure = ""
  closing = false
  backoff: ReturnType<typeof setTimeout> | undefined = undefined
  totals = { started: 0, succeeded: 0, failed: 0, cancelled: 0, crashed: 0, respawned: 0 }
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
    let worker: Worker
    try {
      worker = new Worker(this.config.module, {
        workerData: { [WORKER_MARK]: 1 },
        ...(this.config.resourceLimits === undefined ? {} : { resourceLimits: this.config.resourceLimits }),
        ...(this.config.execArgv === undefined ? {} : { execArgv: [...this.config.execArgv] })
      })
    } catch (error) {
      this.startupFailed(error instanceof Error ? error.message : String(error))
      return undefined
    }
    const slot = new Slot(this.nextSlotId++, worker)
    slot.spare = spare
    if (spare) this.spares.push(slot)
    else this.slots.push(slot)
    worker.on("message", (message) => this.onMessage(slot, message))
    worker.on("error", (error: Error & { code?: string }) => {
      const reason =
        error.code === "ERR_WORKER_OUT_OF_MEMORY"
          ? `out of memory under its resourceLimits (${error.message})`
          : `uncaught ${error.name}: ${error.message}`
      this.crashed(slot, { reason })
    })
    worker.on("exit", (exitCode) => {
      this.crashed(slot, { reason: `the worker thread exited with code ${exitCode}`, exitCode })
      this.exited(slot)
    })
    return slot
  }

  private onMessage(slot: Slot, message: unknown): void {
    if (message === READY) {
      slot.ready = true
      this.startupFailures = 0
      if (!slot.spare) this.dispatch()
      return
    }
    const batch = message as Array<unknown>
    for (let i = 0; i < batch.length; i += RESULT_STRIDE) {
      const job = slot.inflight.get(batch[i + 1] as number)
      if (job === undefined) continue
      const code = batch[i] as number
      if (code === Result.Item) job.onResult(code, batch[i + 2])
      else this.settle(job, code, batch[i + 2])
    }
  }

  /** A worker stopped unexpectedly: fail its jobs at once and replace it. */
  private crashed(slot: Slot, crash: { reason: string; exitCode?: number }): void {
    if (slot.dead) return
    slot.crash = crash
    this.remove(slot)
    this.totals.crashed++
    // A ready spare takes the worker's place before its callers resume, so they see a full pool;
    // starting a new thread (milliseconds of work) waits until they have been told.
    if (slot.ready) this.promoteSpare()
    for (const job of Array.from(slot.inflight.values())) {
      if (job.state === State.Cancelling) continue // settled when the thread is gone
      this.settle(
        job,
        POOL_ERROR,
        new WorkerCrashed({ task: job.task.name, workerId: slot.id, reason: crash.reason, ...exitCodeOf(crash) })
      )
    }
    if (slot.ready) this.replenish()
    else this.startupFailed(crash.reason)
  }

  /** Moves a ready spare into the pool if it is below its minimum size. */
  private promoteSpare(): void {
    const live = this.slots.filter((s) => !s.retiring).length
    const spare = this.spares.findIndex((s) => s.ready)
    if (live >= this.config.minSize || spare < 0) return
    const [slot] = this.spares.splice(spare, 1)
    slot!.spare = false
    this.slots.push(slot!)
    this.totals.respawned++
  }

  /** A worker died before it was ready: fail what cannot run, and retry with a backoff. */
  private startupFailed(reason: string): void {
    this.startupFailures++
    this.lastStartupFailure = reason
    if (!this.slots.some((s) => s.ready)) {
      this.failQueued(() => new WorkerSpawnError({ module: String(this.config.module), reason }))
    }
    this.replenish()
  }

  /** The thread is gone: jobs that were being cancelled on it are now settled. */
  private exited(slot: Slot): void {
    this.dying.delete(slot)
    for (const job of Array.from(slot.inflight.values())) this.settle(job, Result.Interrupted, undefined)
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

  /** Terminates a worker that must stop now; its innocent jobs go back to the queue. */
  terminate(slot: Slot): void {
    if (slot.dead) return
    this.remove(slot)
    for (const job of Array.from(slot.inflight.values())) {
      if (job.state === State.Cancelling) continue
      slot.inflight.delete(job.id)
      clearTimeout(job.backstop)
      job.state = State.Queued
      job.slot = undefined
      MutableList.prepend(this.queue, job)
      this.queued++
    }
    void slot.worker.terminate()
    this.replenish()
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
      if (this.spares.some((s) => s.ready)) {
        this.promoteSpare()
        continue
      }
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
    if (maxQueue !== undefined && this.queued >= maxQueue) {
      if (this.config.onQueueFull === "fail") {
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

  /** Lets waiting submitters into a bounded queue that has room again. */
  private admit(): void {
    const { maxQueue } = this.config
    while (maxQueue !== undefined && this.queued < maxQueue && this.admission.length > 0) {
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
    // While no worker can take more work (the usual state of a saturated pool), leave the queue alone.
    while (this.queued > 0 && this.slots.some((slot) => slot.ready && !slot.retiring && this.costs.hasRoom(slot))) {
      const job = this.takeQueued()
      if (job === undefined) break
      job.estimate = this.costs.estimate(job)
      let best: Slot | undefined
      for (const slot of this.slots) {
        if (!slot.ready || slot.retiring || !this.costs.admits(slot, job)) continue
        if (best === undefined || slot.pendingCost < best.pendingCost) best = slot
      }
      if (best === undefined) {
        MutableList.prepend(this.queue, job)
        this.queued++
        break
      }
      this.start(best, job)
    }
    this.observer.queueDepth(this.queued)
    this.admit()
  }

  private start(slot: Slot, job: Job): void {
    const now = performance.now()
    if (slot.inflight.size === 0) {
      slot.busySince = now
      clearTimeout(slot.idleTimer)
    }
    job.state = State.Running
    job.slot = slot
    job.startedAt = now
    slot.inflight.set(job.id, job)
    job.inflightAtStart = slot.inflight.size
    this.costs.started(slot, job)
    this.totals.started++
    this.observer.started(now - job.enqueuedAt)
    slot.send(job.command, job.id, job.task.name, job.payload, job.timeout, job.transfer)
    if (job.timeout > 0) {
      // The worker enforces the timeout; this backstop stops a handler that never yields.
      job.backstop = setTimeout(() => {
        if (job.state !== State.Running) return
        job.state = State.Cancelling
        job.outcome = { code: POOL_ERROR, value: new TaskTimeout({ task: job.task.name, timeoutMillis: job.timeout }) }
        this.terminate(slot)
      }, job.timeout + this.config.gracePeriod)
    }
    if (++slot.dispatched === this.config.maxTasksPerWorker) this.retire(slot)
  }

  /** Finishes a job: frees its place on the worker and hands the result to the caller. */
  settle(job: Job, code: number, value: unknown): void {
    if (job.state === State.Done) return
    // A job stopped for a reason of the pool's (a timeout, a closing scope) reports that reason.
    if (code === Result.Interrupted && job.outcome !== undefined) {
      code = job.outcome.code
      value = job.outcome.value
    }
    const slot = job.slot
    job.state = State.Done
    clearTimeout(job.backstop)
    if (slot?.inflight.delete(job.id)) {
      const now = performance.now()
      this.costs.finished(slot, job, code === Result.Success, now)
      slot.completed++
      this.observer.finished(code, now - job.startedAt)
      if (slot.inflight.size === 0) {
        slot.busyMillis += now - slot.busySince
        this.observer.utilization(slot)
      }
    }
    if (code === Result.Success || code === Result.End) this.totals.succeeded++
    else if (code === Result.Interrupted) this.totals.cancelled++
    else this.totals.failed++
    job.onResult(code, value)
    job.onSettled?.()
    if (slot !== undefined && !slot.dead) {
      if (slot.retiring && slot.inflight.size === 0) this.stop(slot)
      else if (slot.inflight.size === 0) this.scheduleIdle(slot)
    }
    this.dispatch()
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
        slot.send(Command.Interrupt, job.id, undefined, undefined, 0, undefined)
        const grace = setTimeout(() => {
          if (job.state === State.Cancelling) this.terminate(slot)
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

  /** Stops an idle worker gracefully. */
  private stop(slot: Slot): void {
    if (slot.dead) return
    this.remove(slot)
    void slot.worker.terminate()
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

  /** Resolves once every starting worker is ready, or fails with the first startup failure. */
  awaitReady(): Promise<WorkerSpawnError | undefined> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.startupFailures > 0) {
          return resolve(new WorkerSpawnError({ module: String(this.config.module), reason: this.lastStartupFailure }))
        }
        // Spares too: a pool is ready when it can also replace a worker at once.
        if (this.slots.every((s) => s.ready) && this.spares.every((s) => s.ready)) return resolve(undefined)
        setTimeout(check, 5)
      }
      check()
    })
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
    this.failQueued((job) => new WorkerPoolClosed({ task: job.task.name }))
    if (this.config.onClose === "interrupt") {
      for (const slot of [...this.slots, ...this.dying]) {
        for (const job of Array.from(slot.inflight.values())) {
          // Its caller is told why the task stopped, rather than seeing a bare interruption.
          job.outcome ??= { code: POOL_ERROR, value: new WorkerPoolClosed({ task: job.task.name }) }
          void this.cancel(job)
        }
      }
    }
    if (this.inflightCount() > 0) {
      await new Promise<void>((resolve) => {
        this.onIdle = resolve
      })
    }
    for (const slot of [...this.slots, ...this.spares]) this.stop(slot)
    await Promise.all(Array.from(this.dying, (slot) => slot.exited))
  }
}

const exitCodeOf = (crash: { exitCode?: number }): { exitCode?: number } =>
  crash.exitCode === undefined ? {} : { exitCode: crash.exitCode }
