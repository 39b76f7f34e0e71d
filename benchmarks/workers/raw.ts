// The ceiling: one postMessage per task each way, with no pool around it.
import { parentPort } from "node:worker_threads"
import { type Job, runJob } from "../tasks.ts"

parentPort!.on("message", ([id, job]: [number, Job]) => parentPort!.postMessage([id, runJob(job)]))
