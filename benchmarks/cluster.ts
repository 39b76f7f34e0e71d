// Scenario 16 of `pnpm bench`: one program on a local pool of 2 worker threads, and the same
// program on a cluster of two runner processes with one worker thread each, on a throwaway
// Postgres; then a runner's SIGKILL, and the time until its shards serve again.
import { type ChildProcess, spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { ClusterPool, Postgres } from "@strand/cluster"
import { WorkerPool } from "@strand/platform-node"
import { Effect, Layer } from "effect"
import type { Samples, Sizes } from "./scenarios.ts"
import { spin } from "./tasks.ts"
import { Pid, Spin, Trivial } from "./workers/strand.ts"

const runnerScript = fileURLToPath(new URL("./workers/cluster-runner.ts", import.meta.url))

/** Starts a runner process and waits until it has joined; killed when the scope closes. */
const startRunner = (url: string) =>
  Effect.acquireRelease(
    Effect.callback<ChildProcess>((resume) => {
      const child = spawn(process.execPath, [...process.execArgv, runnerScript], {
        env: { ...process.env, DATABASE_URL: url },
        stdio: ["pipe", "pipe", "inherit"]
      })
      let output = ""
      child.stdout.on("data", (chunk) => {
        output += chunk
        if (output.includes(`ready ${child.pid}`)) resume(Effect.succeed(child))
      })
      child.once("exit", (code) => resume(Effect.die(new Error(`a runner exited (${code}) before it was ready`))))
    }),
    (child) => Effect.sync(() => child.kill("SIGKILL"))
  )

const percentile = (sorted: ReadonlyArray<number>, p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!

/** The program both layers run: a spread of 20 ms tasks, a map of trivial ones, a round trip. */
const program = (quick: boolean) =>
  Effect.gen(function* () {
    const spins = Array.from({ length: quick ? 8 : 32 }, () => 20)
    const sequentialStart = performance.now()
    for (const ms of spins) spin(ms)
    const sequentialMillis = performance.now() - sequentialStart
    const spreadStart = performance.now()
    yield* WorkerPool.map(Spin, spins)
    const spreadSpeedup = sequentialMillis / (performance.now() - spreadStart)

    const n = quick ? 10_000 : 100_000
    const inputs = Array.from({ length: n }, (_, i) => i)
    const mapStart = performance.now()
    yield* WorkerPool.map(Trivial, inputs, { chunkSize: "auto" })
    const mapPerSecond = (n / (performance.now() - mapStart)) * 1000

    const trips: Array<number> = []
    for (let i = 0; i < (quick ? 300 : 3_300); i++) {
      const start = performance.now()
      yield* WorkerPool.run(Trivial, i)
      if (i >= 300 || quick) trips.push((performance.now() - start) * 1000)
    }
    trips.sort((a, b) => a - b)
    return {
      spreadSpeedup,
      mapPerSecond,
      roundTripMedian: percentile(trips, 0.5),
      roundTripP99: percentile(trips, 0.99)
    }
  })

/** Both subjects run the program once to warm up (JIT, connections), then once measured; a quick run only once. */
const warmThenMeasure = (quick: boolean) => (quick ? program(quick) : Effect.andThen(program(quick), program(quick)))

export const cluster = async ({ quick }: Sizes, subject: string): Promise<Samples> => {
  if (subject === "local pool") {
    return Effect.runPromise(
      warmThenMeasure(quick).pipe(
        Effect.provide(WorkerPool.layer({ module: new URL("./workers/strand.ts", import.meta.url), size: 2 }))
      )
    )
  }
  return Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const database = yield* Postgres.throwaway
        const [a] = yield* Effect.all([startRunner(database.url), startRunner(database.url)], { concurrency: 2 })
        const ClusterLive = ClusterPool.layer().pipe(Layer.provide(Postgres.layer({ url: database.url })))
        return yield* Effect.gen(function* () {
          // Both runners hold their shares of the shards, and the caller knows where each slot lives.
          while ((yield* WorkerPool.stats).size < 2) yield* Effect.sleep("100 millis")
          const measured = yield* warmThenMeasure(quick)
          // A key whose tasks run on runner a: after a's SIGKILL, its next task times the failover.
          let key = ""
          for (let i = 0; key === ""; i++) {
            if ((yield* WorkerPool.run(Pid, undefined, { key: `key-${i}` })) === a.pid) key = `key-${i}`
          }
          a.kill("SIGKILL")
          const killed = performance.now()
          yield* WorkerPool.run(Trivial, 1, { key })
          return { ...measured, failoverMillis: performance.now() - killed }
        }).pipe(Effect.provide(ClusterLive))
      })
    )
  )
}
