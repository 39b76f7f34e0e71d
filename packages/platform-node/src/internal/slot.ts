/**
 * The pool engine's records: its configuration, a job (one submitted task or
 * chunk) and a slot (one worker thread with the jobs in flight on it).
 *
 * @internal
 */
import type { MessagePort, ResourceLimits, TransferListItem, Worker } from "node:worker_threads"
import type * as Task from "../Task.ts"
import { COMMAND_STRIDE, type Codec, DRAIN, Outbox, uncloneableIssue } from "./protocol.ts"

/** @internal */
export const State = { Queued: 0, Admitting: 1, Running: 2, Cancelling: 3, Done: 4 } as const
type JobState = (typeof State)[keyof typeof State]

/** What a job is made of. */
export interface JobOptions {
  readonly id: number
  readonly task: Task.Any
  readonly codec: Codec
  /** `Command.Run` or `Command.RunChunk`. */
  readonly command: number
  readonly payload: unknown
  /** In milliseconds; 0 for none. */
  readonly timeout: number
  readonly transfer: ReadonlyArray<TransferListItem> | undefined
  /** Receives every result; for a stream, items first and then one final code. */
  readonly onResult: (code: number, value: unknown) => void
}

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
  readonly onResult: (code: number, value: unknown) => void

  constructor(options: JobOptions) {
    this.id = options.id
    this.task = options.task
    this.codec = options.codec
    this.command = options.command
    this.payload = options.payload
    this.timeout = options.timeout
    this.transfer = options.transfer
    this.onResult = options.onResult
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
  private readonly outbox: Outbox
  idleTimer: ReturnType<typeof setTimeout> | undefined = undefined
  startTimer: ReturnType<typeof setTimeout> | undefined = undefined
  crash: { reason: string; exitCode?: number } | undefined = undefined
  /** Why the worker could not start, as it said itself (a failing Layer, a bad config). */
  startFailure: string | undefined = undefined
  /** Resolves a pending drain request. */
  drained: (() => void) | undefined = undefined
  readonly exited: Promise<void>
  readonly id: number
  readonly worker: Worker
  /** The pool's end of the private channel. */
  readonly port: MessagePort
  /** The worker's start marks (see `markStarted`). */
  readonly starts: Int32Array
  private resolveExited!: () => void

  constructor(
    id: number,
    worker: Worker,
    port: MessagePort,
    starts: Int32Array,
    unsendable: (id: number, issue: string) => void
  ) {
    this.id = id
    this.worker = worker
    this.port = port
    this.starts = starts
    // A payload structured clone cannot copy fails its own task, with the path to what could not
    // be cloned; its batch-mates run.
    this.outbox = new Outbox(COMMAND_STRIDE, port, ([, id, , payload], error) =>
      unsendable(id as number, uncloneableIssue(payload, "payload", error))
    )
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
    if (this.dead) return
    this.outbox.next(transfer).push(code, id, name, payload, timeout)
  }

  /** Asks the worker to flush its stdout and stderr; resolves when it has, or after `bound` ms. */
  drain(bound: number): Promise<void> {
    if (this.dead || !this.ready) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(done, bound)
      function done() {
        clearTimeout(timer)
        resolve()
      }
      this.drained = done
      this.port.postMessage(DRAIN)
    })
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
  readonly module: URL
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
  /** With `onClose: "finish"`, how long to wait before interrupting; Infinity for no bound. */
  readonly closeTimeout: number
  readonly startupTimeout: number
  readonly execArgv: ReadonlyArray<string> | undefined
  readonly argv: ReadonlyArray<string> | undefined
  readonly env: Readonly<Record<string, string>> | undefined
  /** Encoded configuration values, by name. */
  readonly workerConfig: Readonly<Record<string, unknown>>
}

/** Hooks for metrics, called on the pool's hot path. */
export interface PoolObserver {
  readonly started: (waitMillis: number) => void
  readonly finished: (code: number, runMillis: number) => void
  readonly queueDepth: (depth: number) => void
  readonly utilization: (slot: Slot) => void
  /** Something went wrong that no caller will hear of: say it in the logs. */
  readonly warn: (message: string) => void
  /** A message the worker module's own code posted on `parentPort`. */
  readonly message: (slot: Slot, message: unknown) => void
}
