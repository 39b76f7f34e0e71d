/**
 * What a worker process and its pool say to each other on its IPC channel,
 * besides the protocol itself, and how anything is sent on it.
 *
 * What the worker module's own code sends with `process.send` is wrapped
 * (`{ _: "message" }`), so it arrives on the pool's `messages`, never as a
 * result.
 *
 * @internal
 */
import type { TransferListItem } from "node:worker_threads"
import { type Channel, findShared, sharedIssue, Uncrossable } from "../protocol.ts"

/** The environment variable that marks a child process as a Strand pool worker. */
export const PROCESS_MARK = "STRAND_WORKER_PROCESS"

/** What a child process says on its IPC channel besides the protocol itself. */
export type ProcessControl =
  /** The runner listens: send it `ProcessInit`. */
  | { readonly _: "hello" }
  /** Whether its event loop was mostly busy lately, while it has streams in flight. */
  | { readonly _: "loop"; readonly busy: boolean }
  /** It is about to exit, because of an uncaught exception: why. */
  | { readonly _: "uncaught"; readonly reason: string }
  /** A message the worker module's own code sent with `process.send`. */
  | { readonly _: "message"; readonly message: unknown }

/** What the pool sends a child process once it says hello: what a thread gets in `workerData`. */
export interface ProcessInit {
  readonly _: "init"
  readonly config: Readonly<Record<string, unknown>>
  /** The path of its claims file (see `claims.ts`). */
  readonly claims: string
  readonly bundle?: string | undefined
}

/**
 * How often a child with streams in flight reports its event loop. A child
 * that misses three reports is busy in synchronous code.
 */
export const LOOP_REPORT_MILLIS = 10

/**
 * Sends on an IPC channel. Nothing shared crosses a process boundary, and
 * structured clone would silently copy a typed array over a
 * `SharedArrayBuffer`: both are refused, with the reason, so the task alone
 * fails with a typed error.
 */
export const ipcChannel = (send: (message: unknown) => unknown): Channel => ({
  postMessage: (message: unknown, transfer?: ReadonlyArray<TransferListItem>) => {
    if (transfer !== undefined && transfer.length > 0) {
      throw new Uncrossable(
        'a transfer list cannot cross a process boundary (isolation: "process"): send the buffers without ' +
          'the transfer option, or use isolation: "thread"'
      )
    }
    if (findShared(message) !== undefined) throw new Uncrossable(sharedIssue(findShared(message, "message")!))
    send(message)
  }
})
