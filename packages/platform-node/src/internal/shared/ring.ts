/**
 * A bounded ring of byte records in shared memory, behind a lock: what a
 * `SharedChannel` moves its encoded items through. Every operation here is
 * synchronous and runs holding the ring's lock; waiting is the caller's.
 *
 * Cells, then the data from byte `DATA`: the lock (2), the items held, the
 * read and write offsets, the bytes used, the closed flag, a count of sends
 * (receivers sleep on it), a count of receives (senders sleep on it), the
 * capacity in items and in bytes. A record is a 4-byte length, then the bytes,
 * wrapping around the end of the data.
 *
 * @internal
 */

export const ITEMS = 2
const READ = 3
const WRITE = 4
const USED = 5
export const CLOSED = 6
export const SENT = 7
export const RECEIVED = 8
const CAPACITY = 9
const BYTES = 10

const DATA = 64

/** A new ring's buffer. */
export const allocateRing = (capacity: number, bytes: number): SharedArrayBuffer => {
  const buffer = new SharedArrayBuffer(DATA + bytes)
  const cells = new Int32Array(buffer, 0, DATA / 4)
  cells[CAPACITY] = capacity
  cells[BYTES] = bytes
  return buffer
}

/** The ring on `buffer`. */
export class Ring {
  readonly cells: Int32Array
  private readonly data: Uint8Array
  readonly capacity: number
  readonly bytes: number

  readonly buffer: SharedArrayBuffer
  constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer
    this.cells = new Int32Array(buffer, 0, DATA / 4)
    this.capacity = this.cells[CAPACITY]!
    this.bytes = this.cells[BYTES]!
    this.data = new Uint8Array(buffer, DATA, this.bytes)
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
  put(records: ReadonlyArray<Uint8Array>, from: number): number {
    let put = 0
    let items = this.cells[ITEMS]!
    let used = this.cells[USED]!
    let write = this.cells[WRITE]!
    for (let i = from; i < records.length && items < this.capacity; i++) {
      const record = records[i]!
      const need = 4 + record.length
      if (used + need > this.bytes) break
      const length = record.length
      for (let b = 0; b < 4; b++) {
        this.data[write] = (length >>> (8 * b)) & 0xff
        write = write + 1 === this.bytes ? 0 : write + 1
      }
      const first = Math.min(length, this.bytes - write)
      this.data.set(first === length ? record : record.subarray(0, first), write)
      if (first < length) this.data.set(record.subarray(first), 0)
      write = (write + length) % this.bytes
      used += need
      items++
      put++
    }
    if (put > 0) {
      this.cells[WRITE] = write
      this.cells[USED] = used
      Atomics.store(this.cells, ITEMS, items)
      Atomics.add(this.cells, SENT, 1)
      Atomics.notify(this.cells, SENT, put)
    }
    return put
  }

  /** Takes up to `max` records (copies, so that they outlive the ring's reuse). Wakes senders if it took any. */
  take(max: number): Array<Uint8Array> {
    const taken: Array<Uint8Array> = []
    let items = this.cells[ITEMS]!
    let used = this.cells[USED]!
    let read = this.cells[READ]!
    while (items > 0 && taken.length < max) {
      let length = 0
      for (let b = 0; b < 4; b++) {
        length |= this.data[read]! << (8 * b)
        read = read + 1 === this.bytes ? 0 : read + 1
      }
      const record = new Uint8Array(length)
      const first = Math.min(length, this.bytes - read)
      record.set(this.data.subarray(read, read + first))
      if (first < length) record.set(this.data.subarray(0, length - first), first)
      read = (read + length) % this.bytes
      used -= 4 + length
      items--
      taken.push(record)
    }
    if (taken.length > 0) {
      this.cells[READ] = read
      this.cells[USED] = used
      Atomics.store(this.cells, ITEMS, items)
      Atomics.add(this.cells, RECEIVED, 1)
      Atomics.notify(this.cells, RECEIVED)
    }
    return taken
  }

  /** Closes the ring and wakes everyone. */
  close(): void {
    Atomics.store(this.cells, CLOSED, 1)
    Atomics.add(this.cells, SENT, 1)
    Atomics.add(this.cells, RECEIVED, 1)
    Atomics.notify(this.cells, SENT)
    Atomics.notify(this.cells, RECEIVED)
  }

  /** The largest record that can ever fit. */
  get largest(): number {
    return this.bytes - 4
  }
}
