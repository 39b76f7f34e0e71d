/**
 * Task definitions: the typed contract between a caller and a worker thread.
 *
 * **When to use**
 *
 * Define each piece of CPU-bound work once, in a module that both the caller
 * and the worker import, then serve it in the worker with `WorkerRunner` and
 * run it from the caller with `WorkerPool`.
 *
 * **Details**
 *
 * A task has a unique `name` and Schemas for its `payload`, its `success`
 * value and, optionally, its typed `error`. Payloads and results cross the
 * thread boundary encoded by those schemas, so a typed error raised in the
 * worker reaches the caller as an instance of the same class. Where a schema
 * does not transform its value (numbers, strings, plain structs and arrays),
 * encoding is skipped and the value is only validated by the receiver.
 *
 * A streaming task (`Task.stream`) sends a Stream of `success` items back to
 * the caller: the worker side of a pipe or `multiprocessing.Queue`.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Task } from "@strand/platform-node"
 *
 * export class Overflow extends Schema.TaggedError<Overflow>()("Overflow", { n: Schema.Number }) {}
 *
 * export const Fibonacci = Task.make("Fibonacci", {
 *   payload: Schema.Number,
 *   success: Schema.Number,
 *   error: Overflow
 * })
 * ```
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Schema from "effect/Schema"

const TypeId = "~@strand/platform-node/Task" as const

/**
 * Any schema that can cross a thread boundary: it needs no services to encode or decode.
 *
 * @category models
 * @since 0.1.0
 */
export type AnySchema = Schema.Codec<any, any, never, never>

/**
 * A task that returns one value.
 *
 * @category models
 * @since 0.1.0
 */
export interface Task<
  Name extends string,
  Payload extends AnySchema,
  Success extends AnySchema,
  Error extends AnySchema = typeof Schema.Never
> {
  readonly [TypeId]: typeof TypeId
  readonly _tag: "Task"
  readonly name: Name
  readonly payload: Payload
  readonly success: Success
  readonly error: Error
}

/**
 * A task that returns a stream of values.
 *
 * @category models
 * @since 0.1.0
 */
export interface StreamTask<
  Name extends string,
  Payload extends AnySchema,
  Success extends AnySchema,
  Error extends AnySchema = typeof Schema.Never
> {
  readonly [TypeId]: typeof TypeId
  readonly _tag: "StreamTask"
  readonly name: Name
  readonly payload: Payload
  readonly success: Success
  readonly error: Error
}

/**
 * Any task definition.
 *
 * @category models
 * @since 0.1.0
 */
export type Any = Task<string, AnySchema, AnySchema, AnySchema> | StreamTask<string, AnySchema, AnySchema, AnySchema>

/**
 * The payload type of a task.
 *
 * @category models
 * @since 0.1.0
 */
export type Payload<T extends Any> = Schema.Schema.Type<T["payload"]>

/**
 * The success type of a task (the item type, for a streaming task).
 *
 * @category models
 * @since 0.1.0
 */
export type Success<T extends Any> = Schema.Schema.Type<T["success"]>

/**
 * The typed error of a task.
 *
 * @category models
 * @since 0.1.0
 */
export type Error<T extends Any> = Schema.Schema.Type<T["error"]>

/**
 * The schemas of a task: its payload, its success value and, optionally, its typed error.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<Payload extends AnySchema, Success extends AnySchema, Error extends AnySchema> {
  readonly payload: Payload
  readonly success: Success
  readonly error?: Error | undefined
}

const define = <Tag extends "Task" | "StreamTask">(
  _tag: Tag,
  name: string,
  options: Options<AnySchema, AnySchema, AnySchema>
): any => ({
  [TypeId]: TypeId,
  _tag,
  name,
  payload: options.payload,
  success: options.success,
  error: options.error ?? Schema.Never
})

/**
 * Defines a task that returns one value.
 *
 * **When to use**
 *
 * Use for a function to run on a worker thread: a hash, a parse, a render, a simulation step.
 *
 * **Details**
 *
 * `payload`, `success` and `error` are Schemas. Leave `error` out for a task
 * that cannot fail with a typed error; defects always reach the caller.
 * Names must be unique among the tasks a worker serves.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Task } from "@strand/platform-node"
 *
 * export const SumOfSquares = Task.make("SumOfSquares", { payload: Schema.Int, success: Schema.Number })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <
  const Name extends string,
  Payload extends AnySchema,
  Success extends AnySchema,
  Error extends AnySchema = typeof Schema.Never
>(
  name: Name,
  options: Options<Payload, Success, Error>
): Task<Name, Payload, Success, Error> => define("Task", name, options)

/**
 * Defines a task whose handler returns a Stream, delivered to the caller item by item.
 *
 * **When to use**
 *
 * Use where Python would hand a `multiprocessing.Queue` or `Pipe` to a
 * process: progress reports, partial results, messages from the worker.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { Task } from "@strand/platform-node"
 *
 * export const Messages = Task.stream("Messages", { payload: Schema.Void, success: Schema.String })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const stream = <
  const Name extends string,
  Payload extends AnySchema,
  Success extends AnySchema,
  Error extends AnySchema = typeof Schema.Never
>(
  name: Name,
  options: Options<Payload, Success, Error>
): StreamTask<Name, Payload, Success, Error> => define("StreamTask", name, options)

/**
 * The identifier of a worker configuration in a worker's `Context`.
 *
 * @category models
 * @since 0.2.0
 */
export interface ConfigId<Name extends string> {
  readonly "~@strand/platform-node/Config": Name
}

/**
 * A typed, Schema-checked value that the caller hands to every worker at
 * start-up, and that handlers and the worker's Layer read as a service.
 *
 * @category models
 * @since 0.2.0
 */
export interface Config<Name extends string, S extends AnySchema> extends Context.Service<ConfigId<Name>, S["Type"]> {
  readonly configName: Name
  readonly schema: S
  /** This configuration with its value, for the pool's `config` option. */
  readonly value: (value: S["Type"]) => ConfigValue
}

/**
 * A configuration and its value, given to `WorkerPool.make` or `layer` in `config`.
 *
 * @category models
 * @since 0.2.0
 */
export interface ConfigValue {
  readonly config: Config<string, AnySchema>
  readonly value: unknown
}

/**
 * Defines a worker configuration: a connection string, a model path, a
 * feature flag, anything the worker's setup needs from the caller
 * (piscina's `workerData`, typed).
 *
 * **When to use**
 *
 * Use when a worker's Layer or handlers need a value that only the caller
 * knows. Define it next to the tasks, so caller and worker share it.
 *
 * **Details**
 *
 * - The caller gives the value in the pool's `config` option, as
 *   `Settings.value({ ... })`. The pool encodes it with the schema before any
 *   worker starts: a value that does not encode fails `make` with
 *   `InvalidPoolOptions`.
 * - The worker lists the configurations it reads in `WorkerRunner.launch`'s
 *   `config` option. Each is decoded once per worker and provided as a
 *   service to the worker's Layer and to every handler. A missing or invalid
 *   value stops the worker before it is ready, so `make` fails with a
 *   `WorkerSpawnError` that names the configuration.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Task, WorkerPool, WorkerRunner } from "@strand/platform-node"
 *
 * // tasks.ts
 * export const Settings = Task.config("Settings", Schema.Struct({ greeting: Schema.String }))
 * export const Greet = Task.make("Greet", { payload: Schema.String, success: Schema.String })
 *
 * // worker.ts
 * WorkerRunner.launch(
 *   [WorkerRunner.handle(Greet, (name) => Effect.map(Settings, (s) => `${s.greeting}, ${name}`))],
 *   { config: [Settings] }
 * )
 *
 * // main.ts
 * const PoolLive = WorkerPool.layer({
 *   module: new URL("./worker.ts", import.meta.url),
 *   config: [Settings.value({ greeting: "Hello" })]
 * })
 * ```
 *
 * @category constructors
 * @since 0.2.0
 */
export const config = <const Name extends string, S extends AnySchema>(name: Name, schema: S): Config<Name, S> => {
  const key = Context.Service<ConfigId<Name>, S["Type"]>(`@strand/platform-node/Config/${name}`)
  const self: Config<Name, S> = Object.assign(key, {
    configName: name,
    schema,
    value: (value: S["Type"]): ConfigValue => ({ config: self as unknown as Config<string, AnySchema>, value })
  })
  return self
}
