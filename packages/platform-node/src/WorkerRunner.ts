/**
 * The worker side of a `WorkerPool`: serves task handlers in a worker thread.
 *
 * **When to use**
 *
 * Call `launch` once, at the top level of the module the pool starts its
 * workers from. In single-file mode (one module that is both the caller and
 * the worker, like Python's `if __name__ == "__main__"`), guard the two roles
 * with `isWorker`.
 *
 * **Details**
 *
 * - Each handler runs as its own fiber, so a worker can have several tasks in
 *   flight, and interrupting the caller interrupts the handler's fiber.
 * - The optional `layer` is built once per worker, before it reports ready,
 *   and provided to every handler: Python's `initializer`, e.g. a lookup table
 *   loaded once per worker.
 * - A payload that does not decode is reported to the caller as a typed
 *   `PayloadError`; the worker carries on.
 * - A worker module may be TypeScript: it runs under `tsx` (the workers
 *   inherit its loader) and under Node's own type stripping (Node >= 22.18).
 *
 * @example
 * ```ts
 * // tasks.ts — shared by caller and worker
 * import { Schema } from "effect"
 * import { Task } from "@strand/platform-node"
 * export const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
 *
 * // worker.ts — the module the pool starts
 * import { Effect } from "effect"
 * import { WorkerRunner } from "@strand/platform-node"
 * import { Square } from "./tasks.ts"
 *
 * WorkerRunner.launch([WorkerRunner.handle(Square, (n) => Effect.succeed(n * n))])
 * ```
 *
 * @since 0.1.0
 */

import { isMainThread, parentPort, workerData } from "node:worker_threads"
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import {
  COMMAND_STRIDE,
  type Codec,
  Command,
  codec,
  READY,
  Result,
  schemaIssue,
  serializeCause,
  serializeDefect,
  WORKER_MARK
} from "./internal/protocol.ts"
import type * as Task from "./Task.ts"

/**
 * A handler for one task, made by `handle`.
 *
 * @since 0.1.0
 */
export interface Handler<R> {
  readonly task: Task.Any
  readonly run: (payload: any) => Effect.Effect<any, any, R> | Stream.Stream<any, any, R>
}

/**
 * Whether this thread is a worker started by a Strand `WorkerPool`.
 *
 * **When to use**
 *
 * Use in single-file mode, to run the worker role or the caller role.
 *
 * @example
 * ```ts
 * import { WorkerRunner } from "@strand/platform-node"
 *
 * if (WorkerRunner.isWorker) {
 *   // serve tasks
 * } else {
 *   // start the pool and run the program
 * }
 * ```
 *
 * @since 0.1.0
 */
export const isWorker: boolean =
  !isMainThread && parentPort !== null && typeof workerData === "object" && workerData?.[WORKER_MARK] === 1

/**
 * Binds a task to the function that performs it in the worker.
 *
 * **When to use**
 *
 * Use once per task the worker serves, in the list given to `launch`.
 *
 * **Details**
 *
 * For a `Task.make` task the function returns an Effect; for a `Task.stream`
 * task it returns a Stream. It may require services, which the `layer` given
 * to `launch` provides.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Task, WorkerRunner } from "@strand/platform-node"
 *
 * const Double = Task.make("Double", { payload: Schema.Number, success: Schema.Number })
 * const handler = WorkerRunner.handle(Double, (n) => Effect.succeed(n * 2))
 * ```
 *
 * @since 0.1.0
 */
export const handle: {
  <T extends Task.Task<string, Task.AnySchema, Task.AnySchema, Task.AnySchema>, R = never>(
    task: T,
    run: (payload: Task.Payload<T>) => Effect.Effect<Task.Success<T>, Task.Error<T>, R>
  ): Handler<R>
  <T extends Task.StreamTask<string, Task.AnySchema, Task.AnySchema, Task.AnySchema>, R = never>(
    task: T,
    run: (payload: Task.Payload<T>) => Stream.Stream<Task.Success<T>, Task.Error<T>, R>
  ): Handler<R>
} = (task: Task.Any, run: Handler<any>["run"]): Handler<any> => ({ task, run })

/**
 * Options for `serve` and `launch`.
 *
 * @since 0.1.0
 */
export interface Options<R, E> {
  /** Built once per worker and provided to every handler (Python's `initializer`). */
  readonly layer?: Layer.Layer<R, E> | undefined
}

interface Served {
  readonly handler: Handler<any>
  readonly codec: Codec
}

/**
 * Serves `handlers` on this worker thread's parent port until the pool
 * terminates the worker.
 *
 * **When to use**
 *
 * Use `launch` instead unless you need to compose the worker's main effect yourself.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { NodeRuntime } from "@effect/platform-node"
 * import { Task, WorkerRunner } from "@strand/platform-node"
 *
 * const Echo = Task.make("Echo", { payload: Schema.String, success: Schema.String })
 * if (WorkerRunner.isWorker) {
 *   NodeRuntime.runMain(WorkerRunner.serve([WorkerRunner.handle(Echo, Effect.succeed)]))
 * }
 * ```
 *
 * @since 0.1.0
 */
export const serve = <R = never, E = never>(
  handlers: ReadonlyArray<Handler<R>>,
  options?: Options<R, E>
): Effect.Effect<never, E> =>
  Effect.scoped(
    Effect.gen(function* () {
      const port = parentPort
      if (port === null) return yield* Effect.die(new Error("WorkerRunner.serve must run in a worker thread"))
      const context = (
        options?.layer === undefined ? yield* Effect.context<never>() : yield* Layer.build(options.layer)
      ) as Context.Context<R>
      const runFork = Effect.runForkWith(context)
      const served = new Map<string, Served>()
      for (const handler of handlers) served.set(handler.task.name, { handler, codec: codec(handler.task) })
      const fibers = new Map<number, Fiber.Fiber<unknown, unknown>>()

      let outbox: Array<unknown> = []
      const flush = () => {
        const batch = outbox
        outbox = []
        port.postMessage(batch)
      }
      const emit = (code: number, id: number, value: unknown) => {
        if (outbox.length === 0) queueMicrotask(flush)
        outbox.push(code, id, value)
      }

      const encodeOr = (encode: Codec["encodeSuccess"], value: unknown, id: number, code: number) => {
        const encoded = encode(value)
        if (Exit.isSuccess(encoded)) emit(code, id, encoded.value)
        else
          emit(
            Result.Defect,
            id,
            serializeDefect(
              new Error(`the worker produced a value that does not match the task's schema: ${schemaIssue(encoded)}`)
            )
          )
      }

      const report =
        (id: number, codec: Codec, timeout: number, streaming: boolean) => (exit: Exit.Exit<unknown, unknown>) => {
          fibers.delete(id)
          if (Exit.isSuccess(exit)) {
            if (timeout > 0 && Option.isNone(exit.value as Option.Option<unknown>)) emit(Result.Timeout, id, timeout)
            else if (streaming) emit(Result.End, id, undefined)
            else
              encodeOr(
                codec.encodeSuccess,
                timeout > 0 ? (exit.value as Option.Some<unknown>).value : exit.value,
                id,
                Result.Success
              )
            return
          }
          const error = Cause.findErrorOption(exit.cause)
          if (Option.isSome(error)) encodeOr(codec.encodeError, error.value, id, Result.Failure)
          else if (Cause.hasInterruptsOnly(exit.cause)) emit(Result.Interrupted, id, undefined)
          else emit(Result.Defect, id, serializeCause(exit.cause))
        }

      const start = (code: number, id: number, name: string, payload: unknown, timeout: number) => {
        const entry = served.get(name)
        if (entry === undefined) return emit(Result.NotServed, id, name)
        const { handler, codec } = entry
        const decode = (value: unknown) => {
          const decoded = codec.decodePayload(value)
          if (Exit.isFailure(decoded)) emit(Result.PayloadError, id, schemaIssue(decoded))
          return decoded
        }
        let effect: Effect.Effect<unknown, unknown, R>
        if (handler.task._tag === "StreamTask") {
          const decoded = decode(payload)
          if (Exit.isFailure(decoded)) return
          const stream = handler.run(decoded.value) as Stream.Stream<unknown, unknown, R>
          effect = Stream.runForEach(stream, (item) =>
            Effect.sync(() => encodeOr(codec.encodeSuccess, item, id, Result.Item))
          ).pipe(Effect.as(undefined))
        } else if (code === Command.RunChunk) {
          const payloads = payload as Array<unknown>
          const decoded: Array<unknown> = []
          for (const value of payloads) {
            const exit = decode(value)
            if (Exit.isFailure(exit)) return
            decoded.push(exit.value)
          }
          effect = Effect.forEach(decoded, (value) => handler.run(value) as Effect.Effect<unknown, unknown, R>)
        } else {
          const decoded = decode(payload)
          if (Exit.isFailure(decoded)) return
          effect = handler.run(decoded.value) as Effect.Effect<unknown, unknown, R>
        }
        const chunkCodec = code === Command.RunChunk ? chunkOf(codec) : codec
        const fiber = runFork(timeout > 0 ? Effect.timeoutOption(effect, timeout) : effect)
        fibers.set(id, fiber)
        fiber.addObserver(report(id, chunkCodec, timeout, handler.task._tag === "StreamTask"))
      }

      port.on("message", (batch: Array<any>) => {
        for (let i = 0; i < batch.length; i += COMMAND_STRIDE) {
          const code = batch[i] as number
          const id = batch[i + 1] as number
          if (code === Command.Interrupt) fibers.get(id)?.interruptUnsafe()
          else start(code, id, batch[i + 2], batch[i + 3], batch[i + 4])
        }
      })
      port.postMessage(READY)
      return yield* Effect.never
    })
  )

const chunkCodecs = new WeakMap<Codec, Codec>()

/** A chunk's results travel as an array, each encoded by the task's codec. */
const chunkOf = (codec: Codec): Codec => {
  let cached = chunkCodecs.get(codec)
  if (cached !== undefined) return cached
  cached = {
    ...codec,
    encodeSuccess: (values) => {
      const out: Array<unknown> = []
      for (const value of values as Array<unknown>) {
        const exit = codec.encodeSuccess(value)
        if (Exit.isFailure(exit)) return exit
        out.push(exit.value)
      }
      return Exit.succeed(out)
    }
  }
  chunkCodecs.set(codec, cached)
  return cached
}

/**
 * Starts serving `handlers` if this thread is a pool worker; does nothing otherwise.
 *
 * **When to use**
 *
 * Use at the top level of every worker module.
 *
 * **Details**
 *
 * Safe to call in a module that is also run as the main program (single-file
 * mode): on the main thread it returns at once. If the `layer` fails to build,
 * the worker exits and the pool reports a `WorkerSpawnError`.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Task, WorkerRunner } from "@strand/platform-node"
 *
 * const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
 * WorkerRunner.launch([WorkerRunner.handle(Square, (n) => Effect.succeed(n * n))])
 * ```
 *
 * @since 0.1.0
 */
export const launch = <R = never, E = never>(handlers: ReadonlyArray<Handler<R>>, options?: Options<R, E>): void => {
  if (!isWorker) return
  Effect.runFork(serve(handlers, options)).addObserver((exit) => {
    if (Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)) {
      // A Layer that cannot be built leaves nothing to serve: fail the worker loudly.
      throw Cause.squash(exit.cause)
    }
  })
}
