/**
 * How a caller spreads tasks over runners. Tasks go to virtual slots (the
 * entity ids `slot-0` … `slot-{n-1}`); Effect Cluster hashes each slot to a
 * shard, and each shard lives on one runner. The router learns which runner
 * holds each slot (from every reply, and from a probe of every slot) and
 * sends new work to a slot of the runner with the least work in flight from
 * this caller. A task with a key always goes to the slot its key hashes to.
 *
 * @internal
 */

/** @internal */
export class Router {
  private readonly runnerOf: Array<string | undefined>
  private readonly load: Array<number>
  private cursor = 0
  readonly slots: number

  constructor(slots: number) {
    this.slots = slots
    this.runnerOf = new Array(slots).fill(undefined)
    this.load = new Array(slots).fill(0)
  }

  static id(slot: number): string {
    return `slot-${slot}`
  }

  /** The slot for `weight` more inputs, counted in flight until `done`. */
  pick(key: string | undefined, weight: number): number {
    const slot = key === undefined ? this.leastLoaded() : hash(key) % this.slots
    this.load[slot]! += weight
    return slot
  }

  done(slot: number, weight: number, runner: string | undefined): void {
    this.load[slot]! -= weight
    if (runner !== undefined) this.runnerOf[slot] = runner
  }

  learn(slot: number, runner: string): void {
    this.runnerOf[slot] = runner
  }

  /** The runners seen so far. */
  runners(): ReadonlySet<string> {
    return new Set(this.runnerOf.filter((runner): runner is string => runner !== undefined))
  }

  private leastLoaded(): number {
    const byRunner = new Map<string, number>()
    for (let slot = 0; slot < this.slots; slot++) {
      const runner = this.runnerOf[slot]
      if (runner !== undefined) byRunner.set(runner, (byRunner.get(runner) ?? 0) + this.load[slot]!)
    }
    let best = this.cursor
    let bestLoad = Number.POSITIVE_INFINITY
    for (let step = 0; step < this.slots; step++) {
      const slot = (this.cursor + step) % this.slots
      const runner = this.runnerOf[slot]
      const load = runner === undefined ? this.load[slot]! : byRunner.get(runner)!
      if (load < bestLoad) {
        best = slot
        bestLoad = load
        if (load === 0) break
      }
    }
    // The next pick starts here: sequential calls stay on one warm slot, concurrent ones spread.
    this.cursor = best
    return best
  }
}

/** FNV-1a: a stable hash of a key, the same in every process. */
const hash = (key: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}
