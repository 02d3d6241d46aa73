/**
 * The engine as one bundle (dist/cli.bundle.js, scripts/bundle-cli.mjs): the CLI's entry, the
 * package's API (`taskgraph`, whose dist/index.js re-exports it from here) and the loader's
 * internal DSL entry, so that a Taskfile's `import 'taskgraph'` runs the very modules the CLI runs.
 * No side effects: bin/task.js calls main(), and a Taskfile imports this file while main() runs.
 */
export * from './index.js';
export { main } from './cli.js';
export { definedIn } from './dsl.js';
