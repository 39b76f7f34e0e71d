/**
 * The worker pool's typed errors, documented here and exported by
 * `WorkerPool`. Each one says what happened and what to do.
 *
 * @internal
 */
import * as Schema from "effect/Schema"
import { describeThrown } from "./protocol.ts"

/**
 * Makes `console.log` and `util.inspect` show an error's message, which holds
 * the advice on what to do; Effect's errors otherwise print their fields only.
 */
const showMessage = (...classes: ReadonlyArray<{ prototype: object }>): void => {
  for (const error of classes) {
    Object.defineProperty(error.prototype, "toJSON", {
      value(this: Error & { readonly _tag: string }) {
        return { ...this, _tag: this._tag, message: this.message }
      }
    })
  }
}

/**
 * The worker running the task crashed; the pool has replaced it.
 *
 * @category errors
 * @since 0.1.0
 */
export class WorkerCrashed extends Schema.TaggedError<WorkerCrashed>()("WorkerCrashed", {
  task: Schema.String,
  workerId: Schema.Number,
  exitCode: Schema.optional(Schema.Number),
  reason: Schema.String
}) {
  override get message(): string {
    const code = this.exitCode === undefined ? "" : ` (exit code ${this.exitCode})`
    return (
      `worker #${this.workerId} crashed${code} while running task "${this.task}": ${this.reason}. ` +
      "The pool has replaced the worker; retry with Effect.retry if the task is safe to run again."
    )
  }
}

/**
 * The task ran longer than its timeout and was cancelled.
 *
 * @category errors
 * @since 0.1.0
 */
export class TaskTimeout extends Schema.TaggedError<TaskTimeout>()("TaskTimeout", {
  task: Schema.String,
  timeoutMillis: Schema.Number
}) {
  override get message(): string {
    return (
      `task "${this.task}" ran for more than ${this.timeoutMillis} ms and was cancelled. ` +
      "Raise the timeout, or split the work into smaller tasks."
    )
  }
}

/**
 * The bounded queue was full and `onQueueFull` is `"fail"`.
 *
 * @category errors
 * @since 0.1.0
 */
export class QueueFull extends Schema.TaggedError<QueueFull>()("QueueFull", {
  task: Schema.String,
  maxQueue: Schema.Number
}) {
  override get message(): string {
    return (
      `the pool's queue already holds ${this.maxQueue} tasks, so task "${this.task}" was refused. ` +
      'Retry later, raise maxQueue, or set onQueueFull: "wait" to wait for room.'
    )
  }
}

/**
 * A payload did not match its task's schema; the worker is unharmed.
 *
 * @category errors
 * @since 0.1.0
 */
export class PayloadError extends Schema.TaggedError<PayloadError>()("PayloadError", {
  task: Schema.String,
  side: Schema.Literals(["caller", "worker"]),
  issue: Schema.String
}) {
  override get message(): string {
    return (
      `the payload of task "${this.task}" cannot be sent to a worker (checked by the ${this.side}): ` +
      `${this.issue}. Fix the payload; the worker is unharmed.`
    )
  }
}

/**
 * A task's result (or stream item, or typed error) could not be sent back:
 * structured clone cannot copy it, or its schema rejects it. The worker is unharmed.
 *
 * @category errors
 * @since 0.2.0
 */
export class ResultError extends Schema.TaggedError<ResultError>()("ResultError", {
  task: Schema.String,
  issue: Schema.String
}) {
  override get message(): string {
    return (
      `the result of task "${this.task}" could not be sent back to the caller: ${this.issue}. ` +
      "Return only values the task's success schema describes and structured clone can copy " +
      "(no functions, symbols or class instances with behaviour); the worker is unharmed."
    )
  }
}

/**
 * The task's `signal` aborted; the error carries its reason.
 *
 * @category errors
 * @since 0.2.0
 */
export class TaskAborted extends Schema.TaggedError<TaskAborted>()("TaskAborted", {
  task: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return (
      `task "${this.task}" was aborted by its AbortSignal (${this.reason}) and stopped on its worker. ` +
      "It did not complete; run it again if it is still wanted."
    )
  }
}

/**
 * The input of `map` or `mapStream` threw while it was read; the results
 * before it were delivered.
 *
 * @category errors
 * @since 0.2.0
 */
export class MapInputError extends Schema.TaggedError<MapInputError>()("MapInputError", {
  index: Schema.Number,
  reason: Schema.String
}) {
  /** The error for an input iterator that threw while reading input number `index`. */
  static of(index: number, thrown: unknown): MapInputError {
    return new MapInputError({ index, reason: describeThrown(thrown) })
  }

  override get message(): string {
    return (
      `reading input #${this.index} of map or mapStream threw: ${this.reason}. ` +
      "The results of the inputs before it were delivered; fix the input and run the rest again."
    )
  }
}

/**
 * The workers do not serve the task.
 *
 * @category errors
 * @since 0.1.0
 */
export class TaskNotServed extends Schema.TaggedError<TaskNotServed>()("TaskNotServed", {
  task: Schema.String
}) {
  override get message(): string {
    return (
      `the pool's workers do not serve task "${this.task}". ` +
      "Add a handler for it to the WorkerRunner.launch call in the worker module."
    )
  }
}

/**
 * The pool's scope closed before the task could run.
 *
 * @category errors
 * @since 0.1.0
 */
export class WorkerPoolClosed extends Schema.TaggedError<WorkerPoolClosed>()("WorkerPoolClosed", {
  task: Schema.String
}) {
  override get message(): string {
    return (
      `task "${this.task}" was submitted to, still queued in, or stopped by a WorkerPool whose scope has closed. ` +
      "Run tasks inside the scope that provides the pool."
    )
  }
}

/**
 * A worker stopped before it was ready (a wrong module, a failing Layer).
 *
 * @category errors
 * @since 0.1.0
 */
export class WorkerSpawnError extends Schema.TaggedError<WorkerSpawnError>()("WorkerSpawnError", {
  module: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return (
      `a worker for ${this.module} did not start: ${this.reason}. ` +
      "Check that the module exists, loads without throwing, and calls WorkerRunner.launch at its top level."
    )
  }
}

/**
 * An option given to `WorkerPool.make` or `layer` is out of range.
 *
 * @category errors
 * @since 0.1.0
 */
export class InvalidPoolOptions extends Schema.TaggedError<InvalidPoolOptions>()("InvalidPoolOptions", {
  option: Schema.String,
  value: Schema.String,
  expected: Schema.String
}) {
  override get message(): string {
    return `WorkerPool option ${this.option} must be ${this.expected}, got ${this.value}. Fix the option and try again.`
  }
}

/**
 * Every error the pool itself can add to a task's own typed errors.
 *
 * @category models
 * @since 0.1.0
 */
export type WorkerPoolError =
  | WorkerCrashed
  | TaskTimeout
  | QueueFull
  | PayloadError
  | ResultError
  | MapInputError
  | TaskAborted
  | TaskNotServed
  | WorkerPoolClosed
  | WorkerSpawnError
  | InvalidPoolOptions

const poolErrors: ReadonlyArray<new (...args: ReadonlyArray<any>) => WorkerPoolError> = [
  WorkerCrashed,
  TaskTimeout,
  QueueFull,
  PayloadError,
  ResultError,
  MapInputError,
  TaskAborted,
  TaskNotServed,
  WorkerPoolClosed,
  WorkerSpawnError,
  InvalidPoolOptions
]

showMessage(...poolErrors)

/**
 * Whether `u` is one of the errors the pool itself adds (`WorkerPoolError`),
 * as opposed to a task's own typed error.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { Task, WorkerPool } from "@strand/platform-node"
 *
 * const Hash = Task.make("Hash", { payload: Schema.String, success: Schema.String })
 * const program = WorkerPool.run(Hash, "hello").pipe(
 *   Effect.catchIf(WorkerPool.isWorkerPoolError, (error) => Effect.succeed(`the pool said: ${error.message}`))
 * )
 * ```
 *
 * @category guards
 * @since 0.2.0
 */
export const isWorkerPoolError = (u: unknown): u is WorkerPoolError => poolErrors.some((error) => u instanceof error)
