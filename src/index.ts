/** The Taskfile API: `import { task, namespace, file } from 'taskgraph'`. */
export { desc, disableNamespace, file, namespace, rule, task } from './dsl.js';
export type {
  DepInfo,
  DepSpec,
  DepsFunction,
  ExecOptions,
  ExecResult,
  OutputInfo,
  OutputSpec,
  PreflightContext,
  TaskArgs,
  TaskContext,
  TaskOptions,
} from './dsl.js';
export type { Output } from './output.js';
export { TaskError } from './failure.js';
export { decodeCommand } from './command-args.js';
export type { Failure } from './failure.js';
/** Crash-safe writes (temp file, fsync, rename): what a task writes is whole or not there. */
export { writeFileAtomic } from './atomic-file.js';
