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

import type { ResourceLimits, TransferListItem } from "node:worker_threads"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { withBundle } from "./internal/bundle.ts"
import { makeClient } from "./internal/client.ts"
import type {
  InvalidPoolOptions,
  MapInputError,
  PayloadError,
  QueueFull,
  ResultError,
  TaskAborted,
  TaskNotServed,
  TaskTimeout,
  WorkerCrashed,
  WorkerPoolClosed,
  WorkerSpawnError
} from "./internal/errors.ts"
import * as Errors from "./internal/errors.ts"
import * as Observer from "./internal/observer.ts"
import { validate } from "./internal/options.ts"
import { Pool } from "./internal/pool.ts"
import type * as Task from "./Task.ts"
import type * as Timeline from "./Timeline.ts"

export {
  /**
   * An option given to `WorkerPool.make` or `layer` is out of range.
   *
   * @category errors
   * @since 0.1.0
   */
  InvalidPoolOptions,
  /**
   * The input of `map` or `mapStream` threw while it was read; the results
   * before it were delivered.
   *
   * @category errors
   * @since 0.2.0
   */
  MapInputError,
  /**
   * A payload did not match its task's schema; the worker is unharmed.
   *
   * @category errors
   * @since 0.1.0
   */
  PayloadError,
  /**
   * The bounded queue was full and `onQueueFull` is `"fail"`.
   *
   * @category errors
   * @since 0.1.0
   */
  QueueFull,
  /**
   * A task's result (or stream item, or typed error) could not be sent back:
   * structured clone cannot copy it, or its schema rejects it. The worker is unharmed.
   *
   * @category errors
   * @since 0.2.0
   */
  ResultError,
  /**
   * The task's `signal` aborted; the error carries its reason.
   *
   * @category errors
   * @since 0.2.0
   */
  TaskAborted,
  /**
   * The workers do not serve the task.
   *
   * @category errors
   * @since 0.1.0
   */
  TaskNotServed,
  /**
   * The task ran longer than its timeout and was cancelled.
   *
   * @category errors
   * @since 0.1.0
   */
  TaskTimeout,
  /**
   * The worker running the task crashed; the pool has replaced it.
   *
   * @category errors
   * @since 0.1.0
   */
  WorkerCrashed,
  /**
   * The pool's scope closed before the task could run.
   *
   * @category errors
   * @since 0.1.0
   */
  WorkerPoolClosed,
  /**
   * A worker stopped before it was ready (a wrong module, a failing Layer).
   *
   * @category errors
   * @since 0.1.0
   */
  WorkerSpawnError
} from "./internal/errors.ts"

/**
 * Every error the pool itself can add to a task's own typed errors.
 *
 * @category models
 * @since 0.1.0
 */
export type WorkerPoolError =
  | WorkerCrashed
  | TaskTimeout
  | QueueFull
  | PayloadError
  | ResultError
  | MapInputError
  | TaskAborted
  | TaskNotServed
  | WorkerPoolClosed
  | WorkerSpawnError
  | InvalidPoolOptions

const poolErrors: ReadonlyArray<new (...args: ReadonlyArray<any>) => WorkerPoolError> = [
  Errors.WorkerCrashed,
  Errors.TaskTimeout,
  Errors.QueueFull,
  Errors.PayloadError,
  Errors.ResultError,
  Errors.MapInputError,
  Errors.TaskAborted,
  Errors.TaskNotServed,
  Errors.WorkerPoolClosed,
  Errors.WorkerSpawnError,
  Errors.InvalidPoolOptions
]

/**
 * Whether `u` is one of the errors the pool itself adds (`WorkerPoolError`),
 * as opposed to a task's own typed error.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Task, WorkerPool } from "@strand/platform-node"
 *
 * const Hash = Task.make("Hash", { payload: Schema.String, success: Schema.String })
 * const program = WorkerPool.run(Hash, "hello").pipe(
 *   Effect.catchIf(WorkerPool.isWorkerPoolError, (error) => Effect.succeed(`the pool said: ${error.message}`))
 * )
 * ```
 *
 * @category guards
 * @since 0.2.0
 */
export const isWorkerPoolError = (u: unknown): u is WorkerPoolError => poolErrors.some((error) => u instanceof error)

type SingleTask = Task.Task<string, Task.AnySchema, Task.AnySchema, Task.AnySchema>
type StreamingTask = Task.StreamTask<string, Task.AnySchema, Task.AnySchema, Task.AnySchema>

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

/**
 * A snapshot of the pool.
 *
 * @category models
 * @since 0.1.0
 */
export interface Stats {
  /** Workers in the pool, ready or starting; a worker being replaced may briefly count beside its replacement. */
  readonly size: number
  /** Started, idle spare workers beside the pool (`spareWorkers`): threads too. */
  readonly spares: number
  readonly queued: number
  readonly inflight: number
  readonly started: number
  readonly succeeded: number
  readonly failed: number
  readonly cancelled: number
  readonly crashed: number
  readonly respawned: number
  /** Workers that failed to start (a missing module, a failing Layer, past `startupTimeout`). */
  readonly startFailures: number
  /** Malformed messages on the private channel, ignored and logged. */
  readonly malformed: number
  /** Tasks refused with `QueueFull` (`onQueueFull: "fail"`); they never ran and are in no other count. */
  readonly refused: number
  /** Tasks that ran past their `timeout` (they are counted in `failed` too). */
  readonly timedOut: number
  readonly workers: ReadonlyArray<{
    readonly id: number
    /** Its thread's id; 0 for a worker process (its main thread). */
    readonly threadId: number
    /** Its process id: the pool's own for a thread. */
    readonly pid: number
    readonly ready: boolean
    readonly inflight: number
    readonly completed: number
    readonly utilization: number
  }>
}

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
 * A message that a worker module's own code posted on `parentPort`, or sent
 * with `process.send` in a worker process.
 *
 * @category models
 * @since 0.2.0
 */
export interface WorkerMessage {
  readonly workerId: number
  readonly threadId: number
  /** The worker's process id: the pool's own for a thread. */
  readonly pid: number
  readonly message: unknown
}

/**
 * The worker pool service.
 *
 * @category services
 * @since 0.1.0
 */
export class WorkerPool extends Context.Service<WorkerPool, Service>()("@strand/platform-node/WorkerPool") {}

/**
 * Options for `make` and `layer`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /**
   * The worker module: a file URL (`new URL("./worker.ts", import.meta.url)`,
   * or `import.meta.url` for single-file mode) or an absolute path. A relative
   * path is refused, because it would be resolved against the working
   * directory rather than the file that wrote it.
   */
  readonly module: string | URL
  /**
   * Where the workers run (default `"thread"`): threads of this process, or
   * child processes of their own (`"process"`, Python's
   * `ProcessPoolExecutor`). A worker module runs in either without a change.
   *
   * A process costs more to start and each message costs more, but nothing it
   * does reaches the caller: a native crash, a heap blow-up, `process.exit`,
   * `process.chdir` or a library that is not thread-safe ends or changes only
   * that worker, which fails its tasks with `WorkerCrashed` and is replaced.
   * The differences:
   * - A payload or result backed by a `SharedArrayBuffer`, and the `transfer`
   *   option, cannot cross a process boundary: the task fails with a typed
   *   `PayloadError` or `ResultError` that says so (they are never silently
   *   copied). The shared-memory primitives are for threads only.
   * - `resourceLimits` takes `maxOldGenerationSizeMb` and
   *   `maxYoungGenerationSizeMb` only, as the child's Node flags.
   * - A task sent to a busy worker process stays there: the pool cannot take
   *   it back from another process to give it to an idle worker (no work
   *   stealing). A task that had not started when its process died still runs
   *   elsewhere.
   * - What the module sends with `process.send` arrives on `messages`; its
   *   stdout and stderr are piped to the caller's.
   * - A worker process exits when its pool's process is gone, however that
   *   ended (its IPC channel closes); it ignores `SIGINT`, which a terminal's
   *   Ctrl-C sends to the whole process group, so that the caller drains it.
   *   On Linux, where util-linux's `setpriv` is found, it also gets a
   *   parent-death signal, so one busy in synchronous code dies too.
   *
   * ```ts
   * import { WorkerPool } from "@strand/platform-node"
   *
   * // Each worker in a child process, with a 256 MB heap of its own.
   * const pool = WorkerPool.make({
   *   module: new URL("./worker.ts", import.meta.url),
   *   isolation: "process",
   *   resourceLimits: { maxOldGenerationSizeMb: 256 }
   * })
   * ```
   */
  readonly isolation?: "thread" | "process" | undefined
  /** A fixed size (default `os.availableParallelism()`), or bounds with an idle time-to-live. */
  readonly size?:
    | number
    | { readonly min: number; readonly max: number; readonly idleTimeToLive?: Duration.Input | undefined }
    | undefined
  /** Replaces a worker after it has been given this many tasks (Python's `maxtasksperchild`). */
  readonly maxTasksPerWorker?: number | undefined
  /**
   * Passed to every worker thread: heap limits and stack size. A worker needs
   * at least 24 MB of old generation to start. The limits are best effort in
   * Node: most heap blow-ups end only the worker (a `WorkerCrashed`), but
   * some allocation shapes (one array grown by `push` past the limit) abort
   * the whole process. Work that must never take the caller down belongs in
   * worker processes (`isolation: "process"`), where `maxOldGenerationSizeMb`
   * and `maxYoungGenerationSizeMb` become each child's
   * `--max-old-space-size` and `--max-semi-space-size` (a third of it), and
   * any blow-up ends only that child; the other limits are thread-only there.
   */
  readonly resourceLimits?: ResourceLimits | undefined
  /**
   * Bounds the queue of tasks waiting for a worker. One waiting task per
   * worker that is still starting does not count, so a cold pool admits as
   * many tasks as a warm one.
   */
  readonly maxQueue?: number | undefined
  /** With a full queue: wait for room (default) or fail with `QueueFull`. */
  readonly onQueueFull?: "wait" | "fail" | undefined
  /** Tasks in flight per worker: a number, or `"auto"` (default) for about 1 ms of work. */
  readonly concurrentTasksPerWorker?: number | "auto" | undefined
  /**
   * Started, idle workers kept beside the pool (default 1): one takes a crashed or
   * terminated worker's place at once, so recovery does not wait for a thread to start.
   */
  readonly spareWorkers?: number | undefined
  /** How long a cancelled task may take to stop before its worker is terminated. Default 100 ms. */
  readonly cancelGracePeriod?: Duration.Input | undefined
  /** What closing the scope does to tasks in flight. Default `"interrupt"`. */
  readonly onClose?: "finish" | "interrupt" | undefined
  /** With `onClose: "finish"`, interrupt what is still running after this long. Default: no bound. */
  readonly closeTimeout?: Duration.Input | undefined
  /**
   * How long a worker may take to report ready (default 30 seconds, room for
   * a cold TypeScript compile on a slow machine). Past it, the worker is
   * stopped and counts as a failed start: `make` fails with a
   * `WorkerSpawnError` that asks whether the module calls
   * `WorkerRunner.launch`.
   */
  readonly startupTimeout?: Duration.Input | undefined
  /** Node flags for the workers; by default they inherit the main thread's (such as tsx's loader). */
  readonly execArgv?: ReadonlyArray<string> | undefined
  /** The workers' `process.argv` after the script. */
  readonly argv?: ReadonlyArray<string> | undefined
  /** Environment variables for the workers, added to the inherited ones. */
  readonly env?: Readonly<Record<string, string>> | undefined
  /** Typed configuration for the workers' Layers and handlers: `[Settings.value({ ... })]` (see `Task.config`). */
  readonly config?: ReadonlyArray<Task.ConfigValue> | undefined
  /**
   * Spans across the thread boundary (default `true`). Where the caller has a
   * tracer installed (anything but Effect's built-in one, which exports
   * nothing), each `run`, `stream`, and each chunk of `map` and `mapStream`,
   * opens a client span named after the task; its worker runs the handler
   * under a server span that is the client span's child, and the spans the
   * handler opens nest under that. The worker's spans end up in the caller's
   * tracer. `false` opens none. Logs cross either way.
   */
  readonly tracing?: boolean | undefined
  /**
   * Whether an idle worker thread watches for its next task for a moment
   * (default `true`). Waking a sleeping thread is most of a short task's
   * round trip, so once a worker has sent its last result and has nothing in
   * flight, it watches a doorbell on shared memory for up to 0.1 ms before
   * its event loop sleeps. A task sent in that time wakes nobody.
   * - Fewer threads linger at once than the machine has cores, across every
   *   pool of the process, so the thread that sends tasks keeps a core.
   * - A worker whose linger catches nothing backs off: it skips its next 1,
   *   3, 7... idle moments, up to 63, before it lingers again.
   * - The worker's event loop waits meanwhile: a timer of its own may fire up
   *   to 0.1 ms late.
   *
   * `false` spends no CPU time on it, for machines where idle cores should
   * stay idle (battery, or a CPU quota shared with other work). Worker
   * processes never linger.
   *
   * ```ts
   * import { WorkerPool } from "@strand/platform-node"
   *
   * const pool = WorkerPool.make({ module: new URL("./worker.ts", import.meta.url), linger: false })
   * ```
   */
  readonly linger?: boolean | undefined
  /** Records when each task was queued, started and ended on which worker (see `Timeline`). */
  readonly timeline?: Timeline.Timeline | undefined
  /**
   * Cheap workers (default `false`). `true` bundles the worker module and
   * what it imports into one tree-shaken JavaScript file with esbuild, on
   * first use, cached by content in `STRAND_BUNDLE_CACHE` (or `strand-bundles`
   * in the system's temporary directory); any change to a file that went into
   * it builds it again. Each worker then evaluates only the parts of Effect
   * its handlers use: it starts about four times faster and takes about a
   * third of the memory. A TypeScript module needs no loader in the workers
   * (tsx's is not started there), and a defect's stack is mapped through the
   * bundle's source map, so it points at your files. Native addons stay
   * outside the bundle. If the module
   * cannot be bundled, the pool says why once, in a warning, and loads it as
   * it is. Leave it off for a module that reads files next to itself through
   * `import.meta.url` or `__dirname`: in the bundle they name the cache.
   */
  readonly bundle?: boolean | undefined
}

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
