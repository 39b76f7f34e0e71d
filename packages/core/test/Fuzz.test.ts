// Seeded random programs: each primitive under random interleavings, timeouts and interruptions,
// checked against its invariants. A failure prints its seed; replay it with STRAND_FUZZ_SEED=<seed>.
import { assert, describe, it } from "@effect/vitest"
import {
  Barrier,
  BoundedSemaphore,
  Condition,
  CountDownLatch,
  Executor,
  type Future,
  JoinableQueue,
  LifoQueue,
  Lock,
  PriorityQueue,
  RLock,
  Select
} from "@strand/core"
import { Cause, Effect, Exit, Fiber, Order, Queue } from "effect"
import { TestClock } from "effect/testing"

const PROGRAMS = 150

/** A small, seedable PRNG (mulberry32), so that every failing program can be replayed. */
const rng = (seed: number) => {
  let a = seed >>> 0
  return {
    next(): number {
      a = (a + 0x6d2b79f5) >>> 0
      let t = a
      t = Math.imul(t ^ (t >>> 15), t | 1)
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296
    },
    int(n: number): number {
      return Math.floor(this.next() * n)
    }
  }
}

type Rng = ReturnType<typeof rng>

const seeds = (): Array<number> => {
  const fixed = process.env.STRAND_FUZZ_SEED
  if (fixed !== undefined) return [Number(fixed)]
  const base = Math.floor(Math.random() * 2 ** 31)
  return Array.from({ length: PROGRAMS }, (_, i) => base + i)
}

/**
 * Runs `fibers` random workers, then interrupts a random subset at random moments while the
 * clock advances in random steps, and finally lets everything left finish or time out.
 */
const schedule = (random: Rng, workers: ReadonlyArray<Effect.Effect<unknown, unknown>>, interruptRest = false) =>
  Effect.gen(function* () {
    const fibers = yield* Effect.forEach(workers, (worker) => Effect.forkChild(worker))
    for (let step = 0; step < 12; step++) {
      const pick = random.int(fibers.length * 3)
      if (pick < fibers.length) yield* Fiber.interrupt(fibers[pick]!)
      for (let i = random.int(4); i >= 0; i--) yield* Effect.yieldNow
      yield* TestClock.adjust(`${random.int(30)} millis`)
    }
    yield* TestClock.adjust("10 seconds")
    for (let i = 0; i < 20; i++) yield* Effect.yieldNow
    if (interruptRest) yield* Fiber.interruptAll(fibers)
    // How each fiber ended; undefined for one still waiting (which may be legitimate).
    return fibers.map((fiber) => fiber.pollUnsafe())
  })

/** Runs one seeded program per seed; a failure names the seed that replays it. */
const fuzz = (name: string, program: (random: Rng) => Effect.Effect<void, unknown>) =>
  it.effect(`${name} holds its invariants under random interruptions and timeouts`, () =>
    Effect.gen(function* () {
      for (const seed of seeds()) {
        const exit = yield* Effect.exit(program(rng(seed)))
        if (Exit.isFailure(exit)) {
          assert.fail(
            `${name}: seed ${seed} broke an invariant (replay with STRAND_FUZZ_SEED=${seed}):\n${Cause.pretty(exit.cause)}`
          )
        }
      }
    })
  )

describe("fuzz", () => {
  fuzz("Lock", (random) =>
    Effect.gen(function* () {
      const lock = yield* Lock.make()
      let inside = 0
      let most = 0
      const worker = Effect.gen(function* () {
        for (let round = 0; round < 3; round++) {
          // Leaving counts however the section ends: an interrupted holder has left it too.
          const critical = Effect.suspend(() => {
            most = Math.max(most, ++inside)
            return Effect.ensuring(
              Effect.sleep(`${random.int(20)} millis`),
              Effect.sync(() => inside--)
            )
          })
          if (random.int(2) === 0) yield* Lock.withLock(lock, critical)
          else if (yield* Lock.acquireTimeout(lock, `${random.int(40)} millis`)) {
            yield* Effect.ensuring(critical, Effect.orDie(Lock.release(lock)))
          }
        }
      })
      yield* schedule(
        random,
        Array.from({ length: 2 + random.int(8) }, () => worker)
      )
      assert.isAtMost(most, 1)
      assert.isFalse(yield* Lock.locked(lock))
    })
  )

  fuzz("RLock", (random) =>
    Effect.gen(function* () {
      const lock = yield* RLock.make()
      let owner: number | undefined
      let clashes = 0
      // Re-entered 1 to 3 deep; each level checks that no other fiber holds the lock meanwhile.
      const nested = (id: number, depth: number): Effect.Effect<void, unknown> =>
        Effect.suspend(() => {
          if (owner !== undefined && owner !== id) clashes++
          const outer = owner === undefined
          owner = id
          const inner =
            depth > 1 ? RLock.withLock(lock, nested(id, depth - 1)) : Effect.sleep(`${random.int(20)} millis`)
          return Effect.ensuring(
            inner,
            Effect.sync(() => {
              if (outer) owner = undefined
            })
          )
        })
      const worker = (id: number) =>
        Effect.gen(function* () {
          for (let round = 0; round < 2; round++) {
            const depth = 1 + random.int(3)
            if (random.int(2) === 0) yield* RLock.withLock(lock, nested(id, depth))
            else if (yield* RLock.acquireTimeout(lock, `${random.int(40)} millis`)) {
              yield* Effect.ensuring(nested(id, depth), Effect.orDie(RLock.release(lock)))
            }
          }
        })
      yield* schedule(
        random,
        Array.from({ length: 2 + random.int(6) }, (_, id) => worker(id))
      )
      assert.strictEqual(clashes, 0)
      // Every level of every hold was released, however its fiber ended.
      assert.isFalse(yield* RLock.locked(lock))
      assert.isTrue(yield* RLock.tryAcquire(lock))
    })
  )

  fuzz("CountDownLatch", (random) =>
    Effect.gen(function* () {
      const count = 1 + random.int(4)
      const latch = yield* CountDownLatch.make(count)
      let remaining = count
      let early = 0
      const waiter = Effect.gen(function* () {
        const opened =
          random.int(2) === 0
            ? yield* CountDownLatch.awaitTimeout(latch, `${random.int(60)} millis`)
            : yield* Effect.as(CountDownLatch.await(latch), true)
        if (opened && remaining > 0) early++
        return opened
      })
      const counter = Effect.gen(function* () {
        yield* Effect.sleep(`${random.int(40)} millis`)
        yield* Effect.sync(() => {
          remaining = Math.max(0, remaining - 1)
        }).pipe(Effect.andThen(CountDownLatch.countDown(latch)), Effect.uninterruptible)
      })
      const waiters = 1 + random.int(5)
      const exits = yield* schedule(random, [
        ...Array.from({ length: waiters }, () => waiter),
        ...Array.from({ length: count + random.int(2) }, () => counter)
      ])
      // Nobody passed a latch that had not reached zero, and it counts what was counted down.
      assert.strictEqual(early, 0)
      assert.strictEqual(yield* CountDownLatch.count(latch), remaining)
      // Once it opened, no waiter is left behind.
      if (remaining === 0) for (const exit of exits.slice(0, waiters)) assert.isDefined(exit)
    })
  )

  fuzz("Executor", (random) =>
    Effect.scoped(
      Effect.gen(function* () {
        const maxWorkers = 1 + random.int(3)
        const executor = yield* Executor.make({ maxWorkers })
        const futures: Array<Future.Future<number, unknown>> = []
        const started = new Set<number>()
        const finished = new Set<number>()
        let running = 0
        let most = 0
        let twice = 0
        const work = (id: number) =>
          Effect.suspend(() => {
            if (started.has(id)) twice++
            started.add(id)
            most = Math.max(most, ++running)
            return Effect.sleep(`${random.int(20)} millis`).pipe(
              Effect.andThen(Effect.sync(() => finished.add(id))),
              Effect.as(id),
              Effect.ensuring(Effect.sync(() => running--))
            )
          })
        // Submits a few pieces of work, and sometimes cancels one of them (or another's) later.
        const submitter = Effect.gen(function* () {
          for (let i = random.int(3); i >= 0; i--) {
            const id = futures.length
            futures.push(yield* Executor.submit(executor, work(id)))
          }
          yield* Effect.sleep(`${random.int(30)} millis`)
          if (random.int(2) === 0) yield* futures[random.int(futures.length)]!.cancel
        })
        const stopper = Effect.gen(function* () {
          yield* Effect.sleep(`${random.int(60)} millis`)
          yield* Executor.shutdown(executor, { wait: random.int(2) === 0, cancelPending: random.int(2) === 0 })
        })
        yield* schedule(random, [...Array.from({ length: 1 + random.int(5) }, () => submitter), stopper])
        yield* Executor.shutdown(executor)
        assert.isAtMost(most, maxWorkers)
        assert.strictEqual(twice, 0)
        assert.strictEqual(running, 0)
        // Every future has ended, with the result of its own work, or cancelled (and nothing else).
        for (const [id, future] of futures.entries()) {
          const exit = future.exitUnsafe()
          assert.isDefined(exit, `future ${id} never ended`)
          if (Exit.isSuccess(exit!)) {
            assert.strictEqual(exit.value, id)
            assert.isTrue(finished.has(id))
          }
          assert.strictEqual(yield* future.isCancelled, Exit.isFailure(exit!))
        }
      })
    )
  )

  fuzz("Select", (random) =>
    Effect.gen(function* () {
      const queues = yield* Effect.forEach(Array.from({ length: 2 + random.int(2) }), () => Queue.unbounded<number>())
      const offered: Array<number> = []
      const taken: Array<number> = []
      const producer = Effect.gen(function* () {
        // Bursts, so that several queues are often ready at once.
        for (let i = random.int(6); i >= 0; i--) {
          if (random.int(3) === 0) yield* Effect.sleep(`${random.int(20)} millis`)
          const queue = queues[random.int(queues.length)]!
          // Recorded and offered in one step (an unbounded queue never suspends an offer).
          yield* Effect.uninterruptible(
            Effect.suspend(() => {
              offered.push(offered.length)
              return Queue.offer(queue, offered.length - 1)
            })
          )
        }
      })
      const consumer = Effect.gen(function* () {
        yield* Effect.sleep(`${random.int(30)} millis`)
        for (let i = random.int(6); i >= 0; i--) {
          const timeout = random.int(2) === 0 ? random.int(40) : undefined
          // Whatever select returns is recorded, even if the consumer is interrupted right after.
          yield* Effect.uninterruptibleMask((restore) =>
            Effect.map(Effect.exit(restore(Select.select(queues, { timeout }))), (selected) => {
              if (Exit.isSuccess(selected)) taken.push(selected.value.value)
            })
          )
        }
      })
      const producers = 1 + random.int(3)
      yield* schedule(
        random,
        [
          ...Array.from({ length: producers }, () => producer),
          ...Array.from({ length: 1 + random.int(4) }, () => consumer)
        ],
        true
      )
      // Every item offered was taken by exactly one select, or is still in its queue: none lost or doubled.
      const left = yield* Effect.forEach(queues, (queue) => Queue.clear(queue))
      const all = [...taken, ...left.flat()].sort((a, b) => a - b)
      assert.deepStrictEqual(
        all,
        [...offered].sort((a, b) => a - b)
      )
    })
  )

  fuzz("BoundedSemaphore", (random) =>
    Effect.gen(function* () {
      const permits = 1 + random.int(3)
      const semaphore = yield* BoundedSemaphore.make(permits)
      let inside = 0
      let most = 0
      const worker = Effect.gen(function* () {
        const n = 1 + random.int(permits)
        const critical = Effect.suspend(() => {
          inside += n
          most = Math.max(most, inside)
          return Effect.ensuring(
            Effect.sleep(`${random.int(20)} millis`),
            Effect.sync(() => {
              inside -= n
            })
          )
        })
        yield* BoundedSemaphore.withPermits(semaphore, n)(critical)
      })
      yield* schedule(
        random,
        Array.from({ length: 2 + random.int(8) }, () => worker)
      )
      assert.isAtMost(most, permits)
      assert.strictEqual(yield* BoundedSemaphore.available(semaphore), permits)
    })
  )

  fuzz("Condition", (random) =>
    Effect.gen(function* () {
      const cond = yield* Condition.make()
      let items = 0
      let produced = 0
      let consumed = 0
      const consumer = Condition.withLock(
        cond,
        Effect.gen(function* () {
          if (random.int(2) === 0) {
            if (
              !(yield* Condition.waitFor(
                cond,
                Effect.sync(() => items > 0),
                { timeout: `${random.int(50)} millis` }
              ))
            )
              return
          } else {
            yield* Condition.waitFor(
              cond,
              Effect.sync(() => items > 0)
            )
          }
          items--
          consumed++
        })
      )
      const consumers = 1 + random.int(6)
      const producer = Condition.withLock(
        cond,
        Effect.sync(() => {
          items++
          produced++
        }).pipe(Effect.andThen(Condition.notify(cond, 1)))
      )
      const workers = [
        ...Array.from({ length: consumers }, () => consumer),
        ...Array.from({ length: consumers }, () => producer)
      ]
      const exits = yield* schedule(random, workers)
      // Nothing counted twice, and no wake-up lost: no consumer still waits while an item is there.
      assert.strictEqual(produced - consumed, items)
      const waiting = exits.slice(0, consumers).filter((exit) => exit === undefined)
      assert.isFalse(items > 0 && waiting.length > 0, `${waiting.length} consumers wait beside ${items} items`)
    })
  )

  fuzz("Barrier", (random) =>
    Effect.gen(function* () {
      const parties = 2 + random.int(3)
      // No action, an action that takes time, or one that fails after a while.
      const actions = [undefined, Effect.sleep("5 millis"), Effect.andThen(Effect.sleep("5 millis"), Effect.fail("no"))]
      const barrier = yield* Barrier.make(parties, { action: actions[random.int(3)] })
      const party = Effect.gen(function* () {
        return yield* Barrier.wait(barrier, random.int(2) === 0 ? { timeout: `${random.int(60)} millis` } : {})
      })
      const exits = yield* schedule(
        random,
        Array.from({ length: parties }, () => party)
      )
      const indices = exits.flatMap((exit) => (exit !== undefined && Exit.isSuccess(exit) ? [exit.value] : []))
      const broken = exits.filter((exit) => exit !== undefined && Exit.isFailure(exit) && !Exit.hasInterrupts(exit))
      assert.strictEqual(new Set(indices).size, indices.length)
      // One generation: it either passed (for every party not interrupted) or broke, never both.
      assert.isFalse(indices.length > 0 && broken.length > 0, `${indices.length} passed, ${broken.length} broken`)
      // Once the barrier tripped or broke, nobody is left waiting.
      if (indices.length > 0 || broken.length > 0) for (const exit of exits) assert.isDefined(exit)
    })
  )

  for (const [name, make] of [
    ["LifoQueue", (capacity: number) => LifoQueue.make<number>({ capacity })],
    ["PriorityQueue", (capacity: number) => PriorityQueue.make<number>({ capacity, order: Order.Number })]
  ] as const) {
    fuzz(name, (random) =>
      Effect.gen(function* () {
        const queue = yield* make(1 + random.int(3))
        const offered = new Set<number>()
        const taken: Array<number> = []
        let next = 0
        const producer = Effect.gen(function* () {
          for (let i = 0; i < 3; i++) {
            const item = next++
            const ok =
              random.int(2) === 0
                ? yield* queue.offer(item)
                : yield* queue.offerTimeout(item, `${random.int(40)} millis`)
            if (ok) offered.add(item)
          }
        })
        const consumer = Effect.gen(function* () {
          for (let i = 0; i < 3; i++) {
            const item = yield* queue.takeTimeout(`${random.int(40)} millis`)
            if (item._tag === "Some") taken.push(item.value)
          }
        })
        yield* schedule(random, [
          ...Array.from({ length: 1 + random.int(4) }, () => producer),
          ...Array.from({ length: 1 + random.int(4) }, () => consumer)
        ])
        const left = yield* queue.takeAll
        // Nothing lost, nothing taken twice, nothing from an offer that did not succeed.
        assert.strictEqual(new Set(taken).size, taken.length)
        assert.sameMembers([...taken, ...left], [...offered])
      })
    )
  }

  fuzz("JoinableQueue", (random) =>
    Effect.gen(function* () {
      const queue = yield* JoinableQueue.make<number>({ capacity: 1 + random.int(3) })
      let next = 0
      let inHand = 0
      const producer = Effect.gen(function* () {
        const items = Array.from({ length: 1 + random.int(3) }, () => next++)
        if (random.int(2) === 0) yield* JoinableQueue.offerAll(queue, items)
        else for (const item of items) yield* JoinableQueue.offer(queue, item)
      })
      const consumer = Effect.gen(function* () {
        for (let i = 0; i < 3; i++) {
          // Counted in the same step as the take, so that no interruption falls between the two.
          yield* Effect.uninterruptibleMask((restore) =>
            Effect.tap(
              restore(JoinableQueue.take(queue)),
              Effect.sync(() => {
                inHand++
              })
            )
          )
          yield* JoinableQueue.taskDone(queue)
          inHand--
        }
      })
      // Offers still waiting count as unfinished (a consumer may finish an item before its offer
      // returns), so interrupt whatever still waits before checking the books.
      yield* schedule(
        random,
        [
          ...Array.from({ length: 1 + random.int(3) }, () => producer),
          ...Array.from({ length: 1 + random.int(3) }, () => consumer)
        ],
        true
      )
      // Every counted item is still queued, or in the hand of a consumer interrupted before its
      // taskDone; nothing is counted that did not enter the queue, nothing un-counted that did.
      const queued = yield* Queue.size(queue.dequeue)
      assert.strictEqual(yield* JoinableQueue.unfinished(queue), queued + inHand)
    })
  )
})
