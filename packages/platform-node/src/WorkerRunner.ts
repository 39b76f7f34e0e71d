/**
 * The worker side of a `WorkerPool`: serves task handlers in a worker thread,
 * or in a worker process (`isolation: "process"`), the same way.
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
 * - Nothing one task does takes its worker or its batch-mates down: a handler
 *   that throws (before or after it builds an Effect) is a defect of that
 *   task, with its message and stack; a result that structured clone cannot
 *   copy, or that the task's schema rejects, fails that task with a typed
 *   `ResultError`. The same worker serves the next task.
 * - The pool talks to the runner on a private `MessageChannel` (in a worker
 *   process, on its IPC channel). Messages that the module's own code posts
 *   on `parentPort` (or sends with `process.send`) never pass for results:
 *   the caller reads them from the pool's `messages` stream.
 * - Results are copied by structured clone; mark one with `transfer` to move
 *   its buffers instead.
 * - The runner reads typed configuration from the caller (`Task.config`),
 *   listed in the `config` option and provided as services to the Layer and
 *   the handlers.
 * - A worker module may be TypeScript: it runs under `tsx` (the workers
 *   inherit its loader) and under Node's own type stripping (Node >= 22.18).
 * - A handler's `Effect.log*` lines go to the caller's loggers, and the
 *   spans it opens to the caller's tracer, under the task's server span (see
 *   `WorkerPool.Options.tracing`); nothing is configured here. Logs from
 *   outside any task (the Layer, fibers it starts) keep the worker's own
 *   loggers, and a tracer this module's Layer installs is kept, in which case
 *   spans stay in the worker.
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

import type { MessagePort, TransferListItem } from "node:worker_threads"
import * as Cause from "effect/Cause"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import type * as Stream from "effect/Stream"
import { type Control, schemaIssue, stackMapper } from "./internal/protocol.ts"
import { type Handler as AnyHandler, markTransfer, Runner } from "./internal/runner.ts"
import { stackMapperFor } from "./internal/sourcemap.ts"
import * as Host from "./internal/transport/host.ts"
import type * as Task from "./Task.ts"

/**
 * A handler for one task, made by `handle`. `R` is what it needs from the
 * worker's Layer and configuration.
 *
 * @category models
 * @since 0.1.0
 */
export interface Handler<R> extends AnyHandler<R> {}

/**
 * Whether this thread (or process) is a worker started by a Strand `WorkerPool`.
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
 * @category guards
 * @since 0.1.0
 */
export const isWorker: boolean = Host.isWorker

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
 * task it returns a Stream. It may require services, which the `layer` or the
 * `config` given to `launch` must provide. Handlers that require services
 * given to `launch` without options are a compile error; `serve` lists in
 * its type whatever the options leave unprovided.
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
 * @category combinators
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
 * Moves a result (or a stream item) to the caller instead of copying it:
 * piscina's `move`. Returns `value` itself, marked.
 *
 * **When to use**
 *
 * Use for large binary results (an image, a decoded file, a numeric array),
 * where copying costs as much as computing them.
 *
 * **Details**
 *
 * Without `list`, an `ArrayBuffer` moves itself, a typed array or `DataView`
 * moves its buffer, and a `MessagePort` moves itself; for any other value,
 * give the buffers or ports to move. After the move the worker's copy is
 * detached (its `byteLength` reads 0), so do not keep using it. A buffer that
 * cannot be moved (a `SharedArrayBuffer`, or one already detached) fails the
 * task with a `ResultError`. A worker process (`isolation: "process"`) cannot
 * move anything to its caller: a marked result fails its task with a
 * `ResultError` that says so, rather than being copied behind your back.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Task, WorkerRunner } from "@strand/platform-node"
 *
 * const Noise = Task.make("Noise", { payload: Schema.Number, success: Schema.instanceOf(Float64Array) })
 * const handler = WorkerRunner.handle(Noise, (n) =>
 *   Effect.sync(() => WorkerRunner.transfer(Float64Array.from({ length: n }, Math.random)))
 * )
 * ```
 *
 * @category combinators
 * @since 0.2.0
 */
export const transfer = <A extends object>(value: A, list?: ReadonlyArray<TransferListItem>): A => {
  if (list !== undefined) return markTransfer(value, list)
  if (value instanceof ArrayBuffer) return markTransfer(value, [value])
  if (ArrayBuffer.isView(value) && value.buffer instanceof ArrayBuffer) return markTransfer(value, [value.buffer])
  if (typeof value === "object" && value !== null && value.constructor?.name === "MessagePort") {
    return markTransfer(value, [value as unknown as MessagePort])
  }
  return value
}

type AnyConfig = Task.Config<any, any>
type IdOf<C> = C extends Task.Config<infer Name, any> ? Task.ConfigId<Name> : never

/**
 * The services that the configurations `C` provide.
 *
 * @category models
 * @since 0.2.0
 */
export type ConfigIds<C extends ReadonlyArray<AnyConfig>> = IdOf<C[number]>

/**
 * Options for `serve` and `launch`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<L, C extends ReadonlyArray<AnyConfig>> {
  /**
   * A Layer built once per worker and provided to every handler (Python's
   * `initializer`). It may read the `config` services.
   */
  readonly layer?: L
  /** The configurations this worker reads from the caller (`Task.config`). */
  readonly config?: C
}

type Requirement<H> = H extends Handler<infer R> ? R : never
type LayerOut<L> = L extends Layer.Layer<infer A, infer _E, infer _R> ? A : never
type LayerIn<L> = L extends Layer.Layer<infer _A, infer _E, infer R> ? R : never
type LayerError<L> = L extends Layer.Layer<infer _A, infer E, infer _R> ? E : never

/**
 * What the handlers `H` and the layer `L` need that neither `L` nor the
 * configurations `C` provide.
 *
 * @category models
 * @since 0.2.0
 */
export type Unprovided<H extends ReadonlyArray<Handler<any>>, L, C extends ReadonlyArray<AnyConfig>> =
  | Exclude<Requirement<H[number]>, LayerOut<L> | ConfigIds<C>>
  | Exclude<LayerIn<L>, ConfigIds<C>>

/** Decodes each configuration the worker lists from what the pool put in `workerData`. */
const readConfig = (configs: ReadonlyArray<AnyConfig>, given: Readonly<Record<string, unknown>>) =>
  Effect.suspend(() => {
    let context = Context.empty() as Context.Context<unknown>
    for (const config of configs) {
      if (!(config.configName in given)) {
        return Effect.die(
          new Error(
            `the worker reads configuration "${config.configName}", which the pool was not given. ` +
              `Add ${config.configName}.value(...) to the pool's config option.`
          )
        )
      }
      const decoded = Schema.decodeUnknownExit(config.schema)(given[config.configName])
      if (Exit.isFailure(decoded)) {
        return Effect.die(
          new Error(`configuration "${config.configName}" does not match its schema: ${schemaIssue(decoded)}`)
        )
      }
      context = Context.add(context, config, decoded.value)
    }
    return Effect.succeed(context)
  })

/**
 * Serves `handlers` on the pool's private channel until the pool terminates
 * the worker.
 *
 * **When to use**
 *
 * Use `launch` instead unless you need to compose the worker's main effect yourself.
 *
 * **Details**
 *
 * It builds the configuration and the `layer` first; if either fails, the
 * effect fails and the pool's `make` fails with a `WorkerSpawnError` that
 * carries the reason. Whatever the handlers or the `layer` need that
 * neither the `layer` nor the `config` provides stays in the effect's
 * requirements, so running it without providing them is a compile error.
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
 * @category combinators
 * @since 0.1.0
 */
export const serve = <const H extends ReadonlyArray<Handler<any>>, L, const C extends ReadonlyArray<AnyConfig> = []>(
  handlers: H,
  options?: Options<L, C>
): Effect.Effect<never, LayerError<L>, Unprovided<H, L, C>> =>
  Effect.scoped(
    Effect.gen(function* () {
      const host = yield* Host.connect
      // A bundle's defects report the user's files: see sourcemap.ts.
      if (host.bundle !== undefined) stackMapper.map = stackMapperFor(host.bundle)
      const config = yield* readConfig(options?.config ?? [], host.config)
      const context =
        options?.layer === undefined
          ? config
          : Context.merge(
              config,
              yield* Effect.provideContext(
                Layer.build(options.layer as unknown as Layer.Layer<unknown, unknown, unknown>),
                config
              )
            )
      new Runner(host, handlers as ReadonlyArray<AnyHandler<unknown>>, context as Context.Context<unknown>)
      host.channel.postMessage({ _: "ready" } satisfies Control)
      return yield* Effect.never
    })
  ) as Effect.Effect<never, LayerError<L>, Unprovided<H, L, C>>

/**
 * Why a worker could not start: the cause as `Cause.pretty` prints it, and
 * the fields of a typed error, which `Cause.pretty` leaves out.
 */
const failureReason = (cause: Cause.Cause<unknown>): string => {
  const pretty = Cause.pretty(cause)
  const error = Cause.squash(cause)
  if (typeof error !== "object" || error === null) return pretty
  const fields = Object.entries(error).filter(([key]) => key !== "stack" && key !== "message")
  if (fields.length === 0) return pretty
  try {
    return `${pretty}\n  with ${JSON.stringify(Object.fromEntries(fields))}`
  } catch {
    return pretty
  }
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
 * mode): on the main thread it returns at once. If the configuration or the
 * `layer` fails, the worker tells the pool why (as `Cause.pretty` prints it)
 * and exits, and the pool's `make` fails with a `WorkerSpawnError` carrying
 * that reason.
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
 * @category combinators
 * @since 0.1.0
 */
export const launch: {
  (handlers: ReadonlyArray<Handler<never>>): void
  <const H extends ReadonlyArray<Handler<any>>, L, const C extends ReadonlyArray<AnyConfig> = []>(
    handlers: H,
    options: Options<L, C>
  ): void
} = (handlers: ReadonlyArray<Handler<any>>, options?: Options<unknown, ReadonlyArray<AnyConfig>>): void => {
  if (!isWorker) return
  Effect.runFork(serve(handlers, options) as unknown as Effect.Effect<never, unknown>).addObserver((exit) => {
    if (Exit.isFailure(exit) && !Cause.hasInterruptsOnly(exit.cause)) {
      // Nothing to serve: tell the pool why, then end this worker.
      Host.failStart(failureReason(exit.cause))
    }
  })
}
