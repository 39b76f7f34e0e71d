/**
 * The pool engine's records: its configuration, a job (one submitted task or
 * chunk) and a slot (one worker thread with the jobs in flight on it).
 *
 * @internal
 */
import type { ResourceLimits, TransferListItem, Worker } from "node:worker_threads"
import type * as Task from "../Task.ts"
import type { Codec } from "./protocol.ts"

/** @internal */
export const State = { Queued: 0, Admitting: 1, Running: 2, Cancelling: 3, Done: 4 } as const
type JobState = (typeof State)[keyof typeof State]

/** One submitted task (or chunk of tasks) and its way back to the caller. */
export class Job {
  state: JobState = State.Queued
  slot: Slot | undefined = undefined
  enqueuedAt = 0
  startedAt = 0
  inflightAtStart = 1
  /** The estimated cost of this job, in ms, when it was dispatched. */
  estimate = Number.POSITIVE_INFINITY
  backstop: ReturnType<typeof setTimeout> | undefined = undefined
  onSettled: (() => void) | undefined = undefined
  /** How a job being stopped by terminating its worker ends, once the thread is gone. */
  outcome: { readonly code: number; readonly value: unknown } | undefined = undefined
  readonly id: number
  readonly task: Task.Any
  readonly codec: Codec
  readonly command: number
  readonly payload: unknown
  readonly timeout: number
  readonly transfer: ReadonlyArray<TransferListItem> | undefined
  /** Receives every result; for a stream, items first and then one final code. */
  readonly onResult: (code: number, value: unknown) => void

  constructor(
    id: number,
    task: Task.Any,
    codec: Codec,
    command: number,
    payload: unknown,
    timeout: number,
    transfer: ReadonlyArray<TransferListItem> | undefined,
    onResult: (code: number, value: unknown) => void
  ) {
    this.id = id
    this.task = task
    this.codec = codec
    this.command = command
    this.payload = payload
    this.timeout = timeout
    this.transfer = transfer
    this.onResult = onResult
  }
}

/** One worker thread and the jobs in flight on it. */
export class Slot {
  ready = false
  /** A started worker held back to replace a lost one at once. */
  spare = false
  /** Takes no new jobs: it is being recycled, scaled down or stopped. */
  retiring = false
  /** Its thread has been terminated or has crashed. */
  dead = false
  dispatched = 0
  completed = 0
  /** The estimated work in flight on this worker, in ms, for adaptive pipelining. */
  pendingCost = 0
  busySince = 0
  busyMillis = 0
  readonly createdAt = performance.now()
  readonly inflight = new Map<number, Job>()
  outbox: Array<unknown> = []
  transfers: Array<TransferListItem> = []
  idleTimer: ReturnType<typeof setTimeout> | undefined = undefined
  crash: { reason: string; exitCode?: number } | undefined = undefined
  readonly exited: Promise<void>
  readonly id: number
  readonly worker: Worker
  private resolveExited!: () => void

  constructor(id: number, worker: Worker) {
    this.id = id
    this.worker = worker
    this.exited = new Promise((resolve) => {
      this.resolveExited = resolve
    })
  }

  /** Queues one command (see `COMMAND_STRIDE`); every command of a tick goes out in one message. */
  send(
    code: number,
    id: number,
    name: string | undefined,
    payload: unknown,
    timeout: number,
    transfer: ReadonlyArray<TransferListItem> | undefined
  ): void {
    if (this.outbox.length === 0) queueMicrotask(this.flush)
    this.outbox.push(code, id, name, payload, timeout)
    if (transfer !== undefined) this.transfers.push(...transfer)
  }

  private readonly flush = (): void => {
    const batch = this.outbox
    const transfers = this.transfers
    this.outbox = []
    this.transfers = []
    if (!this.dead) this.worker.postMessage(batch, transfers)
  }

  markExited(): void {
    this.resolveExited()
  }

  utilization(now: number): number {
    const busy = this.busyMillis + (this.inflight.size > 0 ? now - this.busySince : 0)
    return busy / Math.max(1, now - this.createdAt)
  }
}

/** @internal */
export interface PoolConfig {
  readonly module: string | URL
  readonly minSize: number
  readonly maxSize: number
  readonly idleTimeToLive: number
  readonly maxTasksPerWorker: number | undefined
  readonly resourceLimits: ResourceLimits | undefined
  readonly maxQueue: number | undefined
  readonly onQueueFull: "wait" | "fail"
  readonly pipelining: number | "auto"
  readonly spares: number
  readonly gracePeriod: number
  readonly onClose: "finish" | "interrupt"
  readonly execArgv: ReadonlyArray<string> | undefined
}

/** Hooks for metrics, called on the pool's hot path. */
export interface PoolObserver {
  readonly started: (waitMillis: number) => void
  readonly finished: (code: number, runMillis: number) => void
  readonly queueDepth: (depth: number) => void
  readonly utilization: (slot: Slot) => void
}
