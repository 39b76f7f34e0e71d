/**
 * The settings every process of one cluster shares, and the Effect Cluster
 * layers built from them.
 *
 * @internal
 */
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import { WorkerPool } from "@strand/platform-node"
import * as RunnerAddress from "effect/cluster/RunnerAddress"
import * as ShardingConfig from "effect/cluster/ShardingConfig"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

/** @internal */
export interface Settings {
  readonly shards?: number | undefined
  readonly lockExpiration?: Duration.Input | undefined
  readonly assignmentRefresh?: Duration.Input | undefined
  readonly healthCheckInterval?: Duration.Input | undefined
}

/** @internal */
export interface Resolved {
  readonly shards: number
  readonly lockExpiration: Duration.Duration
  readonly assignmentRefresh: Duration.Duration
  readonly healthCheckInterval: Duration.Duration
}

const invalid = (option: string, value: unknown, expected: string) =>
  new WorkerPool.InvalidPoolOptions({ option, value: String(value), expected })

const duration = (option: string, input: Duration.Input | undefined, fallback: Duration.Duration) => {
  if (input === undefined) return Effect.succeed(fallback)
  const decoded = Duration.fromInput(input)
  return Option.isSome(decoded) && Duration.isFinite(decoded.value) && Duration.toMillis(decoded.value) > 0
    ? Effect.succeed(decoded.value)
    : Effect.fail(invalid(option, input, "a positive duration"))
}

/** The settings with their defaults, or `InvalidPoolOptions` for one out of range. */
export const resolve = (settings: Settings): Effect.Effect<Resolved, WorkerPool.InvalidPoolOptions> =>
  Effect.gen(function* () {
    const shards = settings.shards ?? 300
    if (!Number.isInteger(shards) || shards < 1) {
      return yield* Effect.fail(invalid("shards", settings.shards, "a whole number of at least 1"))
    }
    return {
      shards,
      lockExpiration: yield* duration("lockExpiration", settings.lockExpiration, Duration.seconds(3)),
      assignmentRefresh: yield* duration("assignmentRefresh", settings.assignmentRefresh, Duration.millis(500)),
      healthCheckInterval: yield* duration("healthCheckInterval", settings.healthCheckInterval, Duration.seconds(1))
    }
  })

/** Effect Cluster's own configuration, complete, so no environment variable changes it. */
export const shardingConfig = (
  resolved: Resolved,
  address: { readonly host: string; readonly port: number } | undefined
): ShardingConfig.ShardingConfig["Service"] => ({
  ...ShardingConfig.defaults,
  runnerAddress: address === undefined ? Option.none() : Option.some(RunnerAddress.make(address.host, address.port)),
  runnerListenAddress: Option.none(),
  shardsPerGroup: resolved.shards,
  shardLockExpiration: resolved.lockExpiration,
  shardLockRefreshInterval: Duration.millis(Math.max(100, Duration.toMillis(resolved.lockExpiration) / 3)),
  refreshAssignmentsInterval: resolved.assignmentRefresh,
  runnerHealthCheckInterval: resolved.healthCheckInterval,
  sendRetryInterval: Duration.millis(50),
  entityMailboxCapacity: "unbounded",
  entityMaxIdleTime: Duration.minutes(5),
  entityTerminationTimeout: Duration.seconds(5)
})

/** A socket runner (or, without an address, a client only) on Postgres storage. */
export const clusterLayer = (
  resolved: Resolved,
  address: { readonly host: string; readonly port: number } | undefined
) =>
  address === undefined
    ? NodeClusterSocket.layer({ clientOnly: true, storage: "sql", shardingConfig: shardingConfig(resolved, undefined) })
    : NodeClusterSocket.layer({ storage: "sql", shardingConfig: shardingConfig(resolved, address) })

/** A cluster layer needs its settings before it can be built. */
export const unwrap = <A, E, R>(
  settings: Settings,
  build: (resolved: Resolved) => Layer.Layer<A, E, R>
): Layer.Layer<A, E | WorkerPool.InvalidPoolOptions, R> => Layer.unwrap(Effect.map(resolve(settings), build))
