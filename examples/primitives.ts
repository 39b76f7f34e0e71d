/**
 * More primitives: an event, a producer and consumer on a condition, barrier
 * phases, joinable-queue workers, and a timer.
 *
 * Python:
 *   event = threading.Event(); event.wait(); event.set()
 *   cond = threading.Condition(); with cond: cond.wait_for(lambda: items); cond.notify()
 *   barrier = threading.Barrier(3); barrier.wait()
 *   q = queue.Queue(); q.put(x); q.get(); q.task_done(); q.join()
 *   threading.Timer(1.0, fn).start()
 */
import { Barrier, Condition, JoinableQueue, Timer } from "@strand/core"
import { Console, Effect, Fiber, Latch } from "effect"

const quick = process.argv.includes("--quick")
const pause = quick ? 20 : 200

const event = Effect.gen(function* () {
  yield* Console.log("Event (Effect's Latch):")
  const ready = yield* Latch.make()
  const waiters = yield* Effect.forEach([1, 2], (n) =>
    Effect.forkChild(Effect.andThen(ready.await, Console.log(`  waiter ${n} saw the event`)))
  )
  yield* Effect.sleep(pause)
  yield* Console.log("  setting the event")
  yield* ready.open
  yield* Fiber.joinAll(waiters)
})

const producerConsumer = Effect.gen(function* () {
  yield* Console.log("Producer and consumer on a Condition:")
  const cond = yield* Condition.make()
  const items: Array<number> = []
  const consumer = Effect.gen(function* () {
    for (let i = 0; i < 3; i++) {
      const item = yield* Condition.withLock(
        cond,
        Effect.andThen(
          Condition.waitFor(
            cond,
            Effect.sync(() => items.length > 0)
          ),
          Effect.sync(() => items.shift()!)
        )
      )
      yield* Console.log(`  consumed ${item}`)
    }
  })
  const producer = Effect.gen(function* () {
    for (const item of [1, 2, 3]) {
      yield* Effect.sleep(pause / 2)
      yield* Condition.withLock(
        cond,
        Effect.andThen(
          Effect.sync(() => items.push(item)),
          Condition.notify(cond)
        )
      )
      yield* Console.log(`  produced ${item}`)
    }
  })
  yield* Effect.all([consumer, producer], { concurrency: 2 })
})

const phases = Effect.gen(function* () {
  yield* Console.log("Barrier phases (3 parties):")
  let phase = 1
  const barrier = yield* Barrier.make(3, {
    action: Effect.suspend(() => Console.log(`  -- all 3 finished phase ${phase++} --`))
  })
  const worker = (name: string) =>
    Effect.gen(function* () {
      for (let p = 1; p <= 2; p++) {
        yield* Effect.sleep(pause / 4)
        yield* Console.log(`  ${name} finished phase ${p}`)
        yield* Barrier.wait(barrier)
      }
    })
  yield* Effect.all(["A", "B", "C"].map(worker), { concurrency: "unbounded" })
})

const joinable = Effect.gen(function* () {
  yield* Console.log("JoinableQueue with 2 workers:")
  const queue = yield* JoinableQueue.make<string>({ capacity: 10 })
  const worker = (n: number) =>
    Effect.forever(
      Effect.gen(function* () {
        const job = yield* JoinableQueue.take(queue)
        yield* Effect.sleep(pause / 4)
        yield* Console.log(`  worker ${n} did ${job}`)
        yield* JoinableQueue.taskDone(queue)
      })
    )
  yield* Effect.forkChild(worker(1))
  yield* Effect.forkChild(worker(2))
  yield* JoinableQueue.offerAll(queue, ["job a", "job b", "job c", "job d"])
  yield* JoinableQueue.join(queue)
  yield* Console.log("  all jobs done (join returned)")
})

const timer = Effect.gen(function* () {
  yield* Console.log("Timer:")
  const fires = yield* Timer.make(`${pause} millis`, Console.log("  the first timer fired"))
  const cancelled = yield* Timer.make(`${pause} millis`, Console.log("  never printed"))
  yield* Timer.start(fires)
  yield* Timer.start(cancelled)
  yield* Console.log(`  cancelled the second timer: ${yield* Timer.cancel(cancelled)}`)
  yield* Timer.await(fires)
})

Effect.runPromise(Effect.scoped(Effect.all([event, producerConsumer, phases, joinable, timer], { discard: true })))
