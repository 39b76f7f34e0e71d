/**
 * Claim cells: one Int32 for each task in flight on a worker, so that the
 * pool and the worker agree without a message on whether a task has started.
 * The pool writes the task's tag into a free cell when it sends the task
 * (`offer`). The worker claims the cell (tag to -tag) before it runs any of
 * the task's code (`claim`). Until then the pool may take the task back (tag
 * to 0, `takeBack`): to give it to an idle worker, or to run it elsewhere
 * when this worker is lost.
 *
 * A thread's cells live on shared memory (`SharedClaims`), and both sides use
 * compare-and-swap, so exactly one of them wins, and a task never runs twice
 * or not at all.
 *
 * A process shares no memory with the pool, so its cells live in a file
 * (`FileClaims`): the child writes each claim to it before the task runs, and
 * the pool reads the file only once the child is gone. So a task that had not
 * started when its process died runs elsewhere, as with a thread; but the
 * pool cannot take a task back from a live process (no work stealing).
 *
 * @internal
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

/** The pool's side of a worker's claim cells. */
export interface Claims {
  /** How many tasks may be in flight on the worker at once. */
  readonly size: number
  /** The pool sends task `id` in `cell`. */
  offer(cell: number, id: number): void
  /** Whether task `id` waits on its worker, sent but not started (a hint: the worker may start it at once). */
  isWaiting(cell: number, id: number): boolean
  /** The pool takes back task `id`: false if the worker has (or may have) started it. */
  takeBack(cell: number, id: number): boolean
}

/** A task's tag: a positive Int32 that differs between any two tasks that could share a cell. */
const tagOf = (id: number): number => (id % 0x3fffffff) + 1

/** A thread's claim cells, on a `SharedArrayBuffer` that both sides hold. */
export class SharedClaims implements Claims {
  readonly cells: Int32Array

  constructor(cells: Int32Array) {
    this.cells = cells
  }

  get size(): number {
    return this.cells.length
  }

  offer(cell: number, id: number): void {
    Atomics.store(this.cells, cell, tagOf(id))
  }

  isWaiting(cell: number, id: number): boolean {
    return Atomics.load(this.cells, cell) === tagOf(id)
  }

  takeBack(cell: number, id: number): boolean {
    const tag = tagOf(id)
    return Atomics.compareExchange(this.cells, cell, tag, 0) === tag
  }
}

/** The worker's side of claim cells: false if the pool took the task back first (then it must not run). */
export type Claim = (cell: number, id: number) => boolean

/** The claim of a thread worker, on the shared cells. */
export const sharedClaim =
  (cells: Int32Array): Claim =>
  (cell, id) => {
    const tag = tagOf(id)
    return Atomics.compareExchange(cells, cell, tag, -tag) === tag
  }

/**
 * A process's claim cells, in a file. The pool creates it, the child opens it
 * by path once, and the pool then unlinks the name (`forget`): both keep their
 * descriptors, so nothing is left behind however either side ends.
 */
export class FileClaims implements Claims {
  readonly size: number
  readonly path: string
  private fd: number
  /** The cells as the dead child left them: read once, after it exited. */
  private final: Int32Array | undefined = undefined

  constructor(size: number) {
    this.size = size
    this.path = Path.join(Os.tmpdir(), `strand-claims-${process.pid}-${Math.random().toString(36).slice(2)}`)
    this.fd = Fs.openSync(this.path, "w+", 0o600)
    Fs.writeSync(this.fd, new Uint8Array(4 * size))
  }

  /** The child has opened the file: its name is no longer needed. */
  forget(): void {
    Fs.rmSync(this.path, { force: true })
  }

  offer(): void {}

  /** Never: a live process may start any task it holds at any moment. */
  isWaiting(): boolean {
    return false
  }

  /** Only once the child has exited (`seal`): before, the pool cannot know. */
  takeBack(cell: number, id: number): boolean {
    return this.final !== undefined && this.final[cell] !== -tagOf(id)
  }

  /** The child has exited: read what it claimed, and close the file. */
  seal(): void {
    if (this.fd < 0) return
    const bytes = new Uint8Array(4 * this.size)
    try {
      Fs.readSync(this.fd, bytes, 0, bytes.length, 0)
      this.final = new Int32Array(bytes.buffer)
    } catch {
      // Unreadable: every task counts as started, so none runs twice.
    }
    Fs.closeSync(this.fd)
    this.fd = -1
    this.forget()
  }
}

/** The claim of a process worker: written to the claims file before the task runs. */
export const fileClaim = (path: string): Claim => {
  const fd = Fs.openSync(path, "r+")
  const cell = new Int32Array(1)
  return (index, id) => {
    cell[0] = -tagOf(id)
    Fs.writeSync(fd, cell, 0, 4, 4 * index)
    return true
  }
}
