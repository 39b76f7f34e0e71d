// The scenarios of `pnpm bench`. Each returns raw samples; run.ts interleaves, summarises and reports.

import { spawn } from "node:child_process"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { BoundedSemaphore, Condition, Diagnostics, Lock, PriorityQueue } from "@strand/core"
import { WorkerPool } from "@strand/platform-node"
import { Mutex } from "async-mutex"
import autocannon from "autocannon"
import { Effect, Exit, Fiber, Order, Queue, Scope, Semaphore, Stream, Tracer } from "effect"
import pLimit from "p-limit"
import { Piscina } from "piscina"
import { all, interruptAfter, type Pool, type PoolFactory, STRUCTURED } from "./pools.ts"
import { type Job, spin } from "./tasks.ts"
import { Count, Exit as ExitTask, Floats, Trivial } from "./workers/strand.ts"
import { recordBatch, runWorkload, textBytes } from "./workloads.ts"

export interface Sizes {
  readonly quick: boolean
  readonly cores: number
}

export type Samples = Record<string, number>

const time = async (f: () => Promise<unknown>) => {
  const start = performance.now()
  await f()
  return performance.now() - start
}

/**
 * Every pool's warm-up, before any figure: pipelined and sequential trivial tasks, then a few CPU
 * tasks. V8 optimizes a function after some thousands of calls, so a short warm-up measures code
 * still being compiled: Strand's worker processes made 10-13k sequential round trips/s for their
 * first 17,000, then 17-19k (6 runs of 5,000 on one pool, 2026-12-03); with TurboFan's threshold
 * lowered from 3,000 calls to 300, the first runs made 13-16k. So each pool runs 20,000 of each
 * kind of call first (2,000 under --quick), whichever library it is.
 */
const warm = async (pool: Pool, quick: boolean) => {
  const count = quick ? 2_000 : 20_000
  await pool.runMany({ kind: "trivial", n: 1 }, count, 16)
  await pool.runMany({ kind: "trivial", n: 1 }, count, 1)
  await pool.runMany({ kind: "spin", n: 2 }, 4, 4)
}

const withPool = async <A>(
  factory: PoolFactory,
  { cores, quick }: Sizes,
  f: (pool: Pool) => Promise<A>,
  oneAtATime = false
) => {
  const pool = await factory({ size: cores, oneAtATime })
  try {
    await pool.ready()
    await warm(pool, quick)
    return await f(pool)
  } finally {
    await pool.close()
  }
}

/** 1. CPU speedup: 16 tasks of 10 to 20 ms, one after another, then on each pool sized to the cores. */
export const cpuSpeedup = async (sizes: Sizes, subject: string): Promise<Samples> => {
  const jobs: Array<Job> = Array.from({ length: 16 }, (_, i) => ({ kind: "spin", n: 10 + ((i * 7) % 11) }))
  if (subject === "sequential") {
    return {
      millis: await time(async () => {
        for (const job of jobs) spin(job.n)
      })
    }
  }
  return withPool(all[subject]!, sizes, async (pool) => ({
    millis: await time(() => Promise.all(jobs.map((job) => pool.run(job))))
  }))
}

/** 2. Trivial tasks: sequential round trips (1 in flight) and pipelined throughput (512 in flight). */
export const trivialTasks = async (sizes: Sizes, subject: string): Promise<Samples> => {
  const { quick } = sizes
  const sequential = quick ? 200 : 5_000
  const pipelined = quick ? 2_000 : subject === "effect-rpc" ? 10_000 : 40_000
  return withPool(all[subject]!, sizes, async (pool) => {
    const job: Job = { kind: "trivial", n: 1 }
    const seq = await time(() => pool.runMany(job, sequential, 1))
    const pipe = await time(() => pool.runMany(job, pipelined, 512))
    return { sequentialPerSecond: (sequential / seq) * 1000, pipelinedPerSecond: (pipelined / pipe) * 1000 }
  })
}

/** 3. Many waiters: throughput with 1 caller waiting beyond the busy workers, then 512. */
export const manyWaiters = async (sizes: Sizes, subject: string): Promise<Samples> => {
  const { cores, quick } = sizes
  const count = quick ? 1_000 : subject === "effect-rpc" ? 4_000 : 10_000
  return withPool(
    all[subject]!,
    sizes,
    async (pool) => {
      const job: Job = { kind: "trivial", n: 1 }
      const one = await time(() => pool.runMany(job, count, cores + 1))
      const many = await time(() => pool.runMany(job, count, cores + 512))
      const onePerSecond = (count / one) * 1000
      const manyPerSecond = (count / many) * 1000
      return { onePerSecond, manyPerSecond, ratio: manyPerSecond / onePerSecond }
    },
    true
  )
}

const LOOP_MILLIS = 2_000
const STARTED_AFTER = 100

/** 4. Cancellation: interrupt a caller whose task is a 2 s synchronous loop; time until the next task runs. */
export const cancellation = async (_: Sizes, subject: string): Promise<Samples> => {
  if (subject === "strand" || subject === "effect-rpc") {
    const pool = await all[subject]!({ size: 1 })
    try {
      return await Effect.runPromise(
        Effect.gen(function* () {
          yield* pool.effectOf!({ kind: "trivial", n: 1 })
          const start = yield* interruptAfter(pool.effectOf!({ kind: "spin", n: LOOP_MILLIS }), STARTED_AFTER)
          yield* pool.effectOf!({ kind: "trivial", n: 1 })
          return { millis: performance.now() - start }
        })
      )
    } finally {
      await pool.close()
    }
  }
  // piscina: abort through an AbortSignal.
  const pool = new Piscina({
    filename: new URL("./workers/piscina.ts", import.meta.url).href,
    minThreads: 1,
    maxThreads: 1
  })
  try {
    await pool.run({ kind: "trivial", n: 1 })
    const controller = new AbortController()
    const running = pool.run({ kind: "spin", n: LOOP_MILLIS }, { signal: controller.signal }).catch(() => undefined)
    await new Promise((resolve) => setTimeout(resolve, STARTED_AFTER))
    const start = performance.now()
    controller.abort()
    await running
    await pool.run({ kind: "trivial", n: 1 })
    return { millis: performance.now() - start }
  } finally {
    await pool.destroy()
  }
}

const HANG_CAP = 3_000

/** Runs a task that exits its worker: ms until its caller heard, or Infinity if not within HANG_CAP. */
const timeCrash = async (pool: Pool): Promise<number> => {
  const start = performance.now()
  const outcome = await Promise.race([
    pool.run({ kind: "exit", n: 0 }).then(
      () => "resolved",
      () => "failed"
    ),
    new Promise((resolve) => setTimeout(() => resolve("hung"), HANG_CAP))
  ])
  return outcome === "hung" ? Number.POSITIVE_INFINITY : performance.now() - start
}

/** 5. Crash recovery: a worker calls process.exit; time until the caller's task fails, then until full size. */
export const crashRecovery = async ({ cores }: Sizes, subject: string): Promise<Samples> => {
  if (subject === "strand") {
    const scope = Effect.runSync(Scope.make())
    try {
      const pool = await Effect.runPromise(
        WorkerPool.make({ module: new URL("./workers/strand.ts", import.meta.url), size: cores }).pipe(
          Scope.provide(scope)
        )
      )
      return await Effect.runPromise(
        Effect.gen(function* () {
          yield* pool.run(Trivial, 1)
          const start = performance.now()
          yield* Effect.exit(pool.run(ExitTask, 0))
          const failed = performance.now()
          for (;;) {
            const stats = yield* pool.stats
            if (stats.workers.length === cores && stats.workers.every((w) => w.ready)) break
            yield* Effect.sleep(1)
          }
          return { failMillis: failed - start, fullSizeMillis: performance.now() - failed }
        })
      )
    } finally {
      await Effect.runPromise(Scope.close(scope, Exit.void))
    }
  }
  const pool = await all[subject]!({ size: cores })
  try {
    await pool.run({ kind: "trivial", n: 1 })
    return { failMillis: await timeCrash(pool) }
  } finally {
    await Promise.race([pool.close(), new Promise((resolve) => setTimeout(resolve, 1_000))])
  }
}

const perOp = async (ops: number, f: () => Promise<unknown>) => ((await time(f)) * 1e6) / ops

/**
 * Nanoseconds per critical section: one fiber alone (uncontended), after one unmeasured
 * pass, so that the figure is not the JIT's first compilation; then 64 fibers that each
 * yield inside the section (contended).
 */
const lockCosts = async (
  n: number,
  guard: <A, E>(effect: Effect.Effect<A, E>) => Effect.Effect<A, unknown>
): Promise<Samples> => {
  const alone = () =>
    Effect.runPromise(
      Effect.gen(function* () {
        for (let i = 0; i < n; i++) yield* guard(Effect.void)
      })
    )
  await alone()
  const uncontended = await perOp(n, alone)
  const contended = await perOp(n, () =>
    Effect.runPromise(
      Effect.forEach(
        Array.from({ length: 64 }),
        () =>
          Effect.gen(function* () {
            for (let i = 0; i < n / 64; i++) yield* guard(Effect.yieldNow)
          }),
        { concurrency: "unbounded", discard: true }
      )
    )
  )
  return { uncontended, contended }
}

/** 6. Primitives: locks, a bounded map, condition ping-pong, priority queue. Nanoseconds per operation. */
export const primitives = async ({ quick }: Sizes, subject: string): Promise<Samples> => {
  const n = quick ? 10_000 : 200_000
  const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)
  switch (subject) {
    case "strand Lock": {
      const lock = Lock.makeUnsafe()
      return lockCosts(n, (effect) => Lock.withLock(lock, effect))
    }
    case "strand Lock + Diagnostics": {
      const diagnostics = Diagnostics.makeUnsafe({ onReport: () => {} })
      const lock = await run(Lock.make().pipe(Effect.provide(diagnostics.layer)))
      return lockCosts(n, (effect) => Lock.withLock(lock, effect))
    }
    case "effect Semaphore(1)": {
      const sem = Semaphore.makeUnsafe(1)
      return lockCosts(n, sem.withPermit)
    }
    case "async-mutex": {
      const mutex = new Mutex()
      const alone = async () => {
        for (let i = 0; i < n; i++) await mutex.runExclusive(() => undefined)
      }
      await alone()
      const uncontended = await perOp(n, alone)
      const contended = await perOp(n, () =>
        Promise.all(
          Array.from({ length: 64 }, async () => {
            for (let i = 0; i < n / 64; i++) await mutex.runExclusive(() => new Promise((r) => setImmediate(r)))
          })
        )
      )
      return { uncontended, contended }
    }
    case "event-loop turn": {
      // What each contended section above waits for: one turn of the event loop, bare and as a fiber's yield.
      const immediate = () => new Promise((resolve) => setImmediate(resolve))
      const turns = async () => {
        for (let i = 0; i < n; i++) await immediate()
      }
      const yields = () =>
        run(
          Effect.gen(function* () {
            for (let i = 0; i < n; i++) yield* Effect.yieldNow
          })
        )
      await turns()
      await yields()
      return { setImmediate: await perOp(n, turns), yieldNow: await perOp(n, yields) }
    }
    case "map: Effect.forEach(16)": {
      const items = Array.from({ length: quick ? 10_000 : 100_000 }, (_, i) => i)
      return {
        perItem: await perOp(items.length, () =>
          run(Effect.forEach(items, (x) => Effect.succeed(x * 2), { concurrency: 16 }))
        )
      }
    }
    case "map: BoundedSemaphore(16)": {
      const items = Array.from({ length: quick ? 10_000 : 100_000 }, (_, i) => i)
      const sem = await run(Effect.orDie(BoundedSemaphore.make(16)))
      return {
        perItem: await perOp(items.length, () =>
          run(
            Effect.forEach(
              items,
              (x) => BoundedSemaphore.withPermits(sem, 1, Effect.succeed(x * 2)).pipe(Effect.orDie),
              { concurrency: "unbounded" }
            )
          )
        )
      }
    }
    case "map: p-limit(16)": {
      const items = Array.from({ length: quick ? 10_000 : 100_000 }, (_, i) => i)
      const limit = pLimit(16)
      return { perItem: await perOp(items.length, () => Promise.all(items.map((x) => limit(async () => x * 2)))) }
    }
    case "strand Condition ping-pong": {
      const rounds = quick ? 2_000 : 20_000
      const program = Effect.gen(function* () {
        const cond = yield* Condition.make()
        let turn = 0
        const player = (me: number) =>
          Condition.withLock(
            cond,
            Effect.gen(function* () {
              for (let i = 0; i < rounds; i++) {
                yield* Condition.waitFor(
                  cond,
                  Effect.sync(() => turn === me)
                )
                turn = 1 - me
                yield* Condition.notify(cond)
              }
            })
          )
        yield* Effect.all([player(0), player(1)], { concurrency: 2 })
      })
      return { perRoundTrip: await perOp(rounds, () => run(Effect.orDie(program))) }
    }
    case "effect Queue ping-pong": {
      // The baseline of the Condition's ping-pong: the same two fibers, a ball passed over Effect's Queues.
      const rounds = quick ? 2_000 : 20_000
      const program = Effect.gen(function* () {
        const pings = yield* Queue.bounded<number>(1)
        const pongs = yield* Queue.bounded<number>(1)
        const ping = Effect.gen(function* () {
          for (let i = 0; i < rounds; i++) {
            yield* Queue.offer(pings, i)
            yield* Queue.take(pongs)
          }
        })
        const pong = Effect.gen(function* () {
          for (let i = 0; i < rounds; i++) yield* Queue.offer(pongs, yield* Queue.take(pings))
        })
        yield* Effect.all([ping, pong], { concurrency: 2 })
      })
      return { perRoundTrip: await perOp(rounds, () => run(Effect.orDie(program))) }
    }
    default: {
      const ops = quick ? 10_000 : 100_000
      const program = Effect.gen(function* () {
        const queue = yield* PriorityQueue.make<number>({ capacity: 1024, order: Order.Number })
        const producer = Effect.gen(function* () {
          for (let i = 0; i < ops; i++) yield* PriorityQueue.offer(queue, (i * 7919) % 1000)
        })
        const consumer = Effect.gen(function* () {
          for (let i = 0; i < ops; i++) yield* PriorityQueue.take(queue)
        })
        yield* Effect.all([producer, consumer], { concurrency: 2 })
      })
      return { perOfferAndTake: await perOp(ops, () => run(Effect.orDie(program))) }
    }
  }
}

setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void

const heapAfterGc = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

/** 7. Memory: heap bytes per waiter, 100,000 fibers blocked on a Lock against 100,000 promises on async-mutex. */
export const memory = async ({ quick }: Sizes, subject: string): Promise<Samples> => {
  const waiters = quick ? 10_000 : 100_000
  if (subject === "strand Lock") {
    return Effect.runPromise(
      Effect.gen(function* () {
        const lock = yield* Lock.make()
        yield* lock.acquire
        const before = heapAfterGc()
        const fibers = yield* Effect.forEach(Array.from({ length: waiters }), () => Effect.forkChild(lock.acquire))
        yield* Effect.yieldNow
        const after = heapAfterGc()
        yield* Fiber.interruptAll(fibers)
        return { bytesPerWaiter: (after - before) / waiters, totalMegabytes: (after - before) / 2 ** 20 }
      })
    )
  }
  const mutex = new Mutex()
  const release = await mutex.acquire()
  const before = heapAfterGc()
  const pending = Array.from({ length: waiters }, () => mutex.acquire())
  const after = heapAfterGc()
  mutex.cancel()
  release()
  await Promise.allSettled(pending)
  return { bytesPerWaiter: (after - before) / waiters, totalMegabytes: (after - before) / 2 ** 20 }
}

/** 8. Moving results: a 64 MB Float64Array result, copied back against moved with WorkerRunner.transfer. */
export const movedResults = async ({ quick }: Sizes, subject: string): Promise<Samples> => {
  const megabytes = quick ? 8 : 64
  const move = subject === "strand transfer"
  const scope = Effect.runSync(Scope.make())
  try {
    const pool = await Effect.runPromise(
      WorkerPool.make({
        module: new URL("./workers/strand.ts", import.meta.url),
        size: 1,
        spareWorkers: 0,
        resourceLimits: { maxOldGenerationSizeMb: 512 }
      }).pipe(Scope.provide(scope))
    )
    await Effect.runPromise(pool.run(Floats, { megabytes: 1, move }))
    const rounds = quick ? 2 : 5
    const millis = await time(async () => {
      for (let i = 0; i < rounds; i++) await Effect.runPromise(pool.run(Floats, { megabytes, move }))
    })
    return { millis: millis / rounds }
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/**
 * 9. A long mapStream: inputs from a generator, read only as the pool has room. The heap is
 * sampled (after a full GC) at each tenth of the run; a flat line means constant memory.
 */
export const longMapStream = async ({ quick, cores }: Sizes, _subject: string): Promise<Samples> => {
  const count = quick ? 200_000 : 10_000_000
  function* inputs() {
    for (let i = 0; i < count; i++) yield i
  }
  const scope = Effect.runSync(Scope.make())
  try {
    const pool = await Effect.runPromise(
      WorkerPool.make({ module: new URL("./workers/strand.ts", import.meta.url), size: cores }).pipe(
        Scope.provide(scope)
      )
    )
    const before = heapAfterGc()
    let seen = 0
    let peak = 0
    let last = 0
    const millis = await time(() =>
      Effect.runPromise(
        Stream.runForEach(pool.mapStream(Trivial, inputs(), { chunkSize: 1_000 }), () =>
          Effect.sync(() => {
            if (++seen % (count / 10) === 0) {
              last = heapAfterGc() - before
              peak = Math.max(peak, last)
            }
          })
        )
      )
    )
    return {
      inputs: count,
      peakGrowthMegabytes: peak / 2 ** 20,
      endGrowthMegabytes: last / 2 ** 20,
      perSecond: (count / millis) * 1000
    }
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/** Runs `f` with a Strand pool on the bench's worker module, closed afterwards. */
const withStrandPool = async <A>(
  options: Omit<WorkerPool.Options, "module">,
  f: (pool: WorkerPool.Service) => Promise<A>
): Promise<A> => {
  const scope = Effect.runSync(Scope.make())
  try {
    const pool = await Effect.runPromise(
      WorkerPool.make({ module: new URL("./workers/strand.ts", import.meta.url), ...options }).pipe(
        Scope.provide(scope)
      )
    )
    return await f(pool)
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

/**
 * 10. Stream back-pressure: a worker's stream of small numbers read by a fast consumer (items per
 * second), then by a slow one that pauses 1 ms every 1,000 items, with the caller's heap sampled
 * (after a full GC) at each tenth of the run. A flat line means the producer waits for the consumer.
 */
export const streamBackPressure = async ({ quick, cores }: Sizes, _subject: string): Promise<Samples> => {
  const fast = quick ? 200_000 : 2_000_000
  const slow = quick ? 200_000 : 10_000_000
  return withStrandPool({ size: cores }, async (pool) => {
    let seen = 0
    const fastMillis = await time(() =>
      Effect.runPromise(Stream.runForEach(pool.stream(Count, fast), () => Effect.sync(() => void seen++)))
    )
    const before = heapAfterGc()
    let peak = 0
    let last = 0
    seen = 0
    await Effect.runPromise(
      Stream.runForEach(pool.stream(Count, slow), () => {
        if (++seen % (slow / 10) === 0) {
          last = heapAfterGc() - before
          peak = Math.max(peak, last)
        }
        return seen % 1_000 === 0 ? Effect.sleep(1) : Effect.void
      })
    )
    return {
      fastPerSecond: (fast / fastMillis) * 1000,
      slowItems: seen,
      peakGrowthMegabytes: peak / 2 ** 20,
      endGrowthMegabytes: last / 2 ** 20
    }
  })
}

/** Starts benchmarks/http-server.ts with `subject` behind it; resolves with its port and a way to stop it. */
const startServer = (subject: string, workers: number) =>
  new Promise<{ port: number; stop: () => Promise<void> }>((resolve, reject) => {
    const server = spawn(
      process.execPath,
      ["--import", "tsx", new URL("./http-server.ts", import.meta.url).pathname, subject, String(workers)],
      { stdio: ["ignore", "pipe", "inherit"] }
    )
    const exited = new Promise<void>((done) => server.on("exit", () => done()))
    let output = ""
    server.stdout!.on("data", (chunk) => {
      output += chunk
      const m = output.match(/listening (\d+)/)
      if (m !== null) {
        resolve({
          port: Number(m[1]),
          stop: () => {
            server.kill("SIGTERM")
            return exited
          }
        })
      }
    })
    void exited.then(() => reject(new Error(`the HTTP server for ${subject} exited before listening`)))
  })

/**
 * 11. An HTTP service: Effect's HttpRouter on NodeHttpServer, with the subject's pool behind it, driven
 * by autocannon at 10 and then 100 connections, on a trivial endpoint and on one of 2.5 ms of CPU.
 * Requests per second, and p50 and p99 latency in ms.
 */
export const httpService = async ({ quick, cores }: Sizes, subject: string): Promise<Samples> => {
  const server = await startServer(subject, cores)
  // p99 needs samples: 8 s at each load keeps one run's tail from deciding the target.
  const seconds = quick ? 1 : 8
  const samples: Samples = {}
  try {
    // First, 5 s of trivial requests at 100 connections: the server and its pool get the warm-up
    // every other scenario's pools get (see `warm`), so that trivial10, measured first, does not
    // catch Strand's code while V8 is still optimizing it.
    if (!quick) await autocannon({ url: `http://127.0.0.1:${server.port}/trivial`, connections: 100, duration: 5 })
    for (const path of ["trivial", "spin"]) {
      for (const connections of [10, 100]) {
        const url = `http://127.0.0.1:${server.port}/${path}`
        // A short warm-up at the same load, so that no figure includes the first compilation.
        if (!quick) await autocannon({ url, connections, duration: 1 })
        const result = await autocannon({ url, connections, duration: seconds })
        if (result.non2xx > 0 || result.errors > 0) {
          throw new Error(`${subject} ${path} at ${connections}: ${result.non2xx} non-2xx, ${result.errors} errors`)
        }
        const key = `${path}${connections}`
        samples[`${key}PerSecond`] = result.requests.average
        samples[`${key}P50`] = result.latency.p50
        samples[`${key}P99`] = result.latency.p99
      }
    }
    return samples
  } finally {
    await server.stop()
  }
}

/** A tracer that opens Effect's in-memory spans and keeps none: the cost of spans, with no exporter's. */
const discardingTracer = Tracer.make({ span: (options) => new Tracer.NativeSpan(options) })

/**
 * 12. Tracing: pipelined trivial tasks on a pool with `tracing: false`, with tracing on and no
 * tracer installed (Effect's built-in one, the usual case), and with a tracer installed, so that
 * every task opens a client span, its worker a server span, and both cross back. Each sample is
 * the median of 5 bursts, after 5 unmeasured ones: a new pool's pipelined rate climbs for its
 * first 100,000 tasks or so (V8 optimizing its code), from 35-60k to 100-275k tasks/s on
 * 2026-12-03. With tracing on, a pool with `tracing: false`
 * runs beside it, its bursts taking turns with the subject's, and `ratioToOff` is the median of
 * each pair's ratio: this VM's pipelined rate moves by up to 1.5x within a minute, so two medians
 * taken apart could not show a difference of 5 %.
 */
export const tracing = async ({ quick, cores }: Sizes, subject: string): Promise<Samples> => {
  const burst = quick ? 2_000 : 20_000
  const bursts = quick ? 1 : 5
  const burstOn = (pool: WorkerPool.Service, traced: boolean) => {
    const run = Effect.forEach(Array.from({ length: burst }), (_, i) => pool.run(Trivial, i), {
      concurrency: 512,
      discard: true
    })
    const effect = traced ? Effect.withTracer(run, discardingTracer) : run
    return async () => (burst / (await time(() => Effect.runPromise(effect)))) * 1000
  }
  const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
  const traced = subject === "in-memory tracer"
  return withStrandPool({ size: cores, tracing: subject !== "tracing: false" }, async (pool) => {
    const measure = burstOn(pool, traced)
    for (let i = 0; i < bursts; i++) await measure()
    if (subject === "tracing: false") {
      const rates: Array<number> = []
      for (let i = 0; i < bursts; i++) rates.push(await measure())
      return { pipelinedPerSecond: median(rates) }
    }
    return withStrandPool({ size: cores, tracing: false }, async (off) => {
      const measureOff = burstOn(off, false)
      for (let i = 0; i < bursts; i++) await measureOff()
      const rates: Array<number> = []
      const ratios: Array<number> = []
      for (let i = 0; i < bursts; i++) {
        // The order alternates, so that neither side always runs just after the other.
        let on: number
        let offRate: number
        if (i % 2 === 0) {
          on = await measure()
          offRate = await measureOff()
        } else {
          offRate = await measureOff()
          on = await measure()
        }
        rates.push(on)
        ratios.push(on / offRate)
      }
      return { pipelinedPerSecond: median(rates), ratioToOff: median(ratios) }
    })
  })
}

/** The start-up configurations of scenario 13: plain Node (type stripping, no loader) and tsx, 2 and 8 workers. */
export const coldStartConfigs = (
  quick: boolean
): ReadonlyArray<{ readonly mode: "node" | "tsx"; readonly size: number }> =>
  quick
    ? [{ mode: "node", size: 2 }]
    : [
        { mode: "node", size: 2 },
        { mode: "node", size: 8 },
        { mode: "tsx", size: 2 },
        { mode: "tsx", size: 8 }
      ]

const repoRoot = new URL("..", import.meta.url)
const coldStartScript = new URL("./cold-start.ts", import.meta.url)

/**
 * Runs cold-start.ts in a process of its own and reads the JSON line it prints; undefined (and a
 * line saying so) if it gives none, as when a peer's pool never answers its first batch.
 */
const coldStartOnce = (mode: "node" | "tsx", subject: string, size: number) =>
  new Promise<{ millis: number; rssPerWorkerMegabytes: number } | undefined>((resolve) => {
    const loader = mode === "tsx" ? ["--import", "tsx"] : []
    const child = spawn(process.execPath, [...loader, coldStartScript.pathname, subject, String(size)], {
      cwd: repoRoot.pathname,
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (chunk) => {
      out += chunk
    })
    child.on("close", (code) => {
      try {
        resolve(JSON.parse(out.trim().split("\n").pop() ?? ""))
      } catch {
        console.log(`cold start of ${subject} (${mode}, ${size} workers) gave no figure: exit code ${code}`)
        resolve(undefined)
      }
    })
  })

/**
 * 13. Cold start: from creating a pool of `size` threads, all started up front (Strand without a
 * spare), until a first batch of 4 x size trivial tasks has returned, in a fresh process each time;
 * and the process's RSS added per worker. "strand bundled" uses `bundle: true` with its bundle
 * already in the cache (one unmeasured run builds it first).
 */
export const coldStart = async ({ quick }: Sizes, subject: string): Promise<Samples> => {
  const samples: Samples = {}
  if (subject === "strand bundled") await coldStartOnce("node", subject, 1)
  for (const { mode, size } of coldStartConfigs(quick)) {
    const result = await coldStartOnce(mode, subject, size)
    if (result === undefined) continue
    samples[`${mode}${size}Millis`] = result.millis
    samples[`${mode}${size}Rss`] = result.rssPerWorkerMegabytes
  }
  return samples
}

/** The pool sizes of scenario 14's cold starts. */
export const processColdSizes = (quick: boolean): ReadonlyArray<number> => (quick ? [2] : [2, 8])

/**
 * 14. Worker processes: Strand's `isolation: "process"` beside the process-based peers (as they
 * come, with JSON on their IPC channels, and again with structured clone, as Strand's, for their
 * cost on the same values), and Strand's threads for what a process costs. In a fresh process
 * (not for the structured-clone peers, whose start is the same): the cold start of 2 and 8
 * workers and the RSS per worker (scenario 13's measure; for "strand process", bundled too).
 * Then on one pool: the CPU speedup of 16 tasks of 10 to 20 ms against running them on the main
 * thread, sequential round trips, pipelined throughput (512 in flight), and the time from a
 * worker's crash until its caller's task has failed and `cores` tasks of 20 ms have then run
 * side by side (the pool is whole and fast again).
 */
export const processes = async (sizes: Sizes, subject: string): Promise<Samples> => {
  const { cores, quick } = sizes
  const samples: Samples = {}
  const cold = async (name: string, key: string) => {
    for (const size of processColdSizes(quick)) {
      const result = await coldStartOnce("node", name, size)
      if (result === undefined) continue
      samples[`start${key}${size}Millis`] = result.millis
      samples[`rss${key}${size}Megabytes`] = result.rssPerWorkerMegabytes
    }
  }
  // A peer's serialization changes what a message costs, not how fast a worker starts.
  if (!subject.endsWith(STRUCTURED)) await cold(subject, "")
  if (subject === "strand process") {
    // One unmeasured start builds the bundle first.
    await coldStartOnce("node", "strand process bundled", 1)
    await cold("strand process bundled", "Bundled")
  }
  const jobs: Array<Job> = Array.from({ length: 16 }, (_, i) => ({ kind: "spin", n: 10 + ((i * 7) % 11) }))
  const sequentialMillis = await time(async () => {
    for (const job of jobs) spin(job.n)
  })
  const measured = await withPool(all[subject]!, sizes, async (pool) => {
    const speedup = sequentialMillis / (await time(() => Promise.all(jobs.map((job) => pool.run(job)))))
    const trivial: Job = { kind: "trivial", n: 1 }
    const sequential = quick ? 200 : 3_000
    const pipelined = quick ? 2_000 : 20_000
    const sequentialPerSecond = (sequential / (await time(() => pool.runMany(trivial, sequential, 1)))) * 1000
    const pipelinedPerSecond = (pipelined / (await time(() => pool.runMany(trivial, pipelined, 512)))) * 1000
    const crashed = performance.now()
    const crashFailMillis = await timeCrash(pool)
    await Promise.all(Array.from({ length: cores }, () => pool.run({ kind: "spin", n: 20 })))
    const crashRecoveredMillis = performance.now() - crashed
    return { speedup, sequentialPerSecond, pipelinedPerSecond, crashFailMillis, crashRecoveredMillis }
  })
  return { ...samples, ...measured }
}

/** Scenario 17's workloads: name, then the jobs (inputs made once, outside any timing). */
const workloadJobs = (quick: boolean): ReadonlyArray<readonly [string, ReadonlyArray<Job>]> => {
  const count = quick ? 8 : 32
  const jobs = (f: (i: number) => Job) => Array.from({ length: count }, (_, i) => f(i))
  return [
    ["records", jobs((i) => ({ kind: "records", n: i, data: recordBatch(4_000, i) }))],
    ["compress", jobs((i) => ({ kind: "compress", n: i, data: textBytes(64 * 1024, i) }))],
    ["kernel", jobs((i) => ({ kind: "kernel", n: 160 + (i % 8) }))]
  ]
}
let workloads: ReturnType<typeof workloadJobs> | undefined

/**
 * 17. Real workloads: 32 tasks of each kind, run one after another on the main thread
 * ("sequential"), then all at once on each pool sized to the cores, each after one unmeasured batch; ms per batch. JSON parsing
 * plus Schema validation of 4,000-record batches (440 KB of JSON each, sent as a string); deflate
 * and SHA-256 of 64 KB of text (sent as bytes, copied); a Mandelbrot set of 160-167 points a side.
 */
export const realWorkloads = async (sizes: Sizes, subject: string): Promise<Samples> => {
  const { quick } = sizes
  workloads ??= workloadJobs(quick)
  const samples: Samples = {}
  if (subject === "sequential") {
    for (const [name, jobs] of workloads) {
      for (const job of jobs) runWorkload(job) // unmeasured, as each pool's first batch is
      samples[`${name}Millis`] = await time(async () => {
        for (const job of jobs) runWorkload(job)
      })
    }
    return samples
  }
  return withPool(all[subject]!, sizes, async (pool) => {
    for (const [name, jobs] of workloads!) {
      // One unmeasured batch, so that the figure is not the workload's first compilation in the workers.
      await Promise.all(jobs.map((job) => pool.run(job)))
      samples[`${name}Millis`] = await time(() => Promise.all(jobs.map((job) => pool.run(job))))
    }
    return samples
  })
}
