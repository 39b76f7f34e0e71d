/**
 * The typed errors of the shared-memory primitives. Each one says what
 * happened and what to do.
 *
 * @internal
 */
import { Errors } from "@strand/core"
import * as Schema from "effect/Schema"

/**
 * `undefined` if `value` is an integer from `min` to `max`, else the
 * `InvalidArgument` that names the argument; `expected` words the range where
 * the bound reads better as a power of two.
 */
export const checkInteger = (
  operation: string,
  argument: string,
  value: unknown,
  min: number,
  max: number,
  expected = `an integer from ${min} to ${max}`
): Errors.InvalidArgument | undefined =>
  typeof value === "number" && Number.isInteger(value) && value >= min && value <= max
    ? undefined
    : new Errors.InvalidArgument({ operation, argument, value, expected })

const thread = (id: number): string => (id === 0 ? "the main thread" : `thread ${id}`)

/**
 * The lock's previous holder thread died holding it, so the data it guards
 * may be half-updated; `repair` puts it right.
 *
 * @category errors
 * @since 0.6.0
 */
export class OwnerDied extends Schema.TaggedError<OwnerDied>()("OwnerDied", {
  lock: Schema.String,
  thread: Schema.Number
}) {
  override get message(): string {
    return (
      `${thread(this.thread)} died holding ${this.lock}, so the data it guards may be half-updated. ` +
      "Check the data and put it right under SharedLock.repair, which marks the lock consistent again; " +
      "until then every withLock on it fails with OwnerDied."
    )
  }
}

/**
 * A thread released a shared lock (or waited on its condition) without
 * holding it.
 *
 * @category errors
 * @since 0.6.0
 */
export class SharedLockNotHeld extends Schema.TaggedError<SharedLockNotHeld>()("SharedLockNotHeld", {
  lock: Schema.String,
  operation: Schema.String,
  thread: Schema.Number,
  holder: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    const holder = this.holder === undefined ? "nobody holds it" : `${thread(this.holder)} holds it`
    return (
      `${this.operation} on ${this.lock} by ${thread(this.thread)}, which does not hold it (${holder}). ` +
      "Only the thread that acquired a shared lock may release it or wait on its condition; use withLock to pair them."
    )
  }
}

/**
 * A thread blocked to acquire a shared lock it already holds, which would
 * deadlock it.
 *
 * @category errors
 * @since 0.6.0
 */
export class SharedLockAlreadyHeld extends Schema.TaggedError<SharedLockAlreadyHeld>()("SharedLockAlreadyHeld", {
  lock: Schema.String,
  thread: Schema.Number
}) {
  override get message(): string {
    return (
      `${thread(this.thread)} blocked to acquire ${this.lock}, which it already holds: that would deadlock the ` +
      "thread. Another fiber of this thread may hold it: wait as a fiber (withLock) instead of blocking."
    )
  }
}

/**
 * A blocking form (`acquireSync`, `withLockSync`, ...) was called on the main
 * thread, where it would stop every fiber; use the Effect form there.
 *
 * @category errors
 * @since 0.6.0
 */
export class BlockingOnMainThread extends Schema.TaggedError<BlockingOnMainThread>()("BlockingOnMainThread", {
  operation: Schema.String
}) {
  override get message(): string {
    return (
      `${this.operation} would block the main thread, and with it every fiber, timer and I/O callback. ` +
      "Blocking forms are for a worker's synchronous code; on the main thread use the Effect form, which waits " +
      "without blocking."
    )
  }
}

/** @internal */
export class SharedSemaphoreOverRelease extends Schema.TaggedError<SharedSemaphoreOverRelease>()(
  "SharedSemaphoreOverRelease",
  { semaphore: Schema.String, permits: Schema.Number }
) {
  override get message(): string {
    return (
      `${this.semaphore}: a release would raise the free permits above its ${this.permits}. Release only what ` +
      "you acquired; withPermit pairs them for you."
    )
  }
}

/** @internal */
export class ChannelClosed extends Schema.TaggedError<ChannelClosed>()("ChannelClosed", {
  channel: Schema.String,
  operation: Schema.String,
  /** Set when the channel closed because this thread died in the middle of an operation on it. */
  brokenBy: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    if (this.brokenBy !== undefined) {
      return (
        `${this.operation} on ${this.channel}, which ${thread(this.brokenBy)} left half-way through an operation ` +
        "when it died: its contents cannot be trusted, so it is closed. Make a new channel."
      )
    }
    return this.operation === "send"
      ? `send on ${this.channel}, which is closed: nothing more may be sent on it.`
      : `receive on ${this.channel}, which is closed and empty: every item sent has been received.`
  }
}

/** @internal */
export class ChannelItemError extends Schema.TaggedError<ChannelItemError>()("ChannelItemError", {
  channel: Schema.String,
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.channel}: ${this.reason}`
  }
}

/** @internal */
export class IndexOutOfRange extends Schema.TaggedError<IndexOutOfRange>()("IndexOutOfRange", {
  array: Schema.String,
  index: Schema.Unknown,
  length: Schema.Number
}) {
  override get message(): string {
    return `${this.array} has ${this.length} element(s): index ${String(this.index)} is not an integer in [0, ${this.length}).`
  }
}
