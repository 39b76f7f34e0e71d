/**
 * A `SharedChannel`'s insides: how items become records in its ring and back
 * (the item schema's codec), how an operation holds one of the ring's locks,
 * and how a send or a receive waits, as a fiber or blocking its thread.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { Class as PipeableClass } from "effect/Pipeable"
import * as Schema from "effect/Schema"
import { ChannelClosed, ChannelItemError } from "./errors.ts"
import * as cell from "./lock.ts"
import {
  RECEIVE_LOCK,
  type Reader,
  type Ring,
  type RingRecord,
  type RingWait,
  readFloat,
  recordLength,
  SEND_LOCK,
  textOf
} from "./ring.ts"
import { isDead } from "./threads.ts"
import { deadlineOf, waitAsync, waitSync } from "./wait.ts"

/** What an operation needs of a channel: its name, its ring and its item codec. */
export class ChannelCore<A> extends PipeableClass {
  readonly label: string
  readonly ring: Ring
  readonly codec: ItemCodec<A>
  constructor(label: string, ring: Ring, codec: ItemCodec<A>) {
    super()
    this.label = label
    this.ring = ring
    this.codec = codec
  }
  get capacity(): number {
    return this.ring.capacity
  }
  get bytes(): number {
    return this.ring.bytes
  }
  override toString(): string {
    return this.label
  }
}

/** Why an item did not encode or decode. */
export class Problem {
  readonly reason: string
  constructor(reason: string) {
    this.reason = reason
  }
}

/**
 * What a channel's items go through: `encode` makes an item's record; `read` takes it out of the
 * ring, holding the ring's lock, so it must be cheap; `decode` finishes it after the lock is let go,
 * unless it is `undefined`: then what `read` gave is the item (or a `Problem`).
 */
export interface ItemCodec<A> {
  readonly encode: (item: A) => RingRecord | Problem
  readonly read: Reader<unknown>
  readonly decode: ((raw: unknown) => A | Problem) | undefined
}

/** Numbers cross as the 4 UTF-16 units of their float64 bits: no text, no JSON, any value (NaN too). */
const numberCodec: ItemCodec<number> = {
  encode: (value) =>
    typeof value === "number"
      ? value
      : new Problem(`an item does not encode with the channel's schema: expected a number, got ${typeof value}`),
  read: (data, start, length) =>
    length === 4
      ? readFloat(data, start)
      : new Problem("an item does not decode with this side's schema (does it match the sender's?): not a number"),
  decode: undefined
}

/** Strings cross as themselves. */
const stringCodec: ItemCodec<string> = {
  encode: (value) =>
    typeof value === "string"
      ? value
      : new Problem(`an item does not encode with the channel's schema: expected a string, got ${typeof value}`),
  read: textOf,
  decode: undefined
}

export const itemCodec = <A, I>(item: Schema.Codec<A, I>): ItemCodec<A> => {
  // The two commonest item schemas skip the JSON codec.
  if (item.ast === Schema.Number.ast) return numberCodec as unknown as ItemCodec<A>
  if (item.ast === Schema.String.ast) return stringCodec as unknown as ItemCodec<A>
  const json = Schema.toCodecJson(item)
  const encodeJson = Schema.encodeExit(json)
  const decodeJson = Schema.decodeUnknownExit(json)
  return {
    encode: (value) => {
      const exit = encodeJson(value)
      if (exit._tag === "Failure") {
        return new Problem(`an item does not encode with the channel's schema: ${String(exit.cause)}`)
      }
      return JSON.stringify(exit.value)
    },
    read: textOf,
    decode: (text) => {
      let parsed: unknown
      try {
        parsed = JSON.parse(text as string)
      } catch (error) {
        return new Problem(`an item is not valid JSON (does this side's schema match the sender's?): ${String(error)}`)
      }
      const exit = decodeJson(parsed)
      if (exit._tag === "Failure") {
        return new Problem(
          `an item does not decode with this side's schema (does it match the sender's?): ${String(exit.cause)}`
        )
      }
      return exit.value
    }
  }
}

/** Which of the ring's locks an operation holds: senders and `close` the send lock, receivers the receive lock. */
export type Side = "send" | "receive"

const lockOf = (side: Side): number => (side === "send" ? SEND_LOCK : RECEIVE_LOCK)

/**
 * Takes over a ring whose lock a dead thread held (its operation may have stopped half-way): the
 * ring is marked broken and closed. Call holding the lock at `at`; whether the ring is usable.
 */
const usable = (ring: Ring, at: number): boolean => {
  const died = cell.diedHolding(ring.cells, at)
  if (died !== undefined) {
    ring.break(died)
    cell.markConsistent(ring.cells, at)
  }
  return ring.brokenBy === undefined
}

const broken = (impl: ChannelCore<any>, operation: string): ChannelClosed =>
  new ChannelClosed({ channel: impl.label, operation, brokenBy: impl.ring.brokenBy! })

/** The error of `operation` on a closed channel: one a dead thread broke names that thread. */
export const closedError = (impl: ChannelCore<any>, operation: string): ChannelClosed =>
  impl.ring.brokenBy === undefined ? new ChannelClosed({ channel: impl.label, operation }) : broken(impl, operation)

/**
 * Breaks the ring if the other side's lock is held by a thread that died: a
 * sender that finds no room looks at the receive lock, and a receiver that
 * finds nothing at the send lock, before it waits for that side to move.
 */
export const checkOtherSide = (impl: ChannelCore<any>, side: Side): void => {
  const ring = impl.ring
  const at = lockOf(side === "send" ? "receive" : "send")
  const holder = cell.holder(ring.cells, at)
  if (holder === undefined || !isDead(holder) || !cell.tryTake(ring.cells, at)) return
  usable(ring, at)
  cell.give(ring.cells, at)
}

/**
 * Runs `f` holding the ring's lock of `side`, waiting for it as a fiber; `f` must not throw. Fails
 * with `ChannelClosed` if a thread died half-way through an operation on the ring. Only the wait
 * for the lock can be interrupted, never the step from taking it to letting it go.
 */
export const locked = <B>(
  impl: ChannelCore<any>,
  side: Side,
  operation: string,
  f: () => B
): Effect.Effect<B, ChannelClosed> => {
  const ring = impl.ring
  const at = lockOf(side)
  const run = (): Effect.Effect<B, ChannelClosed> => {
    try {
      return usable(ring, at) ? Effect.succeed(f()) : Effect.fail(broken(impl, operation))
    } finally {
      cell.release(ring.cells, at)
    }
  }
  return Effect.uninterruptible(
    Effect.suspend(() => (cell.tryTake(ring.cells, at) ? run() : Effect.flatMap(cell.take(ring.cells, at), run)))
  )
}

/**
 * Takes the ring's lock of `side`, blocking this thread for it; throws `ChannelClosed` if a thread
 * died half-way through an operation on the ring. The hot path of `sendSync` and `receiveSync`:
 * a free lock costs one compare-and-swap, and a sender looks no further, because a broken ring is
 * closed, which it checks.
 */
export const enterSync = (impl: ChannelCore<any>, side: Side, operation: string): void => {
  const ring = impl.ring
  const cells = ring.cells
  const at = lockOf(side)
  if (!cell.takeFree(cells, at)) {
    cell.takeSync(cells, at, undefined, impl.label)
    if (usable(ring, at)) return
  } else if (side === "send" || ring.brokenBy === undefined) {
    return
  }
  cell.release(cells, at)
  throw broken(impl, operation)
}

/** Lets go of the ring's lock of `side`, which this thread holds. */
export const leave = (impl: ChannelCore<any>, side: Side): void => cell.release(impl.ring.cells, lockOf(side))

export const encodeOne = <A>(self: ChannelCore<A>, item: A): RingRecord | ChannelItemError => {
  const record = self.codec.encode(item)
  if (record instanceof Problem) return new ChannelItemError({ channel: self.label, reason: record.reason })
  const length = recordLength(record)
  if (length > self.ring.largest) {
    return new ChannelItemError({
      channel: self.label,
      reason:
        `an item encodes to ${2 * length + 4} bytes, more than the channel's ${self.ring.bytes}: ` +
        "make the channel with more bytes, or send smaller items"
    })
  }
  return record
}

export const encodeAll = <A>(self: ChannelCore<A>, items: Iterable<A>): Array<RingRecord> | ChannelItemError => {
  const records: Array<RingRecord> = []
  for (const item of items) {
    const record = encodeOne(self, item)
    if (record instanceof ChannelItemError) return record
    records.push(record)
  }
  return records
}

/** The items of what `read` took: the same array when the codec has no `decode` and nothing failed. */
export const decodeAll = <A>(self: ChannelCore<A>, records: Array<unknown>): Array<A> | ChannelItemError => {
  const decode = self.codec.decode
  if (decode === undefined) {
    for (let i = 0; i < records.length; i++) {
      const record = records[i]
      if (record instanceof Problem) return new ChannelItemError({ channel: self.label, reason: record.reason })
    }
    return records as Array<A>
  }
  const items: Array<A> = []
  for (const record of records) {
    const item = decode(record)
    if (item instanceof Problem) return new ChannelItemError({ channel: self.label, reason: item.reason })
    items.push(item)
  }
  return items
}

/**
 * Sends `records` from `from` on, in order, waiting for room as a fiber. Only
 * its waits can be interrupted (see `waitAsync`), so an interruption never
 * lands between a send and the count of what was sent.
 */
export const sendRecords = (
  impl: ChannelCore<any>,
  records: ReadonlyArray<RingRecord>,
  from = 0
): Effect.Effect<void, ChannelClosed> =>
  Effect.uninterruptible(
    Effect.suspend(() => {
      const ring = impl.ring
      let wait: RingWait | undefined
      return Effect.flatMap(
        locked(impl, "send", "send", () => {
          if (ring.closed) return "closed"
          const sent = from + ring.put(records, from)
          wait = sent < records.length ? ring.roomWait() : undefined
          return sent
        }),
        (sent) => {
          if (sent === "closed") return Effect.fail(closedError(impl, "send"))
          if (wait === undefined) return Effect.void
          checkOtherSide(impl, "send")
          return Effect.flatMap(waitAsync(ring.cells, wait.index, wait.expected, wait.flagged), () =>
            sendRecords(impl, records, sent)
          )
        }
      )
    })
  )

/**
 * Waits as a fiber for at least one item and takes up to `max`; an empty array
 * once closed and drained. Only its waits can be interrupted, so items taken
 * out of the ring always reach the caller: none is lost to an interruption
 * between the take and the return.
 */
export const receiveUpTo = <A>(
  impl: ChannelCore<A>,
  max: number
): Effect.Effect<Array<A>, ChannelItemError | ChannelClosed> =>
  Effect.uninterruptible(
    Effect.suspend(() => {
      const ring = impl.ring
      let wait: RingWait | undefined
      return Effect.flatMap(
        locked(impl, "receive", "receive", () => {
          const records = ring.take(max, impl.codec.read)
          if (records.length === 0) wait = ring.itemsWait()
          return records
        }),
        (records) => {
          if (records.length > 0) {
            const items = decodeAll(impl, records)
            return items instanceof ChannelItemError ? Effect.fail(items) : Effect.succeed(items)
          }
          if (ring.closed && ring.size === 0) {
            return ring.brokenBy === undefined ? Effect.succeed([]) : Effect.fail(closedError(impl, "receive"))
          }
          checkOtherSide(impl, "receive")
          return Effect.flatMap(waitAsync(ring.cells, wait!.index, wait!.expected, wait!.flagged), () =>
            receiveUpTo(impl, max)
          )
        }
      )
    })
  )

/** Sends `record`, blocking this thread while the ring is full, at most `timeoutMillis`; whether it sent. */
export const sendOneSync = (impl: ChannelCore<any>, record: RingRecord, timeoutMillis: number | undefined): boolean => {
  const ring = impl.ring
  let deadline: number | undefined
  for (;;) {
    enterSync(impl, "send", "send")
    const closed = ring.closed
    const sent = !closed && ring.putOne(record)
    const wait = sent || closed ? undefined : ring.roomWait()
    leave(impl, "send")
    if (closed) throw closedError(impl, "send")
    if (sent) return true
    deadline ??= deadlineOf(timeoutMillis)
    if (performance.now() >= deadline) return false
    checkOtherSide(impl, "send")
    waitSync(
      ring.cells,
      wait!.index,
      wait!.expected,
      deadline,
      `SharedChannel.sendSync on ${impl.label}`,
      wait!.flagged
    )
  }
}

/** Receives one item, blocking this thread while the ring is empty, at most `timeoutMillis`. */
export const receiveOneSync = <A>(impl: ChannelCore<A>, timeoutMillis: number | undefined): Option.Option<A> => {
  const ring = impl.ring
  let deadline: number | undefined
  for (;;) {
    enterSync(impl, "receive", "receive")
    const records = ring.take(1, impl.codec.read)
    const wait = records.length === 0 ? ring.itemsWait() : undefined
    leave(impl, "receive")
    if (records.length > 0) {
      const items = decodeAll(impl, records)
      if (items instanceof ChannelItemError) throw items
      return Option.some(items[0]!)
    }
    if (ring.closed) {
      if (ring.size === 0) throw closedError(impl, "receive")
      continue
    }
    deadline ??= deadlineOf(timeoutMillis)
    if (performance.now() >= deadline) return Option.none()
    checkOtherSide(impl, "receive")
    const operation = `SharedChannel.receiveSync on ${impl.label}`
    waitSync(ring.cells, wait!.index, wait!.expected, deadline, operation, wait!.flagged)
  }
}
