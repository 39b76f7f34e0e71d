/**
 * The pool engine's records: its configuration, a job (one submitted task or
 * chunk) and a slot (one worker thread with the jobs in flight on it).
 *
 * @internal
 */
import type { ResourceLimits, TransferListItem } from "node:worker_threads"
import type * as Fiber from "effect/Fiber"
import type * as Tracer from "effect/Tracer"
import type * as Task from "../Task.ts"
import type { Timeline } from "../Timeline.ts"
import { Outbox } from "./outbox.ts"
import type { Carried, Channel } from "./protocol.ts"
import { COMMAND_STRIDE, type Codec, Command, DRAIN, uncloneableIssue } from "./protocol.ts"
import type { Replay } from "./replay.ts"
import type { Claims } from "./transport/claims.ts"

/** How often, at most, the event loop of a worker with streams in flight is sampled. */
export const LOOP_SAMPLE_MILLIS = 10

/** @internal */
export const State = { Queued: 0, Admitting: 1, Running: 2, Cancelling: 3, Done: 4 } as const
type JobState = (typeof State)[keyof typeof State]

const unwatched = (): void => {}

/**
 * One submitted task (or chunk of tasks) and its way back to the caller: each
 * kind of job (a run, a stream) defines `onResult`, which hands results to its
 * `callerEnd`. Built without an options object and without closures, since
 * one is made for every task.
 */
export abstract class Job<CallerEnd = unknown> {
  state: JobState = State.Queued
  slot: Slot | undefined = undefined
  enqueuedAt = 0
  /** When it was sent to its worker (it may wait there behind others before it starts). */
  startedAt = 0
  /** Its claim cell on its worker (see `claim`), while it is in flight. */
  cell = -1
  inflightAtStart = 1
  /** The estimated cost of this job, in ms, when it was dispatched. */
  estimate = Number.POSITIVE_INFINITY
  backstop: ReturnType<typeof setTimeout> | undefined = undefined
  onSettled: (() => void) | undefined = undefined
  /** How a job being stopped by terminating its worker ends, once the thread is gone. */
  outcome: { readonly code: number; readonly value: unknown } | undefined = undefined
  /** Its worker's spans and logs, replayed to the caller; made on the first one. */
  replay: Replay | undefined = undefined
  /** When it really ran on its worker, in epoch milliseconds, when asked (`Carried.timing`). */
  ran: readonly [start: number, end: number] | undefined = undefined
  /** Stops watching the caller's `AbortSignal`, if it gave one. */
  unwatch: () => void = unwatched
  readonly id: number
  readonly task: Task.Any
  readonly codec: Codec
  /** `Command.Run` or `Command.RunChunk`. */
  readonly command: number
  /** What the worker receives; dropped once the job has ended (see `release`). */
  payload: unknown
  /** In milliseconds; 0 for none. */
  readonly timeout: number
  readonly transfer: ReadonlyArray<TransferListItem> | undefined
  /** Its payload's buffers were moved to the worker with it: once sent, it cannot be sent again. */
  readonly moved: boolean
  /**
   * The fiber that called the pool: its loggers and tracer receive the worker's logs and spans.
   * Set while the job is queued or in flight; dropped once it has ended (see `release`).
   */
  caller: Fiber.Fiber<unknown, unknown> | undefined
  /** Its client span, when the call is traced; dropped once the job has ended. */
  span: Tracer.Span | undefined
  /** What its command carries besides the task (see `Carried`). */
  readonly carried: Carried | undefined
  /** For a stream: how many items its worker may send before the caller has pulled them; else 0. */
  readonly window: number
  /**
   * Where `onResult` hands results: the caller's resumption for a run, the item queue for a
   * stream. Dropped once the job has ended.
   */
  callerEnd: CallerEnd | undefined

  constructor(
    id: number,
    task: Task.Any,
    codec: Codec,
    command: number,
    payload: unknown,
    timeout: number,
    transfer: ReadonlyArray<TransferListItem> | undefined,
    caller: Fiber.Fiber<unknown, unknown>,
    span: Tracer.Span | undefined,
    carried: Carried | undefined,
    window: number,
    callerEnd: CallerEnd
  ) {
    this.id = id
    this.task = task
    this.codec = codec
    this.command = command
    this.payload = payload
    this.timeout = timeout
    this.transfer = transfer
    this.moved = (transfer?.length ?? 0) > 0
    this.caller = caller
    this.span = span
    this.carried = carried
    this.window = window
    this.callerEnd = callerEnd
  }

  /** Receives every result; for a stream, items first and then one final code. */
  abstract onResult(code: number, value: unknown): void

  /** Hands over the job's final result, then lets go of its caller (see `release`). */
  end(code: number, value: unknown): void {
    this.onResult(code, value)
    this.release()
  }

  /**
   * Lets go of the caller once the job has ended (its result handed over): its
   * fiber, its resumption or item queue, its span, its payload and its replay.
   * A job can stay reachable after it ends: a cancelled task stays in the queue
   * until the queue reaches it, and old garbage that still points to a job is
   * freed only by a full collection. Until then, whatever the job pointed to
   * would be copied by every young collection, and promoted. Measured with 512
   * tasks in flight: 320-470 bytes promoted per task without this, 115-170
   * with it, and about half the time in scavenges.
   */
  release(): void {
    this.caller = undefined
    this.callerEnd = undefined
    this.span = undefined
    this.payload = undefined
    this.replay = undefined
  }
}

/** A started worker, a thread or a process, as the pool drives it (see `transport/thread.ts` and `transport/process.ts`). */
export interface Transport {
  readonly isolation: Isolation
  /** The pool's end of the private channel. */
  readonly channel: Channel
  readonly claims: Claims
  /** The worker's thread id, kept after it exits (0 for a process: its main thread). */
  readonly threadId: number
  /** The worker's process id: the pool's own for a thread. */
  readonly pid: number
  /** Stops the worker now: a thread is terminated, a process gets `SIGKILL`. */
  terminate(): void
  /** Whether the worker's event loop was mostly busy since the last sample. */
  sampleLoop(): boolean
  /** Starts a fresh sample of the worker's event loop. */
  restartLoop(): void
}

/** Where workers run: threads of this process, or processes of their own. */
export type Isolation = "thread" | "process"

/** One worker (a thread or a process) and the jobs in flight on it. */
export class Slot {
  ready = false
  /** A started worker held back to replace a lost one at once. */
  spare = false
  /** Takes no new jobs: it is being recycled, scaled down or stopped. */
  retiring = false
  /** Its worker has been terminated or has crashed. */
  dead = false
  dispatched = 0
  completed = 0
  /** The estimated work in flight on this worker, in ms, for adaptive pipelining; streams are not in it. */
  pendingCost = 0
  /** Streams in flight on this worker. */
  streams = 0
  /** Tasks sent here waited too long to start and were given to an idle worker: send no more until one ends. */
  behind = false
  busySince = 0
  busyMillis = 0
  readonly createdAt = performance.now()
  readonly inflight = new Map<number, Job>()
  private readonly outbox: Outbox
  idleTimer: ReturnType<typeof setTimeout> | undefined = undefined
  startTimer: ReturnType<typeof setTimeout> | undefined = undefined
  crash: { reason: string; exitCode?: number } | undefined = undefined
  /** Why the pool stopped this worker under its tasks, until it is gone (see `Pool.terminate`). */
  stoppedFor: string | undefined = undefined
  /** Why the worker could not start, as it said itself (a failing Layer, a bad config). */
  startFailure: string | undefined = undefined
  /** Resolves a pending drain request. */
  drained: (() => void) | undefined = undefined
  readonly exited: Promise<void>
  readonly id: number
  readonly transport: Transport
  /** The claim cells (see `transport/claims.ts`) that no task in flight holds. */
  private readonly freeCells: Array<number>
  /** When the worker's event loop was last sampled, and whether it was busy. */
  private loopSampledAt = 0
  private loopBusy = false
  private resolveExited!: () => void

  constructor(id: number, transport: Transport, unsendable: (id: number, issue: string) => void) {
    this.id = id
    this.transport = transport
    const cells = transport.claims.size
    this.freeCells = Array.from({ length: cells }, (_, i) => cells - 1 - i)
    // A payload structured clone cannot copy fails its own task, with the path to what could not
    // be cloned; its batch-mates run.
    this.outbox = new Outbox(COMMAND_STRIDE, transport.channel, ([, id, , , payload], error) =>
      unsendable(id as number, uncloneableIssue(payload, "payload", error))
    )
    this.exited = new Promise((resolve) => {
      this.resolveExited = resolve
    })
  }

  /** The annotations that name this worker on the logs and spans it sends. */
  get annotations(): Record<string, number> {
    const { isolation, pid, threadId } = this.transport
    return isolation === "process"
      ? { "strand.worker": this.id, "strand.thread": threadId, "strand.process": pid }
      : { "strand.worker": this.id, "strand.thread": threadId }
  }

  /** The worker as messages name it: `worker #2 (thread 5)`, or `worker #2 (process 4242)`. */
  get label(): string {
    const { isolation, pid, threadId } = this.transport
    return `worker #${this.id} (${isolation === "process" ? `process ${pid}` : `thread ${threadId}`})`
  }

  /** Whether a claim cell is free for one more task. */
  hasCell(): boolean {
    return this.freeCells.length > 0
  }

  /** Sends `job` in a free claim cell (see `offer`); every command of a tick goes out in one message. */
  sendJob(job: Job): void {
    job.cell = this.freeCells.pop()!
    this.transport.claims.offer(job.cell, job.id)
    this.outbox.put(job.transfer, job.command, job.id, job.cell, job.task.name, job.payload, job.timeout, job.carried)
    if (job.window > 0) this.control(Command.Credit, job.id, job.window)
  }

  /** Sends an interrupt (`Command.Interrupt`) or more room for a stream's items (`Command.Credit`). */
  control(code: number, id: number, credit = 0): void {
    if (this.dead) return
    this.outbox.put(undefined, code, id, -1, undefined, credit, 0, undefined)
  }

  /** `job` is no longer in flight here: its claim cell is free again. */
  releaseCell(job: Job): void {
    if (job.cell < 0) return
    this.freeCells.push(job.cell)
    job.cell = -1
  }

  /**
   * Whether the worker's event loop has been mostly busy lately: a stream
   * that computes keeps it busy, one that waits between items does not. The
   * loop is sampled at most every `LOOP_SAMPLE_MILLIS`, and only while
   * streams are in flight, so it costs nothing on the path of other tasks.
   */
  loopIsBusy(now: number): boolean {
    if (now - this.loopSampledAt < LOOP_SAMPLE_MILLIS) return this.loopBusy
    this.loopBusy = this.transport.sampleLoop()
    this.loopSampledAt = now
    return this.loopBusy
  }

  /**
   * Starts a fresh sample of the event loop, when a first stream starts: until
   * the sample is `LOOP_SAMPLE_MILLIS` old, the new stream counts as busy, as a
   * task of unknown cost does.
   */
  sampleLoop(now: number): void {
    this.transport.restartLoop()
    this.loopSampledAt = now
    this.loopBusy = true
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
      this.transport.channel.postMessage(DRAIN)
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
  readonly isolation: Isolation
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
  /** Whether calls open spans where a tracer is installed. */
  readonly tracing: boolean
  /** Whether idle worker threads linger for their next task (see `transport/linger.ts`). */
  readonly linger: boolean
  readonly timeline: Timeline | undefined
  /** Bundle the module (the option; see `bundle.ts`). */
  readonly bundle: boolean
  /**
   * Once `make` has built or found the bundle: the bootstrap the workers start
   * from, and the bundle. `module` stays the user's, for messages.
   */
  readonly bundled?: { readonly start: URL; readonly bundle: URL } | undefined
}

/** Hooks for metrics, called on the pool's hot path. */
export interface PoolObserver {
  readonly started: (job: Job, waitMillis: number) => void
  /** `job` ended on `slot` with `code` and `value`, at `now`. */
  readonly finished: (job: Job, slot: Slot, code: number, value: unknown, now: number) => void
  readonly queueDepth: (depth: number) => void
  /** A task refused because the queue was full (`onQueueFull: "fail"`). */
  readonly refused: () => void
  /** A task that ran past its timeout. */
  readonly timedOut: () => void
  readonly utilization: (slot: Slot) => void
  /** Something went wrong that no caller will hear of: say it in the logs. */
  readonly warn: (message: string) => void
  /** A log line (`Reply.Log`) of a task that has already ended. */
  readonly strayLog: (slot: Slot, record: unknown) => void
  /** A message the worker module's own code posted on `parentPort`. */
  readonly message: (slot: Slot, message: unknown) => void
}
