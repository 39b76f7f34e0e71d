/**
 * `@strand/platform-node`: CPU-bound Effect work on a pool of worker threads,
 * and primitives in shared memory for those threads.
 *
 * ```ts
 * import { Task, WorkerPool, WorkerRunner } from "@strand/platform-node"
 * ```
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as NodeDiagnostics from "./NodeDiagnostics.ts"
/** @since 0.6.0 */
export * as SharedArray from "./SharedArray.ts"
/** @since 0.6.0 */
export * as SharedBarrier from "./SharedBarrier.ts"
/** @since 0.6.0 */
export * as SharedChannel from "./SharedChannel.ts"
/** @since 0.6.0 */
export * as SharedCondition from "./SharedCondition.ts"
/** @since 0.6.0 */
export * as SharedEvent from "./SharedEvent.ts"
/** @since 0.6.0 */
export * as SharedLock from "./SharedLock.ts"
/** @since 0.6.0 */
export * as SharedSemaphore from "./SharedSemaphore.ts"
/** @since 0.6.0 */
export * as SharedValue from "./SharedValue.ts"
/** @since 0.1.0 */
export * as Task from "./Task.ts"
/** @since 0.4.0 */
export * as Timeline from "./Timeline.ts"
/** @since 0.1.0 */
export * as WorkerPool from "./WorkerPool.ts"
/** @since 0.1.0 */
export * as WorkerRunner from "./WorkerRunner.ts"
