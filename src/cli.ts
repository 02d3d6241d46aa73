/**
 * argv -> actions. The only module that touches process: argv, streams, exit code, signals.
 *
 * Exit codes: 0 success, 1 a task failed, 2 usage or Taskfile error, 130 interrupted.
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { EXIT, GRAPH_FORMATS, HELP, parseCommandLine, version } from './command-line.js';
import type { Io } from './command-line.js';
import { closure, parseTarget, Planner } from './graph.js';
import type { Request } from './graph.js';
import { currentTask } from './escaped-error.js';
import { findTaskfile, loadTaskfile } from './loader.js';
import { TaskError } from './failure.js';
import { killAllProcessGroups } from './process.js';
import { replaceSdkNodeWarning } from './sdk-warning.js';
import {
  describeLoadError,
  describePlanError,
  disabledNamespaces,
  listPrereqs,
  listTasks,
  renderGraph,
  unknownTaskMessage,
} from './report/text.js';
import { runTasks, runWatch } from './run.js';
import type { ProcessHooks } from './run.js';
import { State } from './state.js';
import { accessProblemOf, checkTaskDir, describeAccessProblem } from './task-dir.js';

/** The real process.exit: a Taskfile only ever sees the guarded one (see guardProcessExit). */
const exitProcess = process.exit.bind(process);

export async function main(): Promise<void> {
  // However this process ends (a bug, an uncaught error), no task's process group outlives it.
  process.on('exit', () => killAllProcessGroups('SIGKILL'));
  let brokenPipe = false;
  const made = trackStdio((stream, name) => {
    if (name !== 'stdout') return;
    // `task ... | head`: once the reader is gone, write nothing more and stop the run as
    // Ctrl-C would, quietly (the reader asked for no more), instead of Node's unhandled EPIPE.
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
      if (brokenPipe) return;
      brokenPipe = true;
      stream.write = (...args: unknown[]) => {
        const callback = args.findLast((arg) => typeof arg === 'function') as
          (() => void) | undefined;
        callback?.();
        return true;
      };
      for (const stop of stopOnBrokenPipe) stop();
    });
  });
  const code = await runCli({
    argv: process.argv.slice(2),
    cwd: process.cwd(),
    env: process.env,
    // Made when first written to, not here: see trackStdio.
    get stdout() {
      return process.stdout;
    },
    get stderr() {
      return process.stderr;
    },
  });
  // Exit as soon as our output is out rather than when the event loop drains: by then V8 waits
  // for its background work (compile jobs, GC), 10-25 ms at the end of a no-op run of a large
  // graph. runCli resolves once every record and log is written; a pipe may still hold queued
  // output (a pipe write that would block is queued), so wait for each stream's queue first.
  await Promise.all(
    made.map((stream) => new Promise<void>((resolve) => stream.write('', () => resolve()))),
  );
  exitProcess(brokenPipe ? EXIT.brokenPipe : code);
}

/** How the run in progress stops when stdout's reader has gone (see main). */
const stopOnBrokenPipe = new Set<() => void>();

/**
 * process.stdout and process.stderr as they get made: Node makes each on first use, and the
 * streams made (by us, a task, a warning) are the ones to flush before exiting. One that nothing
 * wrote to is never made: for a pipe that saves loading net and its dependencies, a few ms of a
 * no-op run, whose stderr is usually a pipe in CI and stays silent.
 */
function trackStdio(
  onMade: (stream: NodeJS.WriteStream, name: 'stdout' | 'stderr') => void,
): NodeJS.WriteStream[] {
  const made: NodeJS.WriteStream[] = [];
  for (const name of ['stdout', 'stderr'] as const) {
    const own = Object.getOwnPropertyDescriptor(process, name);
    if (!own?.configurable || !own.get) {
      made.push(process[name]);
      onMade(process[name], name);
      continue;
    }
    const make = own.get.bind(process) as () => NodeJS.WriteStream;
    Object.defineProperty(process, name, {
      ...own,
      get: () => {
        const stream = make();
        if (!made.includes(stream)) {
          made.push(stream);
          onMade(stream, name);
        }
        return stream;
      },
    });
  }
  return made;
}

export async function runCli(io: Io): Promise<number> {
  const restoreExit = guardProcessExit();
  const parsed = parseCommandLine(io.argv);
  const quiet = !('error' in parsed) && parsed.values.quiet === true;
  const restoreWarning = replaceSdkNodeWarning(process, {
    say: (line) => (quiet ? undefined : io.stderr.write(`task: ${line}\n`)),
    nodeVersion: process.version,
  });
  try {
    return await runCommand(io);
  } catch (error) {
    // A .task/ this user cannot write (made by `sudo npx task`): one line, not an EACCES stack.
    const problem = accessProblemOf(error);
    if (!problem) throw error;
    io.stderr.write(`task: ${describeAccessProblem(problem)}\n`);
    return EXIT.usage;
  } finally {
    restoreExit();
    restoreWarning();
  }
}

/**
 * While the Taskfile loads and its tasks run, process.exit() throws instead of ending the process
 * with exit 0, no summary and children left running: the task that called it fails, named.
 */
function guardProcessExit(): () => void {
  const original = Object.getOwnPropertyDescriptor(process, 'exit');
  const guarded = (code?: string | number | null): never => {
    throw new TaskError({
      reason: 'reported',
      message: `called process.exit(${code ?? ''}), which would end every task at once; throw an Error to fail a task`,
    });
  };
  process.exit = guarded;
  return () => {
    if (original) Object.defineProperty(process, 'exit', original);
  };
}

async function runCommand(io: Io): Promise<number> {
  const parsed = parseCommandLine(io.argv);
  if ('error' in parsed) {
    io.stderr.write(`task: ${parsed.error}\nRun \`task --help\` for usage.\n`);
    return EXIT.usage;
  }
  const { values, targets, named } = parsed;
  if (values.help) {
    io.stdout.write(HELP);
    return EXIT.ok;
  }
  if (values.version) {
    io.stdout.write(`${version()}\n`);
    return EXIT.ok;
  }
  const cwd = values.directory ? resolve(io.cwd, values.directory) : io.cwd;
  if (values.directory && !statSync(cwd, { throwIfNoEntry: false })?.isDirectory()) {
    io.stderr.write(`task: -C: no directory ${cwd}\n`);
    return EXIT.usage;
  }
  if (values.check) return runCheck(io, cwd, values.file);
  const loaded = await loadTaskfile({ cwd, ...(values.file ? { file: values.file } : {}) });
  if (!loaded.ok) {
    io.stderr.write(`task: ${describeLoadError(loaded.error)}\n`);
    return EXIT.usage;
  }
  const { registry, root } = loaded;
  for (const line of disabledNamespaces(registry)) io.stderr.write(`task: ${line}\n`);
  if (registry.problems.length > 0) {
    // Each problem names its own file:line (else the Taskfile's).
    const where = relative(io.cwd, loaded.file) || loaded.file;
    for (const problem of registry.problems) {
      io.stderr.write(
        `task: ${/^[^\s:]+:\d+:\d+: /.test(problem) ? '' : `${where}: `}${problem}\n`,
      );
    }
    return EXIT.usage;
  }

  if (values.list !== undefined) {
    io.stdout.write(
      listTasks(registry, values.list === true ? undefined : values.list, values.all ?? false),
    );
    return EXIT.ok;
  }
  if (values.prereqs) {
    io.stdout.write(listPrereqs(registry));
    return EXIT.ok;
  }
  const state = new State(join(root, '.task'), (message) =>
    io.stderr.write(`task: warning: ${message}\n`),
  );
  if (values.forget !== undefined) {
    const unknown = targets.filter((t) => !registry.tasks.has(parseTarget(t).name));
    if (unknown.length > 0) {
      io.stderr.write(`task: --forget: ${unknownTaskMessage(unknown[0] as string, registry)}\n`);
      return EXIT.usage;
    }
    const dropped = state.forget(
      targets.length > 0 ? targets.map((t) => parseTarget(t).name) : undefined,
    );
    io.stdout.write(
      dropped.length > 0 ? `forgot ${dropped.join(', ')}\n` : 'nothing recorded to forget\n',
    );
    return EXIT.ok;
  }

  const explain = values.explain;
  const requests: Request[] = (
    explain ? [explain] : targets.length > 0 ? targets : ['default']
  ).map((t) => {
    const request = parseTarget(t);
    return Object.keys(named).length > 0 ? { ...request, named } : request;
  });
  const planner = new Planner(registry);
  const expansion = planner.expand(requests);
  if (!expansion.ok) {
    const format = parsed.graphFollower;
    const unknown = expansion.error.reason === 'unknown-task' ? expansion.error.name : undefined;
    io.stderr.write(
      format !== undefined && unknown === format
        ? `task: --graph: unknown format "${format}"; the formats are ${GRAPH_FORMATS.join(', ')}\n`
        : `task: ${describePlanError(expansion.error, registry)}\n`,
    );
    return EXIT.usage;
  }
  if (values.graph !== undefined) {
    io.stdout.write(renderGraph(closure(expansion.nodes), values.graph));
    return EXIT.ok;
  }

  const jobs = values.jobs === undefined ? availableParallelism() : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) {
    io.stderr.write(`task: -j expects a positive whole number, got "${values.jobs}"\n`);
    return EXIT.usage;
  }
  const readOnly = Boolean(values['dry-run'] || explain);
  if (values.watch) {
    if (readOnly) {
      io.stderr.write(
        'task: --watch runs tasks; it cannot be combined with --dry-run or --explain\n',
      );
      return EXIT.usage;
    }
    const debounceMs = values.debounce === undefined ? 100 : Number(values.debounce);
    if (!Number.isInteger(debounceMs) || debounceMs < 0) {
      io.stderr.write(
        `task: --debounce expects milliseconds (a whole number), got "${values.debounce}"\n`,
      );
      return EXIT.usage;
    }
    return runWatch(io, {
      root,
      file: loaded.file,
      state,
      registry,
      graph: { planner, nodes: expansion.nodes },
      sources: loaded.sources,
      requests,
      jobs,
      debounceMs,
      values,
      hooks,
    });
  }
  if (values.debounce !== undefined) {
    io.stderr.write('task: --debounce only applies with --watch\n');
    return EXIT.usage;
  }
  if (!readOnly) {
    const problem = checkTaskDir(join(root, '.task'));
    if (problem) {
      io.stderr.write(`task: ${describeAccessProblem(problem)}\n`);
      return EXIT.usage;
    }
  }
  return runTasks(io, {
    root,
    state,
    planner,
    nodes: expansion.nodes,
    jobs,
    readOnly,
    values,
    hooks,
  });
}

/**
 * Ctrl-C, SIGTERM and SIGHUP (a closed terminal, a dropped SSH session) stop the run: running
 * tasks are aborted and their process groups killed, which sit apart from ours and would
 * otherwise outlive us. A second one stops waiting for tasks that ignore their signal.
 */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** --check: the Taskfile typechecked by the project's tsc; 1 on type errors, 2 without tsc. */
async function runCheck(io: Io, cwd: string, file: string | undefined): Promise<number> {
  const found = findTaskfile(cwd, file);
  if ('error' in found) {
    io.stderr.write(`task: ${describeLoadError(found.error)}\n`);
    return EXIT.usage;
  }
  const { checkTypes } = await import('./typecheck.js');
  const result = await checkTypes({
    root: dirname(found.file),
    file: found.file,
    node: process.execPath,
    env: io.env,
    signal: new AbortController().signal,
    out: (line) => io.stdout.write(`${line}\n`),
  });
  if (result.ok) {
    io.stdout.write(`task: ${relative(io.cwd, found.file) || found.file}: types check\n`);
    return EXIT.ok;
  }
  if (result.reason === 'type-errors') return EXIT.failed;
  io.stderr.write(
    `task: --check needs TypeScript, and there is none in ${result.searchedFrom} or above: run \`npm install -D typescript\`, then \`npx task --check\` (loading a Taskfile strips its types without checking them)\n`,
  );
  return EXIT.usage;
}

/**
 * A throw in a task's timer or an unhandled rejection goes to `escaped` with the task whose code
 * it was (escaped-error.ts), which fails that task instead of the process; returns the undo.
 */
function trapEscapes(escaped: (error: unknown, key: string | undefined) => void): () => void {
  const onEscape = (error: unknown): void => escaped(error, currentTask());
  process.on('uncaughtException', onEscape);
  process.on('unhandledRejection', onEscape);
  return () => {
    process.off('uncaughtException', onEscape);
    process.off('unhandledRejection', onEscape);
  };
}

/** What a run needs of the process: cli.ts hands it to run.ts, which does not touch process. */
const hooks: ProcessHooks = { installSignalHandlers, trapEscapes };

function installSignalHandlers(
  controller: AbortController,
  on: { stopping?: () => void; forced?: () => Promise<void> } = {},
): () => void {
  let forcing = false;
  const onSignal = (): void => {
    if (controller.signal.aborted) {
      if (forcing) return;
      forcing = true;
      killAllProcessGroups('SIGKILL');
      // The summary of what got done, then out: bounded, in case a reporter hangs.
      const timeout = new Promise((resolve) => setTimeout(resolve, 2000).unref());
      void Promise.race([on.forced?.(), timeout]).finally(() => exitProcess(EXIT.interrupted));
      return;
    }
    controller.abort();
    on.stopping?.();
  };
  for (const signal of STOP_SIGNALS) process.on(signal, onSignal);
  const quietStop = (): void => controller.abort();
  stopOnBrokenPipe.add(quietStop);
  return () => {
    for (const signal of STOP_SIGNALS) process.off(signal, onSignal);
    stopOnBrokenPipe.delete(quietStop);
  };
}
