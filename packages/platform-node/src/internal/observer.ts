/**
 * What the pool shows of itself: the `Stats` and `WorkerMessage` models that
 * `WorkerPool` exports, and what the pool engine reports as it runs, turned
 * into Effect metrics, log lines, a `Timeline`'s records and `messages`.
 *
 * @internal
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import type * as Timeline from "../Timeline.ts"
import { TaskAborted, TaskTimeout, WorkerCrashed } from "./errors.ts"
import { Reply } from "./protocol.ts"
import { Replay } from "./replay.ts"
import type { Job, PoolConfig, PoolObserver, Slot } from "./slot.ts"

/**
 * A snapshot of the pool.
 *
 * @category models
 * @since 0.1.0
 */
export interface Stats {
  /** Workers in the pool, ready or starting; a worker being replaced may briefly count beside its replacement. */
  readonly size: number
  /** Started, idle spare workers beside the pool (`spareWorkers`): threads too. */
  readonly spares: number
  readonly queued: number
  readonly inflight: number
  readonly started: number
  readonly succeeded: number
  readonly failed: number
  readonly cancelled: number
  readonly crashed: number
  readonly respawned: number
  /** Workers that failed to start (a missing module, a failing Layer, past `startupTimeout`). */
  readonly startFailures: number
  /** Malformed messages on the private channel, ignored and logged. */
  readonly malformed: number
  /** Tasks refused with `QueueFull` (`onQueueFull: "fail"`); they never ran and are in no other count. */
  readonly refused: number
  /** Tasks that ran past their `timeout` (they are counted in `failed` too). */
  readonly timedOut: number
  readonly workers: ReadonlyArray<{
    readonly id: number
    /** Its thread's id; 0 for a worker process (its main thread). */
    readonly threadId: number
    /** Its process id: the pool's own for a thread. */
    readonly pid: number
    readonly ready: boolean
    readonly inflight: number
    readonly completed: number
    readonly utilization: number
  }>
}

/**
 * A message that a worker module's own code posted on `parentPort`, or sent
 * with `process.send` in a worker process.
 *
 * @category models
 * @since 0.2.0
 */
export interface WorkerMessage {
  readonly workerId: number
  readonly threadId: number
  /** The worker's process id: the pool's own for a thread. */
  readonly pid: number
  readonly message: unknown
}

const boundaries = Metric.exponentialBoundaries({ start: 0.01, factor: 4, count: 12 })
// Each per-task or per-worker series is made with its attribute, not with `Metric.withAttributes`,
// whose every update adds the attribute to a copy of the context: the same series, read the same way.
const waitTime = (attributes?: Metric.Metric.Attributes) =>
  Metric.histogram("strand_pool_wait_time_ms", { description: "Time queued, in ms", boundaries, attributes })
const runTime = (attributes?: Metric.Metric.Attributes) =>
  Metric.histogram("strand_pool_run_time_ms", { description: "Time on a worker, in ms", boundaries, attributes })
const utilization = (attributes?: Metric.Metric.Attributes) =>
  Metric.gauge("strand_pool_worker_utilization", { description: "Busy fraction of a worker's life", attributes })

/** The pool's metrics (`WorkerPool.metrics`). */
export const metrics = {
  started: Metric.counter("strand_pool_tasks_started", { description: "Tasks sent to a worker" }),
  succeeded: Metric.counter("strand_pool_tasks_succeeded", { description: "Tasks that succeeded" }),
  failed: Metric.counter("strand_pool_tasks_failed", { description: "Tasks that failed, died or crashed" }),
  cancelled: Metric.counter("strand_pool_tasks_cancelled", { description: "Tasks interrupted by their caller" }),
  refused: Metric.counter("strand_pool_tasks_refused", { description: "Tasks refused because the queue was full" }),
  timedOut: Metric.counter("strand_pool_tasks_timed_out", { description: "Tasks that ran past their timeout" }),
  queueDepth: Metric.gauge("strand_pool_queue_depth", { description: "Tasks waiting for a worker" }),
  /** Recorded with the attribute `task`: the task's name. */
  waitTime: waitTime(),
  /** Recorded with the attribute `task`: the task's name. */
  runTime: runTime(),
  utilization: utilization()
}

/** Records how `job` ran on `slot` (see `Timeline`). */
const recordTimeline = (
  timeline: Timeline.Timeline,
  job: Job,
  slot: Slot,
  code: number,
  value: unknown,
  now: number
): void => {
  const origin = performance.timeOrigin
  const outcome: Timeline.Outcome =
    code === Reply.Success || code === Reply.End
      ? "success"
      : code === Reply.Defect || (code === Reply.Partial && (value as ReadonlyArray<unknown>)[1] === Reply.Defect)
        ? "defect"
        : code === Reply.Interrupted || value instanceof TaskAborted
          ? "interrupted"
          : code === Reply.Timeout || value instanceof TaskTimeout
            ? "timeout"
            : value instanceof WorkerCrashed
              ? "crashed"
              : "failure"
  timeline.record({
    task: job.task.name,
    worker: slot.id,
    threadId: slot.transport.threadId,
    ...(slot.transport.isolation === "process" ? { pid: slot.transport.pid } : {}),
    queuedAt: origin + job.enqueuedAt,
    startedAt: job.ran?.[0] ?? origin + job.startedAt,
    endedAt: job.ran?.[1] ?? origin + now,
    outcome
  })
}

/** The observer of one pool: `context` is the context it was made in; `maker` the fiber that made it. */
export const make = (
  config: PoolConfig,
  context: Context.Context<never>,
  maker: Fiber.Fiber<unknown, unknown>,
  message: (slot: Slot, message: unknown) => void
): PoolObserver => {
  const log = Effect.runForkWith(context)
  const gauges = new WeakMap<Slot, Metric.Gauge<number>>()
  const perTask = new Map<string, { readonly wait: Metric.Histogram<number>; readonly run: Metric.Histogram<number> }>()
  const histograms = (task: string) => {
    let found = perTask.get(task)
    if (found === undefined) {
      found = { wait: waitTime({ task }), run: runTime({ task }) }
      perTask.set(task, found)
    }
    return found
  }
  return {
    started: (job, wait) => {
      metrics.started.updateUnsafe(1, context)
      histograms(job.task.name).wait.updateUnsafe(wait, context)
    },
    finished: (job, slot, code, value, now) => {
      histograms(job.task.name).run.updateUnsafe(now - job.startedAt, context)
      const counter =
        code === Reply.Success || code === Reply.End
          ? metrics.succeeded
          : code === Reply.Interrupted
            ? metrics.cancelled
            : metrics.failed
      counter.updateUnsafe(1, context)
      if (config.timeline !== undefined) recordTimeline(config.timeline, job, slot, code, value, now)
    },
    queueDepth: (depth) => metrics.queueDepth.updateUnsafe(depth, context),
    refused: () => metrics.refused.updateUnsafe(1, context),
    timedOut: () => metrics.timedOut.updateUnsafe(1, context),
    utilization: (slot) => {
      let gauge = gauges.get(slot)
      if (gauge === undefined) {
        gauge = utilization({ worker: String(slot.id) })
        gauges.set(slot, gauge)
      }
      gauge.updateUnsafe(slot.utilization(performance.now()), context)
    },
    warn: (text) => void log(Effect.logWarning(`WorkerPool: ${text}`)),
    strayLog: (slot, record) => new Replay(maker, undefined, slot.annotations).receive(Reply.Log, record),
    message
  }
}
