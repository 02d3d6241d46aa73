// Baseline for the incremental benchmark: the least a runner could do for the same work. It is
// handed the exact jobs that must rerun (no hashing, no state, no decisions) and only spawns them,
// dependencies first, at most two at a time, writing each output from the command's stdout just
// as the Taskfile's run functions do.
//
// usage: node spawn-in-order.mjs PLAN.json   (PLAN: [{ out, file, args, deps: [out...] }], run
// from the fixture folder; deps name other jobs' outputs)
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const CONCURRENCY = 2;
const jobs = JSON.parse(readFileSync(process.argv[2], 'utf8'));

const pending = new Map(jobs.map((job) => [job.out, job]));
const done = new Set();
let running = 0;

// `deps` lists only jobs inside the plan: the rest of the graph is up to date.
const ready = () => [...pending.values()].filter((job) => job.deps.every((dep) => done.has(dep)));

function pump() {
  for (const job of ready()) {
    if (running >= CONCURRENCY) return;
    pending.delete(job.out);
    running++;
    execFile(job.file, job.args, (error, stdout) => {
      if (error) {
        console.error(error.message);
        process.exit(1);
      }
      writeFileSync(job.out, stdout);
      done.add(job.out);
      running--;
      pump();
    });
  }
}
pump();
