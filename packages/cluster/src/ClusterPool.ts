/**
 * The caller's side of a cluster: the same `WorkerPool` service, with its
 * tasks run on the worker threads of runner processes, on one machine or many.
 *
 * @since 0.1.0
 */

import { WorkerPool } from "@strand/platform-node"
import type { Sharding } from "effect/cluster/Sharding"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { SqlClient } from "effect/sql/SqlClient"
import { make, routerOf, timeoutMillis } from "./internal/client.ts"
import type { ClusterConfigMismatch, DatabaseUnavailable, NoRunners } from "./internal/errors.ts"
import * as Registry from "./internal/registry.ts"
import * as Settings from "./internal/settings.ts"

export {
  /**
   * A process's shard count, or a runner's task set, differs from a live
   * runner's.
   *
   * @category errors
   * @since 0.1.0
   */
  ClusterConfigMismatch,
  /**
   * No runner was alive in the cluster's database within `startupTimeout`.
   *
   * @category errors
   * @since 0.1.0
   */
  NoRunners
} from "./internal/errors.ts"

/**
 * Options for `layerOnSharding`.
 *
 * @category models
 * @since 0.1.0
 */
export interface RoutingOptions {
  /**
   * How many virtual slots the caller spreads tasks over (default 64). Each
   * slot is an entity id that Effect Cluster hashes to a shard, so more slots
   * spread work more evenly over more runners.
   */
  readonly slots?: number | undefined
}

/**
 * Options for `layer`: routing, how long to wait for a runner, and the
 * settings every process of the cluster shares.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options extends RoutingOptions, Settings.Settings {
  /**
   * How long to wait while the layer is built for a runner to be alive
   * before failing with `NoRunners` (default 30 seconds).
   */
  readonly startupTimeout?: Duration.Input | undefined
}

/**
 * The `WorkerPool` service on a `Sharding` you provide: tasks go to the
 * runners that serve them (see `ClusterRunner.layerOnSharding`).
 *
 * **When to use**
 *
 * Tests, with Effect's `TestRunner.layer` as the `Sharding`, or a cluster you
 * assemble yourself. A program that calls a real cluster uses `layer`.
 *
 * @example
 * ```ts
 * import { Effect, Layer, Schema } from "effect"
 * import { TestRunner } from "effect/cluster"
 * import { ClusterPool, ClusterRunner } from "@strand/cluster"
 * import { Task, WorkerPool } from "@strand/platform-node"
 *
 * const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
 *
 * const program = WorkerPool.map(Square, [1, 2, 3]) // the same program as on one machine
 *
 * const PoolInMemory = ClusterPool.layerOnSharding().pipe(
 *   Layer.provideMerge(ClusterRunner.layerOnSharding({ tasks: [Square] })),
 *   Layer.provide(WorkerPool.layer({ module: new URL("./worker.ts", import.meta.url) })),
 *   Layer.provide(TestRunner.layer)
 * )
 * const squares = program.pipe(Effect.provide(PoolInMemory))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layerOnSharding = (
  options?: RoutingOptions
): Layer.Layer<WorkerPool.WorkerPool, WorkerPool.InvalidPoolOptions, Sharding> =>
  Layer.effect(
    WorkerPool.WorkerPool,
    Effect.gen(function* () {
      const router = yield* routerOf(options)
      return yield* make(router, () => Effect.succeed(true))
    })
  )

/**
 * The `WorkerPool` service on a cluster: the same program that runs on one
 * machine with `WorkerPool.layer` runs its tasks on the worker threads of the
 * cluster's runner processes.
 *
 * **Details**
 *
 * - The caller joins the cluster in the database the `SqlClient` reaches as
 *   a client only: it runs no tasks itself. While the layer is built, it
 *   waits for a live runner (`NoRunners` after `startupTimeout`) and checks
 *   that its shard count is theirs (`ClusterConfigMismatch` otherwise), so a
 *   mistake fails at once instead of hanging.
 * - Routing: each call goes to one of `slots` virtual slots, and Effect
 *   Cluster hashes slots to shards and shards to runners. The caller learns
 *   which runner holds each slot and sends new work to the runner with the
 *   least of this caller's work in flight. `RunOptions.key` pins a task to
 *   the slot its key hashes to, so equal keys meet on one runner.
 * - `map` and `mapStream` send inputs in chunks: `chunkSize` defaults to
 *   `"auto"` here, ceil(n / (4 × runners)) capped at 1,000, and 64 for a
 *   Stream of inputs.
 * - Differences from a local pool: payloads, results and errors cross as
 *   JSON through the task's schemas, so a `transfer` list fails with
 *   `InvalidPoolOptions` and shared memory cannot be sent (`PayloadError`);
 *   `stats` counts this caller's calls, with `size` the runners it has seen
 *   and no `workers`; `messages` carries nothing, since workers' messages
 *   stay on their runner.
 * - A task that a runner had started when it died runs again on the shard's
 *   new owner, once the dead runner's locks expire: the caller still gets
 *   exactly one result for it.
 *
 * @example
 * ```ts
 * import { Effect, Layer, Schema } from "effect"
 * import { ClusterPool, Postgres } from "@strand/cluster"
 * import { Task, WorkerPool } from "@strand/platform-node"
 *
 * const Square = Task.make("Square", { payload: Schema.Number, success: Schema.Number })
 * const program = WorkerPool.map(Square, [1, 2, 3])
 *
 * // One machine:
 * const Local = WorkerPool.layer({ module: new URL("./worker.ts", import.meta.url) })
 * // Many machines: the same program, another Layer.
 * const Cluster = ClusterPool.layer().pipe(
 *   Layer.provide(Postgres.layer({ url: process.env.DATABASE_URL ?? "postgres://localhost/strand" }))
 * )
 * const squares = program.pipe(Effect.provide(Cluster))
 * ```
 *
 * @category layers
 * @since 0.1.0
 */
export const layer = (
  options?: Options
): Layer.Layer<
  WorkerPool.WorkerPool,
  WorkerPool.InvalidPoolOptions | DatabaseUnavailable | ClusterConfigMismatch | NoRunners,
  SqlClient
> =>
  Settings.unwrap(options ?? {}, (resolved) =>
    Layer.effect(
      WorkerPool.WorkerPool,
      Effect.gen(function* () {
        const router = yield* routerOf(options)
        const startup =
          options?.startupTimeout === undefined
            ? Duration.seconds(30)
            : yield* Effect.flatMap(timeoutMillis(options.startupTimeout), (millis) =>
                millis === undefined
                  ? Effect.fail(
                      Settings.invalid("startupTimeout", options.startupTimeout, "a finite positive duration")
                    )
                  : Effect.succeed(Duration.millis(millis))
              )
        let served = yield* Registry.awaitRunners(resolved.shards, resolved.lockExpiration, startup)
        const database = yield* Effect.context<SqlClient>()
        // A task the known runners do not serve is looked up once more, in case a runner has just joined.
        const isServed = (name: string) =>
          served.has(name)
            ? Effect.succeed(true)
            : Registry.live(resolved.lockExpiration).pipe(
                Effect.map((entries) => {
                  served = new Set([...served, ...Registry.servedBy(entries)])
                  return served.has(name)
                }),
                Effect.orElseSucceed(() => false),
                Effect.provideContext(database)
              )
        return yield* make(router, isServed)
      })
    ).pipe(Layer.provide(Settings.clusterLayer(resolved, undefined)))
  ) as never
