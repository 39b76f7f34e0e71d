// piscina and tinypool both call the module's default export with the task.
//
// piscina loads its worker module with require(). Under tsx, that compiles the module and all it
// imports, Effect included, to CommonJS, whose exports are getters: Effect's Schema then runs
// about 4x slower in piscina's workers than in anyone else's (measured: 3.1-3.3 ms against
// 0.77-0.79 ms per record batch of scenario 17). So the task code is imported as native ESM, as
// every other pool's worker gets it; once it has loaded, a task runs synchronously.
import type { Job } from "../tasks.ts"

let run: ((job: Job) => number) | undefined
const loading = import("../tasks.ts").then((tasks) => {
  run = tasks.runJob
})

export default (job: Job): number | Promise<number> => (run === undefined ? loading.then(() => run!(job)) : run(job))
