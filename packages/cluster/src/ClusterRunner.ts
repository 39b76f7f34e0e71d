/**
 * The runner's side of a cluster: a process that joins it, takes a share of
 * its shards and runs the tasks sent to them on its own local `WorkerPool`.
 *
 * @since 0.1.0
 */

import { type Task, WorkerPool } from "@strand/platform-node"
import * as Entity from "effect/cluster/Entity"
import type { Sharding } from "effect/cluster/Sharding"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import type * as SocketServer from "effect/socket/SocketServer"
import type { SqlClient } from "effect/sql/SqlClient"
import type { ClusterConfigMismatch, DatabaseUnavailable } from "./internal/errors.ts"
import * as Protocol from "./internal/protocol.ts"
import * as Registry from "./internal/registry.ts"
import * as Settings from "./internal/settings.ts"

/**
 * Options for `layerOnSharding`.
 *
 * @category models
 * @since 0.1.0
 */
export interface ServeOptions {
  /**
   * The tasks this runner serves: the same definitions its worker module
   * launches. Every runner of one cluster must serve the same set.
   */
  readonly tasks: ReadonlyArray<Task.Any>
}

/**
 * Options for `layer`: the tasks, where to listen, and the settings every
 * process of the cluster shares.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options extends ServeOptions, Settings.Settings {
  /**
   * The host this runner listens on and tells the others to reach it at
   * (default `127.0.0.1`). The runner protocol has no authentication: name
   * another host only on a private network.
   */
  readonly host?: string | undefined
  /** The port to listen on (default `0`: a free port, found at start). */
  readonly port?: number | undefined
}

const taskList = (tasks: ReadonlyArray<Task.Any>) =>
  Effect.gen(function* () {
    if (tasks.length === 0) {
      return yield* Effect.fail(
        Settings.invalid("tasks", "[]", "the Task definitions this runner serves (at least one)")
      )
    }
    const byName = new Map<string, Task.Any>()
    for (const task of tasks) {
      if (byName.has(task.name)) {
        return yield* Effect.fail(
          Settings.invalid("tasks", task.name, "tasks with distinct names (this one is listed twice)")
        )
      }
      byName.set(task.name, task)
    }
    return byName
  })

/** The registry's fingerprint of a task set: sorted names. */
const fingerprint = (tasks: ReadonlyArray<Task.Any>): string =>
  tasks
    .map((task) => task.name)
    .sort()
    .join(",")

const timeoutOf = (millis: number | undefined) => (millis === undefined ? undefined : Math.max(1, millis))

const serve = (byName: ReadonlyMap<string, Task.Any>) =>
  Protocol.Tasks.toLayer(
    Effect.gen(function* () {
      const pool = yield* WorkerPool.WorkerPool
      const address = yield* Entity.CurrentRunnerAddress
      const runner = `${address.host}:${address.port}`
      const fail = (task: Task.Any, error: unknown) =>
        Effect.flatMap(Protocol.encodeFailure(task, error, runner), Effect.fail)
      const lookup = <Tag extends Task.Any["_tag"]>(name: string, tag: Tag) => {
        const task = byName.get(name)
        return task !== undefined && task._tag === tag
          ? Effect.succeed(task as Extract<Task.Any, { readonly _tag: Tag }>)
          : Effect.flatMap(Protocol.encodePoolError(new WorkerPool.TaskNotServed({ task: name }), runner), Effect.fail)
      }
      const decode = (task: Task.Any, value: unknown) =>
        Protocol.decodeValue(task.payload, value as never).pipe(
          Effect.mapError(
            (error) => new WorkerPool.PayloadError({ task: task.name, side: "worker", issue: error.message })
          )
        )
      return Protocol.Tasks.of({
        Run: ({ payload: request }) =>
          Effect.gen(function* () {
            const task = yield* lookup(request.task, "Task")
            const result = yield* decode(task, request.payload).pipe(
              Effect.flatMap((payload) => pool.run(task, payload, { timeout: timeoutOf(request.timeoutMillis) })),
              Effect.flatMap((value) => Protocol.encodeValue(task, task.success, value)),
              Effect.catch((error) => fail(task, error))
            )
            return { value: result, runner }
          }),
        RunMany: ({ payload: request }) =>
          Effect.gen(function* () {
            const task = yield* lookup(request.task, "Task")
            const payloads: Array<unknown> = []
            let failure: unknown
            for (const input of request.payloads) {
              const decoded = yield* Effect.result(decode(task, input))
              if (decoded._tag === "Failure") {
                failure = decoded.failure
                break
              }
              payloads.push(decoded.success)
            }
            // The caller has already balanced its chunks over the runners: here each chunk is split
            // once per local worker, so a worker runs its share without a round trip between inputs.
            const workers = Math.max(1, (yield* pool.stats).size)
            const values: Array<Protocol.Json> = []
            const ran = yield* pool
              .mapStream(task, payloads, {
                order: "input",
                chunkSize: Math.max(1, Math.ceil(payloads.length / workers)),
                timeout: timeoutOf(request.timeoutMillis)
              })
              .pipe(
                Stream.mapEffect((value) => Protocol.encodeValue(task, task.success, value)),
                Stream.runForEach((value) => Effect.sync(() => values.push(value))),
                Effect.result
              )
            if (ran._tag === "Failure") failure = ran.failure
            return failure === undefined
              ? { values, runner }
              : { values, failure: yield* Protocol.encodeFailure(task, failure, runner), runner }
          }),
        RunStream: ({ payload: request }) =>
          Stream.unwrap(
            Effect.gen(function* () {
              const task = yield* lookup(request.task, "StreamTask")
              const payload = yield* Effect.catch(decode(task, request.payload), (error) => fail(task, error))
              return pool
                .stream(task, payload, { timeout: timeoutOf(request.timeoutMillis), bufferSize: request.bufferSize })
                .pipe(
                  Stream.mapEffect((value) => Protocol.encodeValue(task, task.success, value)),
                  Stream.catch((error) => Stream.fromEffect(fail(task, error)))
                )
            })
          ),
        Locate: () => Effect.succeed(runner)
      })
    }),
    { concurrency: "unbounded", mailboxCapacity: "unbounded" }
  )

/**
 * Serves `tasks` on a `Sharding` you provide, forwarding each to the
 * `WorkerPool` you provide.
 *
 * **When to use**
 *
 * Tests, with Effect's `TestRunner.layer` as the `Sharding`, or a cluster
 * you assemble yourself. A runner process uses `layer`.
 *
 * @example
 * ```ts
 * import { Layer, Schema } from "effect"
 * import { TestRunner } from "effect/cluster"
 * import { ClusterPool, ClusterRunner } from "@strand/cluster"
 * import { Task, WorkerPool } from "@strand/platform-node"
 *
 * const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
 *
 * // One process plays runner and caller: the program sees a WorkerPool.
 * const PoolInMemory = ClusterPool.layerOnSharding().pipe(
 *   Layer.provideMerge(ClusterRunner.layerOnSharding({ tasks: [Square] })),
 *   Layer.provide(WorkerPool.layer({ module: new URL("./worker.ts", import.meta.url) })),
 *   Layer.provide(TestRunner.layer)
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerOnSharding = (
  options: ServeOptions
): Layer.Layer<never, WorkerPool.InvalidPoolOptions, Sharding | WorkerPool.WorkerPool> =>
  Layer.unwrap(Effect.map(taskList(options.tasks), serve))

/**
 * A runner: joins the cluster in the database the `SqlClient` reaches, takes
 * a share of its shards and runs the tasks sent to them on the `WorkerPool`
 * you provide, so the runner's own event loop never runs CPU work.
 *
 * **Details**
 *
 * - It listens on `127.0.0.1` unless you name another `host`. The runner
 *   protocol has no authentication, so other hosts belong on a private
 *   network.
 * - It records itself in the table `strand_runners`, with its shard count
 *   and task names, and keeps that entry alive while it runs. A runner whose
 *   shards or tasks differ from a live runner's fails with the typed
 *   `ClusterConfigMismatch` instead of joining.
 * - When a runner dies, its shards move to the live runners once its locks
 *   expire (`lockExpiration`, default 3 seconds): tasks sent to them wait,
 *   then run there. A task the dead runner had started runs again from the
 *   start on the new owner, so the caller still gets exactly one result. A
 *   worker thread that crashes inside a live runner fails its task with
 *   `WorkerCrashed`, as in a local pool.
 *
 * @example
 * ```ts
 * import { NodeRuntime } from "@effect/platform-node"
 * import { Layer, Schema } from "effect"
 * import { ClusterRunner, Postgres } from "@strand/cluster"
 * import { Task, WorkerPool } from "@strand/platform-node"
 *
 * const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
 *
 * ClusterRunner.layer({ tasks: [Square] }).pipe(
 *   Layer.provide(WorkerPool.layer({ module: new URL("./worker.ts", import.meta.url) })),
 *   Layer.provide(Postgres.layer({ url: process.env.DATABASE_URL ?? "postgres://localhost/strand" })),
 *   Layer.launch,
 *   NodeRuntime.runMain
 * )
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options: Options
): Layer.Layer<
  never,
  WorkerPool.InvalidPoolOptions | DatabaseUnavailable | ClusterConfigMismatch | SocketServer.SocketServerError,
  SqlClient | WorkerPool.WorkerPool
> =>
  Settings.unwrap(options, (resolved) =>
    Layer.unwrap(
      Effect.gen(function* () {
        yield* taskList(options.tasks)
        const host = options.host ?? "127.0.0.1"
        const port = options.port ?? 0
        if (!Number.isInteger(port) || port < 0 || port > 65535) {
          return yield* Effect.fail(Settings.invalid("port", port, "a port from 0 to 65535"))
        }
        const free = Settings.freePort(host).pipe(
          Effect.mapError((error) =>
            Settings.invalid("host", host, `an address of this machine to listen on (${error.message})`)
          )
        )
        const address = { host, port: port === 0 ? yield* free : port }
        const entry = {
          address: `${address.host}:${address.port}`,
          shards: resolved.shards,
          tasks: fingerprint(options.tasks)
        }
        const registered = Layer.effectDiscard(Registry.join(entry, resolved.lockExpiration))
        return layerOnSharding(options).pipe(
          Layer.provide(Settings.clusterLayer(resolved, address)),
          Layer.provideMerge(registered)
        )
      })
    )
  ) as never
