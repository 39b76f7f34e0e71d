/**
 * Inter-process queue: a worker sends a message back to its caller.
 *
 * Python:
 *   def worker(q): q.put("Hello from the worker!")
 *   q = multiprocessing.Queue()
 *   p = multiprocessing.Process(target=worker, args=(q,)); p.start()
 *   print(q.get()); p.join()
 *
 * A streaming task is the channel: the worker's handler returns a Stream, and the
 * caller consumes it as a Stream, item by item, as they arrive.
 */

import { threadId } from "node:worker_threads"
import { Task, WorkerPool, WorkerRunner } from "@strand/platform-node"
import { Console, Effect, Schema, Stream } from "effect"

const Messages = Task.stream("Messages", { payload: Schema.Void, success: Schema.String })

if (WorkerRunner.isWorker) {
  WorkerRunner.launch([
    WorkerRunner.handle(Messages, () => Stream.make("Hello from the worker!", `(sent from worker thread ${threadId})`))
  ])
} else {
  const program = Effect.gen(function* () {
    const pool = yield* WorkerPool.make({ module: import.meta.url, size: 1 })
    yield* pool.stream(Messages, undefined).pipe(Stream.runForEach((message) => Console.log(message)))
  })
  Effect.runPromise(Effect.scoped(program))
}
