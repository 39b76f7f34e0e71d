/**
 * The diagnostics tracker: who holds and who waits for every tracked
 * primitive, the wait-for graph that breaks deadlocks, the learned lock order
 * that warns of inversions, and the dump. Wait and hold times are counted in
 * `figures.ts`.
 *
 * Primitives made while a tracker is in context report to it; all other
 * primitives pay nothing but a check for `undefined`.
 *
 * @internal
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import { DeadlockDetected, type DeadlockEdge } from "./errors.ts"
import { type Figures, figuresOf } from "./figures.ts"

/** A primitive the tracker follows. */
export interface Resource {
  /** `Lock "accounts"`, or `Lock #3` when it has no name. */
  readonly label: string
  /** Named resources take part in lock-order checking. */
  readonly named: boolean
  /** Fibers holding it (for a semaphore, every fiber holding permits). */
  holders(): ReadonlyArray<number>
  /** Its wait and hold times, set by the tracker at its first wait or release. */
  figures: Figures | undefined
  /**
   * Declared (undefined while free) by a primitive that one fiber holds at a
   * time, a lock. If it is unnamed, the tracker keeps its hold here rather
   * than in the holder's list of holds, which only lock order needs, and
   * only named primitives take part in lock order.
   */
  hold?: Hold | undefined
  /** The last hold of such a lock, rewritten for its next holder: a hold allocates nothing. */
  spareHold?: Hold | undefined
}

/** Something the tracker noticed. */
export interface Report {
  readonly _tag: "Deadlock" | "LockOrderInversion" | "Starvation" | "EventLoopBlocked" | "Stuck"
  readonly message: string
}

/** Options of a tracker. */
export interface TrackerOptions {
  readonly starvationThresholdMillis: number
  readonly onReport: (report: Report) => void
}

/** The most fibers kept in `Tracker.holds` with nothing held, before they are dropped. */
const MAX_EMPTIED = 1024

/**
 * Where a fiber was when it took or waited for a primitive: the name of the
 * innermost `Effect.fn` and its line, or the fiber's id. Only a report or a
 * dump reads it, so it is written out then, not on every acquire.
 */
class Site {
  protected frame: Fiber.Fiber<unknown, unknown>["cache"]["stackFrame"]
  fiberId: number
  protected text: string | undefined = undefined

  constructor(fiber: Fiber.Fiber<unknown, unknown>) {
    this.frame = fiber.cache.stackFrame
    this.fiberId = fiber.id
  }

  toString(): string {
    this.text ??= this.write()
    return this.text
  }

  private write(): string {
    const frame = this.frame
    if (frame === undefined) return `fiber #${this.fiberId} (trace with Effect.fn("name") to see where)`
    const line = frame
      .stack()
      ?.split("\n")
      .find((l) => l.includes("at ") && !l.includes("node_modules"))
    return line === undefined ? frame.name : `${frame.name} ${line.trim()}`
  }
}

/**
 * A fiber holds `resource`, taken at this site at `since`: one object, made on
 * every acquire, except for an unnamed lock, which rewrites its last one
 * (`retake`). Nothing keeps a hold past its release: a dump or a report
 * writes out its site at once.
 */
export class Hold extends Site {
  readonly resource: Resource
  since: number

  constructor(fiber: Fiber.Fiber<unknown, unknown>, resource: Resource, since: number) {
    super(fiber)
    this.resource = resource
    this.since = since
  }

  /** The same resource, taken again, by `fiber` at `since`. */
  retake(fiber: Fiber.Fiber<unknown, unknown>, since: number): this {
    this.frame = fiber.cache.stackFrame
    this.fiberId = fiber.id
    this.text = undefined
    this.since = since
    return this
  }
}

/** A fiber waits for `resource`, from this site, since `since`. */
class Wait extends Hold {
  warned = false
}

/** @internal */
export class Tracker {
  readonly options: TrackerOptions
  readonly waiting = new Map<number, Wait>()
  readonly holds = new Map<number, Array<Hold>>()
  /**
   * How many fibers in `holds` hold nothing now. They are dropped in bulk: a
   * Map that loses a key and gets it back on every acquire rehashes its table
   * over and over, which cost more than the rest of the tracking.
   */
  private emptied = 0
  /** Lock order learned so far: `a` then `b`, with where it was seen. */
  readonly order = new Map<Resource, Map<Resource, string>>()
  readonly reported = new Set<string>()
  readonly resources = new Set<WeakRef<Resource>>()
  readonly reports: Array<Report> = []
  nextId = 1

  constructor(options: TrackerOptions) {
    this.options = options
  }

  register(resource: Resource): void {
    this.resources.add(new WeakRef(resource))
  }

  label(kind: string, name: string | undefined): string {
    return name === undefined ? `${kind} #${this.nextId++}` : `${kind} "${name}"`
  }

  report(report: Report): void {
    this.reports.push(report)
    this.options.onReport(report)
  }

  /**
   * Called before `fiber` parks on `resource`. If the wait would close a
   * cycle in the wait-for graph, returns the typed error that breaks it;
   * otherwise records the wait.
   */
  beforeWait(fiber: Fiber.Fiber<unknown, unknown>, resource: Resource): DeadlockDetected | undefined {
    const wait = new Wait(fiber, resource, performance.now())
    // Lockdep learns the order from every attempt, even one that never gets the lock.
    this.learnOrder(fiber, resource, wait)
    const cycle = this.cycleFrom(fiber.id, resource)
    if (cycle !== undefined) {
      const error = new DeadlockDetected({ cycle })
      this.report({ _tag: "Deadlock", message: error.message })
      return error
    }
    this.waiting.set(fiber.id, wait)
    return undefined
  }

  /** Records a wait without the deadlock check, for a waiter that cannot be refused. */
  recordWait(fiber: Fiber.Fiber<unknown, unknown>, resource: Resource): void {
    this.waiting.set(fiber.id, new Wait(fiber, resource, performance.now()))
  }

  /**
   * The edges of a cycle from `fiberId` through `resource` back to it, if
   * every holder on the way is itself waiting (for a semaphore, all of its
   * holders must lead back, since any one of them could release).
   */
  private cycleFrom(fiberId: number, resource: Resource): Array<DeadlockEdge> | undefined {
    const visiting = new Set<number>()
    const walk = (waiter: number, wanted: Resource): Array<DeadlockEdge> | undefined => {
      const holders = wanted.holders()
      if (holders.length === 0) return undefined
      let path: Array<DeadlockEdge> | undefined
      for (const holder of holders) {
        const edge: DeadlockEdge = {
          fiber: waiter,
          waitsFor: wanted.label,
          heldBy: holder,
          acquiredAt: this.holdOf(holder, wanted)?.toString() ?? "unknown"
        }
        if (holder === fiberId) {
          path ??= [edge]
          continue
        }
        const next = this.waiting.get(holder)
        if (next === undefined || visiting.has(holder)) return undefined
        visiting.add(holder)
        const rest = walk(holder, next.resource)
        visiting.delete(holder)
        if (rest === undefined) return undefined
        path ??= [edge, ...rest]
      }
      return path
    }
    return walk(fiberId, resource)
  }

  private holdOf(fiberId: number, resource: Resource): Hold | undefined {
    if (resource.hold?.fiberId === fiberId) return resource.hold
    return this.holds.get(fiberId)?.find((h) => h.resource === resource)
  }

  /** The wait of `fiberId` ended (granted, timed out or interrupted). */
  doneWaiting(fiber: Fiber.Fiber<unknown, unknown>): void {
    const wait = this.waiting.get(fiber.id)
    if (wait === undefined) return
    this.waiting.delete(fiber.id)
    const waited = performance.now() - wait.since
    figuresOf(wait.resource, fiber.context).wait.add(waited)
    if (!wait.warned && waited > this.options.starvationThresholdMillis) this.starved(fiber.id, wait, waited)
  }

  private starved(fiberId: number, wait: Wait, waited: number): void {
    wait.warned = true
    this.report({
      _tag: "Starvation",
      message:
        `fiber #${fiberId} has waited ${waited.toFixed(0)} ms for ${wait.resource.label} ` +
        `(threshold ${this.options.starvationThresholdMillis} ms), at ${wait}`
    })
  }

  /** Warns once for every waiter that has waited past the threshold. */
  sweep(): void {
    const now = performance.now()
    for (const [fiberId, wait] of this.waiting) {
      if (!wait.warned && now - wait.since > this.options.starvationThresholdMillis) {
        this.starved(fiberId, wait, now - wait.since)
      }
    }
  }

  /** `fiber` now holds `resource`; learns the lock order and warns of an inversion. */
  acquired(fiber: Fiber.Fiber<unknown, unknown>, resource: Resource): void {
    // An unnamed lock keeps its one hold itself: no list to find, grow and shrink on every hold.
    if (!resource.named && "hold" in resource) {
      const spare = resource.spareHold
      resource.spareHold = undefined
      resource.hold = spare?.retake(fiber, performance.now()) ?? new Hold(fiber, resource, performance.now())
      return
    }
    const hold = new Hold(fiber, resource, performance.now())
    this.learnOrder(fiber, resource, hold)
    const held = this.holds.get(fiber.id)
    if (held === undefined) {
      this.holds.set(fiber.id, [hold])
    } else {
      if (held.length === 0) this.emptied--
      held.push(hold)
    }
  }

  private learnOrder(fiber: Fiber.Fiber<unknown, unknown>, resource: Resource, site: Site): void {
    if (!resource.named) return
    for (const before of this.holds.get(fiber.id) ?? []) {
      if (!before.resource.named || before.resource === resource) continue
      this.learn(before, resource, site)
    }
  }

  private learn(before: Hold, second: Resource, site: Site): void {
    const first = before.resource
    const edges = this.order.get(first) ?? new Map<Resource, string>()
    this.order.set(first, edges)
    if (edges.has(second)) return
    const where = `${before}, then ${site}`
    edges.set(second, where)
    const reverse = this.orderPath(second, first)
    if (reverse === undefined) return
    const key = [first.label, second.label].sort().join("\u0000")
    if (this.reported.has(key)) return
    this.reported.add(key)
    this.report({
      _tag: "LockOrderInversion",
      message:
        `possible deadlock: ${first.label} is taken before ${second.label} (${where}), ` +
        `but ${second.label} before ${first.label} elsewhere (${reverse}). Take them in one order everywhere.`
    })
  }

  /** Where `from` was seen before `to`, directly or through other locks. */
  private orderPath(from: Resource, to: Resource, seen = new Set<Resource>()): string | undefined {
    const edges = this.order.get(from)
    if (edges === undefined || seen.has(from)) return undefined
    seen.add(from)
    const direct = edges.get(to)
    if (direct !== undefined) return direct
    for (const [next, where] of edges) {
      const rest = this.orderPath(next, to, seen)
      if (rest !== undefined) return `${where}; ${rest}`
    }
    return undefined
  }

  /** `fiberId` no longer holds `resource`. */
  released(fiberId: number, resource: Resource, context: Context.Context<never>): void {
    const own = resource.hold
    if (own !== undefined && own.fiberId === fiberId) {
      resource.hold = undefined
      resource.spareHold = own
      figuresOf(resource, context).hold.add(performance.now() - own.since)
      return
    }
    const held = this.holds.get(fiberId)
    if (held === undefined) return
    // Holds are mostly released in the reverse order of their taking: search from the end.
    let index = held.length - 1
    while (index >= 0 && held[index]!.resource !== resource) index--
    if (index < 0) return
    const hold = held[index]!
    if (index === held.length - 1) held.pop()
    else held.splice(index, 1)
    if (held.length === 0 && ++this.emptied > MAX_EMPTIED) this.dropEmptied()
    figuresOf(resource, context).hold.add(performance.now() - hold.since)
  }

  private dropEmptied(): void {
    for (const [fiberId, held] of this.holds) if (held.length === 0) this.holds.delete(fiberId)
    this.emptied = 0
  }

  /** A thread-dump of every live tracked primitive: holders and waiters. */
  dump(): string {
    const now = performance.now()
    const lines: Array<string> = []
    for (const ref of this.resources) {
      const resource = ref.deref()
      if (resource === undefined) {
        this.resources.delete(ref)
        continue
      }
      const holders = resource.holders()
      const waiters = Array.from(this.waiting).filter(([, w]) => w.resource === resource)
      if (holders.length === 0 && waiters.length === 0) {
        lines.push(`${resource.label}: free`)
        continue
      }
      lines.push(`${resource.label}:`)
      for (const holder of holders) {
        const hold = this.holdOf(holder, resource)
        const since = hold === undefined ? "" : ` for ${(now - hold.since).toFixed(0)} ms, acquired at ${hold}`
        lines.push(`  held by fiber #${holder}${since}`)
      }
      const longest = waiters.reduce<number | undefined>((m, [, w]) => Math.max(m ?? 0, now - w.since), undefined)
      for (const [fiberId, wait] of waiters) {
        const mark = now - wait.since === longest ? " (longest)" : ""
        lines.push(`  waited on by fiber #${fiberId} for ${(now - wait.since).toFixed(0)} ms${mark}, at ${wait}`)
      }
    }
    return lines.length === 0 ? "no tracked Strand primitives are alive" : lines.join("\n")
  }
}

/**
 * The one tracked wait of every primitive: `fiber` parks on `resource` with
 * `wait`, which succeeds with whether it was granted. Untracked, it is `wait`
 * itself. Tracked, a wait that would close a deadlock fails at once with
 * `DeadlockDetected` (or, for a waiter that cannot be refused, such as a
 * `Condition` waiter taking its lock back, is recorded all the same, so that
 * other fibers see the cycle); the tracker hears when the wait ends, and
 * `granted` runs if it was granted.
 *
 * @internal
 */
export const trackWait = (
  tracker: Tracker | undefined,
  fiber: Fiber.Fiber<unknown, unknown>,
  resource: Resource,
  wait: Effect.Effect<boolean>,
  granted: () => void,
  refusable = true
): Effect.Effect<boolean, DeadlockDetected> => {
  if (tracker === undefined) return wait
  const deadlock = tracker.beforeWait(fiber, resource)
  if (deadlock !== undefined) {
    if (refusable) return Effect.fail(deadlock)
    tracker.recordWait(fiber, resource)
  }
  return Effect.onExit(wait, (exit) =>
    Effect.sync(() => {
      tracker.doneWaiting(fiber)
      if (Exit.isSuccess(exit) && exit.value) granted()
    })
  )
}

/**
 * The tracker in context; primitives made while it is set report to it.
 *
 * @internal
 */
export const CurrentTracker = Context.Reference<Tracker | undefined>("@strand/core/Diagnostics/CurrentTracker", {
  defaultValue: () => undefined
})
