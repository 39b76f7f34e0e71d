/**
 * Scaling out: the same WorkerPool program on a cluster of runner processes.
 *
 * Python (Ray):
 *   from ray.util.multiprocessing import Pool
 *   with Pool() as pool:
 *       print(sum(pool.map(count_primes, limits)))
 *
 * This file plays three parts. Run as `pnpm tsx examples/cluster.ts`, it is the caller: it
 * starts a throwaway Postgres (or uses DATABASE_URL), starts two runner processes (this file
 * with `--runner`), runs a CPU-bound map across them, kills one runner with SIGKILL midway,
 * and prints which runner ran what, how long the dead runner's shards took to serve again,
 * and the result. Each runner forwards its tasks to its own worker threads (this file again,
 * as the worker module), so the CPU work never runs on a runner's event loop.
 */
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { NodeRuntime } from "@effect/platform-node"
import { ClusterPool, ClusterRunner, Postgres } from "@strand/cluster"
import { Task, WorkerPool, WorkerRunner } from "@strand/platform-node"
import { Console, Effect, Layer, Schema, Stream } from "effect"

const quick = process.argv.includes("--quick")

/** Counts the primes below `limit`, and says which process ran it. */
const CountPrimes = Task.make("CountPrimes", {
  payload: Schema.Struct({ index: Schema.Int, limit: Schema.Int }),
  success: Schema.Struct({ index: Schema.Int, primes: Schema.Int, runner: Schema.Int })
})

const countPrimes = (limit: number) => {
  let count = 0
  for (let n = 2; n < limit; n++) {
    let prime = true
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false
        break
      }
    }
    if (prime) count++
  }
  return count
}

const tasks = [CountPrimes]

if (WorkerRunner.isWorker) {
  // The worker module: the runner's worker threads run the CPU work.
  WorkerRunner.launch([
    WorkerRunner.handle(CountPrimes, ({ index, limit }) =>
      Effect.sync(() => ({ index, primes: countPrimes(limit), runner: process.pid }))
    )
  ])
} else if (process.argv.includes("--runner")) {
  // A runner process: joins the cluster and serves the tasks on one worker thread.
  // It stops when its parent closes its standard input (the parent ended, even by SIGKILL).
  process.stdin.resume()
  process.stdin.once("close", () => process.kill(process.pid, "SIGTERM"))
  // Its output went to that parent: with the parent gone, a last log line must not crash it.
  process.stdout.on("error", () => {})
  NodeRuntime.runMain(
    Effect.scoped(
      Effect.gen(function* () {
        yield* Layer.build(
          ClusterRunner.layer({ tasks }).pipe(
            Layer.provide(WorkerPool.layer({ module: import.meta.url, size: 1 })),
            Layer.provide(Postgres.layer({ url: process.env.DATABASE_URL ?? "" }))
          )
        )
        console.log(`ready ${process.pid}`)
        return yield* Effect.never
      })
    )
  )
} else {
  /** Starts this file as a runner process; stopped when the scope closes. */
  const startRunner = (url: string) =>
    Effect.acquireRelease(
      Effect.callback<{ readonly pid: number; readonly kill: () => void }, Error>((resume) => {
        const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), "--runner"], {
          env: { ...process.env, DATABASE_URL: url },
          stdio: ["pipe", "pipe", "inherit"]
        })
        let output = ""
        child.stdout.on("data", (chunk) => {
          output += chunk
          if (output.includes(`ready ${child.pid}`))
            resume(Effect.succeed({ pid: child.pid!, kill: () => child.kill("SIGKILL") }))
        })
        child.once("exit", (code) =>
          resume(Effect.fail(new Error(`a runner exited (${code}) before it was ready; it said:\n${output.trim()}`)))
        )
      }),
      (runner) => Effect.sync(() => runner.kill())
    )

  const program = Effect.gen(function* () {
    const database = yield* Postgres.fromEnv
    yield* Console.log(database.throwaway ? `A throwaway Postgres at ${database.url}` : `Postgres at ${database.url}`)
    const [a, b] = yield* Effect.all([startRunner(database.url), startRunner(database.url)], { concurrency: 2 })
    yield* Console.log(`Two runner processes joined: ${a.pid} and ${b.pid}, one worker thread each`)

    const ClusterLive = ClusterPool.layer().pipe(Layer.provide(Postgres.layer({ url: database.url })))
    yield* Effect.gen(function* () {
      const count = quick ? 24 : 64
      const limit = quick ? 150_000 : 400_000
      const inputs = Array.from({ length: count }, (_, index) => ({ index, limit: limit + index }))

      // A key that routes to runner a: once a is dead, a task with it measures the failover.
      let victimKey = ""
      for (let i = 0; victimKey === ""; i++) {
        const where = yield* WorkerPool.run(CountPrimes, { index: -1, limit: 10 }, { key: `key-${i}` })
        if (where.runner === a.pid) victimKey = `key-${i}`
      }

      const ranOn = new Map<number, number>()
      const results: Array<number> = new Array(count)
      let killedAt = 0
      let failover = 0
      const start = performance.now()
      yield* WorkerPool.mapStream(CountPrimes, inputs, { chunkSize: 1, order: "completion" }).pipe(
        Stream.runForEach((result) =>
          Effect.gen(function* () {
            results[result.index] = result.primes
            ranOn.set(result.runner, (ranOn.get(result.runner) ?? 0) + 1)
            const done = [...ranOn.values()].reduce((x, y) => x + y, 0)
            if (done === Math.floor(count / 3)) {
              a.kill()
              killedAt = performance.now()
              yield* Console.log(`Killed runner ${a.pid} with SIGKILL after ${done} of ${count} tasks`)
              // Tasks routed to a's shards wait until its shard locks expire, then run on b.
              yield* Effect.forkChild(
                WorkerPool.run(CountPrimes, { index: -1, limit: 10 }, { key: victimKey }).pipe(
                  Effect.tap(() => Effect.sync(() => (failover = performance.now() - killedAt)))
                )
              )
            }
          })
        )
      )
      const elapsed = (performance.now() - start) / 1000
      while (failover === 0) yield* Effect.sleep("50 millis")
      for (const [pid, n] of ranOn) {
        yield* Console.log(`  runner ${pid}${pid === a.pid ? " (killed)" : ""}: ${n} tasks`)
      }
      yield* Console.log(
        `Failover: the dead runner's shards served again ${(failover / 1000).toFixed(1)} s after the kill`
      )
      const missing = results.filter((primes) => primes === undefined).length
      yield* Console.log(
        `Every task ended exactly once: ${count - missing} results for ${count} inputs in ${elapsed.toFixed(1)} s`
      )
      yield* Console.log(`Result: ${results.reduce((x, y) => x + y, 0)} primes counted in all`)
    }).pipe(Effect.provide(ClusterLive))
  })

  NodeRuntime.runMain(
    Effect.scoped(program).pipe(
      // Without Postgres's server programs there is no throwaway database: say so, and how to get one.
      Effect.catchTag("PostgresNotFound", (error) => Console.log(`Skipped: ${error.message}`))
    )
  )
}
