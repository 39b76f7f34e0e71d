/**
 * Every typed error of `@strand/core`, in one place. Each primitive's module
 * re-exports the errors that belong to it; this module gathers them all, with
 * a union of them and a guard.
 *
 * **When to use**
 *
 * Use to handle any Strand error in one place (a logger, an HTTP error
 * mapper), or to match on `_tag` with `Effect.catchTags`.
 *
 * **Details**
 *
 * Each error is a `Schema.TaggedError`: its message says what happened and
 * what to do, and `console.log` prints that message.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Errors, Lock } from "@strand/core"
 *
 * const program = Effect.gen(function*() {
 *   const lock = yield* Lock.make()
 *   return yield* Lock.release(lock)
 * }).pipe(Effect.catchIf(Errors.isStrandError, (error) => Effect.succeed(`refused: ${error._tag}`)))
 * ```
 *
 * @since 0.2.0
 */
import { hasProperty } from "effect/Predicate"
import {
  BrokenBarrier,
  DeadlockDetected,
  ExecutorShutdown,
  FutureCancelled,
  InvalidArgument,
  LockAlreadyHeld,
  LockNotHeld,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  SemaphoreOverRelease,
  TaskDoneTooOften,
  TimerAlreadyStarted,
  TimerCancelled
} from "./internal/errors.ts"

export {
  /* @category errors
  /** @since 0.1.0 */
  BrokenBarrier,
  /* @category errors
  /** @since 0.1.0 */
  DeadlockDetected,
  /* @category errors
  /** @since 0.1.0 */
  ExecutorShutdown,
  /* @category errors
  /** @since 0.1.0 */
  FutureCancelled,
  /* @category errors
  /** @since 0.1.0 */
  InvalidArgument,
  /* @category errors
  /** @since 0.1.0 */
  LockAlreadyHeld,
  /* @category errors
  /** @since 0.1.0 */
  LockNotHeld,
  /* @category errors
  /** @since 0.2.0 */
  QueueEmpty,
  /* @category errors
  /** @since 0.2.0 */
  QueueFull,
  /* @category errors
  /** @since 0.2.0 */
  QueueShutDown,
  /* @category errors
  /** @since 0.1.0 */
  SemaphoreOverRelease,
  /* @category errors
  /** @since 0.1.0 */
  TaskDoneTooOften,
  /* @category errors
  /** @since 0.1.0 */
  TimerAlreadyStarted,
  /* @category errors
  /** @since 0.1.0 */
  TimerCancelled
}

const classes = [
  BrokenBarrier,
  DeadlockDetected,
  ExecutorShutdown,
  FutureCancelled,
  InvalidArgument,
  LockAlreadyHeld,
  LockNotHeld,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  SemaphoreOverRelease,
  TaskDoneTooOften,
  TimerAlreadyStarted,
  TimerCancelled
] as const

/**
 * Any typed error of `@strand/core`.
 *
 * @category models
 * @since 0.2.0
 */
export type StrandError = InstanceType<(typeof classes)[number]>

/**
 * Whether `u` is one of `@strand/core`'s typed errors.
 *
 * @example
 * ```ts
 * import { Errors } from "@strand/core"
 *
 * Errors.isStrandError(new Errors.QueueEmpty({ operation: "LifoQueue.takeNow" })) // true
 * ```
 *
 * @category guards
 * @since 0.2.0
 */
export const isStrandError = (u: unknown): u is StrandError =>
  hasProperty(u, "_tag") && classes.some((error) => u instanceof error)
