/**
 * Runs a command next to a CPU-burning neighbour: the way to check that the test suite never
 * depends on an idle machine.
 *
 *   pnpm test:busy            # `pnpm test` next to one busy core
 *   tsx scripts/busy-neighbour.ts [--burners N] -- <command...>
 *
 * The neighbour is N separate processes (default 1) that each spin on a core for as long as the
 * command runs; they are killed when it ends, and the command's exit code is passed on.
 */
import { spawn } from "node:child_process"

const dashes = process.argv.indexOf("--")
const own = dashes >= 0 ? process.argv.slice(2, dashes) : process.argv.slice(2)
const command = dashes >= 0 ? process.argv.slice(dashes + 1) : ["pnpm", "test"]
const burnersFlag = own.indexOf("--burners")
const burners = burnersFlag >= 0 ? Number(own[burnersFlag + 1]) : 1
if (!Number.isSafeInteger(burners) || burners < 0) {
  console.error(`--burners must be a whole number of at least 0, got ${own[burnersFlag + 1]}`)
  process.exit(2)
}

const neighbours = Array.from({ length: burners }, () =>
  spawn(process.execPath, ["-e", "for (;;) Math.sqrt(Math.random())"], { stdio: "ignore" })
)
console.log(`busy-neighbour: ${burners} burning process(es) beside: ${command.join(" ")}`)
const child = spawn(command[0]!, command.slice(1), { stdio: "inherit" })
const stop = () => {
  for (const neighbour of neighbours) neighbour.kill("SIGKILL")
}
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    child.kill(signal)
    stop()
  })
}
child.on("exit", (code, signal) => {
  stop()
  console.log(`busy-neighbour: the command ended with ${signal ?? `code ${code}`}`)
  process.exit(code ?? 1)
})
