// Cheap workers: `bundle: true` starts the workers from a tree-shaken bundle of the worker module,
// built with esbuild on first use and cached by content. Real worker threads, real esbuild.
import { mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { assert, describe, it } from "@effect/vitest"
import { WorkerPool } from "@strand/platform-node"
import { Cause, Effect, Exit, Logger, Stream } from "effect"
import { Boom, Count, Crash, Lookup, Sleep, Square, ThreadId } from "./fixtures/tasks.ts"

const fixture = new URL("./fixtures/worker.ts", import.meta.url)
const tasks = pathToFileURL(fileURLToPath(new URL("./fixtures/tasks.ts", import.meta.url))).href

/** Runs `body` with the bundle cache in a fresh directory of its own. */
const withCache = <A, E, R>(body: (dir: string) => Effect.Effect<A, E, R>) =>
  Effect.acquireUseRelease(
    Effect.sync(() => {
      const before = process.env.STRAND_BUNDLE_CACHE
      const dir = mkdtempSync(join(tmpdir(), "strand-bundle-test-"))
      process.env.STRAND_BUNDLE_CACHE = dir
      return { before, dir }
    }),
    ({ dir }) => body(dir),
    ({ before }) =>
      Effect.sync(() => {
        if (before === undefined) delete process.env.STRAND_BUNDLE_CACHE
        else process.env.STRAND_BUNDLE_CACHE = before
      })
  )

/** The bundles in the cache (each has a bootstrap, `.boot.mjs`, beside it). */
const bundles = (dir: string) => readdirSync(dir).filter((file) => file.endsWith(".mjs") && !file.endsWith(".boot.mjs"))

/** Logger lines, to see the pool's warnings. */
const warnings = () => {
  const lines: Array<string> = []
  const layer = Logger.layer([Logger.make((options) => void lines.push(String(options.message)))])
  return { lines, layer }
}

describe("bundle: true", () => {
  it.live("serves every kind of task from the bundle; a second pool reuses it; defects point at the module", () =>
    withCache((dir) =>
      Effect.gen(function* () {
        const first = yield* Effect.scoped(
          Effect.gen(function* () {
            const pool = yield* WorkerPool.make({ module: fixture, size: 2, bundle: true })
            assert.strictEqual(yield* pool.run(Square, 7), 49)
            assert.deepStrictEqual(yield* pool.map(Square, [1, 2, 3], { chunkSize: 2 }), [1, 4, 9])
            assert.deepStrictEqual(Array.from(yield* Stream.runCollect(pool.stream(Count, 2))), ["item 1", "item 2"])
            const threads = new Set(yield* pool.map(ThreadId, Array.from({ length: 8 }), { chunkSize: 1 }))
            assert.isAtLeast(threads.size, 1)
            // A defect's stack names the worker module's own file, through the bundle's source map.
            const exit = yield* Effect.exit(pool.run(Boom, "kaboom"))
            assert.isTrue(Exit.isFailure(exit))
            const defect = Cause.squash((exit as Exit.Failure<unknown, unknown>).cause) as Error
            assert.strictEqual(defect.name, "RangeError")
            assert.match(defect.stack ?? "", /fixtures\/worker\.ts:\d+:\d+/, defect.stack)
            // Cancellation and crashes behave as they do unbundled.
            const cancelled = yield* Effect.exit(Effect.timeout(pool.run(Sleep, 10_000), "50 millis"))
            assert.isTrue(Exit.isFailure(cancelled))
            assert.isTrue(Exit.isFailure(yield* Effect.exit(pool.run(Crash, "exit"))))
            assert.strictEqual(yield* pool.run(Square, 8), 64)
            return bundles(dir)
          })
        )
        assert.strictEqual(first.length, 1, "one bundle in the cache")
        // The workers keep their compiled code beside it, for the next worker to read.
        assert.include(readdirSync(dir), "compile-cache")
        const built = statSync(join(dir, first[0]!)).mtimeMs
        yield* Effect.scoped(
          Effect.gen(function* () {
            const pool = yield* WorkerPool.make({ module: fixture, size: 1, bundle: true })
            assert.strictEqual(yield* pool.run(Square, 9), 81)
          })
        )
        assert.deepStrictEqual(bundles(dir), first)
        assert.strictEqual(statSync(join(dir, first[0]!)).mtimeMs, built, "the cached bundle was reused, not rebuilt")
      })
    )
  )

  it.live("a change to a file that went into the bundle builds it again", () =>
    withCache(() =>
      Effect.scoped(
        Effect.gen(function* () {
          // Beside the fixtures, so that it resolves the workspace's packages; removed at the end.
          const work = mkdtempSync(fileURLToPath(new URL("./fixtures/.bundle-", import.meta.url)))
          yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(work, { recursive: true, force: true })))
          const module = join(work, "worker.ts")
          const write = (factor: number, mtime: number) => {
            writeFileSync(
              module,
              `import { WorkerRunner } from "@strand/platform-node"\n` +
                `import { Effect } from "effect"\n` +
                `import { Square } from ${JSON.stringify(tasks)}\n` +
                `WorkerRunner.launch([WorkerRunner.handle(Square, (n) => Effect.succeed(n * ${factor}))])\n`
            )
            // A distinct modification time, as an editor's save gives.
            utimesSync(module, mtime, mtime)
          }
          const runOnce = Effect.scoped(
            Effect.flatMap(WorkerPool.make({ module: pathToFileURL(module), size: 1, bundle: true }), (pool) =>
              pool.run(Square, 10)
            )
          )
          write(2, 1_000_000)
          assert.strictEqual(yield* runOnce, 20)
          write(3, 2_000_000)
          assert.strictEqual(yield* runOnce, 30, "the edited module runs, not the old bundle")
        })
      )
    )
  )

  it.live("a module that cannot be bundled runs as it is, and the pool says why once", () =>
    Effect.gen(function* () {
      const { lines, layer } = warnings()
      // A cache "directory" that is a file: the bundle cannot be written.
      const blocked = join(mkdtempSync(join(tmpdir(), "strand-bundle-blocked-")), "not-a-directory")
      writeFileSync(blocked, "")
      const before = process.env.STRAND_BUNDLE_CACHE
      process.env.STRAND_BUNDLE_CACHE = blocked
      try {
        for (let i = 0; i < 2; i++) {
          const result = yield* Effect.scoped(
            Effect.flatMap(WorkerPool.make({ module: fixture, size: 1, bundle: true }), (pool) => pool.run(Square, 4))
          ).pipe(Effect.provide(layer))
          assert.strictEqual(result, 16)
        }
      } finally {
        if (before === undefined) delete process.env.STRAND_BUNDLE_CACHE
        else process.env.STRAND_BUNDLE_CACHE = before
      }
      const said = lines.filter((line) => line.includes("could not be bundled"))
      assert.strictEqual(said.length, 1, lines.join("\n"))
      assert.include(said[0], "worker.ts")
    })
  )

  it.live("worker processes start from the bundle too, with the same results and mapped stacks", () =>
    withCache((dir) =>
      Effect.scoped(
        Effect.gen(function* () {
          const pool = yield* WorkerPool.make({ module: fixture, size: 2, bundle: true, isolation: "process" })
          assert.strictEqual(bundles(dir).length, 1)
          assert.deepStrictEqual(yield* pool.map(Square, [1, 2, 3], { chunkSize: 2 }), [1, 4, 9])
          const pids = (yield* pool.stats).workers.map((worker) => worker.pid)
          assert.include(pids, yield* pool.run(ThreadId, undefined))
          const exit = yield* Effect.exit(pool.run(Boom, "kaboom"))
          const defect = Cause.squash((exit as Exit.Failure<unknown, unknown>).cause) as Error
          assert.match(defect.stack ?? "", /fixtures\/worker\.ts:\d+:\d+/, defect.stack)
          // The per-worker Layer, cancellation and a crash behave as they do unbundled.
          assert.strictEqual(yield* pool.run(Lookup, "answer"), 42)
          const cancelled = yield* Effect.exit(Effect.timeout(pool.run(Sleep, 10_000), "50 millis"))
          assert.isTrue(Exit.isFailure(cancelled))
          assert.isTrue(Exit.isFailure(yield* Effect.exit(pool.run(Crash, "exit"))))
          assert.strictEqual(yield* pool.run(Square, 8), 64)
        })
      )
    )
  )

  it.live("a bad bundle option is refused before any worker starts", () =>
    Effect.gen(function* () {
      const exit = yield* Effect.exit(WorkerPool.checkOptions({ module: fixture, bundle: "yes" as never }))
      assert.isTrue(Exit.isFailure(exit))
    })
  )
})
