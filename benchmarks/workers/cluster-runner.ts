// A runner process for scenario 16: joins the cluster in DATABASE_URL and serves strand.ts's
// tasks on one worker thread. It stops when its parent closes its standard input.
import { NodeRuntime } from "@effect/platform-node"
import { ClusterRunner, Postgres } from "@strand/cluster"
import { WorkerPool } from "@strand/platform-node"
import { Effect, Layer } from "effect"
import { Pid, Spin, Trivial } from "./strand.ts"

process.stdin.resume()
process.stdin.once("close", () => process.kill(process.pid, "SIGTERM"))
// Its output went to that parent: with the parent gone, a last log line must not crash it.
process.stdout.on("error", () => {})

NodeRuntime.runMain(
  Effect.scoped(
    Effect.gen(function* () {
      yield* Layer.build(
        ClusterRunner.layer({ tasks: [Trivial, Spin, Pid] }).pipe(
          Layer.provide(WorkerPool.layer({ module: new URL("./strand.ts", import.meta.url), size: 1 })),
          Layer.provide(Postgres.layer({ url: process.env.DATABASE_URL ?? "" }))
        )
      )
      console.log(`ready ${process.pid}`)
      return yield* Effect.never
    })
  )
)
