/**
 * A pool of worker threads (or worker processes) for CPU-bound Effect work:
 * Python's `multiprocessing.Pool`, typed, interruptible and crash-safe.
 *
 * **When to use**
 *
 * Use a `WorkerPool` for work that keeps a core busy (hashing, parsing,
 * compression, simulation). JavaScript runs one thread per isolate, so such
 * work blocks every fiber on the main thread; the pool runs it in parallel on
 * other cores. I/O-bound work belongs on fibers instead.
 *
 * **Details**
 *
 * - Tasks are defined once with `Task.make` and served in the worker module
 *   with `WorkerRunner.launch`. Payloads, results and typed errors are encoded
 *   with the task's Schemas; a worker's defect reaches the caller as a defect
 *   with the worker's stack.
 * - Dispatch is FIFO and O(1) per task, whatever the number of waiting callers.
 *   Several tasks may be in flight on one worker (pipelining: by default about
 *   a millisecond of work each), and all commands and results produced in one
 *   tick travel in a single message.
 * - Everything that crosses the thread boundary is checked. A payload that
 *   structured clone cannot copy fails its own task with `PayloadError`
 *   naming the path (`payload.f`); a result that cannot be sent back fails
 *   its own task with `ResultError`; the worker and the other tasks of the
 *   same batch carry on. The protocol runs on a private channel, so what the
 *   worker module posts on `parentPort` arrives on `messages`, never as a
 *   result.
 * - Results are copied; a handler moves a large buffer instead with
 *   `WorkerRunner.transfer`, and a caller moves a payload's buffers with the
 *   `transfer` run option.
 * - Workers are threads by default; `isolation: "process"` runs each in a
 *   child process of its own, for work that must not reach the caller (see
 *   `Options.isolation`). A worker module runs in either without a change.
 * - Workers are configured from the caller with typed `Task.config` values
 *   (the `config` option), plus `env` and `argv`.
 * - `size: n` keeps `n` workers busy, and by default one more started, idle
 *   spare (`spareWorkers: 1`) so that a crashed or stopped worker is replaced
 *   at once: `size: 2` runs three threads. Set `spareWorkers: 0` for exactly
 *   `size` threads. `stats.size` counts the workers, `stats.spares` the spares.
 * - Interrupting a caller interrupts the task's fiber in the worker. A handler
 *   that never yields (a synchronous loop) is stopped by terminating its worker
 *   after `cancelGracePeriod`; the interruption completes once the thread is
 *   gone, and the worker is replaced (by a started spare, at once). Of the
 *   other tasks in flight on that worker, those that had not started go back
 *   to the head of the queue (they never ran), and those that had started
 *   fail with `WorkerCrashed`: nothing is run twice behind its caller's back,
 *   and retrying stays the caller's choice. The worker marks each task in
 *   shared memory before it runs any of its code, so the pool knows which
 *   had started even though the worker is stopped without a word.
 * - A worker that crashes (an uncaught exception, `process.exit`, running out
 *   of memory under `resourceLimits`) fails its in-flight tasks at once with
 *   `WorkerCrashed`, and is replaced. Retrying is the caller's choice.
 * - Closing the pool's scope interrupts (or, with `onClose: "finish"`, finishes)
 *   the tasks in flight, fails the queued ones with `WorkerPoolClosed`, then
 *   terminates every worker and waits until each thread has exited.
 *
 * @example
 * ```ts
 * import { Effect, Schedule, Schema } from "effect"
 * import { Task, WorkerPool } from "@strand/platform-node"
 *
 * const Fib = Task.make("Fib", { payload: Schema.Number, success: Schema.Number })
 *
 * const program = Effect.gen(function*() {
 *   const pool = yield* WorkerPool.WorkerPool
 *   const one = yield* pool.run(Fib, 30)
 *   // A crash is a typed error, so a retry policy is one line:
 *   const retried = yield* pool.run(Fib, 31).pipe(
 *     Effect.retry({ while: (e) => e._tag === "WorkerCrashed", schedule: Schedule.recurs(2) })
 *   )
 *   return yield* pool.map(Fib, [20, 21, 22], { chunkSize: "auto" })
 * }).pipe(Effect.provide(WorkerPool.layer({ module: new URL("./fib-worker.ts", import.meta.url) })))
 * ```
 *
 * @since 0.1.0
 */

import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { withBundle } from "./internal/bundle.ts"
import { type MapOptions, makeClient, type RunOptions, type StreamOptions } from "./internal/client.ts"
import type { InvalidPoolOptions, WorkerPoolError, WorkerSpawnError } from "./internal/errors.ts"
import type { Stats, WorkerMessage } from "./internal/observer.ts"
import * as Observer from "./internal/observer.ts"
import { type Options, validate } from "./internal/options.ts"
import { Pool } from "./internal/pool.ts"
import type * as Task from "./Task.ts"

// The pool's typed errors, each documented where it is defined.
export {
  InvalidPoolOptions,
  isWorkerPoolError,
  MapInputError,
  PayloadError,
  QueueFull,
  ResultError,
  TaskAborted,
  TaskNotServed,
  TaskTimeout,
  WorkerCrashed,
  WorkerPoolClosed,
  type WorkerPoolError,
  WorkerSpawnError
} from "./internal/errors.ts"

type SingleTask = Task.Task<string, Task.AnySchema, Task.AnySchema, Task.AnySchema>
type StreamingTask = Task.StreamTask<string, Task.AnySchema, Task.AnySchema, Task.AnySchema>

// The options of one call, documented beside the client that reads them.
export type { MapOptions, RunOptions, StreamOptions } from "./internal/client.ts"

/**
 * The pool's operations.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** Runs one task on a worker: Python's `apply` / `apply_async`. */
  run<T extends SingleTask>(
    task: T,
    payload: Task.Payload<T>,
    options?: RunOptions
  ): Effect.Effect<Task.Success<T>, Task.Error<T> | WorkerPoolError>
  /** Runs a streaming task and delivers its items as a Stream. */
  stream<T extends StreamingTask>(
    task: T,
    payload: Task.Payload<T>,
    options?: StreamOptions
  ): Stream.Stream<Task.Success<T>, Task.Error<T> | WorkerPoolError>
  /** Runs a task over every input: Python's `map` and `starmap` (with tuple payloads). */
  map<T extends SingleTask>(
    task: T,
    inputs: Iterable<Task.Payload<T>>,
    options?: MapOptions
  ): Effect.Effect<Array<Task.Success<T>>, Task.Error<T> | WorkerPoolError>
  /**
   * As `map`, but lazily as a Stream: Python's `imap` and `imap_unordered`.
   * The inputs (an Iterable, or an Effect Stream) are read only as the pool
   * has room. With `order: "input"`, every result before the first failing
   * input is emitted, then its error.
   */
  mapStream<T extends SingleTask, E = never, R = never>(
    task: T,
    inputs: Iterable<Task.Payload<T>> | Stream.Stream<Task.Payload<T>, E, R>,
    options?: MapOptions
  ): Stream.Stream<Task.Success<T>, Task.Error<T> | WorkerPoolError | E, R>
  /** A snapshot of the pool's state and counters. */
  readonly stats: Effect.Effect<Stats>
  /**
   * Messages that the worker module's own code posts on `parentPort` (or
   * sends with `process.send` in a worker process; piscina's `'message'`
   * event), from the moment of subscribing. A
   * subscriber that falls 1,024 messages behind loses the oldest.
   */
  readonly messages: Stream.Stream<WorkerMessage>
}

/**
 * The worker pool service.
 *
 * @category services
 * @since 0.1.0
 */
export class WorkerPool extends Context.Service<WorkerPool, Service>()("@strand/platform-node/WorkerPool") {}

// What the pool shows of itself, documented beside its metrics.
export type { Stats, WorkerMessage } from "./internal/observer.ts"
// The options of `make` and `layer`, documented beside the checks that validate them.
export type { Options } from "./internal/options.ts"

/**
 * The pool's metrics, recorded through Effect's `Metric`: counters of tasks
 * started, succeeded, failed, cancelled, refused and timed out; the queue
 * depth; each worker's utilization (attribute `worker`); and histograms of
 * queue wait and run time in ms, per task (attribute `task`).
 *
 * @example
 * ```ts
 * import { Effect, Metric } from "effect"
 * import { WorkerPool } from "@strand/platform-node"
 *
 * // How long "Square" tasks ran, across every pool of the program.
 * const runTimes = Metric.value(Metric.withAttributes(WorkerPool.metrics.runTime, { task: "Square" }))
 * ```
 *
 * @category metrics
 * @since 0.1.0
 */
export const metrics = Observer.metrics

/**
 * Creates a pool in the current scope, waiting until its first workers are ready.
 *
 * **When to use**
 *
 * Use `layer` to provide the pool as a service; use `make` where a pool is a
 * local resource of one scope.
 *
 * **Details**
 *
 * Every option is checked first: a wrong one fails with `InvalidPoolOptions`,
 * which names the option as written and the value given. `make` then starts
 * the workers (and spares) and waits until each is ready. It fails with
 * `WorkerSpawnError` if one cannot start: a module that throws while
 * loading, a Layer or configuration that fails (its reason as
 * `Cause.pretty` prints it), or a module that does not report ready within
 * `startupTimeout`.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Task, WorkerPool } from "@strand/platform-node"
 *
 * const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
 * const program = Effect.scoped(Effect.gen(function*() {
 *   const pool = yield* WorkerPool.make({ module: new URL("./square-worker.ts", import.meta.url), size: 2 })
 *   return yield* pool.run(Square, 12) // 144
 * }))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: Options): Effect.Effect<Service, InvalidPoolOptions | WorkerSpawnError, Scope.Scope> =>
  Effect.gen(function* () {
    const validated = yield* validate(options)
    const context = yield* Effect.context<never>()
    const config = validated.bundle ? yield* withBundle(validated) : validated
    const messages = yield* PubSub.sliding<WorkerMessage>(1024)
    // Logs of tasks that have ended go to the loggers of the fiber that made the pool.
    const maker = Fiber.getCurrent()!
    const pool = new Pool(
      config,
      Observer.make(config, context, maker, (slot, message) =>
        Effect.runSync(
          PubSub.publish(messages, {
            workerId: slot.id,
            threadId: slot.transport.threadId,
            pid: slot.transport.pid,
            message
          })
        )
      )
    )
    yield* Effect.addFinalizer(() => Effect.promise(() => pool.close()))
    pool.open()
    const spawnError = yield* Effect.promise(() => pool.awaitReady())
    if (spawnError !== undefined) return yield* spawnError

    return WorkerPool.of({ ...makeClient(pool, config), messages: Stream.fromPubSub(messages) })
  })

/**
 * Checks pool options without starting a worker: every check that `make`
 * does first.
 *
 * **When to use**
 *
 * Use where options come from outside the program (a config file, the
 * environment), to refuse them at start-up with a clear message.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { WorkerPool } from "@strand/platform-node"
 *
 * const fromConfig: unknown = { size: "2" }
 * const program = WorkerPool.checkOptions({
 *   module: new URL("./worker.ts", import.meta.url),
 *   ...(fromConfig as object)
 * }) // fails: WorkerPool option size must be a whole number of at least 1, ..., got "2"
 * ```
 *
 * @category combinators
 * @since 0.2.0
 */
export const checkOptions = (options: Options): Effect.Effect<void, InvalidPoolOptions> =>
  Effect.asVoid(validate(options))

/**
 * Provides the `WorkerPool` service.
 *
 * **When to use**
 *
 * Use at the edge of the program, once; the pool lives as long as the Layer.
 *
 * @example
 * ```ts
 * import { WorkerPool } from "@strand/platform-node"
 *
 * const PoolLive = WorkerPool.layer({
 *   module: new URL("./worker.ts", import.meta.url),
 *   size: { min: 1, max: 4, idleTimeToLive: "30 seconds" },
 *   maxTasksPerWorker: 1000,
 *   maxQueue: 10_000,
 *   onQueueFull: "fail"
 * })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const layer = (options: Options): Layer.Layer<WorkerPool, InvalidPoolOptions | WorkerSpawnError> =>
  Layer.effect(WorkerPool, make(options))

/**
 * Runs one task on the pool in context.
 *
 * **When to use**
 *
 * Use in application code that gets the pool from a Layer.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Task, WorkerPool } from "@strand/platform-node"
 *
 * const Hash = Task.make("Hash", { payload: Schema.String, success: Schema.String })
 * const program = WorkerPool.run(Hash, "hello", { timeout: "5 seconds" })
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const run = <T extends SingleTask>(
  task: T,
  payload: Task.Payload<T>,
  options?: RunOptions
): Effect.Effect<Task.Success<T>, Task.Error<T> | WorkerPoolError, WorkerPool> =>
  Effect.flatMap(Effect.service(WorkerPool), (pool) => pool.run(task, payload, options))

/**
 * Runs a task over every input, in context: Python's `Pool.map`.
 *
 * **When to use**
 *
 * Use to fan a collection out over the workers; `chunkSize` amortises the
 * per-message cost when each input is small.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Task, WorkerPool } from "@strand/platform-node"
 *
 * const Double = Task.make("Double", { payload: Schema.Number, success: Schema.Number })
 * const program = WorkerPool.map(Double, [0, 1, 2, 3], { chunkSize: 2 }) // [0, 2, 4, 6]
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const map = <T extends SingleTask>(
  task: T,
  inputs: Iterable<Task.Payload<T>>,
  options?: MapOptions
): Effect.Effect<Array<Task.Success<T>>, Task.Error<T> | WorkerPoolError, WorkerPool> =>
  Effect.flatMap(Effect.service(WorkerPool), (pool) => pool.map(task, inputs, options))

/**
 * Runs a task over every input in context, lazily, as a Stream: Python's
 * `Pool.imap` (and `imap_unordered` with `order: "completion"`).
 *
 * **When to use**
 *
 * Use when results should be consumed as they come, rather than all at once.
 *
 * @example
 * ```ts
 * import { Schema, Stream } from "effect"
 * import { Task, WorkerPool } from "@strand/platform-node"
 *
 * const Double = Task.make("Double", { payload: Schema.Number, success: Schema.Number })
 * const program = WorkerPool.mapStream(Double, [0, 1, 2, 3]).pipe(Stream.runCollect)
 * ```
 *
 * @category combinators
 * @since 0.2.0
 */
export const mapStream = <T extends SingleTask, E = never, R = never>(
  task: T,
  inputs: Iterable<Task.Payload<T>> | Stream.Stream<Task.Payload<T>, E, R>,
  options?: MapOptions
): Stream.Stream<Task.Success<T>, Task.Error<T> | WorkerPoolError | E, WorkerPool | R> =>
  Stream.unwrap(Effect.map(Effect.service(WorkerPool), (pool) => pool.mapStream(task, inputs, options)))

/**
 * Runs a streaming task in context, delivering its items as a Stream.
 *
 * **When to use**
 *
 * Use for a worker that reports progress or sends messages back.
 *
 * **Details**
 *
 * The worker may send `bufferSize` items (default 4096) ahead of the
 * consumer; its stream then waits until the consumer pulls more, so a slow
 * consumer holds back the producer across the thread boundary. Under
 * `concurrentTasksPerWorker: "auto"`, a stream that waits (between items, or
 * for its consumer) leaves its worker free for other tasks.
 *
 * @example
 * ```ts
 * import { Effect, Schema, Stream } from "effect"
 * import { Task, WorkerPool } from "@strand/platform-node"
 *
 * const Frames = Task.stream("Frames", { payload: Schema.Number, success: Schema.Uint8Array })
 * // Large items: let at most 8 wait for a slow consumer.
 * const program = WorkerPool.stream(Frames, 1_000, { bufferSize: 8 }).pipe(
 *   Stream.runForEach((frame) => Effect.log(`${frame.length} bytes`))
 * )
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const stream = <T extends StreamingTask>(
  task: T,
  payload: Task.Payload<T>,
  options?: StreamOptions
): Stream.Stream<Task.Success<T>, Task.Error<T> | WorkerPoolError, WorkerPool> =>
  Stream.unwrap(Effect.map(Effect.service(WorkerPool), (pool) => pool.stream(task, payload, options)))

/**
 * A snapshot of the pool in context.
 *
 * **When to use**
 *
 * Use for dashboards, health checks and tests.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { WorkerPool } from "@strand/platform-node"
 *
 * const program = Effect.map(WorkerPool.stats, (stats) => `${stats.queued} queued`)
 * ```
 *
 * @category combinators
 * @since 0.1.0
 */
export const stats: Effect.Effect<Stats, never, WorkerPool> = Effect.flatMap(
  Effect.service(WorkerPool),
  (pool) => pool.stats
)
