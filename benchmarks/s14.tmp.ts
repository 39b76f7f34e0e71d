import * as S from "/work/main/benchmarks/scenarios.ts"
for (const subject of ["strand process", "workerpool process", "poolifier cluster", "strand"]) {
  console.log(subject, JSON.stringify(await S.processes({ quick: false, cores: 2 }, subject)))
}
process.exit(0)
