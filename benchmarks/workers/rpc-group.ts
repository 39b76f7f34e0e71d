import { Schema } from "effect"
import { Rpc, RpcGroup } from "effect/rpc"

export class BenchRpcs extends RpcGroup.make(
  Rpc.make("Trivial", { payload: { n: Schema.Number }, success: Schema.Number }),
  Rpc.make("Spin", { payload: { n: Schema.Number }, success: Schema.Number })
) {}
