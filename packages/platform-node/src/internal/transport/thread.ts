/**
 * The thread transport: starts one worker thread with its private channel and
 * claim cells, and turns the thread's events into the pool's terms. It knows
 * nothing of tasks or of the queue.
 *
 * @internal
 */
import type { EventLoopUtilization } from "node:perf_hooks"
import { MessageChannel, receiveMessageOnPort, Worker } from "node:worker_threads"
import { MAX_INFLIGHT } from "../costs.ts"
import { describeThrown, WORKER_MARK, type WorkerData } from "../protocol.ts"
import { deaths, markDead } from "../shared/threads.ts"
import type { PoolConfig, Transport } from "../slot.ts"
import { SharedClaims } from "./claims.ts"
import { activity, freeSeat, makeBell, ringing, seats } from "./linger.ts"

/** What the pool hears from one worker, a thread or a process. */
export interface WorkerEvents {
  /** A message on the private channel. */
  readonly protocol: (message: unknown) => void
  /** A message that the worker module's own code posted (on `parentPort`, or with `process.send`). */
  readonly stray: (message: unknown) => void
  /** The thread failed, with the reason as the pool reports it. */
  readonly failed: (reason: string) => void
  /** The worker is gone, after every message it posted has been read; `reason` says how it ended (no code after a signal). */
  readonly exited: (exitCode: number | undefined, reason: string) => void
}

/** How many tasks may be in flight on one worker at once: one claim cell each. */
export const cellsFor = (config: PoolConfig): number =>
  config.pipelining === "auto" ? MAX_INFLIGHT[config.isolation] : config.pipelining

/**
 * Starts a thread for `config.module`; throws if Node cannot even create it
 * (a module path it refuses). `isReady` tells whether the thread had
 * reported ready when it fails, for the message of an out-of-memory failure.
 */
export const startThread = (config: PoolConfig, isReady: () => boolean, events: WorkerEvents): Transport => {
  const channel = new MessageChannel()
  const cells = new Int32Array(new SharedArrayBuffer(4 * cellsFor(config)))
  const bell = config.linger ? makeBell() : undefined
  const data: WorkerData = {
    [WORKER_MARK]: 1,
    port: channel.port2,
    config: config.workerConfig,
    cells,
    deaths,
    bell,
    seats,
    activity,
    ...(config.bundled === undefined ? {} : { bundle: config.bundled.bundle.href })
  }
  let worker: Worker
  try {
    worker = new Worker(config.bundled?.start ?? config.module, {
      workerData: data,
      transferList: [channel.port2],
      ...(config.resourceLimits === undefined ? {} : { resourceLimits: config.resourceLimits }),
      ...(config.execArgv === undefined ? {} : { execArgv: [...config.execArgv] }),
      ...(config.argv === undefined ? {} : { argv: [...config.argv] }),
      ...(config.env === undefined ? {} : { env: { ...process.env, ...config.env } })
    })
  } catch (error) {
    channel.port1.close()
    throw error
  }
  const port = channel.port1
  port.on("message", events.protocol)
  worker.on("message", events.stray)
  worker.on("error", (error: Error & { code?: string }) => {
    if (error.code !== "ERR_WORKER_OUT_OF_MEMORY") return events.failed(`uncaught ${describeThrown(error)}`)
    events.failed(
      isReady()
        ? `out of memory under its resourceLimits (${error.message})`
        : `it ran out of memory while starting, under resourceLimits.maxOldGenerationSizeMb = ` +
            `${config.resourceLimits?.maxOldGenerationSizeMb}. A worker needs at least 24 MB to start, and more ` +
            "under tsx or with a large module: raise the limit"
    )
  })
  const threadId = worker.threadId
  worker.on("exit", (exitCode) => {
    // First, so that a shared lock this thread held is taken over rather than waited for.
    markDead(threadId)
    freeSeat(threadId)
    // Read what the worker said before it went (a failed start posts its reason, then exits).
    for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) events.protocol(m.message)
    port.close()
    events.exited(exitCode, `the worker thread exited with code ${exitCode}`)
  })
  let loop: EventLoopUtilization | undefined
  return {
    isolation: "thread",
    channel: bell === undefined ? port : ringing(port, bell),
    claims: new SharedClaims(cells),
    threadId,
    pid: process.pid,
    terminate: () => void worker.terminate(),
    sampleLoop: () => {
      const sample = worker.performance.eventLoopUtilization()
      const busy = worker.performance.eventLoopUtilization(sample, loop).utilization > 0.5
      loop = sample
      return busy
    },
    restartLoop: () => {
      loop = worker.performance.eventLoopUtilization()
    }
  }
}
