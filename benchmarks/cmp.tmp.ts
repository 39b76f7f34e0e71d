import { all } from "./pools.ts"
const subjects = (process.argv[2] ?? "strand process,poolifier cluster,workerpool process").split(",")
const time = async (f: () => Promise<unknown>) => { const t = performance.now(); await f(); return performance.now() - t }
for (let rep = 0; rep < 2; rep++) for (const s of subjects) {
  const pool = await all[s]!({ size: 2 })
  await pool.ready()
  await pool.runMany({ kind: "trivial", n: 1 }, 20000, 512)
  const seq = 3000 / (await time(() => pool.runMany({ kind: "trivial", n: 1 }, 3000, 1))) * 1000
  const pipe = 40000 / (await time(() => pool.runMany({ kind: "trivial", n: 1 }, 40000, 512))) * 1000
  console.log(s.padEnd(20), "seq", seq.toFixed(0), "pipe", pipe.toFixed(0))
  await pool.close()
}
process.exit(0)
