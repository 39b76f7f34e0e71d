/**
 * Shared memory: four worker threads add 1 to one shared counter, 100,000 times each.
 *
 * Python:
 *   counter = multiprocessing.Value("i", 0, lock=False)
 *   def work(counter):
 *       for _ in range(100_000):
 *           counter.value += 1            # read, then write: not atomic
 *   procs = [Process(target=work, args=(counter,)) for _ in range(4)]
 *   ...                                   # counter.value < 400_000: updates lost
 *   lock = multiprocessing.Lock()         # with lock: counter.value += 1  -> exactly 400_000
 *
 * The counter is a `SharedValue` in a SharedArrayBuffer; each task gets it in its payload,
 * shared, not copied. Reading then writing loses updates when threads interleave; a
 * `SharedLock` around the read and write, or the atomic `add`, loses none.
 *
 * Then a worker dies holding the lock. Python's lock would hang its next acquirer forever;
 * here the next `withLock` fails with `OwnerDied`, naming the dead thread, until `repair`
 * has put the data right.
 *
 * This one file is both the caller and the worker module.
 */
import { SharedEvent, SharedLock, SharedValue, Task, WorkerPool, WorkerRunner } from "@strand/platform-node"
import { Console, Effect, Schema } from "effect"

const quick = process.argv.includes("--quick")
const times = quick ? 20_000 : 100_000
const workers = 4

const hows = ["read then write", "under the lock", "atomic add"] as const

const CountUp = Task.make("CountUp", {
  payload: Schema.Struct({
    counter: SharedValue.schema("int32"),
    lock: SharedLock.schema,
    times: Schema.Number,
    how: Schema.Literals(hows)
  }),
  success: Schema.Void
})

/** Takes the lock, half-updates the counter, says so, then ends its thread. */
const DieHolding = Task.make("DieHolding", {
  payload: Schema.Struct({ counter: SharedValue.schema("int32"), lock: SharedLock.schema, held: SharedEvent.schema }),
  success: Schema.Void
})

if (WorkerRunner.isWorker) {
  WorkerRunner.launch([
    WorkerRunner.handle(CountUp, ({ counter, how, lock, times }) =>
      Effect.sync(() => {
        for (let i = 0; i < times; i++) {
          if (how === "atomic add") counter.add(1)
          else if (how === "under the lock") SharedLock.withLockSync(lock, () => counter.set(counter.get() + 1))
          else counter.set(counter.get() + 1)
        }
      })
    ),
    WorkerRunner.handle(DieHolding, ({ counter, held, lock }) =>
      Effect.sync(() => {
        SharedLock.acquireSync(lock)
        counter.set(-1) // half-way through an update
        SharedEvent.setSync(held)
        process.exit(1) // this thread ends, holding the lock
      })
    )
  ])
} else {
  const program = Effect.gen(function* () {
    const pool = yield* WorkerPool.make({ module: import.meta.url, size: workers, concurrentTasksPerWorker: 1 })
    const lock = yield* SharedLock.make({ name: "counter" })
    const count = (how: (typeof hows)[number]) =>
      Effect.gen(function* () {
        const counter = yield* SharedValue.make("int32", 0)
        yield* Effect.all(
          Array.from({ length: workers }, () => pool.run(CountUp, { counter, lock, times, how })),
          { concurrency: "unbounded" }
        )
        return counter.get()
      })
    const expected = workers * times
    const racy = yield* count("read then write")
    yield* Console.log(`Without a lock:    counter = ${racy} (expected ${expected}: ${expected - racy} updates lost)`)
    yield* Console.log(`With a SharedLock: counter = ${yield* count("under the lock")}`)
    yield* Console.log(`With atomic add:   counter = ${yield* count("atomic add")}`)

    const counter = yield* SharedValue.make("int32", 0)
    const held = yield* SharedEvent.make()
    const crashed = yield* Effect.flip(pool.run(DieHolding, { counter, lock, held }))
    yield* Console.log(`A worker died holding the lock: ${crashed._tag}`)
    const died = yield* Effect.flip(SharedLock.withLock(lock, SharedValue.add(counter, 1)))
    yield* Console.log(`The next withLock: ${died._tag}: ${died.message}`)
    yield* SharedLock.repair(
      lock,
      Effect.gen(function* () {
        yield* Console.log(`repair finds counter = ${counter.get()} and resets it to 0`)
        yield* SharedValue.set(counter, 0)
      })
    )
    yield* SharedLock.withLock(lock, SharedValue.add(counter, 1))
    yield* Console.log(`After repair, withLock works again: counter = ${counter.get()}`)
  })
  Effect.runPromise(Effect.scoped(program))
}
