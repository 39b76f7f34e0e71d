/**
 * `@strand/core`: the classic concurrency toolbox as Effect-native primitives.
 *
 * Each concept is one namespace, imported by name:
 *
 * ```ts
 * import { Lock, Condition, Barrier } from "@strand/core"
 * ```
 *
 * Where Effect already has the primitive (fibers, `Semaphore`, `Latch`,
 * `Queue`, `Deferred`), use Effect's; Strand adds only what is missing.
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as Barrier from "./Barrier.ts"
/** @since 0.1.0 */
export * as BoundedSemaphore from "./BoundedSemaphore.ts"
/** @since 0.1.0 */
export * as Condition from "./Condition.ts"
/** @since 0.1.0 */
export * as CountDownLatch from "./CountDownLatch.ts"
/** @since 0.1.0 */
export * as Diagnostics from "./Diagnostics.ts"
/** @since 0.2.0 */
export * as Errors from "./Errors.ts"
/** @since 0.2.0 */
export * as Event from "./Event.ts"
/** @since 0.1.0 */
export * as Executor from "./Executor.ts"
/** @since 0.1.0 */
export * as Future from "./Future.ts"
/** @since 0.1.0 */
export * as JoinableQueue from "./JoinableQueue.ts"
/** @since 0.1.0 */
export * as LifoQueue from "./LifoQueue.ts"
/** @since 0.1.0 */
export * as Lock from "./Lock.ts"
/** @since 0.1.0 */
export * as PriorityQueue from "./PriorityQueue.ts"
/** @since 0.1.0 */
export * as RLock from "./RLock.ts"
/** @since 0.1.0 */
export * as Select from "./Select.ts"
/** @since 0.1.0 */
export * as Timer from "./Timer.ts"
