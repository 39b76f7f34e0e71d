/**
 * A bounded ring of string records in shared memory: what a `SharedChannel`
 * moves its encoded items through. Senders hold the ring's send lock, and
 * receivers its receive lock, so a sender and a receiver never wait for each
 * other: they meet only through counts each side publishes with atomics.
 * Every operation here is synchronous and runs holding its side's lock;
 * waiting is the caller's.
 *
 * The data is UTF-16 code units, as JavaScript strings hold them, so that a
 * record needs no encoding: its length in two units, then its units, wrapping
 * around the end of the data.
 *
 * The cells sit on three cache lines (64 bytes each), so that one side's
 * bookkeeping does not slow the other's:
 * - settings and state: the capacity in items and in units, the closed flag,
 *   and the thread that broke the ring;
 * - the senders' side: the send lock (2 cells), the write offset, how many
 *   items and units were ever sent, a count that receivers sleep on, a flag
 *   a receiver raises before it sleeps, and the receivers' counts as senders
 *   last read them;
 * - the receivers' side, the same for receives.
 *
 * Items held = items sent - items received, and the same for units, in Int32
 * arithmetic that wraps. Senders read the receivers' counts only when their
 * last reading (kept on their own line) shows no room, and receivers the
 * senders' only when they have taken what their last reading showed. So each
 * side writes only its own line, but for the flag of a side about to sleep;
 * and a send costs one compare-and-swap for the lock, one atomic store to
 * publish, and one exchange to let go: the count that receivers sleep on
 * moves, and `Atomics.notify` runs, only while the flag is up (`wake`).
 *
 * @internal
 */
import { type Flagged, wake } from "./wait.ts"

const CAPACITY = 0
const UNITS = 1
const CLOSED = 2
/** The id + 1 of a thread that died holding one of the ring's locks, which leaves it closed for good. */
const BROKEN = 3

/** The send lock's two cells. */
export const SEND_LOCK = 16
const WRITE = 18
const SENT_ITEMS = 19
const SENT_UNITS = 20
/**
 * What receivers sleep on: a count that a send moves only while `SENT_WAITING`
 * is up (see `wake`), and `close` always. Receivers watch `SENT_ITEMS` too.
 */
const SENT = 21
/** Raised while a receiver may sleep on `SENT`. */
const SENT_WAITING = 22
/** The receivers' counts as senders last read them: the room is at least what they show. */
const SEEN_RECEIVED_ITEMS = 23
const SEEN_RECEIVED_UNITS = 24

/** The receive lock's two cells. */
export const RECEIVE_LOCK = 32
const READ = 34
const RECEIVED_ITEMS = 35
const RECEIVED_UNITS = 36
/** What senders sleep on, as `SENT` for receivers; senders watch `RECEIVED_ITEMS` too. */
const RECEIVED = 37
/** Raised while a sender may sleep on `RECEIVED`. */
const RECEIVED_WAITING = 38
/** The senders' count of items as receivers last read it. */
const SEEN_SENT_ITEMS = 39

const DATA = 192

/** What a waiter on the ring waits for: `cells[index]` to move from `expected`, or the flagged cell. */
export interface RingWait {
  readonly index: number
  readonly expected: number
  readonly flagged: Flagged
}

/** A new ring's buffer. */
export const allocateRing = (capacity: number, bytes: number): SharedArrayBuffer => {
  const units = (bytes + (bytes & 1)) >> 1
  const buffer = new SharedArrayBuffer(DATA + 2 * units)
  const cells = new Int32Array(buffer, 0, DATA / 4)
  cells[CAPACITY] = capacity
  cells[UNITS] = units
  return buffer
}

/**
 * What the ring holds: a string, as its UTF-16 units, or a number, as the 4
 * units of its float64 bits (so that a number crosses without text).
 */
export type RingRecord = string | number

/** How many units `record` takes in the ring, besides its length. */
export const recordLength = (record: RingRecord): number => (typeof record === "number" ? 4 : record.length)

const float = new Float64Array(1)
const floatUnits = new Uint16Array(float.buffer)

/** The number whose float64 bits are the 4 units from `start` (wrapping around the end of `data`). */
export const readFloat = (data: Uint16Array, start: number): number => {
  for (let i = 0, at = start; i < 4; i++, at = at + 1 === data.length ? 0 : at + 1) floatUnits[i] = data[at]!
  return float[0]!
}

/** Reads one record of `length` units from `start` in a ring's data. */
export type Reader<T> = (data: Uint16Array, start: number, length: number) => T

/** A record as a string. */
export const textOf: Reader<string> = (data, start, length) => {
  let text = ""
  // In slices, so that String.fromCharCode never gets too many arguments.
  for (let done = 0, at = start; done < length; ) {
    const run = Math.min(length - done, data.length - at, 4096)
    text += String.fromCharCode.apply(null, data.subarray(at, at + run) as unknown as Array<number>)
    done += run
    at = at + run === data.length ? 0 : at + run
  }
  return text
}

/** The ring on `buffer`, as one thread sees it. */
export class Ring {
  readonly buffer: SharedArrayBuffer
  readonly cells: Int32Array
  private readonly data: Uint16Array
  /** The units of data. */
  private readonly units: number
  readonly capacity: number

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer
    this.cells = new Int32Array(buffer, 0, DATA / 4)
    this.capacity = this.cells[CAPACITY]!
    this.units = this.cells[UNITS]!
    this.data = new Uint16Array(buffer, DATA, this.units)
  }

  /** Whether `buffer` can be a ring (from an untyped payload). */
  static fits(buffer: unknown): buffer is SharedArrayBuffer {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < DATA) return false
    const cells = new Int32Array(buffer, 0, DATA / 4)
    return cells[CAPACITY]! > 0 && cells[UNITS]! > 0 && buffer.byteLength === DATA + 2 * cells[UNITS]!
  }

  /** The most bytes of records it holds. */
  get bytes(): number {
    return 2 * this.units
  }

  get closed(): boolean {
    return Atomics.load(this.cells, CLOSED) === 1
  }

  /** How many items it holds now. */
  get size(): number {
    return (Atomics.load(this.cells, SENT_ITEMS) - Atomics.load(this.cells, RECEIVED_ITEMS)) | 0
  }

  /** Puts `record` if it fits; whether it did. Call holding the send lock. Wakes receivers if it put it. */
  putOne(record: RingRecord): boolean {
    const cells = this.cells
    const sentItems = cells[SENT_ITEMS]!
    const sentUnits = cells[SENT_UNITS]!
    const length = recordLength(record)
    if (!this.room(sentItems, sentUnits, length)) return false
    this.publish(this.write(record, length, cells[WRITE]!), sentItems + 1, sentUnits + 2 + length)
    return true
  }

  /**
   * Puts as many of `records` as fit, from `from`; how many it put. Call
   * holding the send lock. Wakes receivers if it put any.
   */
  put(records: ReadonlyArray<RingRecord>, from: number): number {
    const cells = this.cells
    const sentItems = cells[SENT_ITEMS]!
    const sentUnits = cells[SENT_UNITS]!
    let write = cells[WRITE]!
    let put = 0
    let written = 0
    for (let i = from; i < records.length; i++) {
      const record = records[i]!
      const length = recordLength(record)
      if (!this.room(sentItems + put, sentUnits + written, length)) break
      write = this.write(record, length, write)
      written += 2 + length
      put++
    }
    if (put > 0) this.publish(write, sentItems + put, sentUnits + written)
    return put
  }

  /**
   * Whether a record of `length` units fits after `sentItems` and `sentUnits`.
   * It looks first at the receivers' counts as senders last read them, and
   * reads them again only when those show no room: so the counts are read at
   * least once per `capacity` items, and never drift a wrap apart.
   */
  private room(sentItems: number, sentUnits: number, length: number): boolean {
    const cells = this.cells
    if (this.fits(sentItems, sentUnits, length)) return true
    cells[SEEN_RECEIVED_ITEMS] = Atomics.load(cells, RECEIVED_ITEMS)
    cells[SEEN_RECEIVED_UNITS] = Atomics.load(cells, RECEIVED_UNITS)
    return this.fits(sentItems, sentUnits, length)
  }

  private fits(sentItems: number, sentUnits: number, length: number): boolean {
    const cells = this.cells
    return (
      ((sentItems - cells[SEEN_RECEIVED_ITEMS]!) | 0) < this.capacity &&
      ((sentUnits - cells[SEEN_RECEIVED_UNITS]!) | 0) + 2 + length <= this.units
    )
  }

  /** Writes `record` (its length, then its units) from unit `at`; where the next record goes. */
  private write(record: RingRecord, length: number, at: number): number {
    const data = this.data
    const units = this.units
    data[at] = length & 0xffff
    at = at + 1 === units ? 0 : at + 1
    data[at] = length >>> 16
    at = at + 1 === units ? 0 : at + 1
    if (typeof record === "number") {
      float[0] = record
      for (let c = 0; c < 4; c++) {
        data[at] = floatUnits[c]!
        at = at + 1 === units ? 0 : at + 1
      }
    } else {
      for (let c = 0; c < length; c++) {
        data[at] = record.charCodeAt(c)
        at = at + 1 === units ? 0 : at + 1
      }
    }
    return at
  }

  /** Shows receivers the records written up to `write`, which bring the senders' counts to these. */
  private publish(write: number, sentItems: number, sentUnits: number): void {
    const cells = this.cells
    cells[WRITE] = write
    // Only senders read this count, holding the send lock.
    cells[SENT_UNITS] = sentUnits | 0
    // The data is written before the count that shows it (Atomics order plain writes before them).
    Atomics.store(cells, SENT_ITEMS, sentItems | 0)
    wake(cells, SENT, SENT_WAITING)
  }

  /**
   * Takes up to `max` records, each read by `read` from its units (which may
   * wrap around the end of `data`: unit `k` is at `(start + k) % data.length`).
   * Call holding the receive lock. Wakes senders if it took any.
   */
  take<T>(max: number, read: Reader<T>): Array<T> {
    const cells = this.cells
    const data = this.data
    const units = this.units
    const receivedItems = cells[RECEIVED_ITEMS]!
    // Fewer than `max` as last seen: read what the senders have sent since.
    if (((cells[SEEN_SENT_ITEMS]! - receivedItems) | 0) < max) cells[SEEN_SENT_ITEMS] = Atomics.load(cells, SENT_ITEMS)
    const count = Math.min(max, (cells[SEEN_SENT_ITEMS]! - receivedItems) | 0)
    const taken: Array<T> = []
    if (count <= 0) return taken
    let at = cells[READ]!
    let freed = 0
    for (let i = 0; i < count; i++) {
      const low = data[at]!
      at = at + 1 === units ? 0 : at + 1
      const length = low | (data[at]! << 16)
      at = at + 1 === units ? 0 : at + 1
      taken.push(read(data, at, length))
      at = (at + length) % units
      freed += 2 + length
    }
    cells[READ] = at
    // The data is read before the counts that free it for senders.
    Atomics.store(cells, RECEIVED_UNITS, (cells[RECEIVED_UNITS]! + freed) | 0)
    Atomics.store(cells, RECEIVED_ITEMS, (receivedItems + count) | 0)
    wake(cells, RECEIVED, RECEIVED_WAITING)
    return taken
  }

  /**
   * What a sender that found no room waits for, read holding the send lock
   * right after: a receive, which moves `RECEIVED_ITEMS` from what the failed
   * send last read of it, or `close`, which moves `RECEIVED`.
   */
  roomWait(): RingWait {
    const cells = this.cells
    return {
      index: RECEIVED,
      expected: Atomics.load(cells, RECEIVED),
      flagged: { flag: RECEIVED_WAITING, cell: RECEIVED_ITEMS, value: cells[SEEN_RECEIVED_ITEMS]! }
    }
  }

  /** What a receiver that found nothing waits for, read holding the receive lock right after: as `roomWait`. */
  itemsWait(): RingWait {
    const cells = this.cells
    return {
      index: SENT,
      expected: Atomics.load(cells, SENT),
      flagged: { flag: SENT_WAITING, cell: SENT_ITEMS, value: cells[SEEN_SENT_ITEMS]! }
    }
  }

  /** The thread that died half-way through an operation on the ring, if one did. */
  get brokenBy(): number | undefined {
    const broken = Atomics.load(this.cells, BROKEN)
    return broken === 0 ? undefined : broken - 1
  }

  /** Marks the ring broken by `thread`, which died holding one of its locks, and closes it. */
  break(thread: number): void {
    Atomics.compareExchange(this.cells, BROKEN, 0, thread + 1)
    this.close()
  }

  /**
   * Closes the ring and wakes everyone. `close` calls it holding the send lock,
   * so that no send is half-way; `break` holding whichever lock a dead thread
   * held, after which every operation fails anyway.
   */
  close(): void {
    Atomics.store(this.cells, CLOSED, 1)
    Atomics.add(this.cells, SENT, 1)
    Atomics.add(this.cells, RECEIVED, 1)
    Atomics.notify(this.cells, SENT)
    Atomics.notify(this.cells, RECEIVED)
  }

  /** The longest record, in UTF-16 code units, that can ever fit. */
  get largest(): number {
    return this.units - 2
  }
}
