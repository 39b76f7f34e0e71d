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
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Schema from "effect/Schema"
import type * as Task from "../Task.ts"
import * as Timeline from "../Timeline.ts"
import type { Options } from "../WorkerPool.ts"
import { InvalidPoolOptions } from "./errors.ts"
import { schemaIssue } from "./protocol.ts"
import type { PoolConfig } from "./slot.ts"

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
