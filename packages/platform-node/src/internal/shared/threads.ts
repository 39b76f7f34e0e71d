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
const KEY = Symbol.for("@strand/platform-node/deaths")

/** This thread's register: the one a pool handed over, else a new one; one per thread even with two copies of Strand. */
export const deaths: Int32Array = ((globalThis as { [KEY]?: Int32Array })[KEY] ??= (() => {
  const handed =
    !isMainThread && typeof workerData === "object" && workerData?.[WORKER_MARK] === 1
      ? (workerData as { deaths?: unknown }).deaths
      : undefined
  return handed instanceof Int32Array ? handed : new Int32Array(new SharedArrayBuffer(4 * SLOTS))
})())

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
