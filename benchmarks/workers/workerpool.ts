import workerpool from "workerpool"
import { type Job, runJob } from "../tasks.ts"

workerpool.worker({ run: (job: Job) => runJob(job) })
