// piscina and tinypool both call the module's default export with the task.
import { type Job, runJob } from "../tasks.ts"

export default (job: Job): number | Promise<number> => runJob(job)
