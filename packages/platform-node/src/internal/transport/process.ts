/**
 * The process transport (`isolation: "process"`): starts one worker as a
 * child process, with `child_process.fork` and structured-clone
 * serialization, and turns its events into the pool's terms, as `thread.ts`
 * does for a thread. It knows nothing of tasks or of the queue.
 *
 * The child's private channel is its IPC channel (see `ipc.ts`).
 *
 * @internal
 */
import { type ChildProcess, fork, spawnSync } from "node:child_process"
import type { ResourceLimits } from "node:worker_threads"
import { describeThrown } from "../protocol.ts"
import type { PoolConfig, Transport } from "../slot.ts"
import { FileClaims } from "./claims.ts"
import { ipcChannel, LOOP_REPORT_MILLIS, PROCESS_MARK, type ProcessInit } from "./ipc.ts"
import { cellsFor, type WorkerEvents } from "./thread.ts"

/** How much of a starting child's stderr a failure to start quotes. */
const STDERR_TAIL_CHARS = 2000

/** How long a child that exited before it was ready may take to finish its stderr. */
const STDERR_WAIT_MILLIS = 200

/**
 * A worker process leaves when its IPC channel closes, but only once its
 * event loop turns: one busy in synchronous code when the pool's process is
 * killed would run on. On Linux, `setpriv --pdeathsig KILL` (util-linux)
 * starts it with a parent-death signal, so the kernel kills it with the
 * thread that started it. Probed once; without it, the channel is the only
 * way out.
 */
const deathGuard = (): string | undefined => {
  // An absolute path, so that an `env` option that changes PATH cannot lose it.
  guard ??= {
    path:
      process.platform === "linux"
        ? ["/usr/bin/setpriv", "/bin/setpriv"].find(
            (path) => spawnSync(path, ["--pdeathsig", "KILL", "--", "true"]).status === 0
          )
        : undefined
  }
  return guard.path
}
let guard: { readonly path: string | undefined } | undefined

/** Node flags that put `resourceLimits` on a child process's heap. */
const heapFlags = (limits: ResourceLimits | undefined): Array<string> => [
  ...(limits?.maxOldGenerationSizeMb === undefined ? [] : [`--max-old-space-size=${limits.maxOldGenerationSizeMb}`]),
  ...(limits?.maxYoungGenerationSizeMb === undefined
    ? []
    : [`--max-semi-space-size=${Math.max(1, Math.round(limits.maxYoungGenerationSizeMb / 3))}`])
]

/** Why a child process ended, in the pool's words. */
const describeExit = (code: number | null, signal: NodeJS.Signals | null, limits: ResourceLimits | undefined) => {
  if (signal === null) return `the worker process exited with code ${code}`
  const heap = limits?.maxOldGenerationSizeMb
  const hint =
    signal === "SIGABRT"
      ? heap === undefined
        ? " (a fatal error, such as running out of memory)"
        : ` (a fatal error, such as running out of memory under maxOldGenerationSizeMb = ${heap})`
      : ""
  return `the worker process was killed by ${signal}${hint}`
}

/**
 * Starts a child process for `config.module`; throws if Node cannot even
 * start it. Its stdout and stderr are piped to this process's.
 */
export const startProcess = (config: PoolConfig, isReady: () => boolean, events: WorkerEvents): Transport => {
  const claims = new FileClaims(cellsFor(config))
  let child: ChildProcess
  const execArgv = [...(config.execArgv ?? process.execArgv), ...heapFlags(config.resourceLimits)]
  const guard = deathGuard()
  try {
    child = fork(config.bundled?.start ?? config.module, config.argv === undefined ? [] : [...config.argv], {
      ...(guard === undefined
        ? { execArgv }
        : { execPath: guard, execArgv: ["--pdeathsig", "KILL", "--", process.execPath, ...execArgv] }),
      env: { ...process.env, ...config.env, [PROCESS_MARK]: "1" },
      serialization: "advanced",
      stdio: ["ignore", "pipe", "pipe", "ipc"]
    })
  } catch (error) {
    claims.seal()
    throw error
  }
  // Written through, not piped: a pipe per child would add listeners to this process's streams.
  child.stdout?.on("data", (chunk: Buffer) => process.stdout.write(chunk))
  child.stderr?.on("data", (chunk: Buffer) => process.stderr.write(chunk))
  // Until it is ready, the end of what it writes to stderr says why it might not start.
  let stderrTail = ""
  const keepTail = (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-STDERR_TAIL_CHARS)
    if (isReady()) child.stderr?.off("data", keepTail)
  }
  child.stderr?.on("data", keepTail)
  let uncaught: string | undefined
  const send = (message: unknown) => child.connected && child.send(message as never)
  let loopBusy = true
  let loopReportedAt = 0
  child.on("message", (message: unknown) => {
    const tag = typeof message === "object" && message !== null ? (message as { _?: unknown })._ : undefined
    if (tag === "message") return events.stray((message as { message: unknown }).message)
    if (tag === "uncaught") return void (uncaught = (message as { reason: string }).reason)
    if (tag === "loop") {
      loopBusy = (message as { busy: boolean }).busy
      loopReportedAt = performance.now()
      return
    }
    if (tag === "hello") {
      const init: ProcessInit = {
        _: "init",
        config: config.workerConfig,
        claims: claims.path,
        ...(config.bundled === undefined ? {} : { bundle: config.bundled.bundle.href })
      }
      return void send(init)
    }
    // It has opened its claims file (or given up): the file's name can go.
    if (tag === "ready" || tag === "failed") claims.forget()
    events.protocol(message)
  })
  // Gone once it has exited and its channel is closed: every message it sent has been read. A
  // child that never became ready is also given a moment to finish its stderr, which says why.
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined
  let disconnected = false
  let reported = false
  const report = () => {
    if (reported || exit === undefined) return
    reported = true
    claims.seal()
    const how = uncaught ?? describeExit(exit.code, exit.signal, config.resourceLimits)
    const said = isReady() ? "" : stderrTail.trim()
    events.exited(exit.code ?? undefined, said === "" ? how : `${how}; its stderr ended with:\n${said}`)
  }
  const gone = () => {
    if (exit === undefined || !disconnected) return
    if (isReady() || child.stderr === null || child.stderr.closed) return report()
    child.stderr.once("close", report)
    setTimeout(report, STDERR_WAIT_MILLIS)
  }
  child.on("exit", (code, signal) => {
    exit = { code, signal }
    gone()
  })
  child.on("disconnect", () => {
    disconnected = true
    gone()
  })
  child.on("error", (error) => {
    // It never started: there will be no exit to wait for. (Other errors, such as a send on a
    // channel that has just closed, are followed by its exit.)
    if (child.pid !== undefined || exit !== undefined) return
    exit = { code: -1, signal: null }
    uncaught = `it could not be started: ${describeThrown(error)}`
    disconnected = true
    gone()
  })
  return {
    isolation: "process",
    channel: ipcChannel(send),
    claims,
    threadId: 0,
    pid: child.pid ?? -1,
    terminate: () => void child.kill("SIGKILL"),
    sampleLoop: () => loopBusy || performance.now() - loopReportedAt > 3 * LOOP_REPORT_MILLIS,
    restartLoop: () => {
      loopBusy = true
      loopReportedAt = performance.now()
    }
  }
}
