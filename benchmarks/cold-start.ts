// One cold start, in a process of its own: `node cold-start.ts <subject> <size>` (or under tsx).
// Creates a pool of `size` threads (or processes), all started up front, runs a first batch of
// 4 x size trivial tasks, and prints the time from creating the pool until the batch has returned
// and the RSS added per worker (for worker processes, their own RSS counts too), as one JSON line,
// before it closes the pool.
import { readFileSync } from "node:fs"
import { Task, WorkerPool } from "@strand/platform-node"
import { Effect, Schema } from "effect"
import { Piscina } from "piscina"
import { FixedClusterPool, FixedThreadPool } from "poolifier"
import Tinypool from "tinypool"
import workerpool from "workerpool"

const [subject = "strand", sizeText = "2"] = process.argv.slice(2)
const size = Number(sizeText)
const batch = Array.from({ length: 4 * size }, (_, i) => i)
const worker = (name: string) => new URL(`./workers/${name}.ts`, import.meta.url)
const Trivial = Task.make("Trivial", { payload: Schema.Number, success: Schema.Number })

const cold = async (): Promise<void> => {
  switch (subject) {
    case "strand":
    case "strand bundled":
    case "strand process":
    case "strand process bundled":
      return Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const bundle = subject.endsWith("bundled")
            const isolation = subject.startsWith("strand process") ? "process" : "thread"
            const pool = yield* WorkerPool.make({ module: worker("strand"), size, spareWorkers: 0, bundle, isolation })
            yield* Effect.forEach(batch, (n) => pool.run(Trivial, n), { concurrency: "unbounded" })
            measured()
          })
        )
      )
    case "piscina": {
      const pool = new Piscina({ filename: worker("piscina").href, minThreads: size, maxThreads: size })
      await Promise.all(batch.map((n) => pool.run({ kind: "trivial", n })))
      measured()
      return pool.destroy()
    }
    case "tinypool": {
      const pool = new Tinypool({ filename: worker("piscina").href, minThreads: size, maxThreads: size })
      await Promise.all(batch.map((n) => pool.run({ kind: "trivial", n })))
      measured()
      return pool.destroy()
    }
    case "poolifier": {
      const pool = new FixedThreadPool<{ kind: string; n: number }, number>(size, worker("poolifier").pathname)
      await Promise.all(batch.map((n) => pool.execute({ kind: "trivial", n })))
      measured()
      return pool.destroy()
    }
    case "poolifier cluster": {
      const pool = new FixedClusterPool<{ kind: string; n: number }, number>(size, worker("poolifier-cluster").pathname)
      await Promise.all(batch.map((n) => pool.execute({ kind: "trivial", n })))
      measured()
      return pool.destroy()
    }
    case "workerpool process": {
      const pool = workerpool.pool(worker("workerpool").pathname, {
        minWorkers: size,
        maxWorkers: size,
        workerType: "process"
      })
      await Promise.all(batch.map((n) => pool.exec("run", [{ kind: "trivial", n }])))
      measured()
      return void (await pool.terminate())
    }
    default:
      throw new Error(`unknown subject ${subject}`)
  }
}

const rssBefore = process.memoryUsage.rss()
const start = performance.now()
const measured = () => {
  const millis = performance.now() - start
  const rss = process.memoryUsage.rss() - rssBefore + childrenRss()
  console.log(JSON.stringify({ millis, rssPerWorkerMegabytes: rss / size / 2 ** 20 }))
  // The figure is out: a pool that then never finishes closing costs 5 s, not the figure. Poolifier's
  // `destroy()` did not settle in 2 of 8 runs of 8 threads here, after a first batch that had returned.
  clearTimeout(bound)
  bound = setTimeout(() => {
    console.error(`cold-start: ${subject}'s pool did not close within 5 s of its first batch`)
    process.exit(0)
  }, 5_000)
}

/** The RSS of this process's children (worker processes), in bytes; 0 where /proc cannot tell. */
const childrenRss = (): number => {
  try {
    const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, "utf8").trim().split(/\s+/)
    return children
      .filter((pid) => pid !== "")
      .reduce((sum, pid) => {
        const kilobytes = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]
        return sum + Number(kilobytes ?? 0) * 1024
      }, 0)
  } catch {
    return 0
  }
}
// A pool that never answers would leave nothing to wait for, and Node would exit 13 without a word.
let bound = setTimeout(() => {
  console.error(`cold-start: ${subject} gave no answer in 60 s`)
  process.exit(1)
}, 60_000)
await cold()
clearTimeout(bound)
