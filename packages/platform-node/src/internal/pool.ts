/**
 * The worker pool's engine: worker slots (started, crashed, recycled,
 * stopped) over the job queue and dispatch of `Dispatcher`.
 *
 * It runs outside any fiber, on worker events and microtasks, so that every
 * step of a job's life is O(1) and costs no fiber switch: a caller parks on an
 * `Effect.callback`, the pool resumes it when the result arrives.
 *
 * @internal
 */

import { Dispatcher, POOL_ERROR } from "./dispatch.ts"
import { PayloadError, WorkerCrashed, WorkerPoolClosed, WorkerSpawnError } from "./errors.ts"
import { isControl, isReply, isReplyBatch, RESULT_STRIDE, Reply } from "./protocol.ts"
import { Replay } from "./replay.ts"
import { type Job, Slot, type Transport } from "./slot.ts"
import { startProcess } from "./transport/process.ts"
import { startThread } from "./transport/thread.ts"

export { POOL_ERROR } from "./dispatch.ts"
export { Job, type PoolConfig, type PoolObserver, Slot } from "./slot.ts"

/** Why a task that never ran is not sent again after its worker was lost. */
const STRANDED =
  "this task had not started, but its payload's buffers were moved to that worker (the transfer option), " +
  "so it cannot be sent again: retry it with fresh buffers"

/** Why a task whose worker was stopped under it is not run again. */
const STARTED = "this task had started, so it is not run again"

/** How long a worker that is being stopped may take to hand over its buffered stdout and stderr. */
const DRAIN_BOUND_MILLIS = 1000

/** The pool engine. */
export class Pool extends Dispatcher {
  /** Started, idle workers that are not in the pool yet: they replace a lost worker at once. */
  readonly spares: Array<Slot> = []
  nextSlotId = 1
  /** Start failures in a row; a worker that becomes ready resets it. */
  startupFailures = 0
  lastStartupFailure = ""
  backoff: ReturnType<typeof setTimeout> | undefined = undefined
  /** Callers of `awaitReady`, told when every starting worker is ready or one fails. */
  private readyWaiters: Array<(error: WorkerSpawnError | undefined) => void> = []

  // ---------------------------------------------------------------- workers

  /** Starts a worker; a module that cannot even be loaded counts as a startup failure. */
  spawn(spare = false): Slot | undefined {
    const { config } = this
    let slot: Slot | undefined
    let transport: Transport
    const start = config.isolation === "process" ? startProcess : startThread
    try {
      transport = start(config, () => slot!.ready, {
        protocol: (message) => this.onMessage(slot!, message),
        // The module's own messages on parentPort: never results, handed to the caller's `messages`.
        stray: (message) => this.observer.message(slot!, message),
        failed: (reason) => this.crashed(slot!, { reason }),
        exited: (exitCode, reason) => {
          this.crashed(slot!, exitCode === undefined ? { reason } : { reason, exitCode })
          this.exited(slot!)
        }
      })
    } catch (error) {
      this.totals.startFailures++
      this.startupFailed(error instanceof Error ? error.message : String(error))
      return undefined
    }
    const started = new Slot(this.nextSlotId++, transport, (id, issue) => this.unsendable(started, id, issue))
    slot = started
    started.spare = spare
    if (spare) this.spares.push(started)
    else this.slots.push(started)
    started.startTimer = setTimeout(() => {
      if (started.ready || started.dead) return
      started.startFailure =
        `it did not report ready within ${config.startupTimeout / 1000} s (startupTimeout). Does ` +
        `${config.module.pathname} call WorkerRunner.launch at its top level? A module that never calls it ` +
        "keeps the worker alive doing nothing"
      this.crashed(started, { reason: started.startFailure })
      started.transport.terminate()
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
        const code = message[i] as number
        if (job === undefined) {
          // A line logged after its task ended (a fiber the handler left running): not lost.
          if (code === Reply.Log) this.observer.strayLog(slot, message[i + 2])
          continue
        }
        if (code === Reply.Item) job.onResult(code, message[i + 2])
        else if (code === Reply.Timing) job.ran = message[i + 2] as [number, number]
        else if (code >= Reply.SpanStart) this.replay(slot, job).receive(code, message[i + 2])
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

  /**
   * Where a job's spans and logs go: its caller's tracer and loggers, with annotations naming the
   * task and worker. Only a job in flight is asked, and it still holds its caller (see `Job.release`).
   */
  private replay(slot: Slot, job: Job): Replay {
    return (job.replay ??= new Replay(job.caller!, job.span, { "strand.task": job.task.name, ...slot.annotations }))
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
      this.observer.warn(`${slot.label} crashed between tasks: ${crash.reason}`)
    }
    // A ready spare takes the worker's place before its callers resume, so they see a full pool;
    // starting a new thread (milliseconds of work) waits until they have been told.
    this.promoteSpare(this.config.minSize)
    // The tasks it had not started go back to the queue: they never ran. Those it had started fail.
    this.failTaken(slot, crash.reason, undefined, exitCodeOf(crash))
    this.replenish()
  }

  /**
   * A worker is lost: the tasks it had not started go back to the queue (see
   * `takeBackAll`); those it had started, and those whose buffers it holds,
   * fail with `WorkerCrashed` and `reason`.
   */
  private failTaken(slot: Slot, reason: string, startedNote: string | undefined, exit: { exitCode?: number }): void {
    const { started, stranded } = this.takeBackAll(slot)
    const fail = (job: Job, why: string) =>
      this.settle(job, POOL_ERROR, new WorkerCrashed({ task: job.task.name, workerId: slot.id, reason: why, ...exit }))
    for (const job of started) fail(job, startedNote === undefined ? reason : `${reason}; ${startedNote}`)
    for (const job of stranded) fail(job, `${reason}; ${STRANDED}`)
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

  /**
   * The worker is gone: if the pool stopped it under its tasks, those that had
   * not started are queued again (and sent on) and those that had fail; jobs
   * that were being cancelled on it are now settled.
   */
  private exited(slot: Slot): void {
    this.dying.delete(slot)
    if (slot.stoppedFor !== undefined) {
      this.failTaken(slot, slot.stoppedFor, STARTED, {})
      this.dispatch()
    }
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
    // Its other jobs are sorted out once it is gone (see `exited`): a worker process's claims can
    // only be read then, and a thread's cannot change any more.
    slot.stoppedFor = `its worker was stopped to end task "${culprit.task.name}", which ignored its interruption`
    slot.transport.terminate()
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
  protected replenish(afterBackoff = false): void {
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

  /** Recycles a worker that has run its share of tasks. */
  protected retire(slot: Slot): void {
    slot.retiring = true
    this.replenish()
    if (slot.inflight.size === 0) this.stop(slot)
  }

  /** Stops an idle worker gracefully: it first hands over its buffered output, within a bound. */
  protected stop(slot: Slot): void {
    if (slot.dead) return
    const drained = slot.drain(DRAIN_BOUND_MILLIS)
    this.remove(slot)
    void drained.then(() => slot.transport.terminate())
  }

  protected scheduleIdle(slot: Slot): void {
    if (this.slots.length <= this.config.minSize || this.closing) return
    clearTimeout(slot.idleTimer)
    slot.idleTimer = setTimeout(() => {
      if (slot.inflight.size === 0 && this.slots.length > this.config.minSize) this.stop(slot)
    }, this.config.idleTimeToLive)
    slot.idleTimer.unref()
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
