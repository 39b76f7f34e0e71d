// A raw worker thread for scenario 15 (shared memory): it runs one side of one measurement, given in
// workerData, after the main thread opens the start gate, and posts what it measured.

import { type MessagePort, parentPort, workerData } from "node:worker_threads"
import { SharedChannel, SharedLock, SharedSemaphore } from "@strand/platform-node"
import { Effect, Schema, Stream } from "effect"
import { Mutex } from "multithreading"

export interface Job {
  readonly mode: "lock-sync" | "lock-async" | "pingpong-shared" | "pingpong-post" | "channel-shared" | "channel-post"
  readonly lib: "strand" | "multithreading" | "web locks"
  readonly role: "a" | "b"
  readonly n: number
  readonly gate: Int32Array
  readonly lock?: unknown
  readonly mutex?: SharedArrayBuffer
  readonly ping?: unknown
  readonly pong?: unknown
  readonly channel?: unknown
  readonly port?: MessagePort
}

const Channel = SharedChannel.schema(Schema.Number)

const job = workerData as Job
const post = (value: unknown) => parentPort!.postMessage(value)

const waitForGate = () => {
  post("ready")
  while (Atomics.load(job.gate, 0) === 0) Atomics.wait(job.gate, 0, 0, 100)
}

const median = (values: Array<number>) => values.sort((a, b) => a - b)[values.length >> 1]!

const run = async (): Promise<number> => {
  switch (job.mode) {
    case "lock-sync": {
      // ms for n acquire-release pairs, blocking this thread while it waits
      if (job.lib === "strand") {
        const lock = Schema.decodeSync(SharedLock.schema)(job.lock as SharedLock.Encoded)
        waitForGate()
        const start = performance.now()
        for (let i = 0; i < job.n; i++) {
          SharedLock.acquireSync(lock)
          SharedLock.releaseSync(lock)
        }
        return performance.now() - start
      }
      const mutex = new Mutex(undefined, job.mutex)
      waitForGate()
      const start = performance.now()
      for (let i = 0; i < job.n; i++) mutex.blockingLock().dispose()
      return performance.now() - start
    }
    case "lock-async": {
      // ms for n acquire-release pairs, waiting without blocking this thread
      if (job.lib === "strand") {
        const lock = Schema.decodeSync(SharedLock.schema)(job.lock as SharedLock.Encoded)
        const once = SharedLock.withLock(lock, Effect.void)
        waitForGate()
        const start = performance.now()
        await Effect.runPromise(
          Effect.gen(function* () {
            for (let i = 0; i < job.n; i++) yield* once
          }).pipe(Effect.orDie)
        )
        return performance.now() - start
      }
      if (job.lib === "multithreading") {
        const mutex = new Mutex(undefined, job.mutex)
        waitForGate()
        const start = performance.now()
        for (let i = 0; i < job.n; i++) (await mutex.lock()).dispose()
        return performance.now() - start
      }
      waitForGate()
      const start = performance.now()
      for (let i = 0; i < job.n; i++) await navigator.locks.request("strand-bench", () => undefined)
      return performance.now() - start
    }
    case "pingpong-shared": {
      // the median round trip in ns, through two SharedSemaphores, each thread blocking in turn
      const ping = Schema.decodeSync(SharedSemaphore.schema)(job.ping as SharedSemaphore.Encoded)
      const pong = Schema.decodeSync(SharedSemaphore.schema)(job.pong as SharedSemaphore.Encoded)
      waitForGate()
      if (job.role === "b") {
        for (let i = 0; i < job.n; i++) {
          SharedSemaphore.acquireSync(ping)
          SharedSemaphore.releaseSync(pong)
        }
        return 0
      }
      const trips: Array<number> = []
      for (let i = 0; i < job.n; i++) {
        const start = performance.now()
        SharedSemaphore.releaseSync(ping)
        SharedSemaphore.acquireSync(pong)
        trips.push(performance.now() - start)
      }
      return median(trips) * 1e6
    }
    case "pingpong-post": {
      // the median round trip in ns, one message each way on a MessagePort
      const port = job.port!
      if (job.role === "b") {
        port.on("message", (n: number) => port.postMessage(n))
        waitForGate()
        return new Promise<number>(() => {})
      }
      waitForGate()
      const trips: Array<number> = []
      for (let i = 0; i < job.n; i++) {
        const start = performance.now()
        await new Promise<void>((resolve) => {
          port.once("message", () => resolve())
          port.postMessage(i)
        })
        trips.push(performance.now() - start)
      }
      return median(trips) * 1e6
    }
    case "channel-shared": {
      // the consumer's ms for the last n items of warm + n; the producer sends one item at a time,
      // blocking while the channel is full, and the consumer reads it as a Stream, a chunk at a time
      // (each chunk is what one pull took out of the channel)
      const channel = Schema.decodeSync(Channel)(job.channel as SharedChannel.Encoded)
      const warm = job.n / 4
      waitForGate()
      if (job.role === "a") {
        for (let i = 0; i < warm + job.n; i++) SharedChannel.sendSync(channel, i)
        return 0
      }
      let received = 0
      let start = 0
      await Effect.runPromise(
        Stream.runForEachArray(Stream.take(SharedChannel.stream(channel), warm + job.n), (items) =>
          Effect.sync(() => {
            for (let i = 0; i < items.length; i++) if (++received === warm) start = performance.now()
          })
        )
      )
      return performance.now() - start
    }
    case "channel-post": {
      // the consumer's ms for the last n items of warm + n, one message per item
      const port = job.port!
      const warm = job.n / 4
      if (job.role === "a") {
        waitForGate()
        for (let i = 0; i < warm + job.n; i++) port.postMessage(i)
        return 0
      }
      let received = 0
      let start = 0
      const done = new Promise<number>((resolve) => {
        port.on("message", () => {
          if (++received === warm) start = performance.now()
          if (received === warm + job.n) resolve(performance.now() - start)
        })
      })
      waitForGate()
      return done
    }
  }
}

run().then(post, (error) => {
  throw error
})
