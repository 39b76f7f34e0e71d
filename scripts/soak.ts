/**
 * `pnpm soak`: drives worker pools with a random mix of work and injected faults for a bounded
 * time, then checks that no task was lost, none ran twice and no thread (or worker process)
 * outlived its pool.
 *
 *   pnpm soak [--duration 60] [--seed 12345] [--quick] [--isolation process]
 *
 * The mix is chosen by a seeded generator whose seed is printed, so `--seed` replays a run's
 * choices (the timing of threads still varies). Work runs in phases of 10 s (4 s with `--quick`),
 * each on a fresh pool (min 1, max 3 workers, idle time-to-live 200 ms, recycled every 500 tasks,
 * a 96 MB heap limit); each phase ends by closing the pool's scope while work is still queued and
 * in flight. It exits with code 1 when an invariant breaks. With `--isolation process` the workers
 * are child processes, which count their runs in a file instead of shared memory.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { Task, WorkerPool, WorkerRunner } from "@strand/platform-node"
import { Cause, Effect, Exit, Fiber, Random, Schema, Scope, Stream } from "effect"

// ------------------------------------------------------------------ the tasks

/**
 * Every run of a task adds one to its slot here, in shared memory (threads), or appends its id as
 * a line to this file (processes, which share no memory): the proof of "never twice".
 */
const Runs = Task.config("Runs", Schema.Union([Schema.instanceOf(SharedArrayBuffer), Schema.String]))

class Refused extends Schema.TaggedError<Refused>()("Refused", { id: Schema.Int }) {}

const Kinds = ["echo", "cpu", "async", "fail", "throw", "exit", "oom", "hang"] as const
type Kind = (typeof Kinds)[number]

const Work = Task.make("Work", {
  payload: Schema.Struct({ id: Schema.Int, kind: Schema.Literals(Kinds), ms: Schema.Number }),
  success: Schema.Int,
  error: Refused
})
const Ticks = Task.stream("Ticks", {
  payload: Schema.Struct({ id: Schema.Int, count: Schema.Int, ms: Schema.Number }),
  success: Schema.Int
})

const spin = (ms: number) => {
  const end = performance.now() + ms
  let n = 0
  while (performance.now() < end) n++
  return n
}

if (WorkerRunner.isWorker) {
  // Appends of a line this short are atomic, so the processes' lines never mix.
  let file: number | undefined
  const ran = (id: number) =>
    Effect.map(Runs, (runs) => {
      if (typeof runs !== "string") return Atomics.add(new Int32Array(runs), id, 1)
      file ??= openSync(runs, "a")
      return writeSync(file, `${id}\n`)
    })
  WorkerRunner.launch(
    [
      WorkerRunner.handle(Work, ({ id, kind, ms }) =>
        Effect.andThen(ran(id), (): Effect.Effect<number, Refused> => {
          switch (kind) {
            case "echo":
              return Effect.succeed(id)
            case "cpu":
              return Effect.as(
                Effect.sync(() => spin(ms)),
                id
              )
            case "async":
              return Effect.as(Effect.sleep(ms), id)
            case "fail":
              return Effect.fail(new Refused({ id }))
            case "throw":
              return Effect.sync(() => {
                throw new Error(`task ${id} threw`)
              })
            case "exit":
              return Effect.sync(() => process.exit(9))
            case "oom":
              // Many separate arrays, a shape Node contains within the worker.
              return Effect.sync(() => {
                const hog: Array<Array<number>> = []
                for (;;) hog.push(new Array(1_000_000).fill(id))
              })
            case "hang":
              // A synchronous loop that ignores interruption: only its timeout, by replacing the worker, ends it.
              return Effect.sync(() => {
                for (;;) spin(1_000)
              })
          }
        })
      ),
      WorkerRunner.handle(Ticks, ({ id, count, ms }) =>
        Stream.unwrap(
          Effect.as(ran(id), Stream.range(1, count).pipe(Stream.mapEffect((n) => Effect.as(Effect.sleep(ms), n))))
        )
      )
    ],
    { config: [Runs] }
  )
}

// -------------------------------------------------------------- the driver

const argument = (name: string): string | undefined => {
  const i = process.argv.indexOf(name)
  return i >= 0 ? process.argv[i + 1] : undefined
}
const quick = process.argv.includes("--quick")
const isolation = argument("--isolation") === "process" ? "process" : "thread"
const seconds = Number(argument("--duration") ?? (quick ? 8 : 60))
const seed = Number(argument("--seed") ?? Math.floor(Math.random() * 2 ** 31))
const PHASE_MILLIS = quick ? 4_000 : 10_000
const INFLIGHT = 48
const MAX_TASKS = 4_000_000

type Op = Kind | "stream"
/** The mix: mostly normal work, with every fault a few times a phase. */
const MIX: ReadonlyArray<readonly [Op, number]> = [
  ["echo", 2000],
  ["cpu", 120],
  ["async", 150],
  ["stream", 40],
  ["fail", 40],
  ["throw", 20],
  ["exit", 3],
  ["oom", 1],
  ["hang", 1]
]

/** How a task ended, from its caller's side. */
type Ending = "result" | "typed error" | "defect" | "interrupted"

const runCounts = new Int32Array(new SharedArrayBuffer(4 * MAX_TASKS))
/** Where the processes write their runs; read into `runCounts` at the end. */
const runsFile = isolation === "process" ? join(mkdtempSync(join(tmpdir(), "strand-soak-")), "runs") : undefined
if (runsFile !== undefined) closeSync(openSync(runsFile, "w"))
const submitted = new Map<Op, number>()
const endings = new Map<Ending, number>()
const expectedRuns = new Map<number, Op>() // id -> op, for tasks that must have run exactly once
const typedErrors = new Map<string, number>()
let nextId = 1
let interruptedByUs = 0
let slowestRecovery = 0
let crashes = 0

const bump = <K>(map: Map<K, number>, key: K) => map.set(key, (map.get(key) ?? 0) + 1)

/** This process's children (Linux): worker processes that are still alive. */
const childProcesses = (): number => {
  try {
    return readFileSync(`/proc/self/task/${process.pid}/children`, "utf8").split(" ").filter(Boolean).length
  } catch {
    return 0
  }
}

/** The OS's count of this process's threads (Linux), not only the pool's own view. */
const osThreads = (): number => {
  try {
    return Number(readFileSync("/proc/self/status", "utf8").match(/^Threads:\s+(\d+)/m)?.[1] ?? Number.NaN)
  } catch {
    return Number.NaN
  }
}

setFlagsFromString("--expose-gc")
const gc = runInNewContext("gc") as () => void
const heap = () => {
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

/** What one task will be: every random choice, drawn in the driver so that a seed replays them in order. */
interface Choice {
  readonly op: Op
  readonly ms: number
  readonly interruptAfter: number | undefined
  readonly items: number
  readonly taken: number
  readonly tickMs: number
}

/** Draws one task from Effect's seeded `Random` (see `Random.withSeed` in `main`). */
const draw = Effect.gen(function* () {
  const total = MIX.reduce((sum, [, w]) => sum + w, 0)
  let r = (yield* Random.next) * total
  let op: Op = MIX[0]![0]
  for (const [value, weight] of MIX) {
    if ((r -= weight) < 0) {
      op = value
      break
    }
  }
  const choice: Choice = {
    op,
    ms: op === "cpu" ? 1 + (yield* Random.next) * 4 : op === "async" ? (yield* Random.next) * 20 : 0,
    interruptAfter: (yield* Random.next) < 0.08 ? yield* Random.nextIntBetween(0, 14) : undefined,
    items: yield* Random.nextIntBetween(1, 20),
    taken: yield* Random.nextIntBetween(1, 25),
    tickMs: (yield* Random.next) * 3
  }
  return choice
})

/** One task: submitted, maybe interrupted at a random moment, its ending recorded. */
const oneTask = (
  pool: WorkerPool.Service,
  { op, ms, interruptAfter, items, taken, tickMs }: Choice
): Effect.Effect<void> => {
  const id = nextId++
  bump(submitted, op)
  const timeout = op === "hang" ? "300 millis" : op === "cpu" || op === "async" ? "10 seconds" : undefined
  const work: Effect.Effect<unknown, unknown> =
    op === "stream"
      ? Stream.runDrain(
          pool.stream(Ticks, { id, count: items, ms: tickMs }, { bufferSize: 4 }).pipe(Stream.take(taken))
        )
      : pool.run(Work, { id, kind: op, ms }, timeout === undefined ? undefined : { timeout })
  return Effect.gen(function* () {
    const fiber = yield* Effect.forkChild(work)
    if (interruptAfter !== undefined) {
      yield* Effect.sleep(interruptAfter)
      if (fiber.pollUnsafe() === undefined) interruptedByUs++
      yield* Fiber.interrupt(fiber)
    }
    const exit = yield* Fiber.await(fiber)
    if (Exit.isSuccess(exit)) {
      bump(endings, "result")
      if (op !== "stream") expectedRuns.set(id, op)
      return
    }
    const error = Cause.findErrorOption(exit.cause)
    if (error._tag === "Some") {
      bump(endings, "typed error")
      const tag = (error.value as { _tag?: string })._tag ?? "unknown"
      bump(typedErrors, tag)
      if (tag === "WorkerCrashed" && (op === "exit" || op === "oom")) {
        crashes++
        slowestRecovery = Math.max(slowestRecovery, yield* recovery(pool, performance.now()))
      }
    } else if (Cause.hasInterruptsOnly(exit.cause)) bump(endings, "interrupted")
    else bump(endings, "defect")
  })
}

/** After a crash reached its caller: how long until the pool has a ready worker again. */
const recovery = (pool: WorkerPool.Service, since: number) =>
  Effect.gen(function* () {
    for (;;) {
      const stats = yield* pool.stats
      if (stats.workers.some((w) => w.ready)) return performance.now() - since
      yield* Effect.sleep(2)
    }
  }).pipe(
    Effect.timeoutOption("5 seconds"),
    Effect.map((ms) => (ms._tag === "Some" ? ms.value : 5_000))
  )

/** One phase: a fresh pool, driven until the phase ends, then closed with work queued and in flight. */
const phase = (deadline: number) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const pool = yield* WorkerPool.make({
      module: new URL(import.meta.url),
      size: { min: 1, max: 3, idleTimeToLive: "200 millis" },
      isolation,
      maxTasksPerWorker: 500,
      resourceLimits: { maxOldGenerationSizeMb: 96 },
      cancelGracePeriod: "50 millis",
      config: [Runs.value(runsFile ?? (runCounts.buffer as SharedArrayBuffer))]
    }).pipe(Scope.provide(scope))
    const fibers = new Set<Fiber.Fiber<void>>()
    const end = Math.min(deadline, performance.now() + PHASE_MILLIS)
    while (performance.now() < end && nextId < MAX_TASKS) {
      if (fibers.size >= INFLIGHT) {
        yield* Fiber.await(fibers.values().next().value!)
        continue
      }
      const fiber = yield* Effect.forkChild(oneTask(pool, yield* draw))
      fibers.add(fiber)
      fiber.addObserver(() => fibers.delete(fiber))
      if (fibers.size % 8 === 0) yield* Effect.yieldNow
    }
    // Close with work still queued and in flight: each of those tasks must still end, typed.
    yield* Scope.close(scope, Exit.void)
    yield* Fiber.joinAll(Array.from(fibers))
  })

const main = Effect.gen(function* () {
  console.log(
    `soak: seed ${seed}, ${seconds} s, phases of ${PHASE_MILLIS / 1000} s, ${isolation === "process" ? "worker processes" : "worker threads"} (replay with --seed ${seed})`
  )
  const threadsBefore = osThreads()
  const deadline = performance.now() + seconds * 1000
  yield* phase(deadline)
  // Heap growth is measured from the end of the first phase, once every module is loaded.
  const heapBefore = heap()
  const tasksBefore = nextId - 1
  while (performance.now() < deadline && nextId < MAX_TASKS) yield* phase(deadline)
  const tasks = nextId - 1
  const heapGrowth = heap() - heapBefore
  const measured = tasks - tasksBefore
  // Terminated threads leave the OS's count within moments; wait for them, boundedly.
  let threadsAfter = osThreads()
  for (let i = 0; i < 200 && threadsAfter > threadsBefore; i++) {
    yield* Effect.sleep(10)
    threadsAfter = osThreads()
  }
  // Worker processes gone: none of this process's children is left (their runs are all written).
  let children = childProcesses()
  for (let i = 0; i < 200 && children > 0; i++) {
    yield* Effect.sleep(10)
    children = childProcesses()
  }
  if (runsFile !== undefined) {
    for (const line of readFileSync(runsFile, "utf8").split("\n")) if (line !== "") runCounts[Number(line)]!++
    rmSync(runsFile, { force: true })
  }
  let ranTwice = 0
  let neverRan = 0
  for (let id = 1; id <= tasks; id++) if (runCounts[id]! > 1) ranTwice++
  for (const [id] of expectedRuns) if (runCounts[id] !== 1) neverRan++
  const ended = Array.from(endings.values()).reduce((a, b) => a + b, 0)
  const lost = tasks - ended
  const faults = ["fail", "throw", "exit", "oom", "hang"].map((k) => `${k} ${submitted.get(k as Op) ?? 0}`)
  const figures: Array<[string, string, boolean]> = [
    ["tasks submitted", tasks.toLocaleString("en"), true],
    ["by kind", Array.from(submitted, ([k, n]) => `${k} ${n}`).join(", "), true],
    ["faults injected", faults.join(", "), true],
    ["callers interrupted while their task was live", interruptedByUs.toLocaleString("en"), true],
    ["endings", Array.from(endings, ([k, n]) => `${k} ${n}`).join(", "), true],
    ["typed errors", Array.from(typedErrors, ([k, n]) => `${k} ${n}`).join(", "), true],
    ["defects (thrown handlers, expected)", String(endings.get("defect") ?? 0), true],
    ["tasks lost (must be 0)", String(lost), lost === 0],
    ["tasks run twice (must be 0)", String(ranTwice), ranTwice === 0],
    ["results whose task did not run exactly once (must be 0)", String(neverRan), neverRan === 0],
    [
      "threads alive after close, beyond those before (must be 0)",
      `${Math.max(0, threadsAfter - threadsBefore)} (OS count ${threadsBefore} before, ${threadsAfter} after)`,
      threadsAfter <= threadsBefore
    ],
    ["worker processes alive after close (must be 0)", String(children), children === 0],
    [
      "heap growth per 100,000 tasks",
      measured === 0
        ? "(one phase only: nothing to compare)"
        : `${(((heapGrowth / measured) * 100_000) / 2 ** 20).toFixed(2)} MB (after the first phase, over ${measured.toLocaleString("en")} tasks)`,
      true
    ],
    ["slowest recovery after a crash", `${slowestRecovery.toFixed(1)} ms over ${crashes} crashes`, true]
  ]
  for (const [name, value, ok] of figures) console.log(`${ok ? "  " : "✗ "}${name}: ${value}`)
  const broken = figures.filter(([, , ok]) => !ok).length
  console.log(broken === 0 ? "soak: every invariant holds" : `soak: ${broken} invariant(s) broken (seed ${seed})`)
  return broken
})

if (!WorkerRunner.isWorker) {
  Effect.runPromise(main.pipe(Random.withSeed(seed))).then(
    (broken) => process.exit(broken === 0 ? 0 : 1),
    (error) => {
      console.error("soak: the driver itself failed:", error)
      process.exit(1)
    }
  )
}
