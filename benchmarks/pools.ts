// One adapter per pool library, all running the same task code (tasks.ts) on real worker threads.

import { Worker } from "node:worker_threads"
import { NodeWorker } from "@effect/platform-node"
import { WorkerPool } from "@strand/platform-node"
import { Effect, Exit, Fiber, Layer, Scope } from "effect"
import { RpcClient } from "effect/rpc"
import { Piscina } from "piscina"
import { FixedClusterPool, FixedThreadPool } from "poolifier"
import Tinypool from "tinypool"
import workerpool from "workerpool"
import type { Job } from "./tasks.ts"
import { BenchRpcs } from "./workers/rpc-group.ts"
import { RunJob, Spin, Trivial } from "./workers/strand.ts"

const worker = (name: string) => new URL(`./workers/${name}.ts`, import.meta.url)

export interface OpenOptions {
  readonly size: number
  /** At most one task in flight per worker (for the many-waiters scenario). */
  readonly oneAtATime?: boolean
}

export interface Pool {
  readonly name: string
  /** Runs `count` jobs with `concurrency` callers, each waiting for its result before the next. */
  runMany(job: Job, count: number, concurrency: number): Promise<void>
  run(job: Job): Promise<number>
  /** Resolves once every worker has started, so that no timing includes a start-up. */
  ready(): Promise<void>
  /** The task as an Effect, for the libraries whose callers are fibers (interruptible). */
  readonly effectOf?: (job: Job) => Effect.Effect<number, unknown>
  close(): Promise<void>
}

export type PoolFactory = (options: OpenOptions) => Promise<Pool>

/** `concurrency` promise callers taking jobs from a shared counter. */
const promiseLoad = async (run: (job: Job) => Promise<unknown>, job: Job, count: number, concurrency: number) => {
  let next = 0
  const caller = async () => {
    while (next < count) {
      next++
      await run(job)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, caller))
}

const fromPromises = (
  name: string,
  run: (job: Job) => Promise<number>,
  close: () => Promise<unknown>,
  ready: () => Promise<void> = () => Promise.resolve()
): Pool => ({
  name,
  run,
  ready,
  runMany: (job, count, concurrency) => promiseLoad(run, job, count, concurrency),
  close: async () => {
    await close()
  }
})

/** Polls `condition` on a ref'd timer (which keeps the event loop alive) until it holds. */
const until = (condition: () => boolean) =>
  new Promise<void>((resolve) => {
    const check = () => (condition() ? resolve() : setTimeout(check, 5))
    check()
  })

/** Strand, driven from Effect as its users would; its workers are threads, or processes. */
const strandWith =
  (isolation: "thread" | "process"): PoolFactory =>
  async ({ size, oneAtATime }) => {
    const scope = Effect.runSync(Scope.make())
    const pool = await Effect.runPromise(
      WorkerPool.make({
        module: worker("strand"),
        size,
        isolation,
        ...(oneAtATime ? { concurrentTasksPerWorker: 1 } : {})
      }).pipe(Scope.provide(scope))
    )
    return strandPool(isolation === "thread" ? "strand" : "strand process", pool, scope)
  }

const strandPool = (name: string, pool: WorkerPool.Service, scope: Scope.Closeable): Pool => {
  const effectOf = (job: Job) =>
    job.kind === "spin"
      ? pool.run(Spin, job.n)
      : job.kind === "trivial"
        ? pool.run(Trivial, job.n)
        : pool.run(RunJob, job)
  return {
    name,
    effectOf,
    // make waits for every worker (and spare) to report ready.
    ready: () => Promise.resolve(),
    run: (job) => Effect.runPromise(effectOf(job)),
    runMany: (job, count, concurrency) =>
      Effect.runPromise(
        Effect.forEach(Array.from({ length: count }), () => effectOf(job), { concurrency, discard: true })
      ),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

export const strand = strandWith("thread")
export const strandProcess = strandWith("process")

/** Effect's worker RPC (RpcClient.layerProtocolWorker), driven from Effect. */
export const effectRpc: PoolFactory = async ({ size, oneAtATime }) => {
  const scope = Effect.runSync(Scope.make())
  const protocol = RpcClient.layerProtocolWorker({ size, ...(oneAtATime ? { concurrency: 1 } : {}) }).pipe(
    Layer.provide(NodeWorker.layer(() => new Worker(worker("effect-rpc"))))
  )
  const context = await Effect.runPromise(Layer.buildWithScope(protocol, scope))
  const client = await Effect.runPromise(
    RpcClient.make(BenchRpcs).pipe(Effect.provideContext(context), Scope.provide(scope))
  )
  const effectOf = (job: Job) => (job.kind === "spin" ? client.Spin({ n: job.n }) : client.Trivial({ n: job.n }))
  return {
    name: "effect-rpc",
    effectOf,
    ready: () => Promise.resolve(),
    run: (job) => Effect.runPromise(effectOf(job)),
    runMany: (job, count, concurrency) =>
      Effect.runPromise(
        Effect.forEach(Array.from({ length: count }), () => effectOf(job), { concurrency, discard: true })
      ),
    close: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

export const piscina: PoolFactory = async ({ size }) => {
  const pool = new Piscina({ filename: worker("piscina").href, minThreads: size, maxThreads: size })
  return fromPromises(
    "piscina",
    (job) => pool.run(job),
    () => pool.destroy()
  )
}

export const tinypool: PoolFactory = async ({ size }) => {
  const pool = new Tinypool({ filename: worker("piscina").href, minThreads: size, maxThreads: size })
  return fromPromises(
    "tinypool",
    (job) => pool.run(job),
    () => pool.destroy()
  )
}

export const poolifier: PoolFactory = async ({ size }) => {
  // Its per-worker task queue off, as DESIGN.md's target states.
  const pool = new FixedThreadPool<Job, number>(size, worker("poolifier").pathname, { enableTasksQueue: false })
  return fromPromises(
    "poolifier",
    (job) => pool.execute(job),
    () => pool.destroy(),
    // Tasks executed before poolifier's workers are ready can be left unsettled on a busy machine.
    () => until(() => pool.info.ready)
  )
}

/**
 * The serialization of a process-based peer's IPC channel: its default (JSON, as Node's own) or
 * `"advanced"`: structured clone, which Strand's processes use so that `Map`, `Set`, `Date`,
 * `BigInt` and typed arrays cross intact. With it, a peer carries what Strand carries, and pays
 * what Strand pays for it.
 */
type Serialization = "json" | "advanced"

/** The subject name of a process-based peer carrying structured clone, as Strand does. */
export const STRUCTURED = " (structured clone)"

const poolifierClusterWith =
  (serialization: Serialization): PoolFactory =>
  async ({ size }) => {
    // Its cluster pool: worker processes over node:cluster's IPC.
    const pool = new FixedClusterPool<Job, number>(size, worker("poolifier-cluster").pathname, {
      enableTasksQueue: false,
      ...(serialization === "advanced" ? { settings: { serialization } } : {})
    })
    return fromPromises(
      `poolifier cluster${serialization === "advanced" ? STRUCTURED : ""}`,
      (job) => pool.execute(job),
      () => pool.destroy(),
      () => until(() => pool.info.ready)
    )
  }
export const poolifierCluster = poolifierClusterWith("json")

const workerpoolWith =
  (workerType: "thread" | "process", serialization: Serialization = "json"): PoolFactory =>
  async ({ size }) => {
    const pool = workerpool.pool(worker("workerpool").pathname, {
      minWorkers: size,
      maxWorkers: size,
      workerType,
      ...(serialization === "advanced" ? { forkOpts: { serialization } } : {})
    })
    return fromPromises(
      workerType === "thread" ? "workerpool" : `workerpool process${serialization === "advanced" ? STRUCTURED : ""}`,
      (job) => Promise.resolve(pool.exec("run", [job]) as PromiseLike<number>),
      () => Promise.resolve(pool.terminate() as PromiseLike<unknown>)
    )
  }

export const workerpoolLib = workerpoolWith("thread")
export const workerpoolProcess = workerpoolWith("process")

/** The ceiling: raw postMessage, one message per task each way, round-robin over the workers. */
export const raw: PoolFactory = async ({ size }) => {
  const workers = Array.from({ length: size }, () => new Worker(worker("raw")))
  const pending = new Map<number, (value: number) => void>()
  for (const w of workers) w.on("message", ([id, value]: [number, number]) => pending.get(id)?.(value))
  let nextId = 0
  const run = (job: Job) =>
    new Promise<number>((resolve) => {
      const id = nextId++
      pending.set(id, (value) => {
        pending.delete(id)
        resolve(value)
      })
      workers[id % size]!.postMessage([id, job])
    })
  return fromPromises("raw postMessage", run, () => Promise.all(workers.map((w) => w.terminate())))
}

export const all: Record<string, PoolFactory> = {
  strand,
  "effect-rpc": effectRpc,
  piscina,
  tinypool,
  poolifier,
  workerpool: workerpoolLib,
  "raw postMessage": raw,
  "strand process": strandProcess,
  "workerpool process": workerpoolProcess,
  "poolifier cluster": poolifierCluster,
  [`workerpool process${STRUCTURED}`]: workerpoolWith("process", "advanced"),
  [`poolifier cluster${STRUCTURED}`]: poolifierClusterWith("advanced")
}

/** Interrupts an Effect-driven task after it has started; resolves once the interruption completed. */
export const interruptAfter = <A, E>(effect: Effect.Effect<A, E>, startedAfterMillis: number) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(effect)
    yield* Effect.sleep(startedAfterMillis)
    const start = performance.now()
    yield* Fiber.interrupt(fiber)
    return start
  })
