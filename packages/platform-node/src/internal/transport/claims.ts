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
 * (`FileClaims`), which the pool reads only once the child is gone. So a task
 * that had not started when its process died runs elsewhere, as with a
 * thread; but the pool cannot take a task back from a live process (no work
 * stealing). The child writes a claim to the file before the task runs,
 * except for a task that starts alone: nothing else in flight on the child,
 * and every reply it made already handed to the IPC channel. Such a task is
 * the oldest one the pool still has in flight on that child (every task sent
 * before it has replied), so the pool counts the oldest unclaimed task of a
 * dead child as started, and only the others as not. That spares the write
 * (2-4 µs) in each one-at-a-time round trip. Whenever the child ends in
 * JavaScript (`process.exit`, an uncaught exception, the end of its event
 * loop), its exit handler writes every claim and marks the file exact; only
 * a death without JavaScript (a signal, a fatal error) leaves the oldest task
 * counted as started whether or not it had.
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
  /**
   * The pool takes back task `id`: false if the worker has (or may have) started it. `oldest`
   * says that no task sent to the worker before it is still in flight.
   */
  takeBack(cell: number, id: number, oldest: boolean): boolean
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

/**
 * The worker's side of claim cells: false if the pool took the task back first (then it must not
 * run). `alone` says that nothing else is in flight on the worker and no reply waits in its outbox.
 */
export type Claim = (cell: number, id: number, alone: boolean) => boolean

/** The claim of a thread worker, on the shared cells. */
export const sharedClaim =
  (cells: Int32Array): Claim =>
  (cell, id) => {
    const tag = tagOf(id)
    return Atomics.compareExchange(cells, cell, tag, -tag) === tag
  }

/** The last Int32 of a claims file: the child wrote every claim on its way out. */
const EXACT = 1

/**
 * A process's claim cells, in a file: one Int32 a cell, then one that says
 * whether the child wrote them all as it exited (`EXACT`). The pool creates
 * it, the child opens it by path once, and the pool then unlinks the name
 * (`forget`): both keep their descriptors, so nothing is left behind however
 * either side ends.
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
    Fs.writeSync(this.fd, new Uint8Array(4 * (size + 1)))
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

  /**
   * Only once the child has exited (`seal`): before, the pool cannot know. The oldest task in
   * flight may have started without a claim written, unless the child wrote them all on exit.
   */
  takeBack(cell: number, id: number, oldest: boolean): boolean {
    const final = this.final
    if (final === undefined || final[cell] === -tagOf(id)) return false
    return !oldest || final[this.size] === EXACT
  }

  /** The child has exited: read what it claimed, and close the file. */
  seal(): void {
    if (this.fd < 0) return
    const bytes = new Uint8Array(4 * (this.size + 1))
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

/**
 * The claim of a process worker. Claims are kept in memory and written to the
 * claims file before the task runs, unless it starts `alone` and every reply
 * sent so far has been written to the IPC channel (`allSent`); see the top of
 * this module. The exit handler writes them all, marked exact.
 */
export const fileClaim = (path: string, allSent: () => boolean): Claim => {
  const fd = Fs.openSync(path, "r+")
  const cells = new Int32Array(Fs.fstatSync(fd).size / 4)
  const write = () => Fs.writeSync(fd, cells, 0, cells.byteLength, 0)
  process.on("exit", () => {
    cells[cells.length - 1] = EXACT
    try {
      write()
    } catch {
      // Then the pool counts the oldest task as started, as after a signal.
    }
  })
  return (index, id, alone) => {
    cells[index] = -tagOf(id)
    if (!alone || !allSent()) write()
    return true
  }
}
