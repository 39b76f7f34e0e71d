import { WorkerPool } from "@strand/platform-node"
import { Effect } from "effect"
import { Trivial } from "./workers/strand.ts"

const program = Effect.scoped(
  Effect.gen(function* () {
    const pool = yield* WorkerPool.make({ module: new URL("./workers/strand.ts", import.meta.url), size: 2 })
    for (let i = 0; i < 2000; i++) yield* pool.run(Trivial, i)
    const out: Array<string> = []
    for (let rep = 0; rep < 4; rep++) {
      const start = performance.now()
      for (let i = 0; i < 5000; i++) yield* pool.run(Trivial, i)
      out.push(((5000 / (performance.now() - start)) * 1000).toFixed(0))
    }
    console.log(out.join(" "))
  })
)
Effect.runPromise(program)
