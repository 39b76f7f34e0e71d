/**
 * Where a runner serves, as the runner sees it: a worker thread (its private
 * port and shared claim cells arrive in `workerData`) or a worker process (its
 * IPC channel, and what a thread would find in `workerData` sent by the pool
 * once the runner says hello).
 *
 * @internal
 */
import { isMainThread, parentPort, receiveMessageOnPort, workerData } from "node:worker_threads"
import * as Effect from "effect/Effect"
import { type Channel, type Control, describeThrown, WORKER_MARK, type WorkerData } from "../protocol.ts"
import { type Claim, fileClaim, sharedClaim } from "./claims.ts"
import { ipcChannel, LOOP_REPORT_MILLIS, PROCESS_MARK, type ProcessControl, type ProcessInit } from "./ipc.ts"
import { Linger } from "./linger.ts"

/** A started worker's end of its pool. */
export interface Host {
  readonly channel: Channel
  /** Receives every message from the pool. */
  readonly listen: (onMessage: (message: unknown) => void) => void
  readonly claim: Claim
  /** Encoded configuration values, by `Task.config` name. */
  readonly config: Readonly<Record<string, unknown>>
  /** When the worker runs a bundle (`bundle: true`): the bundle's file URL. */
  readonly bundle: string | undefined
  /**
   * Streams are in flight (or no longer): a process then reports whether its
   * event loop is busy, which the pool reads itself from a thread.
   */
  readonly watchLoop: (active: boolean) => void
  /** Nothing is in flight and the last result has gone: a thread lingers (see `linger.ts`). */
  readonly idle: () => void
  /** Tells the pool why this worker cannot serve, then ends it. */
  readonly fail: (reason: string) => void
}

/** Whether this thread was started by a pool (see `WorkerRunner.isWorker`). */
const isThreadWorker: boolean =
  !isMainThread && parentPort !== null && typeof workerData === "object" && workerData?.[WORKER_MARK] === 1

/**
 * Whether this process was started by a pool. The mark is read once and taken
 * out of the environment, so that processes this one starts do not inherit it.
 */
const isProcessWorker: boolean = ((globalThis as { [PROCESS_MARK]?: boolean })[PROCESS_MARK] ??= (() => {
  const marked = process.env[PROCESS_MARK] === "1" && typeof process.send === "function"
  delete process.env[PROCESS_MARK]
  return marked
})())

if (isProcessWorker) {
  // What would end a thread with an "error" event ends this process the same way, and the pool
  // hears the reason, as it does from a thread.
  process.on("uncaughtException", (error) => {
    const send = connected === undefined ? process.send!.bind(process) : rawSend
    send({ _: "uncaught", reason: `uncaught ${describeThrown(error)}` } satisfies ProcessControl, () => process.exit(1))
  })
}

/** Whether this thread or process is a worker started by a pool. */
export const isWorker: boolean = isThreadWorker || isProcessWorker

/** The host, once connected: a process connects once. */
let connected: Host | undefined

/** This worker's host; dies where this is not a pool's worker. */
export const connect: Effect.Effect<Host> = Effect.suspend(() => {
  if (connected !== undefined) return Effect.succeed(connected)
  if (isThreadWorker) return Effect.succeed((connected = threadHost(workerData as WorkerData)))
  if (isProcessWorker) return Effect.map(processHost, (host) => (connected = host))
  return Effect.die(new Error("WorkerRunner.serve must run in a worker started by a WorkerPool"))
})

/** Tells the pool why this worker cannot serve, then ends it: connected or not. */
export const failStart = (reason: string): void => {
  if (connected !== undefined) return connected.fail(reason)
  if (isThreadWorker) return threadHost(workerData as WorkerData).fail(reason)
  process.send?.({ _: "failed", reason } satisfies Control, () => process.exit(1))
}

const threadHost = (data: WorkerData): Host => {
  const linger = data.bell === undefined ? undefined : new Linger(data.bell)
  let deliver: (message: unknown) => void = () => {}
  return {
    channel: data.port,
    listen: (onMessage) => {
      deliver = onMessage
      data.port.on("message", (message: unknown) => {
        linger?.receivedOne()
        onMessage(message)
        linger?.handled()
      })
    },
    claim: sharedClaim(data.cells),
    config: data.config,
    bundle: data.bundle,
    watchLoop: () => {},
    idle: () => {
      // A message that rang while the worker lingered is taken now, not on the event loop's next turn.
      if (linger === undefined || !linger.idle()) return
      for (let m = receiveMessageOnPort(data.port); m !== undefined; m = receiveMessageOnPort(data.port)) {
        linger.receivedOne()
        deliver(m.message)
        linger.handled()
      }
    },
    fail: (reason) => {
      data.port.postMessage({ _: "failed", reason } satisfies Control)
      data.port.close()
      process.exit(1)
    }
  }
}

/** A process's own `process.send`, before the module's messages were wrapped (see `processHost`). */
let rawSend: (message: unknown, callback?: () => void) => boolean

const processHost: Effect.Effect<Host> = Effect.callback<Host>((resume) => {
  const send = (rawSend = process.send!.bind(process) as typeof rawSend)
  // The module's own messages go to the pool's `messages`, as a thread's on parentPort do.
  process.send = ((message: unknown, ...rest: Array<any>) =>
    send({ _: "message", message } satisfies ProcessControl, ...rest)) as NonNullable<typeof process.send>
  // The pool is gone (it closed, or it was killed): no worker outlives it.
  process.on("disconnect", () => process.exit(0))
  // Ctrl-C reaches the whole process group: the pool, not the terminal, decides when this worker stops.
  process.on("SIGINT", () => {})
  let listener: ((message: unknown) => void) | undefined
  process.on("message", (message: unknown) => {
    if (listener !== undefined) return listener(message)
    if ((message as Partial<ProcessInit> | null)?._ !== "init") return
    const init = message as ProcessInit
    resume(Effect.succeed(processHostOf(init, send, (onMessage) => (listener = onMessage))))
  })
  send({ _: "hello" } satisfies ProcessControl)
})

const processHostOf = (
  init: ProcessInit,
  send: (message: unknown, callback?: () => void) => boolean,
  listen: Host["listen"]
): Host => {
  let timer: ReturnType<typeof setInterval> | undefined
  // Replies handed to `send` that Node has not written to the channel yet: it calls back once it has.
  let unwritten = 0
  const written = () => {
    unwritten--
  }
  return {
    channel: ipcChannel((message) => {
      send(message, written)
      unwritten++
    }),
    listen,
    claim: fileClaim(init.claims, () => unwritten === 0),
    config: init.config,
    bundle: init.bundle,
    watchLoop: (active) => {
      clearInterval(timer)
      timer = undefined
      if (!active) return
      let last = performance.eventLoopUtilization()
      timer = setInterval(() => {
        const now = performance.eventLoopUtilization()
        send({ _: "loop", busy: performance.eventLoopUtilization(now, last).utilization > 0.5 })
        last = now
      }, LOOP_REPORT_MILLIS)
    },
    idle: () => {},
    fail: (reason) => {
      send({ _: "failed", reason } satisfies Control, () => process.exit(1))
    }
  }
}
