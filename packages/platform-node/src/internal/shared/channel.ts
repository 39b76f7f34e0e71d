/**
 * A `SharedChannel`'s insides: how items become records in its ring and back
 * (the item schema's codec), and how an operation holds the ring's lock.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import { ChannelClosed, ChannelItemError } from "./errors.ts"
import * as cell from "./lock.ts"
import { type Reader, type Ring, textOf } from "./ring.ts"

/** What an operation needs of a channel. */
export interface ChannelParts<A> {
  readonly label: string
  readonly ring: Ring
  readonly codec: ItemCodec<A>
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
 * ring, holding the ring's lock, so it must be cheap; `decode` finishes it after the lock is let go.
 */
export interface ItemCodec<A> {
  readonly encode: (item: A) => string | Problem
  readonly read: Reader<unknown>
  readonly decode: (raw: unknown) => A | Problem
}

const float = new Float64Array(1)
const floatUnits = new Uint16Array(float.buffer)

/** Numbers cross as the 4 UTF-16 units of their float64 bits: no text, no JSON, any value (NaN too). */
const numberCodec: ItemCodec<number> = {
  encode: (value) => {
    if (typeof value !== "number") {
      return new Problem(`an item does not encode with the channel's schema: expected a number, got ${typeof value}`)
    }
    float[0] = value
    return String.fromCharCode(floatUnits[0]!, floatUnits[1]!, floatUnits[2]!, floatUnits[3]!)
  },
  read: (data, start, length) => {
    if (length !== 4) {
      return new Problem("an item does not decode with this side's schema (does it match the sender's?): not a number")
    }
    for (let i = 0, at = start; i < 4; i++, at = at + 1 === data.length ? 0 : at + 1) floatUnits[i] = data[at]!
    return float[0]!
  },
  decode: (raw) => raw as number | Problem
}

/** Strings cross as themselves. */
const stringCodec: ItemCodec<string> = {
  encode: (value) =>
    typeof value === "string"
      ? value
      : new Problem(`an item does not encode with the channel's schema: expected a string, got ${typeof value}`),
  read: textOf,
  decode: (raw) => raw as string
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

/**
 * Takes over a ring whose lock a dead thread held (its operation may have stopped half-way): the
 * ring is marked broken and closed. Call holding the lock; whether the ring is usable.
 */
const usable = (ring: Ring): boolean => {
  const died = cell.diedHolding(ring.cells, 0)
  if (died !== undefined) {
    ring.break(died)
    cell.markConsistent(ring.cells, 0)
  }
  return ring.brokenBy === undefined
}

const broken = (impl: ChannelParts<unknown>, operation: string): ChannelClosed =>
  new ChannelClosed({ channel: impl.label, operation, brokenBy: impl.ring.brokenBy! })

/**
 * Runs `f` holding the ring's lock, waiting for it as a fiber; `f` must not throw. Fails with
 * `ChannelClosed` if a thread died half-way through an operation on the ring.
 */
export const locked = <B>(impl: ChannelParts<any>, operation: string, f: () => B): Effect.Effect<B, ChannelClosed> => {
  const ring = impl.ring
  const run = (): Effect.Effect<B, ChannelClosed> => {
    try {
      return usable(ring) ? Effect.succeed(f()) : Effect.fail(broken(impl, operation))
    } finally {
      cell.give(ring.cells, 0)
    }
  }
  return Effect.suspend(() => (cell.tryTake(ring.cells, 0) ? run() : Effect.flatMap(cell.take(ring.cells, 0), run)))
}

/** Runs `f` holding the ring's lock, blocking this thread for it; throws as `locked` fails. */
export const lockedSync = <B>(impl: ChannelParts<any>, operation: string, f: () => B): B => {
  const ring = impl.ring
  cell.takeSync(ring.cells, 0, undefined, impl.label)
  try {
    if (!usable(ring)) throw broken(impl, operation)
    return f()
  } finally {
    cell.give(ring.cells, 0)
  }
}

export const encodeOne = <A>(self: ChannelParts<A>, item: A): string | ChannelItemError => {
  const record = self.codec.encode(item)
  if (record instanceof Problem) return new ChannelItemError({ channel: self.label, reason: record.reason })
  if (record.length > self.ring.largest) {
    return new ChannelItemError({
      channel: self.label,
      reason:
        `an item encodes to ${2 * record.length + 4} bytes, more than the channel's ${self.ring.bytes}: ` +
        "make the channel with more bytes, or send smaller items"
    })
  }
  return record
}

export const encodeAll = <A>(self: ChannelParts<A>, items: Iterable<A>): Array<string> | ChannelItemError => {
  const records: Array<string> = []
  for (const item of items) {
    const record = encodeOne(self, item)
    if (record instanceof ChannelItemError) return record
    records.push(record)
  }
  return records
}

export const decodeAll = <A>(self: ChannelParts<A>, records: ReadonlyArray<unknown>): Array<A> | ChannelItemError => {
  const items: Array<A> = []
  for (const record of records) {
    const item = self.codec.decode(record)
    if (item instanceof Problem) return new ChannelItemError({ channel: self.label, reason: item.reason })
    items.push(item)
  }
  return items
}
