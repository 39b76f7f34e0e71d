/**
 * A bounded ring of string records in shared memory, behind a lock: what a
 * `SharedChannel` moves its encoded items through. Every operation here is
 * synchronous and runs holding the ring's lock; waiting is the caller's.
 *
 * Cells, then the data from byte `DATA`: the lock (2), the items held, the
 * read and write offsets, the units used, the closed flag, a count of sends
 * (receivers sleep on it), a count of receives (senders sleep on it), the
 * capacity in items and in bytes, and how many sleep on each count. The data is UTF-16 code units, as
 * JavaScript strings hold them, so that a record needs no encoding: its length
 * in two units, then its units, wrapping around the end of the data.
 *
 * @internal
 */

export const ITEMS = 2
const READ = 3
const WRITE = 4
const USED = 5
const CLOSED = 6
const CAPACITY = 9
const BYTES = 10
/**
 * The counts that waiters watch sit on cache lines of their own (64 bytes apart), so that a
 * receiver reading `SENT` while it waits does not slow the sender's lock and offsets.
 */
export const SENT = 16
export const RECEIVED = 32
/** How many receivers sleep on `SENT`, and senders on `RECEIVED`: a notify is skipped while none does. */
/** The id + 1 of a thread that died holding the ring's lock, which leaves the ring closed for good. */
const BROKEN = 13
export const SENT_SLEEPERS = 17
export const RECEIVED_SLEEPERS = 33

const DATA = 192

/** A new ring's buffer. */
export const allocateRing = (capacity: number, bytes: number): SharedArrayBuffer => {
  const buffer = new SharedArrayBuffer(DATA + bytes + (bytes & 1))
  const cells = new Int32Array(buffer, 0, DATA / 4)
  cells[CAPACITY] = capacity
  cells[BYTES] = bytes + (bytes & 1)
  return buffer
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

/** The ring on `buffer`. */
export class Ring {
  readonly buffer: SharedArrayBuffer
  readonly cells: Int32Array
  private readonly data: Uint16Array
  /** The units of data. */
  private readonly units: number
  readonly capacity: number
  readonly bytes: number

  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer
    this.cells = new Int32Array(buffer, 0, DATA / 4)
    this.capacity = this.cells[CAPACITY]!
    this.bytes = this.cells[BYTES]!
    this.units = this.bytes >> 1
    this.data = new Uint16Array(buffer, DATA, this.units)
  }

  /** Whether `buffer` can be a ring (from an untyped payload). */
  static fits(buffer: unknown): buffer is SharedArrayBuffer {
    if (!(buffer instanceof SharedArrayBuffer) || buffer.byteLength < DATA) return false
    const cells = new Int32Array(buffer, 0, DATA / 4)
    return cells[CAPACITY]! > 0 && cells[BYTES]! > 0 && buffer.byteLength === DATA + cells[BYTES]!
  }

  get closed(): boolean {
    return Atomics.load(this.cells, CLOSED) === 1
  }

  /**
   * Puts as many of `records` as fit, from `from`; how many it put. Wakes
   * receivers if it put any.
   */
  put(records: ReadonlyArray<string>, from: number): number {
    const data = this.data
    const units = this.units
    let put = 0
    let items = this.cells[ITEMS]!
    let used = this.cells[USED]!
    let write = this.cells[WRITE]!
    for (let i = from; i < records.length && items < this.capacity; i++) {
      const record = records[i]!
      const length = record.length
      if (used + 2 + length > units) break
      data[write] = length & 0xffff
      write = write + 1 === units ? 0 : write + 1
      data[write] = length >>> 16
      write = write + 1 === units ? 0 : write + 1
      for (let c = 0; c < length; c++) {
        data[write] = record.charCodeAt(c)
        write = write + 1 === units ? 0 : write + 1
      }
      used += 2 + length
      items++
      put++
    }
    if (put > 0) {
      this.cells[WRITE] = write
      this.cells[USED] = used
      Atomics.store(this.cells, ITEMS, items)
      Atomics.add(this.cells, SENT, 1)
      if (Atomics.load(this.cells, SENT_SLEEPERS) > 0) Atomics.notify(this.cells, SENT, put)
    }
    return put
  }

  /**
   * Takes up to `max` records, each read by `read` from its units (which may wrap around the end
   * of `data`: unit `k` is at `(start + k) % data.length`). Wakes senders if it took any.
   */
  take<T>(max: number, read: Reader<T>): Array<T> {
    const data = this.data
    const units = this.units
    const taken: Array<T> = []
    let items = this.cells[ITEMS]!
    let used = this.cells[USED]!
    let at = this.cells[READ]!
    while (items > 0 && taken.length < max) {
      const low = data[at]!
      at = at + 1 === units ? 0 : at + 1
      const length = low | (data[at]! << 16)
      at = at + 1 === units ? 0 : at + 1
      taken.push(read(data, at, length))
      at = (at + length) % units
      used -= 2 + length
      items--
    }
    if (taken.length > 0) {
      this.cells[READ] = at
      this.cells[USED] = used
      Atomics.store(this.cells, ITEMS, items)
      Atomics.add(this.cells, RECEIVED, 1)
      if (Atomics.load(this.cells, RECEIVED_SLEEPERS) > 0) Atomics.notify(this.cells, RECEIVED)
    }
    return taken
  }

  /** The thread that died half-way through an operation on the ring, if one did. */
  get brokenBy(): number | undefined {
    const broken = Atomics.load(this.cells, BROKEN)
    return broken === 0 ? undefined : broken - 1
  }

  /** Marks the ring broken by `thread`, which died holding its lock, and closes it. */
  break(thread: number): void {
    Atomics.store(this.cells, BROKEN, thread + 1)
    this.close()
  }

  /** Closes the ring and wakes everyone. */
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
