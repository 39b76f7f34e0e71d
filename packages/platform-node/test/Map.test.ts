// map and mapStream as exact as Python's Pool.map and Pool.imap: validated chunk sizes, every
// result before the first failing input, lazy input. Real worker threads, and real worker processes.
import { assert, describe, it, layer } from "@effect/vitest"
import { WorkerPool } from "@strand/platform-node"
import { Effect, Exit, Schema, Stream } from "effect"
import { Square, Step } from "./fixtures/tasks.ts"

const module = new URL("./fixtures/worker.ts", import.meta.url)

/** Every item a stream emits before it ends, and how it ended. */
const drain = <A, E>(stream: Stream.Stream<A, E>) =>
  Effect.gen(function* () {
    const items: Array<A> = []
    const exit = yield* Effect.exit(Stream.runForEach(stream, (item) => Effect.sync(() => items.push(item))))
    return {
      items,
      error: Exit.isFailure(exit)
        ? Exit.findErrorOption(exit).pipe((o) => (o._tag === "Some" ? o.value : undefined))
        : undefined
    }
  })

const step = (value: number, ms: number, fail = false) => ({ value, ms, fail })

describe.each(["thread", "process"] as const)("map and mapStream (%s)", (isolation) => {
  const makePool = () => WorkerPool.make({ module, size: 2, isolation })

  it.live("a chunk size that is not a positive whole number or auto fails at once, naming it", () =>
    Effect.gen(function* () {
      const pool = yield* makePool()
      for (const chunkSize of [0, -1, Number.NaN, 2.5, Number.POSITIVE_INFINITY, "2", null]) {
        const options = { chunkSize } as unknown as WorkerPool.MapOptions
        const fromMap = yield* Effect.flip(pool.map(Square, [1, 2, 3, 4, 5], options))
        const fromStream = yield* Effect.flip(Stream.runCollect(pool.mapStream(Square, [1, 2, 3, 4, 5], options)))
        for (const error of [fromMap, fromStream]) {
          assert.strictEqual(error._tag, "InvalidPoolOptions", String(chunkSize))
          assert.include(error.message, "chunkSize")
        }
      }
      const order = yield* Effect.flip(pool.map(Square, [1], { order: "bogus" as never }))
      assert.include(order.message, "order")
    })
  )

  it.live('order: "input" emits every result before the first failing input, then its error', () =>
    Effect.gen(function* () {
      const pool = yield* makePool()
      // Items 0-2 are slow and item 3 fails at once: its failure must wait for them.
      const inputs = [step(0, 150), step(1, 150), step(2, 150), step(3, 0, true), step(4, 0)]
      for (const chunkSize of [1, 2, "auto"] as const) {
        const { items, error } = yield* drain(pool.mapStream(Step, inputs, { chunkSize }))
        assert.deepStrictEqual(items, [0, 1, 2], `chunkSize ${chunkSize}`)
        assert.strictEqual(error?._tag, "Odd")
      }
      // Equal speeds, chunks of 4: the same outcome every time.
      const even = Array.from({ length: 12 }, (_, i) => step(i, 20, i === 5))
      for (let run = 0; run < 4; run++) {
        const { items, error } = yield* drain(pool.mapStream(Step, even, { chunkSize: 4 }))
        assert.deepStrictEqual(items, [0, 1, 2, 3, 4])
        assert.strictEqual(error?._tag, "Odd")
      }
      // map stays fail-fast.
      assert.strictEqual((yield* Effect.flip(pool.map(Step, inputs)))._tag, "Odd")
    })
  )

  it.live("mapStream reads its input lazily: an endless generator, and one that throws", () =>
    Effect.gen(function* () {
      const pool = yield* makePool()
      let pulled = 0
      function* naturals() {
        for (let i = 0; ; i++) {
          pulled++
          yield i
        }
      }
      const first = yield* Stream.runCollect(Stream.take(pool.mapStream(Square, naturals(), { chunkSize: 4 }), 10))
      assert.deepStrictEqual(Array.from(first), [0, 1, 4, 9, 16, 25, 36, 49, 64, 81])
      // An eager reader would never return from an endless input. How far ahead the lazy one reads
      // depends on timing, within a structural bound: a few chunks per worker (4 x 2 in flight, plus
      // the stream's own buffers). Assert that bound generously, so that no timing can fail it.
      assert.isAtMost(pulled, 10 + 4 * 2 * 4 * 4)

      function* throwsAt3() {
        yield 1
        yield 2
        yield 3
        throw new Error("the input file is truncated")
      }
      const { items, error } = yield* drain(pool.mapStream(Square, throwsAt3()))
      assert.deepStrictEqual(items, [1, 4, 9])
      assert.strictEqual(error?._tag, "MapInputError")
      assert.include(error?.message, "input #3")
      assert.include(error?.message, "the input file is truncated")
      assert.strictEqual((yield* Effect.flip(pool.map(Square, throwsAt3())))._tag, "MapInputError")
    })
  )

  it.live("mapStream takes an Effect Stream as its input, with its error after the results before it", () =>
    Effect.gen(function* () {
      const pool = yield* makePool()
      const squares = yield* Stream.runCollect(pool.mapStream(Square, Stream.range(1, 6), { chunkSize: 2 }))
      assert.deepStrictEqual(Array.from(squares), [1, 4, 9, 16, 25, 36])
      const failing = Stream.concat(Stream.make(1, 2, 3), Stream.fail("the source went away" as const))
      const { items, error } = yield* drain(pool.mapStream(Square, failing, { chunkSize: 2 }))
      assert.deepStrictEqual(items, [1, 4, 9])
      assert.strictEqual(error, "the source went away")
    })
  )
})

layer(WorkerPool.layer({ module, size: 2 }))("map under fuzzed chunk sizes", (it) => {
  it.effect.prop(
    "any chunk size either maps every input or is refused",
    { chunkSize: Schema.Union([Schema.Number, Schema.Literals(["auto"])]) },
    ({ chunkSize }) =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(WorkerPool.map(Square, [1, 2, 3, 4, 5], { chunkSize }))
        const valid = chunkSize === "auto" || (Number.isSafeInteger(chunkSize) && chunkSize >= 1)
        if (valid) assert.deepStrictEqual(exit, Exit.succeed([1, 4, 9, 16, 25]))
        else {
          const error = Exit.findErrorOption(exit)
          assert.strictEqual(error._tag === "Some" && error.value._tag, "InvalidPoolOptions", String(chunkSize))
        }
      }),
    { arbitrary: { runs: 300 } }
  )
})
