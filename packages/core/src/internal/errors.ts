/**
 * Strand's typed errors. Each one says what happened and what to do about it.
 * The public modules re-export the ones that belong to them.
 *
 * @internal
 */
import * as Schema from "effect/Schema"

/** Shows a value as the caller wrote it: strings quoted, anything else without throwing. */
const show = (value: unknown): string => {
  if (typeof value === "string") return JSON.stringify(value)
  if (value instanceof Error) return `${value.name}: ${value.message}`
  if (typeof value !== "object" || value === null) return String(value)
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/** @internal */
export class InvalidArgument extends Schema.TaggedError<InvalidArgument>()("InvalidArgument", {
  operation: Schema.String,
  argument: Schema.String,
  value: Schema.Unknown,
  expected: Schema.String
}) {
  override get message(): string {
    return `${this.operation}: ${this.argument} must be ${this.expected}, got ${show(this.value)}`
  }
}

/** @internal */
export class LockNotHeld extends Schema.TaggedError<LockNotHeld>()("LockNotHeld", {
  lock: Schema.String,
  operation: Schema.String,
  caller: Schema.Number,
  owner: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    const owner = this.owner === undefined ? "nobody holds it" : `fiber #${this.owner} holds it`
    return (
      `${this.operation} on ${this.lock} by fiber #${this.caller}, which does not hold it (${owner}). ` +
      "Only the fiber that acquired a lock may release it or wait on its Condition; use withLock to pair them."
    )
  }
}

/** @internal */
export class LockAlreadyHeld extends Schema.TaggedError<LockAlreadyHeld>()("LockAlreadyHeld", {
  lock: Schema.String,
  caller: Schema.Number
}) {
  override get message(): string {
    return (
      `fiber #${this.caller} tried to acquire ${this.lock}, which it already holds: that would deadlock. ` +
      "Use an RLock if the same fiber must acquire it again."
    )
  }
}

/** @internal */
export class SemaphoreOverRelease extends Schema.TaggedError<SemaphoreOverRelease>()("SemaphoreOverRelease", {
  permits: Schema.Number,
  taken: Schema.Number,
  released: Schema.Number
}) {
  override get message(): string {
    return (
      `BoundedSemaphore: released ${this.released} permit(s) while only ${this.taken} of ${this.permits} ` +
      "are taken. Release only what you acquired; withPermits pairs them for you."
    )
  }
}

/** @internal */
export class BrokenBarrier extends Schema.TaggedError<BrokenBarrier>()("BrokenBarrier", {
  reason: Schema.Literals(["timeout", "interrupted", "abort", "reset", "action-failed"]),
  /** With `action-failed`: the action's own error or defect, or a note that it was interrupted. */
  actionError: Schema.optional(Schema.Unknown)
}) {
  override get message(): string {
    const action = this.actionError === undefined ? "" : ` (the action ended with: ${show(this.actionError)})`
    return (
      `the Barrier is broken (${this.reason})${action}: every waiter of this generation was released with this ` +
      "error. Call reset to use the barrier again."
    )
  }
}

/** @internal */
export class TimerAlreadyStarted extends Schema.TaggedError<TimerAlreadyStarted>()("TimerAlreadyStarted", {}) {
  override get message(): string {
    return "Timer.start: this timer was already started. A Timer runs at most once; make a new one to run again."
  }
}

/** @internal */
export class TimerCancelled extends Schema.TaggedError<TimerCancelled>()("TimerCancelled", {}) {
  override get message(): string {
    return "the Timer was cancelled before it fired, so its effect never ran"
  }
}

/** @internal */
export class TaskDoneTooOften extends Schema.TaggedError<TaskDoneTooOften>()("TaskDoneTooOften", {}) {
  override get message(): string {
    return (
      "JoinableQueue.taskDone was called more times than there were items offered. " +
      "Call taskDone exactly once for each item you take."
    )
  }
}

/** @internal */
export class QueueFull extends Schema.TaggedError<QueueFull>()("QueueFull", {
  operation: Schema.String,
  capacity: Schema.Number
}) {
  override get message(): string {
    return (
      `${this.operation}: the queue already holds ${this.capacity} items. ` +
      "Use offer to wait for room, offerTimeout to wait a while, or retry later."
    )
  }
}

/** @internal */
export class QueueEmpty extends Schema.TaggedError<QueueEmpty>()("QueueEmpty", { operation: Schema.String }) {
  override get message(): string {
    return `${this.operation}: the queue is empty. Use take to wait for an item, takeTimeout to wait a while, or poll.`
  }
}

/** @internal */
export class QueueShutDown extends Schema.TaggedError<QueueShutDown>()("QueueShutDown", { operation: Schema.String }) {
  override get message(): string {
    return (
      `${this.operation}: the queue was shut down, so it takes no more items` +
      " (and, once its buffered items are taken, gives none). Stop producing, or make a new queue."
    )
  }
}

/** @internal */
export class ExecutorShutdown extends Schema.TaggedError<ExecutorShutdown>()("ExecutorShutdown", {}) {
  override get message(): string {
    return "Executor.submit after shutdown: this executor takes no new work. Submit before shutdown, or make a new one."
  }
}

/** @internal */
export class FutureCancelled extends Schema.TaggedError<FutureCancelled>()("FutureCancelled", {}) {
  override get message(): string {
    return "the Future was cancelled before it completed, so it has no result"
  }
}

/** @internal */
export const DeadlockEdge = Schema.Struct({
  fiber: Schema.Number,
  waitsFor: Schema.String,
  heldBy: Schema.Number,
  acquiredAt: Schema.String
})

/** @internal */
export type DeadlockEdge = typeof DeadlockEdge.Type

/** @internal */
export class DeadlockDetected extends Schema.TaggedError<DeadlockDetected>()("DeadlockDetected", {
  cycle: Schema.Array(DeadlockEdge)
}) {
  override get message(): string {
    const steps = this.cycle.map(
      (e) => `fiber #${e.fiber} waits for ${e.waitsFor}, held by fiber #${e.heldBy} (acquired at ${e.acquiredAt})`
    )
    return (
      `${steps.join("; ")}: a cycle of ${this.cycle.length}. ` +
      `Fiber #${this.cycle[0]?.fiber} was refused the wait to break it; ` +
      "release what it holds (or let it fail) and take the locks in one order everywhere."
    )
  }
}

// `console.log` and `util.inspect` print an Effect error's fields, not its message; the message holds
// the advice on what to do, so show it there too.
for (const error of [
  InvalidArgument,
  LockNotHeld,
  LockAlreadyHeld,
  SemaphoreOverRelease,
  BrokenBarrier,
  TimerAlreadyStarted,
  TimerCancelled,
  TaskDoneTooOften,
  QueueFull,
  QueueEmpty,
  QueueShutDown,
  ExecutorShutdown,
  FutureCancelled,
  DeadlockDetected
]) {
  Object.defineProperty(error.prototype, "toJSON", {
    value(this: Error & { readonly _tag: string }) {
      return { ...this, _tag: this._tag, message: this.message }
    }
  })
}
