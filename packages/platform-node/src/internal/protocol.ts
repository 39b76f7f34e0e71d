/**
 * The wire protocol between the pool and its workers.
 *
 * Messages travel in batches: every command or result produced in one tick
 * goes out in a single `postMessage`, as a flat array, which is what makes
 * pipelined throughput cheap. Commands to a worker have a stride of 5
 * (`code, id, task name, payload, timeout`); results from a worker a stride of
 * 3 (`code, id, value`).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Exit from "effect/Exit"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Task from "../Task.ts"

/** @internal */
export const Command = { Run: 0, RunChunk: 1, Interrupt: 2 } as const

/** @internal */
export const Result = {
  Success: 0,
  Failure: 1,
  Defect: 2,
  Interrupted: 3,
  Item: 4,
  End: 5,
  PayloadError: 6,
  Timeout: 7,
  NotServed: 8
} as const

/** @internal */
export const COMMAND_STRIDE = 5
/** @internal */
export const RESULT_STRIDE = 3

/** The first message a worker sends, once its handlers and Layer are ready. */
export const READY = "~@strand/ready"

/** `workerData` key that marks a thread as a Strand pool worker. */
export const WORKER_MARK = "~@strand/worker"

/** A defect, flattened for the trip across threads. */
export interface SerializedDefect {
  readonly name: string
  readonly message: string
  readonly stack: string | undefined
}

/** @internal */
export const serializeDefect = (defect: unknown): SerializedDefect =>
  Predicate.isError(defect)
    ? { name: defect.name, message: defect.message, stack: defect.stack }
    : {
        name: "Error",
        message: typeof defect === "string" ? defect : (JSON.stringify(defect) ?? String(defect)),
        stack: undefined
      }

/** @internal */
export const serializeCause = (cause: Cause.Cause<unknown>): SerializedDefect => serializeDefect(Cause.squash(cause))

/** Rebuilds a worker's defect as an `Error` that carries the worker's stack. */
export const deserializeDefect = (defect: SerializedDefect): Error => {
  const error = new Error(defect.message)
  error.name = defect.name
  error.stack = defect.stack ?? `${defect.name}: ${defect.message}\n    at <worker thread>`
  return error
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
  const payloadTransparent = Task.isTransparent(task.payload)
  const successTransparent = Task.isTransparent(task.success)
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
