/**
 * A bounded channel between threads through shared memory: Python's
 * `multiprocessing.Queue`, typed by a Schema.
 *
 * **When to use**
 *
 * Use a `SharedChannel` to stream items between tasks on different threads (or
 * between a task and the main thread) while they run, without a message per
 * item: many producers, many consumers, with back-pressure.
 *
 * **Details**
 *
 * - Items are encoded with the channel's Schema (its JSON form) into a ring in a
 *   `SharedArrayBuffer`, as UTF-16 text, which needs no further encoding
 *   (`Schema.Number` items cross as their float64 bits, `Schema.String` items
 *   as themselves, without JSON). The
 *   ring holds at most `capacity` items and `bytes` bytes: `send` waits while
 *   it is full, `receive` while it is empty.
 *   An item that does not encode, or that can never fit, fails with
 *   `ChannelItemError`.
 * - `close` ends the channel: `send` then fails with `ChannelClosed`, and
 *   receivers get what is left, then `ChannelClosed` (or the end of `stream`).
 * - Waiting never blocks a thread: `send`, `receive` and `stream` wait as
 *   fibers and can be interrupted; an item is either delivered or left in the
 *   channel, never lost. `sendSync` and `receiveSync` block a worker's
 *   synchronous code and throw `BlockingOnMainThread` on the main thread.
 * - Senders and receivers take separate locks, so a sender never waits for a
 *   receiver's lock or the other way round; they meet through counts in shared
 *   memory, and an item becomes visible only once it is whole.
 * - A thread that dies half-way through an operation on the channel (a worker
 *   terminated in the middle of `sendSync`) leaves it closed for good: once
 *   that is noticed, every operation fails with `ChannelClosed` naming that
 *   thread, rather than reading a half-written ring. A dead sender is noticed
 *   by the next sender, or by a receiver that finds the channel empty; a dead
 *   receiver by the next receiver, or by a sender that finds it full. Until
 *   then, items sent whole are still received.
 * - Items from one sender arrive in order. The order of waiting senders and
 *   receivers across threads is not FIFO.
 * - Pass it in a task's payload with `SharedChannel.schema(item)`.
 *
 * @example
 * ```ts
 * import { Effect, Schema, Stream } from "effect"
 * import { SharedChannel } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const channel = yield* SharedChannel.make(Schema.Number, { capacity: 16 })
 *   yield* SharedChannel.sendAll(channel, [1, 2, 3])
 *   yield* SharedChannel.close(channel)
 *   return yield* Stream.runCollect(SharedChannel.stream(channel)) // [1, 2, 3]
 * })
 * ```
 *
 * @since 0.6.0
 */
import type { Errors } from "@strand/core"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Pipeable } from "effect/Pipeable"
import { hasProperty } from "effect/Predicate"
import type * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import {
  ChannelCore,
  encodeAll,
  encodeOne,
  itemCodec,
  locked,
  receiveOneSync,
  receiveUpTo,
  sendOneSync,
  sendRecords
} from "./internal/shared/channel.ts"
import { ChannelClosed, ChannelItemError, checkInteger } from "./internal/shared/errors.ts"
import { labelOf } from "./internal/shared/lock.ts"
import { allocateRing, Ring } from "./internal/shared/ring.ts"
import { isNamedRecord, sharedSchema } from "./internal/shared/schema.ts"

export {
  /**
   * A send on a closed channel, or a receive on a closed channel with nothing
   * left in it.
   *
   * @category errors
   * @since 0.6.0
   */
  ChannelClosed,
  /**
   * An item that does not encode or decode with the channel's schema, or that
   * is larger than the channel's bytes.
   *
   * @category errors
   * @since 0.6.0
   */
  ChannelItemError
}

const TypeId = "~@strand/platform-node/SharedChannel" as const

/**
 * A bounded channel of `A` in shared memory.
 *
 * @category models
 * @since 0.6.0
 */
export interface SharedChannel<A> extends Pipeable {
  readonly [TypeId]: typeof TypeId
  /** How error messages name the channel. */
  readonly label: string
  /** The most items the channel holds. */
  readonly capacity: number
  /** The most bytes of encoded items the channel holds. */
  readonly bytes: number
  /** @internal */
  readonly _A: (_: never) => A
}

/** The public face of a channel core. */
class SharedChannelImpl<A> extends ChannelCore<A> implements SharedChannel<A> {
  readonly [TypeId] = TypeId
  declare readonly _A: (_: never) => A
}

const implOf = <A>(self: SharedChannel<A>): SharedChannelImpl<A> => self as SharedChannelImpl<A>

/**
 * Options for `SharedChannel.make`.
 *
 * @category models
 * @since 0.6.0
 */
export interface Options {
  /** The most items the channel holds (default 1,024). */
  readonly capacity?: number | undefined
  /**
   * The most bytes of encoded items it holds (default 1 MiB). An item takes 2 bytes per UTF-16
   * code unit of its JSON text, plus 4.
   */
  readonly bytes?: number | undefined
  /** A name that error messages show. */
  readonly name?: string | undefined
}

/** A capacity or a byte size: unset, or an integer from 1 to 2^30. */
const sizeArgument = (argument: string, value: unknown): Errors.InvalidArgument | undefined =>
  value === undefined ? undefined : checkInteger("SharedChannel.make", argument, value, 1, 2 ** 30)

/**
 * Creates a channel of items of `item`'s type.
 *
 * **Details**
 *
 * `capacity` and `bytes` that are not positive integers (bytes at most 1 GiB)
 * fail with `InvalidArgument`.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { SharedChannel } from "@strand/platform-node"
 *
 * const Reading = Schema.Struct({ sensor: Schema.String, value: Schema.Number })
 *
 * const program = Effect.gen(function*() {
 *   const readings = yield* SharedChannel.make(Reading, { capacity: 4_096, name: "readings" })
 *   return readings.capacity // 4096
 * })
 * ```
 *
 * @category constructors
 * @since 0.6.0
 */
export const make = <A, I>(
  item: Schema.Codec<A, I>,
  options?: Options
): Effect.Effect<SharedChannel<A>, Errors.InvalidArgument> =>
  Effect.suspend(() => {
    const invalid = sizeArgument("capacity", options?.capacity) ?? sizeArgument("bytes", options?.bytes)
    if (invalid !== undefined) return Effect.fail(invalid)
    const ring = new Ring(allocateRing(options?.capacity ?? 1024, options?.bytes ?? 1 << 20))
    return Effect.succeed(new SharedChannelImpl(labelOf("shared channel", options?.name), ring, itemCodec(item)))
  })

/**
 * Sends every item, in order, waiting for room as a fiber.
 *
 * **Details**
 *
 * Items are encoded before any is sent: one that does not encode fails the
 * whole call with `ChannelItemError` and sends nothing. If the fiber is
 * interrupted while it waits for room, the items sent so far stay sent.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { SharedChannel } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const channel = yield* SharedChannel.make(Schema.String)
 *   yield* SharedChannel.sendAll(channel, ["a", "b", "c"])
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const sendAll = <A>(
  self: SharedChannel<A>,
  items: Iterable<A>
): Effect.Effect<void, ChannelClosed | ChannelItemError> =>
  Effect.suspend((): Effect.Effect<void, ChannelClosed | ChannelItemError> => {
    const impl = implOf(self)
    const records = encodeAll(impl, items)
    return records instanceof ChannelItemError ? Effect.fail(records) : sendRecords(impl, records)
  })

/**
 * Sends one item, waiting for room as a fiber.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { SharedChannel } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const channel = yield* SharedChannel.make(Schema.Number)
 *   yield* SharedChannel.send(channel, 42)
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const send = <A>(self: SharedChannel<A>, item: A): Effect.Effect<void, ChannelClosed | ChannelItemError> =>
  sendAll(self, [item])

/**
 * Receives one item, waiting for one as a fiber; `ChannelClosed` once the
 * channel is closed and empty.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { SharedChannel } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const channel = yield* SharedChannel.make(Schema.Number)
 *   yield* SharedChannel.send(channel, 7)
 *   return yield* SharedChannel.receive(channel) // 7
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const receive = <A>(self: SharedChannel<A>): Effect.Effect<A, ChannelClosed | ChannelItemError> =>
  Effect.flatMap(receiveUpTo(implOf(self), 1), (items) =>
    items.length === 0
      ? Effect.fail(new ChannelClosed({ channel: self.label, operation: "receive" }))
      : Effect.succeed(items[0]!)
  )

/**
 * The channel's items as a `Stream`, taken in batches as they come, ending
 * once the channel is closed and empty.
 *
 * **Details**
 *
 * Several streams (on several threads) may read one channel: each item goes to
 * one of them. Each pull takes up to `batch` items (default 512) out of the
 * channel and emits them as one chunk, as Effect's `Stream.fromQueue` does, so
 * a stream that is stopped part-way through a chunk (by `Stream.take`, or an
 * interruption) drops the rest of it. Where every item must reach a receiver,
 * end the stream by closing the channel, or give `batch: 1` (slower).
 *
 * @example
 * ```ts
 * import { Effect, Schema, Stream } from "effect"
 * import { SharedChannel } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const channel = yield* SharedChannel.make(Schema.Number)
 *   yield* SharedChannel.sendAll(channel, [1, 2, 3])
 *   yield* SharedChannel.close(channel)
 *   return yield* Stream.runFold(SharedChannel.stream(channel), () => 0, (sum, n) => sum + n) // 6
 * })
 * ```
 *
 * @category destructors
 * @since 0.6.0
 */
export const stream = <A>(
  self: SharedChannel<A>,
  options?: { readonly batch?: number | undefined }
): Stream.Stream<A, ChannelItemError | ChannelClosed> => {
  const batch = Math.max(1, Math.floor(options?.batch ?? 512))
  return Stream.paginate(undefined, () =>
    Effect.map(
      receiveUpTo(implOf(self), batch),
      (items) => [items, items.length === 0 ? Option.none() : Option.some(undefined)] as const
    )
  )
}

/**
 * Closes the channel: later sends fail with `ChannelClosed`, and receivers get
 * what is left, then `ChannelClosed` (streams end).
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { SharedChannel } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const channel = yield* SharedChannel.make(Schema.Number)
 *   yield* SharedChannel.close(channel)
 *   return yield* SharedChannel.isClosed(channel) // true
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const close = <A>(self: SharedChannel<A>): Effect.Effect<void> => {
  const impl = implOf(self)
  // A broken channel is closed already.
  return Effect.ignore(locked(impl, "send", "close", () => impl.ring.close()))
}

/**
 * Whether the channel is closed.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { SharedChannel } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const channel = yield* SharedChannel.make(Schema.Number)
 *   return yield* SharedChannel.isClosed(channel) // false
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const isClosed = <A>(self: SharedChannel<A>): Effect.Effect<boolean> =>
  Effect.sync(() => implOf(self).ring.closed)

/**
 * How many items the channel holds now.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { SharedChannel } from "@strand/platform-node"
 *
 * const program = Effect.gen(function*() {
 *   const channel = yield* SharedChannel.make(Schema.Number)
 *   yield* SharedChannel.send(channel, 1)
 *   return yield* SharedChannel.size(channel) // 1
 * })
 * ```
 *
 * @category combinators
 * @since 0.6.0
 */
export const size = <A>(self: SharedChannel<A>): Effect.Effect<number> => Effect.sync(() => implOf(self).ring.size)

/**
 * Options for the blocking forms.
 *
 * @category models
 * @since 0.6.0
 */
export interface SyncOptions {
  /** The longest to block, in milliseconds; without it, as long as it takes. */
  readonly timeoutMillis?: number | undefined
}

/**
 * Sends one item from a worker's synchronous code, blocking the thread while
 * the channel is full, at most `timeoutMillis`; whether it was sent. Throws
 * `ChannelClosed`, `ChannelItemError`, or `BlockingOnMainThread` on the main
 * thread when it would have to wait.
 *
 * @example
 * ```ts
 * import { SharedChannel } from "@strand/platform-node"
 *
 * // in a worker task's synchronous loop
 * const produce = (channel: SharedChannel.SharedChannel<number>, n: number) => {
 *   for (let i = 0; i < n; i++) SharedChannel.sendSync(channel, i)
 * }
 * ```
 *
 * @category blocking
 * @since 0.6.0
 */
export const sendSync = <A>(self: SharedChannel<A>, item: A, options?: SyncOptions): boolean => {
  const impl = implOf(self)
  const record = encodeOne(impl, item)
  if (record instanceof ChannelItemError) throw record
  return sendOneSync(impl, record, options?.timeoutMillis)
}

/**
 * Receives one item in a worker's synchronous code, blocking the thread while
 * the channel is empty, at most `timeoutMillis`; `Option.none()` if none came.
 * Throws `ChannelClosed` once the channel is closed and empty,
 * `ChannelItemError`, or `BlockingOnMainThread` on the main thread when it
 * would have to wait.
 *
 * @example
 * ```ts
 * import { Option } from "effect"
 * import { SharedChannel } from "@strand/platform-node"
 *
 * // in a worker task's synchronous code
 * const next = (channel: SharedChannel.SharedChannel<number>) =>
 *   Option.getOrElse(SharedChannel.receiveSync(channel, { timeoutMillis: 100 }), () => 0)
 * ```
 *
 * @category blocking
 * @since 0.6.0
 */
export const receiveSync = <A>(self: SharedChannel<A>, options?: SyncOptions): Option.Option<A> =>
  receiveOneSync(implOf(self), options?.timeoutMillis)

/**
 * Whether `u` is a `SharedChannel`.
 *
 * @example
 * ```ts
 * import { Effect, Schema } from "effect"
 * import { SharedChannel } from "@strand/platform-node"
 *
 * const program = Effect.map(SharedChannel.make(Schema.Number), SharedChannel.isSharedChannel) // true
 * ```
 *
 * @category guards
 * @since 0.6.0
 */
export const isSharedChannel = (u: unknown): u is SharedChannel<unknown> => hasProperty(u, TypeId)

/**
 * What it encodes to in a task's payload: shared memory, which structured clone shares.
 *
 * @category models
 * @since 0.6.0
 */
export interface Encoded {
  readonly name: string
  readonly buffer: SharedArrayBuffer
}

/**
 * The schema of a `SharedChannel` of `item`'s type, for a task's payload or
 * result. Both sides must use the same item schema.
 *
 * @example
 * ```ts
 * import { Schema } from "effect"
 * import { SharedChannel, Task } from "@strand/platform-node"
 *
 * const Produce = Task.make("Produce", {
 *   payload: Schema.Struct({ out: SharedChannel.schema(Schema.Number), count: Schema.Number }),
 *   success: Schema.Void
 * })
 * ```
 *
 * @category schemas
 * @since 0.6.0
 */
export const schema = <A, I>(item: Schema.Codec<A, I>): Schema.Codec<SharedChannel<A>, Encoded> => {
  const codec = itemCodec(item)
  return sharedSchema({
    name: "SharedChannel",
    is: (u): u is SharedChannel<A> => isSharedChannel(u),
    isFields: (u): u is Encoded => isNamedRecord(u) && Ring.fits((u as Encoded).buffer),
    encode: (channel) => ({ name: channel.label, buffer: implOf(channel).ring.buffer }),
    decode: (fields) => new SharedChannelImpl(fields.name, new Ring(fields.buffer), codec)
  })
}
