// Effect's own worker path: RpcServer over the worker-runner protocol.
import { NodeRuntime, NodeWorkerRunner } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { RpcServer } from "effect/rpc"
import { spin, trivial } from "../tasks.ts"
import { BenchRpcs } from "./rpc-group.ts"

const Handlers = BenchRpcs.toLayer(
  Effect.succeed({
    Trivial: ({ n }) => Effect.succeed(trivial(n)),
    Spin: ({ n }) => Effect.sync(() => spin(n))
  })
)

const Main = RpcServer.layer(BenchRpcs).pipe(
  Layer.provide(Handlers),
  Layer.provide(RpcServer.layerProtocolWorkerRunner),
  Layer.provide(NodeWorkerRunner.layer)
)

NodeRuntime.runMain(Layer.launch(Main))
