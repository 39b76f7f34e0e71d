// One cold start, in a process of its own: `node cold-start.ts <subject> <size>` (or under tsx).
// Creates a pool of `size` threads, all started up front, runs a first batch of 4 x size trivial
// tasks, and prints the time from creating the pool until the batch has returned and the RSS
// added per worker, as one JSON line.
import { Task, WorkerPool } from "@strand/platform-node"
import { Effect, Schema } from "effect"
import { Piscina } from "piscina"
import { FixedThreadPool } from "poolifier"
import Tinypool from "tinypool"

const [subject = "strand", sizeText = "2"] = process.argv.slice(2)
const size = Number(sizeText)
const batch = Array.from({ length: 4 * size }, (_, i) => i)
const worker = (name: string) => new URL(`./workers/${name}.ts`, import.meta.url)
const Trivial = Task.make("Trivial", { payload: Schema.Number, success: Schema.Number })

const cold = async (): Promise<void> => {
  switch (subject) {
    case "strand":
    case "strand bundled":
      return Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const bundle = subject === "strand bundled"
            const pool = yield* WorkerPool.make({ module: worker("strand"), size, spareWorkers: 0, bundle })
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
    default:
      throw new Error(`unknown subject ${subject}`)
  }
}

const rssBefore = process.memoryUsage.rss()
const start = performance.now()
let result: { millis: number; rssPerWorkerMegabytes: number } | undefined
const measured = () => {
  result = {
    millis: performance.now() - start,
    rssPerWorkerMegabytes: (process.memoryUsage.rss() - rssBefore) / size / 2 ** 20
  }
}
// A pool that never answers would leave nothing to wait for, and Node would exit 13 without a word.
const bound = setTimeout(() => {
  console.error(`cold-start: ${subject} gave no answer in 60 s`)
  process.exit(1)
}, 60_000)
await cold()
clearTimeout(bound)
console.log(JSON.stringify(result))
