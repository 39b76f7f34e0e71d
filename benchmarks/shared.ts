// Scenario 15 of `pnpm bench`: the shared-memory primitives against the multithreading package's
// Mutex, Node's Web Locks and postMessage, and a data-parallel map over a shared array.

import { MessageChannel, Worker } from "node:worker_threads"
import { Lock } from "@strand/core"
import { SharedArray, SharedChannel, SharedLock, SharedSemaphore, WorkerPool } from "@strand/platform-node"
import { Effect, Schema } from "effect"
import { Mutex } from "multithreading"
import type { Samples, Sizes } from "./scenarios.ts"
import { BINS, sumAndCount } from "./tasks.ts"
import type { Job } from "./workers/shared.ts"
import { SumCopy, SumRange } from "./workers/strand.ts"

const script = new URL("./workers/shared.ts", import.meta.url)
const Channel = SharedChannel.schema(Schema.Number)

/**
 * Runs one job per worker thread, opens their start gate together, and gathers what the jobs at
 * `measured` posted (a side that only answers posts nothing).
 */
const together = async (
  jobs: ReadonlyArray<Omit<Job, "gate">>,
  measured: ReadonlyArray<number> = jobs.map((_, i) => i)
): Promise<Array<number>> => {
  const gate = new Int32Array(new SharedArrayBuffer(4))
  const workers = jobs.map((job) => {
    const transfer = job.port === undefined ? [] : [job.port]
    return new Worker(script, { workerData: { ...job, gate }, transferList: transfer })
  })
  const ready = workers.map((worker) => new Promise<void>((resolve) => worker.once("message", () => resolve())))
  const results = workers.map(
    (worker) =>
      new Promise<number>((resolve, reject) => {
        let first = true
        worker.on("message", (value: number) => (first ? (first = false) : resolve(value)))
        worker.once("error", reject)
      })
  )
  await Promise.all(ready)
  Atomics.store(gate, 0, 1)
  Atomics.notify(gate, 0)
  try {
    return await Promise.all(measured.map((i) => results[i]!))
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()))
  }
}

const nsPerOp = (millis: number, ops: number) => (millis * 1e6) / ops

const lockJobs = (lib: Job["lib"], mode: "lock-sync" | "lock-async", threads: number, n: number) => {
  const lock = Schema.encodeSync(SharedLock.schema)(SharedLock.makeUnsafe())
  const mutex = new SharedArrayBuffer(4)
  return Array.from({ length: threads }, () => ({ mode, lib, role: "a" as const, n, lock, mutex }))
}

/** ns per acquire-release pair: on `threads` threads at once, the slowest thread's time over all pairs. */
const lockCost = async (lib: Job["lib"], mode: "lock-sync" | "lock-async", threads: number, n: number) => {
  const millis = await together(lockJobs(lib, mode, threads, n))
  return nsPerOp(Math.max(...millis), n * threads)
}

/** ns per pair from a fiber (or a promise) on the main thread, alone. */
const mainCost = async (n: number, once: () => Promise<unknown>) => {
  for (let i = 0; i < Math.min(n, 10_000); i++) await once()
  const start = performance.now()
  for (let i = 0; i < n; i++) await once()
  return nsPerOp(performance.now() - start, n)
}

const fiberCost = async (n: number, once: Effect.Effect<unknown, unknown>) => {
  const loop = Effect.gen(function* () {
    for (let i = 0; i < n; i++) yield* once
  }).pipe(Effect.orDie)
  await Effect.runPromise(loop)
  const start = performance.now()
  await Effect.runPromise(loop)
  return nsPerOp(performance.now() - start, n)
}

export const sharedMemory = async ({ cores, quick }: Sizes, subject: string): Promise<Samples> => {
  const n = quick ? 20_000 : 1_000_000
  const contended = quick ? 5_000 : 100_000
  switch (subject) {
    case "strand SharedLock":
      return {
        uncontendedSync: await lockCost("strand", "lock-sync", 1, n),
        uncontendedFiber: await fiberCost(n / 4, SharedLock.withLock(SharedLock.makeUnsafe(), Effect.void)),
        contendedSync: await lockCost("strand", "lock-sync", 4, contended),
        contendedAsync: await lockCost("strand", "lock-async", 4, contended / 4)
      }
    case "strand Lock":
      return { uncontendedFiber: await fiberCost(n / 4, Lock.withLock(Lock.makeUnsafe(), Effect.void)) }
    case "multithreading Mutex": {
      const mutex = new Mutex(undefined)
      return {
        uncontendedSync: await lockCost("multithreading", "lock-sync", 1, n),
        uncontendedFiber: await mainCost(n / 4, async () => (await mutex.lock()).dispose()),
        contendedSync: await lockCost("multithreading", "lock-sync", 4, contended),
        contendedAsync: await lockCost("multithreading", "lock-async", 4, contended / 4)
      }
    }
    case "web locks":
      return {
        uncontendedFiber: await mainCost(n / 40, () => navigator.locks.request("strand-bench-main", () => undefined)),
        contendedAsync: await lockCost("web locks", "lock-async", 4, contended / 40)
      }
    case "ping-pong: shared": {
      const drained = () =>
        Schema.encodeSync(SharedSemaphore.schema)(Effect.runSync(Effect.orDie(SharedSemaphore.make(1, { initial: 0 }))))
      const ping = drained()
      const pong = drained()
      const rounds = quick ? 2_000 : 50_000
      const job = { mode: "pingpong-shared" as const, lib: "strand" as const, n: rounds, ping, pong }
      const [roundTrip] = await together(
        [
          { ...job, role: "a" },
          { ...job, role: "b" }
        ],
        [0]
      )
      return { roundTrip: roundTrip! }
    }
    case "ping-pong: postMessage": {
      const { port1, port2 } = new MessageChannel()
      const rounds = quick ? 2_000 : 50_000
      const job = { mode: "pingpong-post" as const, lib: "strand" as const, n: rounds }
      const [roundTrip] = await together(
        [
          { ...job, role: "a", port: port1 },
          { ...job, role: "b", port: port2 }
        ],
        [0]
      )
      return { roundTrip: roundTrip! }
    }
    case "channel: SharedChannel": {
      const items = quick ? 20_000 : 2_000_000
      const channel = Schema.encodeSync(Channel)(
        Effect.runSync(Effect.orDie(SharedChannel.make(Schema.Number, { capacity: 4_096 })))
      )
      const job = { mode: "channel-shared" as const, lib: "strand" as const, n: items, channel }
      const [millis] = await together(
        [
          { ...job, role: "a" },
          { ...job, role: "b" }
        ],
        [1]
      )
      return { itemsPerSecond: (items / millis!) * 1000 }
    }
    case "channel: postMessage": {
      const items = quick ? 20_000 : 2_000_000
      const { port1, port2 } = new MessageChannel()
      const job = { mode: "channel-post" as const, lib: "strand" as const, n: items }
      const [millis] = await together(
        [
          { ...job, role: "a", port: port1 },
          { ...job, role: "b", port: port2 }
        ],
        [1]
      )
      return { itemsPerSecond: (items / millis!) * 1000 }
    }
    default:
      return dataParallel({ cores, quick }, subject)
  }
}

/** One array of pseudo-random float64s in [0, 1), made once per run. */
let shared: SharedArray.SharedArray<"float64"> | undefined
const dataOf = (n: number) => {
  if (shared?.length === n) return shared
  shared = Effect.runSync(Effect.orDie(SharedArray.make("float64", n)))
  let seed = 12345
  for (let i = 0; i < n; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    shared.view[i] = seed / 2 ** 32
  }
  return shared
}

/** Each figure of the data-parallel scenario is the median of this many rounds, one after another: one round is too short to stand out of the machine's noise. */
const ROUNDS = 5

/** The median time of `ROUNDS` runs of `run`. */
const medianMillis = <E>(run: Effect.Effect<unknown, E>): Effect.Effect<number, E> =>
  Effect.gen(function* () {
    const times: Array<number> = []
    for (let i = 0; i < ROUNDS; i++) {
      const start = performance.now()
      yield* run
      times.push(performance.now() - start)
    }
    return times.sort((a, b) => a - b)[ROUNDS >> 1]!
  })

/** A sum and a histogram over 50 million float64s: on the main thread, over shared ranges, over copied slices. */
const dataParallel = async ({ cores, quick }: Sizes, subject: string): Promise<Samples> => {
  const n = quick ? 2_000_000 : 50_000_000
  const data = dataOf(n)
  if (subject === "data parallel: sequential") {
    sumAndCount(data.view, new Int32Array(BINS))
    return { millis: Effect.runSync(medianMillis(Effect.sync(() => sumAndCount(data.view, new Int32Array(BINS))))) }
  }
  const ranges = Array.from({ length: cores * 2 }, (_, k) => ({
    start: Math.floor((k * n) / (cores * 2)),
    end: Math.floor(((k + 1) * n) / (cores * 2))
  }))
  const module = new URL("./workers/strand.ts", import.meta.url)
  return Effect.runPromise(
    Effect.gen(function* () {
      const pool = yield* WorkerPool.make({ module, size: cores, concurrentTasksPerWorker: 1 })
      const bins = yield* Effect.orDie(SharedArray.make("int32", BINS))
      const round =
        subject === "data parallel: shared map"
          ? pool.map(
              SumRange,
              ranges.map((range) => ({ data, bins, ...range }))
            )
          : pool.map(
              SumCopy,
              ranges.map(({ end, start }) => data.view.slice(start, end))
            )
      yield* round // each worker compiles the kernel before anything is timed
      return { millis: yield* medianMillis(round) }
    }).pipe(Effect.scoped, Effect.orDie)
  )
}
