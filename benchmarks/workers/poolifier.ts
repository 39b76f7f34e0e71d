import { ThreadWorker } from "poolifier"
import { type Job, runJob } from "../tasks.ts"

export default new ThreadWorker((job?: Job) => runJob(job!))
