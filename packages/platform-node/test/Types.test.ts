// Type-level checks: a handler's requirement that neither the worker's Layer nor its config
// provides is a compile error at launch, and stays in serve's requirements. `pnpm typecheck` fails if an @ts-expect-error below stops erroring.
import { assert, describe, it } from "@effect/vitest"
import { type Task, WorkerRunner } from "@strand/platform-node"
import { Context, Effect, Layer } from "effect"
import { Greet, Greeting, Square } from "./fixtures/tasks.ts"

class Db extends Context.Service<Db, { readonly rows: number }>()("test/Db") {}
const needsDb = WorkerRunner.handle(Square, (n) => Effect.map(Effect.service(Db), (db) => db.rows + n))
const needsGreeting = WorkerRunner.handle(Greet, (name) => Effect.map(Greeting, (g) => `${g.text} ${name}`))

describe("WorkerRunner types", () => {
  it("requirements must be provided by the layer or the config", () => {
    // On the main thread launch returns at once: these lines are here for the compiler.
    // @ts-expect-error Db is provided by neither a layer nor a config
    WorkerRunner.launch([needsDb])
    // @ts-expect-error the Greeting config is not listed
    WorkerRunner.launch([needsGreeting])
    WorkerRunner.launch([needsDb], { layer: Layer.succeed(Db, { rows: 1 }) })
    WorkerRunner.launch([needsGreeting], { config: [Greeting] })
    WorkerRunner.launch([needsDb, needsGreeting], {
      config: [Greeting],
      layer: Layer.effect(
        Db,
        Effect.map(Greeting, (g) => ({ rows: g.times }))
      )
    })
    // serve keeps what the options leave unprovided in its requirements.
    const leftOver: Effect.Effect<never, never, Db> = WorkerRunner.serve([needsDb, needsGreeting], {
      config: [Greeting]
    })
    const layerNeeds: Effect.Effect<never, never, Task.ConfigId<"Greeting">> = WorkerRunner.serve([needsDb], {
      layer: Layer.effect(
        Db,
        Effect.map(Greeting, (g) => ({ rows: g.times }))
      )
    })
    // @ts-expect-error the effect still needs Db
    const complete: Effect.Effect<never> = leftOver
    assert.isDefined([layerNeeds, complete])
    assert.isFalse(WorkerRunner.isWorker)
  })
})
