import { assert, describe, it } from "@effect/vitest"
import { BoundedSemaphore, Condition, CountDownLatch, Diagnostics, Lock, RLock } from "@strand/core"
import { Cause, Deferred, Effect, Exit, Fiber, Metric, Option, Schema } from "effect"

/** A layer whose reports are collected instead of printed. */
const collecting = () => {
  const reports: Array<Diagnostics.Report> = []
  const handle = Diagnostics.makeUnsafe({ onReport: (report) => reports.push(report) })
  return { reports, handle }
}

const deadlockOf = <A, E>(exit: Exit.Exit<A, E>) => {
  if (Exit.isSuccess(exit)) return undefined
  const error = Option.getOrUndefined(Cause.findErrorOption(exit.cause)) as { _tag?: string } | undefined
  return error?._tag === "DeadlockDetected" ? (error as Diagnostics.DeadlockDetected) : undefined
}

/** `n` fibers in a ring: fiber i holds lock i, then waits for lock i+1. */
const ring = (n: number) =>
  Effect.gen(function* () {
    const locks = yield* Effect.forEach(
      Array.from({ length: n }, (_, i) => i),
      (i) => Lock.make({ name: `lock${i}` })
    )
    const holding = yield* CountDownLatch.make(n)
    const fiber = (i: number) =>
      Lock.withLock(
        locks[i]!,
        Effect.gen(function* () {
          yield* CountDownLatch.countDown(holding)
          yield* CountDownLatch.await(holding)
          yield* Lock.withLock(locks[(i + 1) % n]!, Effect.void)
        })
      )
    return yield* Effect.all(
      locks.map((_, i) => Effect.exit(fiber(i))),
      { concurrency: "unbounded" }
    )
  })

describe("Diagnostics", () => {
  for (const n of [2, 3, 8, 32]) {
    it.effect(`detects a cycle of ${n} fibers and breaks it by failing one wait`, () =>
      Effect.gen(function* () {
        const { reports, handle } = collecting()
        const exits = yield* ring(n).pipe(Effect.provide(handle.layer))
        const deadlocks = exits.map(deadlockOf).filter((d) => d !== undefined)
        assert.strictEqual(deadlocks.length, 1)
        assert.strictEqual(deadlocks[0]!.cycle.length, n)
        assert.strictEqual(exits.filter(Exit.isSuccess).length, n - 1)
        assert.include(deadlocks[0]!.message, `a cycle of ${n}`)
        assert.isTrue(reports.some((r) => r._tag === "Deadlock"))
      })
    )
  }

  it.effect("the opposite-order example reports its cycle and the lock-order inversion", () =>
    Effect.gen(function* () {
      const { reports, handle } = collecting()
      const exits = yield* Effect.gen(function* () {
        const a = yield* Lock.make({ name: "a" })
        const b = yield* Lock.make({ name: "b" })
        const both = yield* CountDownLatch.make(2)
        const take = (first: Lock.Lock, second: Lock.Lock) =>
          Lock.withLock(
            first,
            Effect.andThen(
              Effect.andThen(CountDownLatch.countDown(both), CountDownLatch.await(both)),
              Lock.withLock(second, Effect.void)
            )
          )
        return yield* Effect.all([Effect.exit(take(a, b)), Effect.exit(take(b, a))], { concurrency: 2 })
      }).pipe(Effect.provide(handle.layer))
      const deadlock = exits.map(deadlockOf).find((d) => d !== undefined)
      assert.isDefined(deadlock)
      assert.include(deadlock!.message, 'Lock "a"')
      assert.include(deadlock!.message, 'Lock "b"')
      assert.isTrue(reports.some((r) => r._tag === "LockOrderInversion"))
    })
  )

  it.effect("reports a lock-order inversion even when no deadlock happens", () =>
    Effect.gen(function* () {
      const { reports, handle } = collecting()
      yield* Effect.gen(function* () {
        const a = yield* Lock.make({ name: "a" })
        const b = yield* Lock.make({ name: "b" })
        yield* Lock.withLock(a, Lock.withLock(b, Effect.void))
        yield* Lock.withLock(b, Lock.withLock(a, Effect.void))
      }).pipe(Effect.provide(handle.layer))
      const inversions = reports.filter((r) => r._tag === "LockOrderInversion")
      assert.strictEqual(inversions.length, 1)
      assert.include(inversions[0]!.message, 'Lock "b" is taken before Lock "a"')
      assert.include(inversions[0]!.message, 'but Lock "a" before Lock "b" elsewhere')
      assert.isFalse(reports.some((r) => r._tag === "Deadlock"))
    })
  )

  it.effect("a cycle through a BoundedSemaphore and a Lock is detected", () =>
    Effect.gen(function* () {
      const { handle } = collecting()
      const exits = yield* Effect.gen(function* () {
        const sem = yield* BoundedSemaphore.make(1, { name: "pool" })
        const lock = yield* RLock.make({ name: "table" })
        const both = yield* CountDownLatch.make(2)
        const ready = Effect.andThen(CountDownLatch.countDown(both), CountDownLatch.await(both))
        const left = BoundedSemaphore.withPermits(sem, 1, Effect.andThen(ready, RLock.withLock(lock, Effect.void)))
        const right = RLock.withLock(lock, Effect.andThen(ready, BoundedSemaphore.withPermits(sem, 1, Effect.void)))
        return yield* Effect.all([Effect.exit(left), Effect.exit(right)], { concurrency: 2 })
      }).pipe(Effect.provide(handle.layer))
      assert.strictEqual(exits.map(deadlockOf).filter((d) => d !== undefined).length, 1)
      assert.strictEqual(exits.filter(Exit.isSuccess).length, 1)
    })
  )

  it.effect.prop(
    "schedules that take locks in one global order raise no false positive",
    [
      Schema.Array(
        Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 4 }))).check(Schema.isMaxLength(4))
      ).check(Schema.isMaxLength(12))
    ],
    ([plans]) =>
      Effect.gen(function* () {
        const { reports, handle } = collecting()
        const exits = yield* Effect.gen(function* () {
          const locks = yield* Effect.forEach([0, 1, 2, 3, 4], (i) => Lock.make({ name: `l${i}` }))
          const run = (plan: ReadonlyArray<number>) => {
            // Ascending order, each lock at most once: the classic way to rule deadlock out.
            const order = [...new Set(plan)].sort((x, y) => x - y)
            return order.reduceRight<Effect.Effect<void, unknown>>(
              (inner, i) => Lock.withLock(locks[i]!, Effect.andThen(Effect.yieldNow, inner)),
              Effect.yieldNow
            )
          }
          return yield* Effect.all(
            plans.map((plan) => Effect.exit(run(plan))),
            { concurrency: "unbounded" }
          )
        }).pipe(Effect.provide(handle.layer))
        assert.isTrue(exits.every(Exit.isSuccess))
        assert.deepStrictEqual(reports, [])
      })
  )

  it.live("a waiter past the starvation threshold is reported while it waits", () =>
    Effect.gen(function* () {
      const starved = yield* Deferred.make<string>()
      const handle = Diagnostics.makeUnsafe({
        starvationThreshold: "30 millis",
        onReport: (report) => {
          if (report._tag === "Starvation") Deferred.doneUnsafe(starved, Effect.succeed(report.message))
        }
      })
      const message = yield* Effect.gen(function* () {
        const lock = yield* Lock.make({ name: "hot" })
        yield* lock.acquire
        const waiter = yield* Effect.forkChild(lock.acquire)
        const message = yield* Deferred.await(starved)
        yield* lock.release
        yield* Fiber.join(waiter)
        return message
      }).pipe(Effect.provide(handle.layer))
      assert.include(message, 'Lock "hot"')
    })
  )

  it.effect("the dump shows holders and waiters, and wait times are recorded as metrics", () =>
    Effect.gen(function* () {
      const { handle } = collecting()
      yield* Effect.gen(function* () {
        const lock = yield* Lock.make({ name: "accounts" })
        const cond = yield* Condition.make({ lock })
        const condWaiter = yield* Effect.forkChild(Condition.withLock(cond, Condition.wait(cond)))
        yield* Effect.yieldNow
        yield* lock.acquire
        const waiter = yield* Effect.forkChild(Lock.withLock(lock, Effect.void))
        yield* Effect.yieldNow
        const dump = yield* Diagnostics.dump
        assert.match(dump, /Lock "accounts":\n {2}held by fiber #\d+ for \d+ ms, acquired at /)
        assert.match(dump, new RegExp(`waited on by fiber #${waiter.id} for \\d+ ms \\(longest\\)`))
        assert.match(dump, new RegExp(`Condition on Lock "accounts":\\n {2}waited on by fiber #${condWaiter.id}`))
        yield* lock.release
        yield* Fiber.join(waiter)
        yield* Fiber.interrupt(condWaiter)
        const waits = yield* Metric.value(
          Metric.withAttributes(Diagnostics.metrics.waitTime, { primitive: 'Lock "accounts"' })
        )
        assert.isAtLeast(waits.count, 1)
      }).pipe(Effect.provide(handle.layer))
    })
  )

  it.effect("a hold taken inside Effect.fn is shown at its name in the dump", () =>
    Effect.gen(function* () {
      const { handle } = collecting()
      yield* Effect.gen(function* () {
        const lock = yield* Lock.make({ name: "ledger" })
        const transfer = Effect.fn("transfer")(function* () {
          yield* lock.acquire
        })
        yield* transfer()
        assert.match(yield* Diagnostics.dump, /Lock "ledger":\n {2}held by fiber #\d+ for \d+ ms, acquired at transfer/)
        yield* lock.release
      }).pipe(Effect.provide(handle.layer))
    })
  )

  it.effect("holds stay exact across thousands of fibers and out-of-order releases", () =>
    Effect.gen(function* () {
      const { handle } = collecting()
      yield* Effect.gen(function* () {
        const first = yield* Lock.make({ name: "first" })
        const second = yield* Lock.make({ name: "second" })
        // More fibers than the tracker keeps with nothing held, so that it drops them in bulk.
        yield* Effect.forEach(Array.from({ length: 3_000 }), () => Lock.withLock(first, Effect.void), {
          concurrency: 8,
          discard: true
        })
        // One fiber takes both, gives back the first one first, then takes it again.
        yield* first.acquire
        yield* second.acquire
        yield* first.release
        yield* first.acquire
        const dump = yield* Diagnostics.dump
        assert.match(dump, /Lock "first":\n {2}held by fiber #\d+ for \d+ ms, acquired at /)
        assert.match(dump, /Lock "second":\n {2}held by fiber #\d+ for \d+ ms, acquired at /)
        yield* second.release
        yield* first.release
        const after = yield* Diagnostics.dump
        assert.include(after, 'Lock "first": free')
        assert.include(after, 'Lock "second": free')
        const holds = yield* Metric.value(
          Metric.withAttributes(Diagnostics.metrics.holdTime, { primitive: 'Lock "first"' })
        )
        assert.strictEqual(holds.count, 3_002)
      }).pipe(Effect.provide(handle.layer))
    })
  )

  it.effect("a primitive's hold times are counted in the registry it was first used in, bucketed as Effect does", () =>
    Effect.gen(function* () {
      const { handle } = collecting()
      const registry: Metric.MetricRegistry = new Map()
      const primitive = 'Lock "registered"'
      const holds = yield* Effect.gen(function* () {
        const lock = yield* Lock.make({ name: "registered" })
        // A hold of at least 1 ms (a busy loop, not a sleep), then one as short as it gets.
        yield* Lock.withLock(
          lock,
          Effect.sync(() => {
            const end = performance.now() + 1
            while (performance.now() < end) {}
          })
        )
        yield* Lock.withLock(lock, Effect.void)
        return yield* Metric.value(Metric.withAttributes(Diagnostics.metrics.holdTime, { primitive }))
      }).pipe(Effect.provide(handle.layer), Effect.provideService(Metric.MetricRegistry, registry))
      assert.strictEqual(holds.count, 2)
      assert.isAtLeast(holds.max, 1)
      // Effect's own histogram, given the same two values, holds the same state.
      const same = Metric.histogram("same", { boundaries: holds.buckets.map(([boundary]) => boundary) })
      const expected = yield* Effect.gen(function* () {
        yield* Metric.update(same, holds.min)
        yield* Metric.update(same, holds.max)
        return yield* Metric.value(same)
      }).pipe(Effect.provideService(Metric.MetricRegistry, new Map()))
      assert.deepStrictEqual(holds, expected)
      // The series lives in that registry only.
      const global = yield* Metric.snapshot
      assert.isFalse(global.some((series) => series.attributes?.primitive === primitive))
      assert.isTrue([...registry.values()].some((series) => series.attributes?.primitive === primitive))
    })
  )

  it.effect("an unnamed lock keeps its holder's site and its hold times, as a named one does", () =>
    Effect.gen(function* () {
      const { handle } = collecting()
      yield* Effect.gen(function* () {
        // A ring of two unnamed locks: the cycle names the site where each holder took its lock.
        const [a, b] = [yield* Lock.make(), yield* Lock.make()]
        const holding = yield* CountDownLatch.make(2)
        const take = Effect.fn("take")(function* (first: Lock.Lock, second: Lock.Lock) {
          yield* Lock.withLock(
            first,
            Effect.gen(function* () {
              yield* CountDownLatch.countDown(holding)
              yield* CountDownLatch.await(holding)
              yield* Lock.withLock(second, Effect.void)
            })
          )
        })
        const exits = yield* Effect.all([Effect.exit(take(a, b)), Effect.exit(take(b, a))], {
          concurrency: "unbounded"
        })
        const deadlock = exits.map(deadlockOf).find((d) => d !== undefined)!
        assert.strictEqual(deadlock.cycle.length, 2)
        for (const edge of deadlock.cycle) assert.match(edge.acquiredAt, /^take /)
        const holdsOf = (label: string) =>
          Metric.value(Metric.withAttributes(Diagnostics.metrics.holdTime, { primitive: label }))
        const label = (yield* Diagnostics.dump).match(/^(Lock #\d+): free/m)![1]! // a, made first
        const before = (yield* holdsOf(label)).count
        assert.isAtLeast(before, 1)
        // Held, it is shown with its holder.
        yield* a.acquire
        assert.match(yield* Diagnostics.dump, /Lock #\d+:\n {2}held by fiber #\d+ for \d+ ms, acquired at /)
        // Four more holds: this one; a Condition waiter's before it waits; the notifier's; the
        // waiter's after it wakes.
        const cond = yield* Condition.make({ lock: a })
        const waiter = yield* Effect.forkChild(Condition.withLock(cond, Condition.wait(cond)))
        yield* a.release
        yield* Effect.yieldNow
        yield* Condition.withLock(cond, Condition.notify(cond))
        yield* Fiber.join(waiter)
        assert.strictEqual((yield* holdsOf(label)).count, before + 4)
        // Re-entered, an unnamed RLock counts one hold.
        const rlock = yield* RLock.make()
        yield* RLock.withLock(rlock, RLock.withLock(rlock, Effect.void))
        const dump = yield* Diagnostics.dump
        assert.notMatch(dump, /held by/)
        assert.strictEqual((yield* holdsOf(dump.match(/^(RLock #\d+): free/m)![1]!)).count, 1)
      }).pipe(Effect.provide(handle.layer))
    })
  )

  it.effect("an unnamed lock's waiters interrupted before or after the grant leave no hold behind", () =>
    Effect.gen(function* () {
      const { handle } = collecting()
      yield* Effect.gen(function* () {
        const lock = yield* Lock.make()
        yield* lock.acquire
        const early = yield* Effect.forkChild(lock.acquire)
        const first = yield* Effect.forkChild(lock.acquire)
        const second = yield* Effect.forkChild(Lock.withLock(lock, Effect.succeed("second ran")))
        yield* Effect.yieldNow
        // Interrupted while it waits, before any grant.
        yield* Fiber.interrupt(early)
        // The release grants `first`, whose resumption is only scheduled; interrupt it before it runs.
        yield* lock.release
        yield* Fiber.interrupt(first)
        assert.strictEqual(yield* Fiber.join(second), "second ran")
        const dump = yield* Diagnostics.dump
        assert.match(dump, /^Lock #\d+: free$/m)
        const label = dump.match(/^(Lock #\d+): free/m)![1]!
        // Two holds ended: this fiber's and `second`'s; the interrupted waiters never held it.
        const holds = yield* Metric.value(Metric.withAttributes(Diagnostics.metrics.holdTime, { primitive: label }))
        assert.strictEqual(holds.count, 2)
        // And it is taken again as usual.
        yield* Lock.withLock(lock, Effect.void)
        const after = yield* Metric.value(Metric.withAttributes(Diagnostics.metrics.holdTime, { primitive: label }))
        assert.strictEqual(after.count, 3)
        // A registry of its own (below): unnamed locks of other tests' trackers share this one's label.
      }).pipe(Effect.provide(handle.layer), Effect.provideService(Metric.MetricRegistry, new Map()))
    })
  )

  it.effect("without the layer, nothing is tracked and the dump says so", () =>
    Effect.gen(function* () {
      const lock = yield* Lock.make({ name: "plain" })
      yield* lock.acquire
      assert.include(yield* Diagnostics.dump, "diagnostics are off")
      assert.deepStrictEqual(yield* Diagnostics.reports, [])
    })
  )
})
