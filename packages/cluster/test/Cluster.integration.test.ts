// A real cluster: a throwaway Postgres, two runner processes with worker threads, and this
// process as the caller, including a runner killed with SIGKILL in the middle of a map.
import * as Net from "node:net"
import { networkInterfaces } from "node:os"
import { assert, describe, layer } from "@effect/vitest"
import { ClusterPool, Postgres } from "@strand/cluster"
import { WorkerPool } from "@strand/platform-node"
import { Cause, Context, Effect, Exit, Fiber, Layer, Option, Stream } from "effect"
import { SqlClient } from "effect/sql/SqlClient"
import { type RunnerProcess, ready, startRunner } from "./fixtures/processes.ts"
import { Count, EvenOnly, Sleep, Spin, Square, Where } from "./fixtures/tasks.ts"

class Cluster extends Context.Service<
  Cluster,
  { readonly url: string; readonly first: RunnerProcess; readonly second: RunnerProcess }
>()("test/Cluster") {}

const ClusterLive = Layer.effect(
  Cluster,
  Effect.gen(function* () {
    const database = yield* Postgres.throwaway
    const first = yield* startRunner(database.url)
    const second = yield* startRunner(database.url)
    yield* Effect.all([ready(first), ready(second)], { concurrency: 2 }).pipe(Effect.orDie)
    return { url: database.url, first, second }
  }).pipe(Effect.orDie)
)

/**
 * Postgres's server programs are needed here. CI installs them (.ci/run) and never skips; a
 * developer's machine without them skips this file and says how to install them.
 */
const noPostgres = Effect.runSync(
  Effect.match(Postgres.serverPrograms, { onFailure: (error) => error.message, onSuccess: () => undefined })
)
const skip = noPostgres !== undefined && process.env.CI === undefined
if (skip) console.warn(`Skipping the cluster's integration tests: ${noPostgres}`)

const clientOf = (url: string, options?: ClusterPool.Options) =>
  ClusterPool.layer({ startupTimeout: "30 seconds", ...options }).pipe(Layer.provide(Postgres.layer({ url })))

const errorOf = <A, E>(exit: Exit.Exit<A, E>): E | undefined =>
  Exit.isFailure(exit) ? Option.getOrUndefined(Cause.findErrorOption(exit.cause)) : undefined

const program = Effect.gen(function* () {
  const one = yield* WorkerPool.run(Square, 9)
  const many = yield* WorkerPool.map(
    Square,
    Array.from({ length: 500 }, (_, i) => i)
  )
  const items = yield* Stream.runCollect(WorkerPool.stream(Count, 4))
  const typed = yield* Effect.flip(WorkerPool.run(EvenOnly, 5))
  return { one, many, items, typed: typed._tag }
})

describe.skipIf(skip)("on a real Postgres", () => {
  layer(ClusterLive, { timeout: "120 seconds", excludeTestServices: true })(
    "a cluster on Postgres, two runner processes and a caller",
    (it) => {
      it.effect(
        "runs the same program as a local pool, spread over both runners' worker threads",
        () =>
          Effect.gen(function* () {
            const { first, second, url } = yield* Cluster
            const local = yield* program.pipe(
              Effect.provide(WorkerPool.layer({ module: new URL("./fixtures/worker.ts", import.meta.url), size: 1 }))
            )
            const remote = yield* program.pipe(Effect.provide(clientOf(url)))
            assert.deepStrictEqual(remote, local)
            const places = yield* WorkerPool.map(
              Where,
              Array.from({ length: 32 }, (_, i) => i),
              { chunkSize: 1 }
            ).pipe(Effect.provide(clientOf(url)))
            assert.deepStrictEqual(new Set(places.map((place) => place.pid)), new Set([first.pid, second.pid]))
            assert.isFalse(places.some((place) => place.threadId === 0))
          }),
        120_000
      )

      it.effect(
        "mistakes fail loudly with typed errors: shards, task sets, no runner, no database",
        () =>
          Effect.gen(function* () {
            const { url } = yield* Cluster
            // A runner with other shards, or other tasks, than the live ones refuses to join.
            for (const env of [{ SHARDS: "100" }, { TASKS: "fewer" }]) {
              const odd = yield* startRunner(url, env)
              const failed = yield* Effect.flip(ready(odd))
              assert.include(failed, "ClusterConfigMismatch")
              assert.notStrictEqual(yield* Effect.promise(() => odd.exited), 0)
            }
            // A caller with other shards than the runners' fails at once instead of hanging.
            const mismatch = yield* Effect.exit(Effect.scoped(Layer.build(clientOf(url, { shards: 100 }))))
            assert.strictEqual(errorOf(mismatch)?._tag, "ClusterConfigMismatch")
            // A database with no runner: NoRunners after the startup timeout.
            yield* Effect.flatMap(SqlClient, (sql) => sql.unsafe("CREATE DATABASE lonely")).pipe(
              Effect.provide(Postgres.layer({ url })),
              Effect.orDie
            )
            const lonely = yield* Effect.exit(
              Effect.scoped(
                Layer.build(clientOf(url.replace(/\/postgres$/, "/lonely"), { startupTimeout: "1 second" }))
              )
            )
            assert.instanceOf(errorOf(lonely), ClusterPool.NoRunners)
            // A database nobody listens for.
            const closed = yield* Effect.exit(
              Effect.scoped(
                Layer.build(Postgres.layer({ url: "postgres://strand@127.0.0.1:1/none", connectTimeout: "1 second" }))
              )
            )
            assert.instanceOf(errorOf(closed), Postgres.DatabaseUnavailable)
          }),
        120_000
      )

      it.effect(
        "interrupting a call stops its task on the runner, even a synchronous loop",
        () =>
          Effect.gen(function* () {
            const { url } = yield* Cluster
            yield* Effect.gen(function* () {
              // Both calls go to the runner that holds the key's slot, whose pool has one worker thread.
              const home = yield* WorkerPool.run(Where, 0, { key: "busy" })
              const fiber = yield* Effect.forkChild(WorkerPool.run(Spin, 600_000, { key: "busy" }))
              yield* Effect.sleep("1 second")
              yield* Fiber.interrupt(fiber)
              // Were the loop still running, this would wait ten minutes behind it.
              const next = yield* WorkerPool.run(Where, 1, { key: "busy" })
              assert.strictEqual(next.pid, home.pid)
            }).pipe(Effect.provide(clientOf(url)))
          }),
        60_000
      )

      it.effect(
        "runners listen on loopback unless told otherwise",
        () =>
          Effect.gen(function* () {
            const { url } = yield* Cluster
            const rows = yield* Effect.flatMap(
              SqlClient,
              (sql) => sql<{ address: string }>`SELECT address FROM strand_runners`
            ).pipe(Effect.provide(Postgres.layer({ url })), Effect.orDie)
            assert.isAtLeast(rows.length, 2)
            for (const { address } of rows) assert.match(address, /^127\.0\.0\.1:\d+$/)
            // Where this machine has another address, the runner's port is closed on it.
            const other = Object.values(networkInterfaces())
              .flat()
              .find((info) => info !== undefined && info.family === "IPv4" && !info.internal)
            if (other !== undefined) {
              const port = Number(rows[0]!.address.split(":")[1])
              const refused = yield* Effect.promise(
                () =>
                  new Promise<boolean>((resolve) => {
                    const socket = Net.connect(port, other.address)
                    socket.once("connect", () => {
                      socket.destroy()
                      resolve(false)
                    })
                    socket.once("error", () => resolve(true))
                  })
              )
              assert.isTrue(refused)
            }
          }),
        60_000
      )

      it.effect(
        "a runner that joins later takes a share of the work",
        () =>
          Effect.gen(function* () {
            const { url } = yield* Cluster
            const late = yield* startRunner(url)
            yield* ready(late).pipe(Effect.orDie)
            const pids = new Set<number>()
            yield* Effect.gen(function* () {
              for (let round = 0; round < 60 && !pids.has(late.pid); round++) {
                const places = yield* WorkerPool.map(
                  Where,
                  Array.from({ length: 32 }, (_, i) => i),
                  { chunkSize: 1 }
                )
                for (const place of places) pids.add(place.pid)
                if (!pids.has(late.pid)) yield* Effect.sleep("500 millis")
              }
            }).pipe(Effect.provide(clientOf(url)))
            assert.isTrue(pids.has(late.pid))
          }),
        120_000
      )

      it.effect(
        "a runner killed with SIGKILL in the middle of a map: every task ends exactly once, with its result",
        () =>
          Effect.gen(function* () {
            const { url, first } = yield* Cluster
            const inputs = Array.from({ length: 200 }, (_, i) => 20 + (i % 3))
            const results = yield* Effect.gen(function* () {
              const seen: Array<number> = []
              yield* WorkerPool.mapStream(Sleep, inputs, { chunkSize: 1 }).pipe(
                Stream.runForEach((value) =>
                  Effect.sync(() => {
                    seen.push(value)
                    if (seen.length === 40) first.child.kill("SIGKILL")
                  })
                )
              )
              return seen
            }).pipe(Effect.provide(clientOf(url)))
            assert.strictEqual(yield* Effect.promise(() => first.exited), "SIGKILL")
            assert.deepStrictEqual(results, inputs)
          }),
        120_000
      )
    }
  )
})
