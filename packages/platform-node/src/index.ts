/**
 * `@strand/platform-node`: CPU-bound Effect work on a pool of worker threads.
 *
 * ```ts
 * import { Task, WorkerPool, WorkerRunner } from "@strand/platform-node"
 * ```
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as NodeDiagnostics from "./NodeDiagnostics.ts"
/** @since 0.1.0 */
export * as Task from "./Task.ts"
/** @since 0.4.0 */
export * as Timeline from "./Timeline.ts"
/** @since 0.1.0 */
export * as WorkerPool from "./WorkerPool.ts"
/** @since 0.1.0 */
export * as WorkerRunner from "./WorkerRunner.ts"
