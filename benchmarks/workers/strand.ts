import { Task, WorkerRunner } from "@strand/platform-node"
import { Effect, Schema } from "effect"
import { spin, trivial } from "../tasks.ts"

export const Trivial = Task.make("Trivial", { payload: Schema.Number, success: Schema.Number })
export const Spin = Task.make("Spin", { payload: Schema.Number, success: Schema.Number })
export const Exit = Task.make("Exit", { payload: Schema.Number, success: Schema.Number })

WorkerRunner.launch([
  WorkerRunner.handle(Trivial, (n) => Effect.succeed(trivial(n))),
  WorkerRunner.handle(Spin, (ms) => Effect.sync(() => spin(ms))),
  WorkerRunner.handle(Exit, () => Effect.sync(() => process.exit(3)))
])
