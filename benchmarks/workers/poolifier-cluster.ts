import { ClusterWorker } from "poolifier"
import { type Job, runJob } from "../tasks.ts"

export default new ClusterWorker((job?: Job) => runJob(job!))
