/**
 * Which thread this is, and which threads have died. Shared primitives record
 * their holder's thread id; a waiter that finds the holder in the register of
 * dead threads takes over instead of waiting forever.
 *
 * The register lives in one `SharedArrayBuffer` per process: the main thread
 * makes it, and every pool passes it to its worker threads in `workerData`, so
 * that a pool started inside a worker records into the same register. A
 * thread's entry sits at its id modulo the register's size, so a dead thread is
 * remembered until 32,768 later threads have died.
 *
 * @internal
 */
import { isMainThread, threadId, workerData } from "node:worker_threads"
import { WORKER_MARK } from "../protocol.ts"

const SLOTS = 1 << 15

/**
 * Shared memory that every thread of the process sees: the array a pool
 * handed this worker in `workerData[field]`, else (on the main thread) one
 * that `make` creates. Kept on `globalThis` under `name`, so there is one even
 * with two copies of Strand.
 */
export const processWide = (name: string, field: string, make: () => Int32Array): Int32Array => {
  const key = Symbol.for(`@strand/platform-node/${name}`)
  const global = globalThis as { [key: symbol]: Int32Array | undefined }
  return (global[key] ??= (() => {
    const handed =
      !isMainThread && typeof workerData === "object" && workerData?.[WORKER_MARK] === 1
        ? (workerData as Record<string, unknown>)[field]
        : undefined
    return handed instanceof Int32Array ? handed : make()
  })())
}

/** This thread's register: the one a pool handed over, else a new one. */
export const deaths: Int32Array = processWide(
  "deaths",
  "deaths",
  () => new Int32Array(new SharedArrayBuffer(4 * SLOTS))
)

/** This thread's id, as Node numbers threads (the main thread is 0). */
export const self: number = threadId

/** Whether this is the main thread, which must never block. */
export const onMainThread: boolean = isMainThread

/** Records that the thread `id` has ended. */
export const markDead = (id: number): void => {
  Atomics.store(deaths, id & (SLOTS - 1), id + 1)
}

/** Whether the thread `id` is known to have ended. */
export const isDead = (id: number): boolean => Atomics.load(deaths, id & (SLOTS - 1)) === id + 1
