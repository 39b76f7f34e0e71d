/**
 * What crosses the network between a caller and a runner: one cluster entity
 * with three RPCs, and the codecs that turn a task's values into JSON and back
 * with the task's own schemas.
 *
 * @internal
 */
import type { Task } from "@strand/platform-node"
import { WorkerPool } from "@strand/platform-node"
import * as Entity from "effect/cluster/Entity"
import * as Effect from "effect/Effect"
import * as Rpc from "effect/rpc/Rpc"
import * as Schema from "effect/Schema"

/** A task's own typed error, or one of the pool's, as JSON. */
export class RemoteFailure extends Schema.TaggedError<RemoteFailure>()("RemoteFailure", {
  kind: Schema.Literals(["task", "pool"]),
  error: Schema.Json,
  runner: Schema.String
}) {}

const Request = {
  task: Schema.String,
  payload: Schema.Json,
  timeoutMillis: Schema.optional(Schema.Number)
}

/** One task, one result. */
export const Run = Rpc.make("Run", {
  payload: Request,
  success: Schema.Struct({ value: Schema.Json, runner: Schema.String }),
  error: RemoteFailure
})

/**
 * Many inputs of one task: the results in input order up to the first
 * failure, and that failure.
 */
export const RunMany = Rpc.make("RunMany", {
  payload: { task: Schema.String, payloads: Schema.Array(Schema.Json), timeoutMillis: Schema.optional(Schema.Number) },
  success: Schema.Struct({
    values: Schema.Array(Schema.Json),
    failure: Schema.optional(RemoteFailure),
    runner: Schema.String
  }),
  error: RemoteFailure
})

/** A streaming task's items. */
export const RunStream = Rpc.make("RunStream", {
  payload: { ...Request, bufferSize: Schema.optional(Schema.Number) },
  success: Schema.Json,
  error: RemoteFailure,
  stream: true
})

/** Which runner holds a slot: the caller's router asks every slot once. */
export const Locate = Rpc.make("Locate", { success: Schema.String })

/** The one entity every runner serves; its ids are the caller's routing slots. */
export const Tasks = Entity.make("StrandTasks", [Run, RunMany, RunStream, Locate])

/** @internal */
export type Json = Schema.Json

/** A client of one slot's entity. */
export type TasksClient = ReturnType<Effect.Success<typeof Tasks.client>>

const PoolError = Schema.toCodecJson(
  Schema.Union([
    WorkerPool.WorkerCrashed,
    WorkerPool.TaskTimeout,
    WorkerPool.QueueFull,
    WorkerPool.PayloadError,
    WorkerPool.ResultError,
    WorkerPool.MapInputError,
    WorkerPool.TaskAborted,
    WorkerPool.TaskNotServed,
    WorkerPool.WorkerPoolClosed,
    WorkerPool.WorkerSpawnError,
    WorkerPool.InvalidPoolOptions
  ])
)

const issueOf = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === "string" ? error : "the value does not match"

interface Codec {
  readonly encode: (value: unknown) => Effect.Effect<Schema.Json, Schema.SchemaError>
  readonly decode: (value: unknown) => Effect.Effect<unknown, Schema.SchemaError>
}

/** Each schema's JSON codec, derived once: deriving it is far dearer than using it. */
const codecs = new WeakMap<Task.AnySchema, Codec>()

const codecOf = (schema: Task.AnySchema): Codec => {
  let codec = codecs.get(schema)
  if (codec === undefined) {
    const json = Schema.toCodecJson(schema)
    codec = {
      encode: Schema.encodeUnknownEffect(json) as Codec["encode"],
      decode: Schema.decodeUnknownEffect(json) as Codec["decode"]
    }
    codecs.set(schema, codec)
  }
  return codec
}

/** A value of `schema` as JSON; `ResultError` when it does not encode. */
export const encodeValue = (task: Task.Any, schema: Task.AnySchema, value: unknown) =>
  codecOf(schema)
    .encode(value)
    .pipe(Effect.mapError((error) => new WorkerPool.ResultError({ task: task.name, issue: issueOf(error) })))

/** A value of `schema` from JSON. */
export const decodeValue = (schema: Task.AnySchema, value: Schema.Json) => codecOf(schema).decode(value)

/** A runner's side: one of the pool's own errors, as what crosses the network. */
export const encodePoolError = (error: WorkerPool.WorkerPoolError, runner: string): Effect.Effect<RemoteFailure> =>
  Schema.encodeUnknownEffect(PoolError)(error).pipe(
    Effect.orDie,
    Effect.map((encoded) => new RemoteFailure({ kind: "pool", error: encoded, runner }))
  )

/** A runner's side: any failure of a task, as what crosses the network. */
export const encodeFailure = (task: Task.Any, error: unknown, runner: string): Effect.Effect<RemoteFailure> =>
  WorkerPool.isWorkerPoolError(error)
    ? encodePoolError(error, runner)
    : encodeValue(task, task.error, error).pipe(
        Effect.map((encoded) => new RemoteFailure({ kind: "task", error: encoded, runner })),
        Effect.catch((resultError) => encodeFailure(task, resultError, runner))
      )

/** A caller's side: the error a failure stands for. */
export const decodeFailure = (task: Task.Any, failure: RemoteFailure): Effect.Effect<unknown> =>
  failure.kind === "pool"
    ? Schema.decodeUnknownEffect(PoolError)(failure.error).pipe(Effect.orDie)
    : decodeValue(task.error, failure.error).pipe(
        Effect.catch((error) =>
          Effect.succeed(
            new WorkerPool.ResultError({
              task: task.name,
              issue: `runner ${failure.runner} sent a typed error that this caller's schema rejects: ${issueOf(error)}`
            })
          )
        )
      )
