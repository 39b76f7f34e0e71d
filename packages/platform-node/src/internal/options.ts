/**
 * Checks every option of `WorkerPool.make` and `layer` up front, as an
 * untyped JavaScript caller may pass anything. Each option has a Schema; a
 * value that does not match fails with `InvalidPoolOptions` naming the option
 * as the user wrote it (`size.idleTimeToLive`, `config.Settings`) and showing
 * the value they gave.
 *
 * @internal
 */
import { existsSync } from "node:fs"
import { availableParallelism } from "node:os"
import { isAbsolute } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import type { ResourceLimits } from "node:worker_threads"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import type * as Task from "../Task.ts"
import * as Timeline from "../Timeline.ts"
import { InvalidPoolOptions } from "./errors.ts"
import { schemaIssue } from "./protocol.ts"
import type { PoolConfig } from "./slot.ts"

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
   *   elsewhere, except the oldest in flight there after a death by a signal
   *   or a fatal error: a process claims a task that starts alone without a
   *   write, so that task counts as started.
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
   * (default `true`). Waking a thread that sleeps in its event loop is most
   * of a short task's round trip, so once a worker has sent its last result
   * and has nothing in flight, it watches a doorbell on shared memory before
   * its event loop runs again:
   * - While fewer of the process's other workers are busy (handling a
   *   message from their pool, or within 1 ms of it) than it has cores less
   *   one (on 2 cores: none), it spins on the doorbell for up to 0.1 ms; a
   *   task sent in that time wakes nobody. Fewer threads
   *   spin at once than the machine has cores, across every pool of the
   *   process, so the thread that sends tasks keeps a core.
   * - Otherwise, or after a spin that caught nothing, it sleeps on the
   *   doorbell (`Atomics.wait`) for up to 5 ms: no core is used, and the
   *   post that wakes it costs less than waking an event loop. The worker's
   *   own timers and I/O may run about 6 ms late meanwhile.
   * - A task that arrives while it lingers is taken at once, without a turn
   *   of its event loop. A worker lingers only within 1 ms of its event
   *   loop's last turn, so its own timers and I/O run however fast tasks
   *   keep coming.
   * - A worker whose linger catches nothing backs off: it skips its next 1,
   *   3, 7... idle moments, up to 63, before it lingers again.
   *
   * `false` spends no CPU time on it and never holds a worker's event loop,
   * for machines where idle cores should stay idle (battery, or a CPU quota
   * shared with other work). Worker processes never linger.
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

/** The smallest old-generation heap a worker starts in (Node, Effect and the runner together). */
export const MIN_OLD_GENERATION_MB = 24

const Whole = (min: number) => Schema.Int.check(Schema.isGreaterThanOrEqualTo(min))
const Positive = Schema.Finite.check(Schema.isGreaterThan(0))
const Strings = Schema.Array(Schema.String)

const known = new Set([
  "module",
  "isolation",
  "size",
  "maxTasksPerWorker",
  "resourceLimits",
  "maxQueue",
  "onQueueFull",
  "concurrentTasksPerWorker",
  "spareWorkers",
  "cancelGracePeriod",
  "onClose",
  "closeTimeout",
  "startupTimeout",
  "execArgv",
  "argv",
  "env",
  "config",
  "tracing",
  "linger",
  "timeline",
  "bundle"
])

/** Shows a value as the user wrote it: strings quoted, anything else without throwing. */
export const show = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (typeof value === "function") return "a function"
  if (typeof value === "symbol" || typeof value === "bigint") return String(value)
  if (value instanceof URL) return value.href
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

class Invalid {
  readonly error: InvalidPoolOptions
  constructor(option: string, value: unknown, expected: string) {
    this.error = new InvalidPoolOptions({ option, value: show(value), expected })
  }
}

const check = <S extends Schema.Top>(schema: S, option: string, value: unknown, expected: string): S["Type"] => {
  if (!Schema.is(schema)(value)) throw new Invalid(option, value, expected)
  return value
}

const optional = <A>(value: unknown, read: (value: unknown) => A): A | undefined =>
  value === undefined ? undefined : read(value)

/**
 * Decodes a `Duration.Input` to milliseconds, refusing what Effect's Duration
 * would throw on later (a typo such as `"5 secs"`), `NaN` and negatives.
 */
export const durationMillis = (input: unknown): number | undefined => {
  if (input === undefined || input === null || Number.isNaN(input)) return undefined
  // Effect reads any object as a sum of units, so `{ second: 5 }` would silently be zero.
  if (typeof input === "object" && !Duration.isDuration(input) && !Array.isArray(input)) {
    const units = Object.entries(input)
    if (units.length === 0 || units.some(([unit, n]) => !UNITS.has(unit) || !Number.isFinite(n))) return undefined
  }
  let millis: number
  try {
    millis = Duration.toMillis(Duration.fromInputUnsafe(input as Duration.Input))
  } catch {
    return undefined
  }
  return Number.isNaN(millis) || millis < 0 ? undefined : millis
}

const UNITS = new Set(["weeks", "days", "hours", "minutes", "seconds", "milliseconds", "microseconds", "nanoseconds"])

const DURATION = 'duration (milliseconds, or a string such as "5 seconds")'

const duration = (option: string, value: unknown, finite: boolean): number => {
  const millis = durationMillis(value)
  if (millis === undefined || (finite && !Number.isFinite(millis))) {
    throw new Invalid(option, value, finite ? `a finite ${DURATION}` : `a ${DURATION}`)
  }
  return millis
}

const moduleUrl = (value: unknown): URL => {
  const expected =
    'a file URL or an absolute path, e.g. new URL("./worker.ts", import.meta.url) (a relative path would be ' +
    "resolved against the working directory, not against your file)"
  let url: URL
  if (value instanceof URL) url = value
  else if (typeof value === "string" && value.startsWith("file:") && URL.canParse(value)) url = new URL(value)
  else if (typeof value === "string" && isAbsolute(value)) url = pathToFileURL(value)
  else throw new Invalid("module", value, expected)
  if (url.protocol !== "file:") return url
  let path: string
  try {
    path = fileURLToPath(url)
  } catch {
    // A host in a file URL (file://./worker.ts) names no local file.
    throw new Invalid("module", url.href, expected)
  }
  if (!existsSync(path)) throw new Invalid("module", value, `an existing file (there is no file at ${path})`)
  return url
}

const sizes = (value: unknown): { minSize: number; maxSize: number; idleTimeToLive: number } => {
  if (value === undefined) {
    const cores = availableParallelism()
    return { minSize: cores, maxSize: cores, idleTimeToLive: 30_000 }
  }
  if (typeof value !== "object" || value === null) {
    const n = check(Whole(1), "size", value, "a whole number of at least 1, or { min, max, idleTimeToLive }")
    return { minSize: n, maxSize: n, idleTimeToLive: 30_000 }
  }
  const { min, max, idleTimeToLive, ...rest } = value as Record<string, unknown>
  const extra = Object.keys(rest)[0]
  if (extra !== undefined)
    throw new Invalid(`size.${extra}`, rest[extra], "left out: size takes min, max and idleTimeToLive")
  const minSize = check(Whole(0), "size.min", min, "a whole number of at least 0")
  const maxSize = check(
    Whole(Math.max(1, minSize)),
    "size.max",
    max,
    `a whole number of at least ${Math.max(1, minSize)} (and at least size.min)`
  )
  return {
    minSize,
    maxSize,
    idleTimeToLive: optional(idleTimeToLive, (v) => duration("size.idleTimeToLive", v, true)) ?? 30_000
  }
}

const ResourceLimit = Schema.Struct({
  maxOldGenerationSizeMb: Schema.optional(Schema.Finite.check(Schema.isGreaterThanOrEqualTo(MIN_OLD_GENERATION_MB))),
  maxYoungGenerationSizeMb: Schema.optional(Positive),
  codeRangeSizeMb: Schema.optional(Positive),
  stackSizeMb: Schema.optional(Positive)
})

/** The limits that a worker process takes, as Node flags; the others apply to threads only. */
const PROCESS_LIMITS = new Set(["maxOldGenerationSizeMb", "maxYoungGenerationSizeMb"])

const resourceLimits = (value: unknown, isolation: "thread" | "process") => {
  if (typeof value !== "object" || value === null) {
    throw new Invalid("resourceLimits", value, "an object such as { maxOldGenerationSizeMb: 64 }")
  }
  for (const [key, limit] of Object.entries(value)) {
    if (!Object.hasOwn(ResourceLimit.fields, key)) {
      throw new Invalid(
        `resourceLimits.${key}`,
        limit,
        "left out: the limits are maxOldGenerationSizeMb, maxYoungGenerationSizeMb, codeRangeSizeMb and stackSizeMb"
      )
    }
    const expected =
      key === "maxOldGenerationSizeMb"
        ? `a number of megabytes of at least ${MIN_OLD_GENERATION_MB}, the least a worker needs to start`
        : "a positive number of megabytes"
    check(ResourceLimit.fields[key as keyof typeof ResourceLimit.fields], `resourceLimits.${key}`, limit, expected)
    if (isolation === "process" && !PROCESS_LIMITS.has(key)) {
      throw new Invalid(
        `resourceLimits.${key}`,
        limit,
        'left out under isolation: "process": a worker process takes maxOldGenerationSizeMb and ' +
          "maxYoungGenerationSizeMb (as --max-old-space-size and --max-semi-space-size); the others apply to threads"
      )
    }
  }
  return value as PoolConfig["resourceLimits"]
}

const env = (value: unknown): Readonly<Record<string, string>> =>
  check(
    Schema.Record(Schema.String, Schema.String),
    "env",
    value,
    "an object of string values, added to the inherited environment"
  )

/** Encodes each configuration value with its schema, by name. */
const workerConfig = (value: unknown): Record<string, unknown> => {
  const values = check(
    Schema.Array(Schema.Any),
    "config",
    value,
    "an array of Task.config values, e.g. [Settings.value({ ... })]"
  )
  const out: Record<string, unknown> = {}
  for (const item of values as ReadonlyArray<Task.ConfigValue>) {
    const config = item?.config
    if (config === undefined || typeof config.configName !== "string") {
      throw new Invalid("config", item, "made by a Task.config's value(...)")
    }
    const encoded = Schema.encodeUnknownExit(config.schema)(item.value)
    if (Exit.isFailure(encoded)) {
      throw new Invalid(`config.${config.configName}`, item.value, `a value of its schema (${schemaIssue(encoded)})`)
    }
    out[config.configName] = encoded.value
  }
  return out
}

/** @internal */
export const validate = (options: Options): Effect.Effect<PoolConfig, InvalidPoolOptions> =>
  Effect.suspend(() => {
    try {
      return Effect.succeed(decode(options))
    } catch (error) {
      if (error instanceof Invalid) return Effect.fail(error.error)
      throw error
    }
  })

const decode = (options: Options): PoolConfig => {
  if (typeof options !== "object" || options === null) {
    throw new Invalid("options", options, "an object with at least a module")
  }
  for (const key of Object.keys(options)) {
    if (!known.has(key))
      throw new Invalid(
        key,
        (options as unknown as Record<string, unknown>)[key],
        `one of the known options (${[...known].join(", ")})`
      )
  }
  const o = options as Record<keyof Options, unknown>
  const isolation =
    optional(o.isolation, (v) =>
      check(Schema.Literals(["thread", "process"]), "isolation", v, '"thread" or "process"')
    ) ?? "thread"
  return {
    module: moduleUrl(o.module),
    isolation,
    ...sizes(o.size),
    maxTasksPerWorker: optional(o.maxTasksPerWorker, (v) =>
      check(Whole(1), "maxTasksPerWorker", v, "a whole number of at least 1")
    ),
    resourceLimits: optional(o.resourceLimits, (v) => resourceLimits(v, isolation)),
    maxQueue: optional(o.maxQueue, (v) => check(Whole(1), "maxQueue", v, "a whole number of at least 1")),
    onQueueFull:
      optional(o.onQueueFull, (v) => check(Schema.Literals(["wait", "fail"]), "onQueueFull", v, '"wait" or "fail"')) ??
      "wait",
    pipelining:
      optional(o.concurrentTasksPerWorker, (v) =>
        v === "auto" ? v : check(Whole(1), "concurrentTasksPerWorker", v, 'a whole number of at least 1, or "auto"')
      ) ?? "auto",
    spares: optional(o.spareWorkers, (v) => check(Whole(0), "spareWorkers", v, "a whole number of at least 0")) ?? 1,
    gracePeriod: optional(o.cancelGracePeriod, (v) => duration("cancelGracePeriod", v, true)) ?? 100,
    onClose:
      optional(o.onClose, (v) =>
        check(Schema.Literals(["finish", "interrupt"]), "onClose", v, '"finish" or "interrupt"')
      ) ?? "interrupt",
    closeTimeout: optional(o.closeTimeout, (v) => duration("closeTimeout", v, false)) ?? Number.POSITIVE_INFINITY,
    startupTimeout:
      optional(o.startupTimeout, (v) => {
        const millis = duration("startupTimeout", v, true)
        if (millis === 0) throw new Invalid("startupTimeout", v, `a positive, finite ${DURATION}`)
        return millis
      }) ?? 30_000,
    execArgv: optional(o.execArgv, (v) => check(Strings, "execArgv", v, "an array of strings (Node flags)")),
    argv: optional(o.argv, (v) =>
      check(Strings, "argv", v, "an array of strings (the workers' process.argv after the script)")
    ),
    env: optional(o.env, env),
    workerConfig: optional(o.config, workerConfig) ?? {},
    tracing: optional(o.tracing, (v) => check(Schema.Boolean, "tracing", v, "true or false")) ?? true,
    linger: optional(o.linger, (v) => check(Schema.Boolean, "linger", v, "true or false")) ?? true,
    bundle: optional(o.bundle, (v) => check(Schema.Boolean, "bundle", v, "true or false")) ?? false,
    timeline: optional(o.timeline, (v) => {
      if (!Timeline.isTimeline(v)) throw new Invalid("timeline", v, "a timeline made by Timeline.make()")
      return v
    })
  }
}
