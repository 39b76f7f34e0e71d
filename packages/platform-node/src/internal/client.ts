/**
 * The caller's side of the pool: turns `run`, `stream`, `map` and `mapStream`
 * into jobs for the engine, and the engine's results back into typed exits.
 *
 * @internal
 */

import type { TransferListItem } from "node:worker_threads"
import type * as Arr from "effect/Array"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Queue from "effect/Queue"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Tracer from "effect/Tracer"
import type * as Task from "../Task.ts"
import type { Service } from "../WorkerPool.ts"
import { InvalidPoolOptions, PayloadError, ResultError, TaskAborted, TaskNotServed, TaskTimeout } from "./errors.ts"
import * as Mapping from "./map.ts"
import type { Stats } from "./observer.ts"
import { durationMillis, show } from "./options.ts"
import { Job, POOL_ERROR, type Pool, type PoolConfig } from "./pool.ts"
import { type Codec, Command, codec, describeThrown, deserializeDefect, Reply, schemaIssue } from "./protocol.ts"
import { carriedBy, isTraced } from "./replay.ts"

/**
 * Options for one task run.
 *
 * @category models
 * @since 0.1.0
 */
export interface RunOptions {
  /**
   * Cancels the task if it runs longer than this, counted from when it starts
   * executing. A value that is not a positive duration fails the call at once
   * with `InvalidPoolOptions`.
   */
  readonly timeout?: Duration.Input | undefined
  /** ArrayBuffers (or typed arrays' buffers) in the payload to move to the worker without copying. */
  readonly transfer?: ReadonlyArray<TransferListItem> | undefined
  /**
   * Stops the task when the signal aborts (an HTTP request that was closed,
   * a user's cancel button): the call fails with `TaskAborted`, which
   * carries the signal's reason, once the task has stopped on its worker.
   * Interrupting the calling fiber stops it as well, without a reason.
   */
  readonly signal?: AbortSignal | undefined
  /** `false` opens no span for this call, even where the pool traces (see `Options.tracing`). */
  readonly tracing?: boolean | undefined
  /**
   * Routes the task on a cluster (`ClusterPool` in `@strand/cluster`): tasks
   * with the same key go to the same runner while the cluster's shards stay
   * where they are. A local pool ignores it.
   */
  readonly key?: string | undefined
}

/**
 * Options for a streaming task.
 *
 * @category models
 * @since 0.3.0
 */
export interface StreamOptions extends RunOptions {
  /**
   * How many items the worker may send ahead of the consumer (default 4096).
   * The worker's stream is suspended while that many wait on the caller's
   * side, and resumes as the consumer pulls them, so a slow consumer holds
   * back its producer instead of buffering the whole stream. The default suits
   * small items (a fast consumer of numbers reads millions a second); lower it
   * for large ones, since up to about 1.5 × `bufferSize` items may wait in the
   * caller's memory. Anything but a whole number of at least 1 fails the
   * stream at once with `InvalidPoolOptions`.
   */
  readonly bufferSize?: number | undefined
}

/**
 * Options for `map` and `mapStream`.
 *
 * @category models
 * @since 0.1.0
 */
export interface MapOptions {
  /**
   * Inputs per message: a positive whole number (default 1), or `"auto"` for
   * Python's rule, ceil(n / (4 × workers)), and 16 where the input's length
   * is unknown. Anything else fails at once with `InvalidPoolOptions`.
   */
  readonly chunkSize?: number | "auto" | undefined
  /**
   * `"input"` (default) keeps the input order, and `mapStream` then emits
   * every result before the first failing input before its error;
   * `"completion"` yields results as they finish.
   */
  readonly order?: "input" | "completion" | undefined
  /** A timeout for each chunk. */
  readonly timeout?: Duration.Input | undefined
  /** Stops every chunk still queued or running when the signal aborts, failing with `TaskAborted`. */
  readonly signal?: AbortSignal | undefined
  /** `false` opens no span for this call's chunks, even where the pool traces (see `Options.tracing`). */
  readonly tracing?: boolean | undefined
}

type SingleTask = Task.Task<string, Task.AnySchema, Task.AnySchema, Task.AnySchema>

/** Turns a result from a worker (or from the pool) into the caller's `Exit`. */
const toExit = (task: Task.Any, codec: Codec, code: number, value: unknown): Exit.Exit<any, any> => {
  switch (code) {
    case Reply.Success: {
      const decoded = codec.decodeSuccess(value)
      return Exit.isSuccess(decoded)
        ? decoded
        : Exit.die(
            new Error(`task "${task.name}" returned a value that does not match its schema: ${schemaIssue(decoded)}`)
          )
    }
    case Reply.Failure: {
      const decoded = codec.decodeError(value)
      return Exit.isSuccess(decoded)
        ? Exit.fail(decoded.value)
        : Exit.die(
            new Error(`task "${task.name}" failed with an error its schema does not describe: ${schemaIssue(decoded)}`)
          )
    }
    case Reply.Defect:
      return Exit.die(deserializeDefect(value as any))
    case Reply.PayloadError:
      return Exit.fail(new PayloadError({ task: task.name, side: "worker", issue: String(value) }))
    case Reply.Timeout:
      return Exit.fail(new TaskTimeout({ task: task.name, timeoutMillis: value as number }))
    case Reply.NotServed:
      return Exit.fail(new TaskNotServed({ task: task.name }))
    case Reply.Unsendable:
      return Exit.fail(new ResultError({ task: task.name, issue: String(value) }))
    case POOL_ERROR:
      return Exit.fail(value)
    default:
      return Exit.interrupt()
  }
}

/** Encodes one payload, or each payload of a chunk; the first failure is a caller-side `PayloadError`. */
const encode = (
  task: Task.Any,
  taskCodec: Codec,
  command: number,
  payload: unknown
): Exit.Exit<unknown, PayloadError> => {
  const fail = (exit: Exit.Exit<unknown, Schema.SchemaError>) =>
    Exit.fail(new PayloadError({ task: task.name, side: "caller", issue: schemaIssue(exit) }))
  if (command !== Command.RunChunk) {
    const exit = taskCodec.encodePayload(payload)
    return Exit.isSuccess(exit) ? (exit as Exit.Exit<unknown, never>) : fail(exit)
  }
  const encoded: Array<unknown> = []
  for (const item of payload as ReadonlyArray<unknown>) {
    const exit = taskCodec.encodePayload(item)
    if (Exit.isFailure(exit)) return fail(exit)
    encoded.push(exit.value)
  }
  return Exit.succeed(encoded)
}

/**
 * A chunk's reply as an outcome: its decoded results in input order and the
 * failure that stopped it, whether a failing input (`Partial`) or the whole
 * chunk (a crash, a timeout, a payload error).
 */
const chunkOutcome = (task: Task.Any, codec: Codec, code: number, value: unknown): Mapping.Outcome => {
  if (code !== Reply.Success && code !== Reply.Partial) {
    return { results: [], failure: (toExit(task, codec, code, value) as Exit.Failure<unknown, unknown>).cause }
  }
  const [done, failedCode, failedValue] =
    code === Reply.Success ? [value, undefined, undefined] : (value as [unknown, number, unknown])
  const results: Array<unknown> = []
  for (const item of done as Array<unknown>) {
    const exit = toExit(task, codec, Reply.Success, item)
    if (Exit.isFailure(exit)) return { results, failure: exit.cause }
    results.push(exit.value)
  }
  if (failedCode === undefined) return { results, failure: undefined }
  return { results, failure: (toExit(task, codec, failedCode, failedValue) as Exit.Failure<unknown, unknown>).cause }
}

const abortedBy = (task: Task.Any, signal: AbortSignal) =>
  new TaskAborted({ task: task.name, reason: describeThrown(signal.reason) })

/** A call's timeout in milliseconds (0 for none), or the error for one that is not a duration. */
const timeoutOf = (options: RunOptions | StreamOptions | MapOptions | undefined): number | InvalidPoolOptions => {
  if (options?.timeout === undefined) return 0
  const millis = durationMillis(options.timeout)
  if (millis === undefined || millis === 0) {
    return new InvalidPoolOptions({
      option: "timeout",
      value: show(options.timeout),
      expected: 'a positive duration (milliseconds, or a string such as "5 seconds")'
    })
  }
  return Number.isFinite(millis) ? Math.max(1, millis) : 0
}

/** How many items a stream's worker may send ahead of its consumer, by default. */
const DEFAULT_BUFFER_SIZE = 4096

/** A stream's `bufferSize`, or the error for one that is not a whole number of at least 1. */
const bufferSizeOf = (options: StreamOptions | undefined): number | InvalidPoolOptions => {
  const size = options?.bufferSize ?? DEFAULT_BUFFER_SIZE
  if (typeof size === "number" && Number.isSafeInteger(size) && size >= 1) return size
  return new InvalidPoolOptions({ option: "bufferSize", value: show(size), expected: "a whole number of at least 1" })
}

/**
 * What an interrupted caller runs, one effect per job: stops watching its signal, then cancels
 * the job; resolves once it has really stopped (on its worker, if it was running).
 */
const cancel = (pool: Pool, job: Job): Effect.Effect<void> =>
  Effect.suspend(() => {
    job.unwatch()
    const stopped = pool.cancel(job)
    return stopped === undefined ? Effect.void : Effect.promise(() => stopped)
  })

/**
 * Stops `job` when `signal` aborts: a queued job fails at once, a running one once it has
 * stopped on its worker; either way with `TaskAborted` carrying the signal's reason. Sets
 * `job.unwatch`, which removes the listener once the job has ended or been cancelled.
 */
const watchSignal = (
  pool: Pool,
  signal: AbortSignal | undefined,
  job: Job,
  fail: (exit: Exit.Exit<never, TaskAborted>) => void
): void => {
  if (signal === undefined) return
  const onAbort = () => {
    const aborted = abortedBy(job.task, signal)
    job.outcome = { code: POOL_ERROR, value: aborted }
    if (pool.cancel(job) === undefined) fail(Exit.fail(aborted))
  }
  signal.addEventListener("abort", onAbort, { once: true })
  job.unwatch = () => signal.removeEventListener("abort", onAbort)
}

/**
 * A client span's options. Its stack trace would point into the pool, not at
 * the caller, and capturing it costs more than the rest of the span: it is off.
 */
const clientSpan = (task: Task.Any, attributes: Record<string, unknown>) =>
  ({ kind: "client", attributes: { "strand.task": task.name, ...attributes }, captureStackTrace: false }) as const

/** A streaming task's items; its client span, where the call is traced, lasts as long as the stream. */
const stream = (pool: Pool, task: Task.Any, payload: unknown, options: StreamOptions | undefined) =>
  Stream.unwrap(
    Effect.withFiber((fiber) =>
      Effect.succeed(
        isTraced(fiber, pool.config.tracing, options?.tracing)
          ? Stream.withSpan(
              Stream.unwrap(
                Effect.withFiber((inner) =>
                  streamItems(pool, task, payload, options, inner, inner.cache.span as Tracer.Span)
                )
              ),
              task.name,
              clientSpan(task, {})
            )
          : Stream.unwrap(streamItems(pool, task, payload, options, fiber, undefined))
      )
    )
  )

/**
 * Runs one job: a task's payload, or a chunk of payloads with `Command.RunChunk`.
 * Where the call is traced (see `isTraced`), the job runs inside a client span
 * named after the task; otherwise nothing is added to the call's path.
 */
const submit = (
  pool: Pool,
  task: Task.Any,
  command: number,
  payload: unknown,
  options: RunOptions | MapOptions | undefined
): Effect.Effect<any, any> =>
  Effect.callback<any, any>((resume) => {
    const fiber = Fiber.getCurrent()!
    if (!isTraced(fiber, pool.config.tracing, options?.tracing)) {
      return startJob(pool, task, command, payload, options, fiber, undefined, resume)
    }
    const attributes = command === Command.RunChunk ? { "strand.chunk.size": (payload as Array<unknown>).length } : {}
    resume(
      Effect.withSpan(
        Effect.callback<any, any>((resume) => {
          const inner = Fiber.getCurrent()!
          return startJob(pool, task, command, payload, options, inner, inner.cache.span as Tracer.Span, resume)
        }),
        task.name,
        clientSpan(task, attributes)
      )
    )
  })

/** Submits a job and resumes the caller with its result; returns what cancels it. */
const startJob = (
  pool: Pool,
  task: Task.Any,
  command: number,
  payload: unknown,
  options: RunOptions | MapOptions | undefined,
  caller: Fiber.Fiber<unknown, unknown>,
  span: Tracer.Span | undefined,
  resume: (effect: Effect.Effect<any, any>) => void
): Effect.Effect<void> | undefined => {
  const timeout = timeoutOf(options)
  if (typeof timeout !== "number") return void resume(Exit.fail(timeout))
  if (options?.signal?.aborted) return void resume(Exit.fail(abortedBy(task, options.signal)))
  const taskCodec = codec(task)
  const encoded = encode(task, taskCodec, command, payload)
  if (Exit.isFailure(encoded)) return void resume(encoded)
  const job = new RunJob(
    pool.nextJob(),
    task,
    taskCodec,
    command,
    encoded.value,
    timeout,
    (options as RunOptions | undefined)?.transfer,
    caller,
    span,
    carriedBy(caller, span, pool.config.timeline !== undefined),
    0,
    resume
  )
  watchSignal(pool, options?.signal, job, resume)
  pool.submit(job)
  return cancel(pool, job)
}

/** A run, or a chunk of runs: resumes its caller once, with the result decoded. */
class RunJob extends Job<(effect: Effect.Effect<any, any>) => void> {
  onResult(code: number, value: unknown): void {
    this.unwatch()
    this.callerEnd?.(
      this.command === Command.RunChunk
        ? Exit.succeed(chunkOutcome(this.task, this.codec, code, value))
        : toExit(this.task, this.codec, code, value)
    )
  }
}

/**
 * A streaming task's items, under credit: the worker may send `bufferSize`
 * items ahead of the consumer, and the caller grants room for as many items
 * as the consumer pulls. A slow consumer therefore holds back the worker's
 * producer: at most `bufferSize` items wait in the caller's queue, plus the
 * half-buffer the consumer is working through.
 */
const streamItems = Effect.fnUntraced(function* (
  pool: Pool,
  task: Task.Any,
  payload: unknown,
  options: StreamOptions | undefined,
  caller: Fiber.Fiber<unknown, unknown>,
  span: Tracer.Span | undefined
) {
  const timeout = timeoutOf(options)
  if (typeof timeout !== "number") return yield* timeout
  const window = bufferSizeOf(options)
  if (typeof window !== "number") return yield* window
  if (options?.signal?.aborted) return yield* abortedBy(task, options.signal)
  const taskCodec = codec(task)
  const encoded = encode(task, taskCodec, Command.Run, payload)
  if (Exit.isFailure(encoded)) return yield* Effect.failCause(encoded.cause)
  const queue = yield* Queue.unbounded<any, any>()
  const job = new StreamJob(
    pool.nextJob(),
    task,
    taskCodec,
    Command.Run,
    encoded.value,
    timeout,
    options?.transfer,
    caller,
    span,
    carriedBy(caller, span, pool.config.timeline !== undefined),
    window,
    queue
  )
  watchSignal(pool, options?.signal, job, (exit) => {
    if (Exit.isFailure(exit)) Queue.failCauseUnsafe(queue, exit.cause)
  })
  yield* Effect.acquireRelease(
    Effect.sync(() => pool.submit(job)),
    () => cancel(pool, job)
  )
  // The consumer pulls at most half the buffer at a time, and each pull grants that much
  // again: the worker produces the next half while the consumer works through this one.
  const half = Math.max(1, window >> 1)
  const pull = Effect.map(Queue.takeBetween(queue, 1, half), (items) => {
    pool.credit(job, items.length)
    return items as unknown as Arr.NonEmptyReadonlyArray<any>
  })
  return Stream.fromPull(Effect.succeed(pull))
})

/** A stream: its items, then its end or its failure, go to the queue its consumer pulls from. */
class StreamJob extends Job<Queue.Queue<any, any>> {
  onResult(code: number, value: unknown): void {
    const queue = this.callerEnd
    if (queue === undefined) return
    if (code === Reply.End) return void Queue.endUnsafe(queue)
    const exit = toExit(this.task, this.codec, code === Reply.Item ? Reply.Success : code, value)
    if (Exit.isFailure(exit)) Queue.failCauseUnsafe(queue, exit.cause)
    else if (code === Reply.Item) Queue.offerUnsafe(queue, exit.value)
  }
}

/** Runs one chunk: a single input as a plain run, more as one message; never fails. */
const runChunk =
  (pool: Pool, task: SingleTask, options: MapOptions | undefined): Mapping.RunChunk =>
  (chunk) =>
    chunk.length === 1
      ? Effect.map(Effect.exit(submit(pool, task, Command.Run, chunk[0], options)), Mapping.outcomeOf)
      : (submit(pool, task, Command.RunChunk, chunk, options) as Effect.Effect<Mapping.Outcome>)

/** A snapshot of the engine's state and counters. */
const statsOf = (pool: Pool): Stats => {
  const now = performance.now()
  return {
    size: pool.slots.length,
    spares: pool.spares.length,
    queued: pool.queued,
    inflight: pool.inflightCount(),
    ...pool.totals,
    workers: pool.slots.map((slot) => ({
      id: slot.id,
      threadId: slot.transport.threadId,
      pid: slot.transport.pid,
      ready: slot.ready,
      inflight: slot.inflight.size,
      completed: slot.completed,
      utilization: slot.utilization(now)
    }))
  }
}

/** Builds the service's operations over a running pool engine. @internal */
export const makeClient = (pool: Pool, config: PoolConfig): Omit<Service, "messages"> => ({
  run: (task, payload, options) => submit(pool, task, Command.Run, payload, options),
  stream: (task, payload, options) => stream(pool, task, payload, options) as Stream.Stream<any, any>,
  map: (task, inputs, options) =>
    Mapping.map(inputs, options, config.maxSize, runChunk(pool, task, options)) as Effect.Effect<any, any>,
  mapStream: (task, inputs, options) =>
    Mapping.mapStream(inputs, options, config.maxSize, runChunk(pool, task, options)) as Stream.Stream<any, any, any>,
  stats: Effect.sync(() => statsOf(pool))
})
