import { WorkerPool } from "@strand/platform-node"
import { Effect, Exit } from "effect"
import { Square, Boom, Crash, ThreadId, ByteSum } from "/work/main/packages/platform-node/test/fixtures/tasks.ts"
const module = new URL("file:///work/main/packages/platform-node/test/fixtures/worker.ts")
Effect.runPromise(Effect.scoped(Effect.gen(function* () {
    const t0 = performance.now()
    const pool = yield* WorkerPool.make({ module, size: 2, isolation: "process" })
    console.log("started in", performance.now() - t0)
    console.log(yield* pool.run(Square, 12))
    console.log(yield* pool.run(ThreadId, undefined))
    console.log(JSON.stringify(yield* Effect.exit(pool.run(Boom, "kaboom")), null, 1).slice(0, 900))
    console.log(JSON.stringify(yield* Effect.exit(pool.run(Crash, "exit")), null, 1).slice(0, 900))
    console.log(yield* pool.stats)
    console.log(JSON.stringify(yield* Effect.exit(pool.run(ByteSum, new Uint8Array(new SharedArrayBuffer(4)) as any)), null, 1).slice(0, 900))
    const xs = yield* pool.map(Square, Array.from({length: 1000}, (_, i) => i))
    console.log(xs.length, xs[999])
}))).then(() => console.log("done"), (e) => console.log("failed", e))
