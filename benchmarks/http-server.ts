// The HTTP service of `pnpm bench` scenario 11: Effect's HttpRouter on NodeHttpServer, with Strand or
// piscina behind the same routes. Usage: tsx http-server.ts <strand|piscina> <workers>. It prints
// "listening <port>" once it serves, and stops on SIGINT or SIGTERM.
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Console, Context, Effect, Layer } from "effect"
import { HttpRouter, HttpServer, HttpServerResponse } from "effect/http"
import { all, type Pool } from "./pools.ts"
import type { Job } from "./tasks.ts"

const [subject = "strand", workers = "2"] = process.argv.slice(2)

/** The subject's pool, started (and every worker ready) before the server listens. */
class BenchPool extends Context.Service<BenchPool, Pool>()("bench/BenchPool") {}
const PoolLive = Layer.effect(
  BenchPool,
  Effect.acquireRelease(
    Effect.promise(async () => {
      const pool = await all[subject]!({ size: Number(workers) })
      await pool.ready()
      return pool
    }),
    (pool) => Effect.promise(() => pool.close())
  )
)

/** The routes: `/trivial` (all cost is overhead) and `/spin` (2.5 ms of CPU), each a task on the pool. */
const Routes = HttpRouter.use(
  Effect.fn(function* (router) {
    const pool = yield* BenchPool
    // Strand is called from Effect, as its users would; piscina through its promise.
    const run = (job: Job) => pool.effectOf?.(job) ?? Effect.promise(() => pool.run(job))
    const reply = (job: Job) => Effect.map(Effect.orDie(run(job)), (n) => HttpServerResponse.text(String(n)))
    yield* router.add("GET", "/trivial", reply({ kind: "trivial", n: 1 }))
    yield* router.add("GET", "/spin", reply({ kind: "spin", n: 2.5 }))
  })
)

const Announce = Layer.effectDiscard(
  Effect.flatMap(HttpServer.HttpServer, (server) =>
    Console.log(`listening ${(server.address as unknown as AddressInfo).port}`)
  )
)

NodeRuntime.runMain(
  Layer.launch(
    HttpRouter.serve(Routes, { disableListenLog: true, disableLogger: true }).pipe(
      Layer.provideMerge(Announce),
      Layer.provide(NodeHttpServer.layer(createServer, { port: 0, host: "127.0.0.1" })),
      Layer.provide(PoolLive)
    )
  )
)
