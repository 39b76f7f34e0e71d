/**
 * The wire protocol between the pool and its workers.
 *
 * It travels on a private `MessageChannel` that the pool creates for each
 * worker and hands to the runner in `workerData`, so code in the worker
 * module cannot reach it: whatever user code posts on `parentPort` is a
 * stray message, never a result.
 *
 * Messages travel in batches: every command or result produced in one tick
 * goes out in a single `postMessage`, as a flat array, which is what makes
 * pipelined throughput cheap. Commands to a worker have a stride of 7
 * (`code, id, cell, task name, payload, timeout, carried`); replies from a
 * worker a stride of 3 (`code, id, value`). Control messages (ready, a failed
 * start, drain) are small tagged objects.
 *
 * @internal
 */
import type { MessagePort, TransferListItem } from "node:worker_threads"
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as SchemaAST from "effect/SchemaAST"
import type * as Task from "../Task.ts"

/** @internal */
export const Command = {
  Run: 0,
  RunChunk: 1,
  Interrupt: 2,
  /** Room for more items of a stream: its payload slot holds how many. */
  Credit: 3
} as const

/** @internal */
export const Reply = {
  Success: 0,
  Failure: 1,
  Defect: 2,
  Interrupted: 3,
  Item: 4,
  End: 5,
  PayloadError: 6,
  Timeout: 7,
  NotServed: 8,
  Unsendable: 9,
  /** A chunk that stopped at a failing input: `[results before it, Failure or Defect, its value]`. */
  Partial: 10,
  /** A span opened in the worker: a `SpanStart`. */
  SpanStart: 11,
  /** A span the worker ended: a `SpanEnd`. */
  SpanEnd: 12,
  /** A log line of the task's: a `LogRecord`. */
  Log: 13,
  /** When the task really ran on its worker: `[start, end]`, in epoch milliseconds. */
  Timing: 14
} as const

/** The highest reply code; anything else on the channel is malformed. */
const LAST_REPLY = Reply.Timing

/** @internal */
export const COMMAND_STRIDE = 7
/** @internal */
export const RESULT_STRIDE = 3

/** One end of a worker's private channel: a `MessagePort` for a thread, the IPC channel for a process. */
export interface Channel {
  postMessage(message: unknown, transfer?: ReadonlyArray<TransferListItem>): void
}

/**
 * Now, in milliseconds since the epoch, on a clock every thread of the process
 * shares: `performance.timeOrigin + performance.now()`. Each thread's Effect
 * clock anchors itself on `Date.now()`, whose millisecond truncation leaves
 * two threads' clocks up to a millisecond apart (measured: -449 to +240 µs
 * between a worker and its caller), so span times cross the thread boundary
 * on this one, and each side converts from and to its own Effect clock.
 */
export const sharedNowMillis = (): number => performance.timeOrigin + performance.now()

/** `sharedNowMillis` in nanoseconds, for span times. */
export const sharedNowNanos = (): bigint => BigInt(Math.round(sharedNowMillis() * 1e6))

/** `workerData` key that marks a thread as a Strand pool worker. */
export const WORKER_MARK = "~@strand/worker"

/** What the pool puts in `workerData`. */
export interface WorkerData {
  readonly [WORKER_MARK]: 1
  /** The worker's end of the private channel. */
  readonly port: MessagePort
  /** Encoded configuration values, by `Task.config` name. */
  readonly config: Readonly<Record<string, unknown>>
  /** Claim cells, on shared memory: see `transport/claims.ts`. */
  readonly cells: Int32Array
  /** When the worker runs a bundle (`bundle: true`): the bundle's file URL, whose source map maps its stacks. */
  readonly bundle?: string | undefined
  /** The process's register of dead threads, shared by every thread: see `shared/threads.ts`. */
  readonly deaths: Int32Array
  /** The worker's doorbell (none with `linger: false`), the process's linger seats and its threads' activity: see `transport/linger.ts`. */
  readonly bell: Int32Array | undefined
  readonly seats: Int32Array
  readonly activity: Int32Array
}

/**
 * What a command carries besides its task, only when there is something to
 * carry: on the untraced hot path the slot holds `undefined`, so it costs
 * nothing.
 */
export interface Carried {
  /** The caller's span, when it is sampled: the worker's server span is its child. */
  readonly traceId?: string
  readonly spanId?: string
  /** The caller's minimum log level, when it is not the default `Info`. */
  readonly logLevel?: string
  /** Report when the task really started and ended (`Reply.Timing`), for a `Timeline`. */
  readonly timing?: true
}

/** A span opened in a worker: `[its number, its parent's number (0: the caller's span), name, kind, start]`. */
export type SpanStart = readonly [local: number, parent: number, name: string, kind: string, startTime: bigint]

/**
 * A span a worker ended: `[its number, end, exit, attributes, events]`. The
 * exit is `[Reply.Success]`, `[Reply.Failure | Reply.Defect, the error]` or
 * `[Reply.Interrupted]`.
 */
export type SpanEnd = readonly [
  local: number,
  endTime: bigint,
  exit: readonly [code: number, error?: SerializedDefect],
  attributes: ReadonlyArray<readonly [string, unknown]>,
  events: ReadonlyArray<readonly [name: string, time: bigint, attributes: Record<string, unknown>]>
]

/**
 * A log line written in a task:
 * `[level, epoch millis, message parts, annotations, span number (0: none), fiber id, cause]`.
 */
export type LogRecord = readonly [
  level: string,
  date: number,
  message: ReadonlyArray<unknown>,
  annotations: Record<string, unknown>,
  span: number,
  fiberId: number,
  cause: SerializedDefect | undefined
]

/**
 * A value made safe for structured clone: primitives and plain data cross as
 * they are; an error, or anything structured clone refuses (a function, a
 * symbol, a WeakMap inside), crosses as its description (`describeThrown`).
 */
export const cloneable = (value: unknown): unknown =>
  isErrorLike(value) || findUncloneable(value, "") !== undefined ? describeThrown(value) : value

/** Control messages, worker to pool. */
export type Control =
  | { readonly _: "ready" }
  | { readonly _: "failed"; readonly reason: string }
  | { readonly _: "drained" }

/** Control message, pool to worker: reply `drained` once stdout and stderr are flushed. */
export const DRAIN = { _: "drain" } as const

/** Whether `message` has the shape of a batch of replies (each reply is checked as it is read). */
export const isReplyBatch = (message: unknown): message is Array<unknown> =>
  Array.isArray(message) && message.length > 0 && message.length % RESULT_STRIDE === 0

/** Whether the reply at `i` of a batch has a known code and a numeric id. */
export const isReply = (batch: Array<unknown>, i: number): boolean => {
  const code = batch[i]
  return typeof code === "number" && code >= 0 && code <= LAST_REPLY && typeof batch[i + 1] === "number"
}

/** Whether `message` is a control message from a worker. */
export const isControl = (message: unknown): message is Control => {
  if (typeof message !== "object" || message === null || Array.isArray(message)) return false
  const tag = (message as { _?: unknown })._
  return (
    tag === "ready" ||
    tag === "drained" ||
    (tag === "failed" && typeof (message as { reason?: unknown }).reason === "string")
  )
}

/** A defect, flattened for the trip across threads. */
export interface SerializedDefect {
  readonly name: string
  readonly message: string
  readonly stack: string | undefined
  readonly cause?: SerializedDefect | undefined
}

/**
 * Whether `u` looks like an error. An `Error` from another realm (a `vm`
 * context, another thread) fails `instanceof Error`, so recognise the shape.
 */
const isErrorLike = (u: unknown): u is { name?: unknown; message: string; stack?: unknown; cause?: unknown } =>
  Predicate.isError(u) ||
  (typeof u === "object" &&
    u !== null &&
    typeof (u as { message?: unknown }).message === "string" &&
    (typeof (u as { stack?: unknown }).stack === "string" || typeof (u as { name?: unknown }).name === "string"))

/** Describes any thrown value without throwing, whatever it is. */
const describe = (u: unknown): string => {
  if (typeof u === "string") return u
  try {
    const json = JSON.stringify(u)
    if (json !== undefined && json !== "{}") return json
  } catch {
    // circular, or a BigInt: fall through
  }
  try {
    return String(u)
  } catch {
    return Object.prototype.toString.call(u)
  }
}

/**
 * A thrown value as text, never throwing: `name: message` for an error (from
 * any realm), else the value itself. For crash reasons, abort reasons and
 * input errors.
 */
export const describeThrown = (u: unknown): string =>
  isErrorLike(u) ? `${u.name ?? "Error"}: ${u.message}` : describe(u)

/** Rewrites a stack's frames in a bundle to the files they came from; set by a worker that runs one. */
export const stackMapper: { map: (stack: string) => string } = { map: (stack) => stack }

/** @internal */
export const serializeDefect = (defect: unknown, depth = 0): SerializedDefect => {
  if (!isErrorLike(defect)) return { name: "Error", message: describe(defect), stack: undefined }
  const name = typeof defect.name === "string" ? defect.name : "Error"
  const stack = typeof defect.stack === "string" ? stackMapper.map(defect.stack) : undefined
  const cause = defect.cause !== undefined && depth < 8 ? serializeDefect(defect.cause, depth + 1) : undefined
  return cause === undefined
    ? { name, message: defect.message, stack }
    : { name, message: defect.message, stack, cause }
}

/** @internal */
export const serializeCause = (cause: Cause.Cause<unknown>): SerializedDefect => serializeDefect(Cause.squash(cause))

/** Rebuilds a worker's defect as an `Error` that carries the worker's stack and cause. */
export const deserializeDefect = (defect: SerializedDefect): Error => {
  const error = new Error(
    defect.message,
    defect.cause === undefined ? undefined : { cause: deserializeDefect(defect.cause) }
  )
  error.name = defect.name
  error.stack = defect.stack ?? `${defect.name}: ${defect.message}\n    at <worker thread>`
  return error
}

/**
 * What `walk` asks of each part: a description to append to the part's path
 * when it is the one sought, `null` for a part not to look inside, or
 * `undefined` to look inside it (an array, an object, a Map or a Set).
 */
type Test = (part: unknown) => string | null | undefined

/** Parts that hold nothing to look for: structured clone copies them as they are. */
const isLeaf = (part: unknown): boolean =>
  ArrayBuffer.isView(part) || part instanceof ArrayBuffer || part instanceof Date || part instanceof RegExp

/**
 * Walks `value` depth first and returns the path (from `path`) of the first
 * part that `test` picks, with its description. Without a `path`, it builds
 * no path and returns the description alone: the cheap form, for the hot path.
 * Only an object inside an object can close a cycle, so the set of visited
 * objects is made when the first such one is met: a flat array of primitives
 * (a batch of commands with plain payloads) allocates nothing.
 */
const walk = (value: unknown, path: string | undefined, test: Test, seen?: Set<unknown>): string | undefined => {
  const verdict = test(value)
  if (verdict !== undefined) return verdict === null ? undefined : path === undefined ? verdict : `${path}${verdict}`
  if (typeof value !== "object" || value === null || seen?.has(value)) return undefined
  seen?.add(value)
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i]
      // A number, string, boolean, bigint, null or undefined holds nothing either test seeks. Skipped
      // here, not in a call: the call cost a batch of 64 commands 18 KB of garbage (measured).
      if (item === null || (typeof item !== "object" && typeof item !== "function" && typeof item !== "symbol")) {
        continue
      }
      const inner = typeof item === "object" ? (seen ??= new Set([value])) : seen
      const found = walk(item, path === undefined ? undefined : `${path}[${i}]`, test, inner)
      if (found !== undefined) return found
    }
    return undefined
  }
  const visited = (seen ??= new Set([value]))
  const at = (suffix: string) => (path === undefined ? undefined : `${path}${suffix}`)
  if (value instanceof Map) {
    for (const [k, v] of value) {
      const found =
        walk(k, at(".<key>"), test, visited) ??
        walk(v, path === undefined ? undefined : `${path}.get(${describe(k)})`, test, visited)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (value instanceof Set) {
    for (const v of value) {
      const found = walk(v, at(".<item>"), test, visited)
      if (found !== undefined) return found
    }
    return undefined
  }
  for (const key of Object.keys(value)) {
    const found = walk((value as Record<string, unknown>)[key], at(`.${key}`), test, visited)
    if (found !== undefined) return found
  }
  return undefined
}

const uncloneable: Test = (part) => {
  if (typeof part === "function" || typeof part === "symbol") return ` (a ${typeof part})`
  if (part instanceof WeakMap || part instanceof WeakSet || part instanceof Promise || part instanceof WeakRef) {
    return ` (a ${part.constructor.name})`
  }
  return isLeaf(part) ? null : undefined
}

/**
 * Finds the path to the first part of `value` that structured clone cannot
 * copy (a function, a symbol, a WeakMap, a Promise...), for error messages.
 * Only called after a `postMessage` has failed, so it is off the hot path.
 */
export const findUncloneable = (value: unknown, path: string): string | undefined => walk(value, path, uncloneable)

/** What cannot cross a process boundary, though it can cross a thread's: refused, never silently copied. */
export class Uncrossable extends Error {}

/** Why a value backed by shared memory at `path` cannot go to a worker process. */
export const sharedIssue = (path: string): string =>
  `${path} is backed by a SharedArrayBuffer, which cannot cross a process boundary (isolation: "process"): ` +
  'copy it into a plain ArrayBuffer, or use isolation: "thread"'

const shared: Test = (part) => {
  if (typeof part !== "object" || part === null) return null
  if (part instanceof SharedArrayBuffer) return ""
  if (ArrayBuffer.isView(part)) return part.buffer instanceof SharedArrayBuffer ? "" : null
  return isLeaf(part) ? null : undefined
}

/**
 * The path (from `path`) to the first part of `value` that is or views a
 * `SharedArrayBuffer`, if any. It runs on every message to or from a worker
 * process: without a `path` it builds none, and a value without objects
 * costs a `typeof`.
 */
export const findShared = (value: unknown, path?: string): string | undefined => walk(value, path, shared)

/** Why `value` could not be posted: the path to its uncloneable part where one is found. */
export const uncloneableIssue = (value: unknown, root: string, error: unknown): string => {
  if (error instanceof Uncrossable) {
    const shared = findShared(value, root)
    return shared === undefined ? error.message : sharedIssue(shared)
  }
  const path = findUncloneable(value, root)
  const reason = isErrorLike(error) ? error.message : describe(error)
  return path === undefined ? `structured clone refused it (${reason})` : `${path} cannot be cloned (${reason})`
}

/** Encoders and decoders for one task, built once and cached. */
export interface Codec {
  readonly encodePayload: (value: unknown) => Exit.Exit<unknown, Schema.SchemaError>
  readonly decodePayload: (value: unknown) => Exit.Exit<unknown, Schema.SchemaError>
  readonly encodeSuccess: (value: unknown) => Exit.Exit<unknown, Schema.SchemaError>
  readonly decodeSuccess: (value: unknown) => Exit.Exit<unknown, Schema.SchemaError>
  readonly encodeError: (value: unknown) => Exit.Exit<unknown, Schema.SchemaError>
  readonly decodeError: (value: unknown) => Exit.Exit<unknown, Schema.SchemaError>
}

/**
 * Whether values of `schema` cross the thread boundary as they are, so
 * encoding can be skipped.
 */
const isTransparent = (schema: Task.AnySchema): boolean => SchemaAST.toEncoded(schema.ast) === schema.ast

const identity = (value: unknown): Exit.Exit<unknown, never> => Exit.succeed(value)

const codecs = new WeakMap<Task.Any, Codec>()

/**
 * The codec of a task. Values of a transparent schema cross as they are: the
 * sender skips encoding, the caller trusts a worker's result, and only the
 * worker validates the payload it receives.
 */
export const codec = (task: Task.Any): Codec => {
  let cached = codecs.get(task)
  if (cached !== undefined) return cached
  const payloadTransparent = isTransparent(task.payload)
  const successTransparent = isTransparent(task.success)
  cached = {
    encodePayload: payloadTransparent ? identity : Schema.encodeUnknownExit(task.payload),
    decodePayload: Schema.decodeUnknownExit(task.payload),
    encodeSuccess: successTransparent ? identity : Schema.encodeUnknownExit(task.success),
    decodeSuccess: successTransparent ? identity : Schema.decodeUnknownExit(task.success),
    encodeError: Schema.encodeUnknownExit(task.error),
    decodeError: Schema.decodeUnknownExit(task.error)
  }
  codecs.set(task, cached)
  return cached
}

/** The message of a failed schema `Exit`. */
export const schemaIssue = (exit: Exit.Exit<unknown, Schema.SchemaError>): string => {
  if (Exit.isSuccess(exit)) return ""
  const error = Cause.squash(exit.cause)
  return Predicate.isError(error) ? error.message : String(error)
}
