/**
 * The settings every process of one cluster shares, and the Effect Cluster
 * layers built from them.
 *
 * @internal
 */

import * as Net from "node:net"
import * as NodeCrypto from "@effect/platform-node/NodeCrypto"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import * as NodeSocketServer from "@effect/platform-node/NodeSocketServer"
import { WorkerPool } from "@strand/platform-node"
import type * as MessageStorage from "effect/cluster/MessageStorage"
import * as RunnerAddress from "effect/cluster/RunnerAddress"
import * as RunnerHealth from "effect/cluster/RunnerHealth"
import * as Runners from "effect/cluster/Runners"
import type { Sharding } from "effect/cluster/Sharding"
import * as ShardingConfig from "effect/cluster/ShardingConfig"
import * as SocketRunner from "effect/cluster/SocketRunner"
import * as SqlMessageStorage from "effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "effect/cluster/SqlRunnerStorage"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as RpcClient from "effect/rpc/RpcClient"
import * as RpcSerialization from "effect/rpc/RpcSerialization"
import * as Socket from "effect/socket/Socket"
import type * as SocketServer from "effect/socket/SocketServer"
import type { SqlClient } from "effect/sql/SqlClient"

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

/** An option out of range, as the pool's own typed error. */
export const invalid = (option: string, value: unknown, expected: string) =>
  new WorkerPool.InvalidPoolOptions({ option, value: String(value), expected })

/** A port on `host` that is free now: listen on port 0, read what the system gave, close. */
export const freePort = (host: string): Effect.Effect<number, Error> =>
  Effect.callback<number, Error>((resume) => {
    const server = Net.createServer()
    server.once("error", (error) => resume(Effect.fail(error)))
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resume(Effect.succeed(port)))
    })
  })

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
      assignmentRefresh: yield* duration("assignmentRefresh", settings.assignmentRefresh, Duration.seconds(1)),
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

/**
 * Effect Cluster's TCP transport with Nagle's algorithm off. Left on, as Node
 * leaves it, every call sent while another is in flight waits for the peer's
 * delayed acknowledgement: 32 concurrent calls took 60 to 70 ms here, and
 * 20 ms with it off.
 */
const clientProtocol = Layer.effect(Runners.RpcClientProtocol)(
  Effect.gen(function* () {
    const serialization = yield* RpcSerialization.RpcSerialization
    return {
      codecFor: serialization.codecFor,
      make: Effect.fnUntraced(function* (address) {
        const socket = yield* NodeSocket.makeNet({
          openTimeout: 1000,
          timeout: 5500,
          host: address.host,
          port: address.port,
          noDelay: true
        })
        return yield* RpcClient.makeProtocolSocket().pipe(
          Effect.provideService(Socket.Socket, socket),
          Effect.provideService(RpcSerialization.RpcSerialization, serialization)
        )
      }, Effect.orDie)
    }
  })
)

/**
 * A socket runner (or, without an address, a client only) on Postgres
 * storage: the parts `NodeClusterSocket.layer` puts together, with the
 * transport above and a configuration no environment variable changes.
 */
export const clusterLayer = (
  resolved: Resolved,
  address: { readonly host: string; readonly port: number } | undefined
) => {
  const sharding: Layer.Layer<any, any, any> =
    address === undefined
      ? Layer.provide(SocketRunner.layerClientOnly, clientProtocol)
      : SocketRunner.layer.pipe(
          Layer.provide([NodeSocketServer.layer({ ...address, noDelay: true }), clientProtocol]),
          Layer.provide(RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc), Layer.provide(clientProtocol)))
        )
  return sharding.pipe(
    Layer.provideMerge(SqlMessageStorage.layer.pipe(Layer.provide(NodeCrypto.layerDigest))),
    Layer.provide(Layer.orDie(SqlRunnerStorage.layer)),
    Layer.provide(ShardingConfig.layer(shardingConfig(resolved, address))),
    Layer.provide(RpcSerialization.layerSchemaBinary())
  ) as Layer.Layer<
    Sharding | Runners.Runners | MessageStorage.MessageStorage,
    SocketServer.SocketServerError,
    SqlClient
  >
}

/** A cluster layer needs its settings before it can be built. */
export const unwrap = <A, E, R>(
  settings: Settings,
  build: (resolved: Resolved) => Layer.Layer<A, E, R>
): Layer.Layer<A, E | WorkerPool.InvalidPoolOptions, R> => Layer.unwrap(Effect.map(resolve(settings), build))
