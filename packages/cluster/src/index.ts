/**
 * `@strand/cluster`: the same Tasks across machines, on Effect Cluster and
 * Postgres. A program written against `WorkerPool` runs on a cluster when it
 * is given `ClusterPool.layer` instead of `WorkerPool.layer`.
 *
 * ```ts
 * import { ClusterPool, ClusterRunner, Postgres } from "@strand/cluster"
 * ```
 *
 * @since 0.1.0
 */

/** @since 0.1.0 */
export * as ClusterPool from "./ClusterPool.ts"
/** @since 0.1.0 */
export * as ClusterRunner from "./ClusterRunner.ts"
/** @since 0.1.0 */
export * as Postgres from "./Postgres.ts"
