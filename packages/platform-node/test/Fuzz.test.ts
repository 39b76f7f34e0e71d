// Fuzzed bad input at the worker boundary: payloads of any shape, values that break a task's
// schema, and worker modules that do not serve what the caller expects. Every case ends in a
// result or a typed error, never a throw, a defect or a hang, and the pool runs a normal task
// afterwards. Real worker threads throughout.
import { assert, describe, it, layer } from "@effect/vitest"
import { WorkerPool } from "@strand/platform-node"
import { Cause, Effect, Exit, Schema } from "effect"
import { Anything, Greeting, Square } from "./fixtures/tasks.ts"

const misbehaving = new URL("./fixtures/misbehaving-worker.ts", import.meta.url)

/** JSON-like values, deep enough to matter. */
const Plain = Schema.Union([
  Schema.Number,
  Schema.String,
  Schema.Boolean,
  Schema.Null,
  Schema.Array(Schema.Union([Schema.Number, Schema.String, Schema.Null])),
  Schema.Record(Schema.String, Schema.Union([Schema.Number, Schema.String, Schema.Boolean]))
])

class Point {
  readonly x: number
  constructor(x: number) {
    this.x = x
  }
  norm() {
    return Math.abs(this.x)
  }
}

/** Parts that structured clone refuses, and parts it copies in its own way (cycles, class instances). */
const spoilers: ReadonlyArray<(plain: unknown) => { value: unknown; cloneable: boolean }> = [
  (plain) => ({ value: plain, cloneable: true }),
  (plain) => ({ value: { plain, f: () => plain }, cloneable: false }),
  (plain) => ({ value: [plain, Symbol("s")], cloneable: false }),
  (plain) => ({ value: { plain, map: new Map([["weak", new WeakMap()]]) }, cloneable: false }),
  (plain) => ({ value: { plain, pending: Promise.resolve(plain) }, cloneable: false }),
  (plain) => {
    const cycle: Record<string, unknown> = { plain }
    cycle.self = cycle
    return { value: cycle, cloneable: true }
  },
  (plain) => ({ value: { plain, point: new Point(3) }, cloneable: true }),
  (plain) => ({ value: new Set([plain, new Date(0), 10n]), cloneable: true })
]

/**
 * A Set as an array (structured clone keeps a Set's order). Chai compares Sets by sorting their
 * entries as text, which throws for an entry such as `{ toString: 0 }`.
 */
const asArray = (value: unknown): unknown => (value instanceof Set ? Array.from(value) : value)

/** Whether a failure is one of the pool's typed errors (not a defect, not an interruption). */
const typedTag = (exit: Exit.Exit<unknown, unknown>): string | undefined => {
  if (Exit.isSuccess(exit)) return undefined
  assert.isTrue(
    exit.cause.reasons.every((reason) => reason._tag === "Fail"),
    `a typed error, not ${Cause.pretty(exit.cause)}`
  )
  const error = Exit.findErrorOption(exit)
  return error._tag === "Some" ? (error.value as { _tag: string })._tag : undefined
}

const config = [Greeting.value({ text: "Hello", times: 1 })]

layer(WorkerPool.layer({ module: misbehaving, size: 2, config }))("the worker boundary under fuzzed payloads", (it) => {
  it.effect.prop(
    "any payload crosses intact or fails its own task with PayloadError; the worker serves on",
    { plain: Plain, spoiler: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: spoilers.length - 1 })) },
    ({ plain, spoiler }) =>
      Effect.gen(function* () {
        const { value, cloneable } = spoilers[spoiler]!(plain)
        const exit = yield* Effect.exit(WorkerPool.run(Anything, value))
        if (cloneable) {
          assert.isTrue(Exit.isSuccess(exit), `spoiler ${spoiler} should cross`)
          assert.deepStrictEqual(
            asArray(Exit.isSuccess(exit) ? exit.value : undefined),
            asArray(structuredClone(value))
          )
        } else {
          assert.strictEqual(typedTag(exit), "PayloadError", `spoiler ${spoiler}`)
        }
        assert.strictEqual(yield* WorkerPool.run(Square, 3), 9)
      }),
    { arbitrary: { runs: 120 } }
  )

  it.effect.prop(
    "a value that breaks the task's schema is a caller-side PayloadError, whatever it is",
    { value: Schema.Union([Plain, Schema.Undefined]) },
    ({ value }) =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(WorkerPool.run(Square, value as number))
        if (typeof value === "number") assert.deepStrictEqual(exit, Exit.succeed(value * value))
        else assert.strictEqual(typedTag(exit), "PayloadError", JSON.stringify(value))
      }),
    { arbitrary: { runs: 200 } }
  )
})

describe("worker modules that do not serve what the caller expects", () => {
  it.live("no handlers at all, or another task set: TaskNotServed, typed; the pool lives on", () =>
    Effect.scoped(
      Effect.gen(function* () {
        const empty = yield* WorkerPool.make({
          module: new URL("./fixtures/no-handlers-worker.ts", import.meta.url),
          size: 1
        })
        for (let i = 0; i < 3; i++) {
          assert.strictEqual(typedTag(yield* Effect.exit(empty.run(Square, i))), "TaskNotServed")
        }
        assert.strictEqual((yield* empty.stats).crashed, 0)
      })
    )
  )
})
