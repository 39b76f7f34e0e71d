/**
 * The caller's side of the pool: turns `run`, `stream`, `map` and `mapStream`
 * into jobs for the engine, and the engine's results back into typed exits.
 *
 * @internal
 */

import { availableParallelism } from "node:os"
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Queue from "effect/Queue"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as Task from "../Task.ts"
import type { MapOptions, Options, RunOptions, Service, Stats } from "../WorkerPool.ts"
import { InvalidPoolOptions, PayloadError, TaskNotServed, TaskTimeout } from "./errors.ts"
import { Job, POOL_ERROR, type Pool, type PoolConfig } from "./pool.ts"
import { type Codec, Command, codec, deserializeDefect, Result, schemaIssue } from "./protocol.ts"

type SingleTask = Task.Task<string, Task.AnySchema, Task.AnySchema, Task.AnySchema>

/** @internal */
export const validate = (options: Options): Effect.Effect<PoolConfig, InvalidPoolOptions> => {
  const invalid = (option: string, value: unknown, expected: string) =>
    Effect.fail(new InvalidPoolOptions({ option, value: String(value), expected }))
  const wholeAtLeast = (n: unknown, min: number) => typeof n === "number" && Number.isInteger(n) && n >= min
  const size = options.size ?? availableParallelism()
  const [minSize, maxSize] = typeof size === "number" ? [size, size] : [size.min, size.max]
  if (!wholeAtLeast(minSize, 0)) return invalid("size.min", minSize, "a whole number of at least 0")
  if (!wholeAtLeast(maxSize, 1) || maxSize < minSize) {
    return invalid("size", maxSize, "a whole number of at least 1, and at least size.min")
  }
  const { maxTasksPerWorker, maxQueue } = options
  if (maxTasksPerWorker !== undefined && !wholeAtLeast(maxTasksPerWorker, 1)) {
    return invalid("maxTasksPerWorker", maxTasksPerWorker, "a whole number of at least 1")
  }
  if (maxQueue !== undefined && !wholeAtLeast(maxQueue, 1))
    return invalid("maxQueue", maxQueue, "a whole number of at least 1")
  const spares = options.spareWorkers ?? 1
  if (!wholeAtLeast(spares, 0)) return invalid("spareWorkers", spares, "a whole number of at least 0")
  const pipelining = options.concurrentTasksPerWorker ?? "auto"
  if (pipelining !== "auto" && !wholeAtLeast(pipelining, 1)) {
    return invalid("concurrentTasksPerWorker", pipelining, 'a whole number of at least 1, or "auto"')
  }
  const millis = (input: Duration.Input | undefined, fallback: number) =>
    input === undefined ? fallback : Duration.toMillis(Duration.fromInputUnsafe(input))
  const module =
    options.module instanceof URL
      ? options.module
      : options.module.startsWith("file:")
        ? new URL(options.module)
        : pathToFileURL(resolve(options.module))
  return Effect.succeed({
    module,
    minSize,
    maxSize,
    idleTimeToLive: millis(typeof size === "number" ? undefined : size.idleTimeToLive, 30_000),
    maxTasksPerWorker,
    resourceLimits: options.resourceLimits,
    maxQueue,
    onQueueFull: options.onQueueFull ?? "wait",
    pipelining,
    spares,
    gracePeriod: millis(options.cancelGracePeriod, 100),
    onClose: options.onClose ?? "interrupt",
    execArgv: options.execArgv
  })
}

/** Turns a result from a worker (or from the pool) into the caller's `Exit`. */
const toExit = (task: Task.Any, codec: Codec, code: number, value: unknown): Exit.Exit<any, any> => {
  switch (code) {
    case Result.Success: {
      const decoded = codec.decodeSuccess(value)
      return Exit.isSuccess(decoded)
        ? decoded
        : Exit.die(
            new Error(`task "${task.name}" returned a value that does not match its schema: ${schemaIssue(decoded)}`)
          )
    }
    case Result.Failure: {
      const decoded = codec.decodeError(value)
      return Exit.isSuccess(decoded)
        ? Exit.fail(decoded.value)
        : Exit.die(
            new Error(`task "${task.name}" failed with an error its schema does not describe: ${schemaIssue(decoded)}`)
          )
    }
    case Result.Defect:
      return Exit.die(deserializeDefect(value as any))
    case Result.PayloadError:
      return Exit.fail(new PayloadError({ task: task.name, side: "worker", issue: String(value) }))
    case Result.Timeout:
      return Exit.fail(new TaskTimeout({ task: task.name, timeoutMillis: value as number }))
    case Result.NotServed:
      return Exit.fail(new TaskNotServed({ task: task.name }))
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

/** Builds the service's operations over a running pool engine. @internal */
export const makeClient = (pool: Pool, config: PoolConfig): Service => {
  const cancel = (job: Job) =>
    Effect.suspend(() => {
      const stopped = pool.cancel(job)
      return stopped === undefined ? Effect.void : Effect.promise(() => stopped)
    })
  const timeoutOf = (options: RunOptions | MapOptions | undefined) =>
    options?.timeout === undefined ? 0 : Math.max(1, Duration.toMillis(Duration.fromInputUnsafe(options.timeout)))

  /** Runs one job: a task's payload, or a chunk of payloads with `Command.RunChunk`. */
  const submit = (
    task: Task.Any,
    command: number,
    payload: unknown,
    options: RunOptions | undefined
  ): Effect.Effect<any, any> =>
    Effect.callback((resume) => {
      const taskCodec = codec(task)
      const encoded = encode(task, taskCodec, command, payload)
      if (Exit.isFailure(encoded)) return resume(encoded)
      const job = new Job(
        pool.nextJob(),
        task,
        taskCodec,
        command,
        encoded.value,
        timeoutOf(options),
        options?.transfer,
        (code, value) => {
          if (command !== Command.RunChunk || code !== Result.Success) {
            return resume(toExit(task, taskCodec, code, value))
          }
          const results: Array<unknown> = []
          for (const item of value as Array<unknown>) {
            const exit = toExit(task, taskCodec, code, item)
            if (Exit.isFailure(exit)) return resume(exit)
            results.push(exit.value)
          }
          resume(Exit.succeed(results))
        }
      )
      pool.submit(job)
      return cancel(job)
    })

  const run: Service["run"] = (task, payload, options) => submit(task, Command.Run, payload, options)

  const stream: Service["stream"] = (task, payload, options) =>
    Stream.unwrap(
      Effect.gen(function* () {
        const taskCodec = codec(task)
        const encoded = encode(task, taskCodec, Command.Run, payload)
        if (Exit.isFailure(encoded)) return yield* Effect.failCause(encoded.cause)
        const queue = yield* Queue.unbounded<any, any>()
        const job = new Job(
          pool.nextJob(),
          task,
          taskCodec,
          Command.Run,
          encoded.value,
          timeoutOf(options),
          options?.transfer,
          (code, value) => {
            if (code === Result.End) return void Queue.endUnsafe(queue)
            const exit = toExit(task, taskCodec, code === Result.Item ? Result.Success : code, value)
            if (Exit.isFailure(exit)) Queue.failCauseUnsafe(queue, exit.cause)
            else if (code === Result.Item) Queue.offerUnsafe(queue, exit.value)
          }
        )
        yield* Effect.acquireRelease(
          Effect.sync(() => pool.submit(job)),
          () => cancel(job)
        )
        return Stream.fromQueue(queue)
      })
    )

  const chunksOf = <A>(inputs: Iterable<A>, options: MapOptions | undefined): Array<Array<A>> => {
    const all = Array.from(inputs)
    const requested = options?.chunkSize ?? 1
    const size = requested === "auto" ? Math.max(1, Math.ceil(all.length / (4 * config.maxSize))) : requested
    const chunks: Array<Array<A>> = []
    for (let i = 0; i < all.length; i += size) chunks.push(all.slice(i, i + size))
    return chunks
  }

  const runChunk = (task: SingleTask, chunk: ReadonlyArray<unknown>, options: MapOptions | undefined) =>
    chunk.length === 1
      ? Effect.map(submit(task, Command.Run, chunk[0], options), (a) => [a])
      : (submit(task, Command.RunChunk, chunk, options) as Effect.Effect<Array<any>, any>)

  const map: Service["map"] = (task, inputs, options) =>
    Effect.suspend(() => {
      const chunks = chunksOf(inputs, options)
      if (options?.order === "completion") {
        const results: Array<any> = []
        return Effect.as(
          Effect.forEach(chunks, (chunk) => Effect.map(runChunk(task, chunk, options), (r) => results.push(...r)), {
            concurrency: "unbounded",
            discard: true
          }),
          results
        )
      }
      return Effect.map(
        Effect.forEach(chunks, (chunk) => runChunk(task, chunk, options), { concurrency: "unbounded" }),
        (results) => results.flat()
      )
    })

  const mapStream: Service["mapStream"] = (task, inputs, options) =>
    Stream.suspend(() =>
      Stream.fromIterable(chunksOf(inputs, options)).pipe(
        Stream.mapEffect((chunk) => runChunk(task, chunk, options), {
          concurrency: 4 * config.maxSize,
          unordered: options?.order === "completion"
        }),
        Stream.flattenIterable
      )
    )

  const stats = Effect.sync((): Stats => {
    const now = performance.now()
    return {
      size: pool.slots.length,
      spares: pool.spares.length,
      queued: pool.queued,
      inflight: pool.inflightCount(),
      ...pool.totals,
      workers: pool.slots.map((slot) => ({
        id: slot.id,
        threadId: slot.worker.threadId,
        ready: slot.ready,
        inflight: slot.inflight.size,
        completed: slot.completed,
        utilization: slot.utilization(now)
      }))
    }
  })

  return { run, stream, map, mapStream, stats }
}
