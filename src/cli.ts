/**
 * argv -> actions. The only module that touches process: argv, streams, exit code, signals.
 *
 * Exit codes: 0 success, 1 a task failed, 2 usage or Taskfile error, 130 interrupted.
 */
import { readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { COMMAND_ARG, encodeCommand } from './command-args.js';
import type { Registry } from './dsl.js';
import { FileHasher } from './file-hasher.js';
import { closure, parseTarget, Planner } from './graph.js';
import { suggest } from './suggestion.js';
import type { PlanNode, Request } from './graph.js';
import { currentTask } from './escaped-error.js';
import { findTaskfile, loadTaskfile } from './loader.js';
import { TaskError } from './failure.js';
import { killAllProcessGroups } from './process.js';
import type { Reporter } from './report/events.js';
import { jsonReporter } from './report/json.js';
import { plainReporter } from './report/plain.js';
import { quietReporter } from './report/quiet.js';
import { replaceSdkNodeWarning } from './sdk-warning.js';
import {
  describeLoadError,
  describePlanError,
  disabledNamespaces,
  explainText,
  listPrereqs,
  listTasks,
  ownDryRunNote,
  renderGraph,
  unknownTaskMessage,
} from './report/text.js';
import { Tally } from './report/tally.js';
import { acquireTaskLocks } from './lock.js';
import type { LockOptions, TaskLocks } from './lock.js';
import { Scheduler } from './scheduler.js';
import { State } from './state.js';
import { accessProblemOf, checkTaskDir, describeAccessProblem } from './task-dir.js';
import type { WatchGraph } from './watch.js';

/**
 * brokenPipe: what a shell reports for a command killed by SIGPIPE (128 + 13), as `yes | head -1`
 * gives: the reader stopped reading, so the run was cut short and 0 would claim it finished.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130, brokenPipe: 141 } as const;

const HELP = `Usage: task [options] [targets...] [-- --arg=value ...]

Runs each target and its prerequisites, in parallel where it can, skipping every task whose
inputs have not changed since it last succeeded and whose outputs are still there.

Targets:
  name                 a task (no target: the \`default\` task)
  'name[a,b]'          with positional arguments, as Rake does
  name -- --key=value  with named arguments
  name -- CMD ARGS...  with a command (from the first word not --key=value, or after a second --)

Options:
  -T, --list [pattern] list tasks with a description (--all: every task)
      --all            with --list: include tasks without a description
  -P, --prereqs        list tasks with their prerequisites
  -n, --dry-run        say what would run and why; run and record nothing
      --explain TASK   why TASK is or is not up to date
  -B, --force          run the targets and their prerequisites even if up to date
  -j, --jobs N         run at most N tasks at once (default: number of CPUs)
  -k, --keep-going     after a failure, run everything that does not depend on it
  -C, --directory DIR  change to DIR first
  -f, --file FILE      use FILE instead of the nearest Taskfile.ts
      --graph [format] print the plan as dot or mermaid (default) on stdout
      --json           one JSON event per line on stdout
      --forget [TASK]  drop recorded state (of TASK, or of every task)
      --no-wait        fail at once if another task run holds the lock
  -w, --watch          run, then rerun what changes make out of date
      --debounce MS    with --watch: coalesce changes within MS (default 100)
      --check          typecheck the Taskfile with the project's tsc (loading does not)
  -q, --quiet          only the tasks' own output: no prefixes, progress or summary
      --trace          with a failure: the whole stack, mapped to your sources
  -v, --version        print the version
  -h, --help           print this help

Exit codes: 0 success, 1 a task failed, 2 usage or Taskfile error, 130 interrupted.
`;

interface Io {
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

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
  const controller = new AbortController();
  const tally = new Tally();
  let reporter: Reporter | undefined;
  const stopSignals = installSignalHandlers(controller, {
    stopping: () => {
      const running = tally.runningTasks();
      if (running.length > 0) {
        io.stderr.write(
          `task: stopping: waiting for ${running.join(', ')} (Ctrl-C again to force)\n`,
        );
      }
    },
    forced: async () => {
      if (!reporter) return;
      for (const event of tally.interrupted()) reporter.emit(event);
      await reporter.close();
    },
  });
  try {
    let locks: TaskLocks | undefined;
    if (!readOnly) {
      locks = await lockPlan(io, root, expansion.nodes, values, controller.signal);
      if (!locks.ok) {
        if (controller.signal.aborted) return EXIT.interrupted;
        io.stderr.write(
          `task: another task run (pid ${locks.pid}) holds the lock on ${locks.key}; try again when it finishes\n`,
        );
        return EXIT.failed;
      }
    }
    const held = locks;
    try {
      const hasher = FileHasher.open(root, join(root, '.task', 'stat-cache.json'));
      const shown = explain ? silentReporter() : await pickReporter(io, values);
      reporter = shown;
      const scheduler = new Scheduler({
        planner,
        root,
        state,
        hasher,
        env: io.env,
        concurrency: jobs,
        keepGoing: values['keep-going'] ?? false,
        force: values.force ?? false,
        dryRun: readOnly,
        signal: controller.signal,
        claim: held?.ok
          ? (keys) => held.extend(keys, lockOptions(io, values, controller.signal))
          : undefined,
        emit: (event) => {
          tally.emit(event);
          shown.emit(event);
          // Once a node has ended and its record is on disk, another run may take it.
          if (event.type === 'end' && held?.ok) {
            const writing = state.written(event.key);
            if (writing) void writing.then(() => held.release(event.key));
            else held.release(event.key);
          }
        },
      });
      const stopEscapes = trapEscapes((error, key) => scheduler.escaped(error, key));
      const summary = await scheduler.run(expansion.nodes).finally(stopEscapes);
      await shown.close();
      if (!readOnly) hasher.save();
      if (values['dry-run'] && !explain) {
        for (const node of closure(expansion.nodes)) {
          const note = ownDryRunNote(node, await scheduler.settle(node));
          if (note !== undefined) io.stderr.write(`task: ${note}\n`);
        }
      }
      if (explain) {
        const [node] = expansion.nodes as [PlanNode];
        const result = await scheduler.settle(node);
        io.stdout.write(explainText(node, result, state));
        return EXIT.ok;
      }
      if (summary.interrupted) return EXIT.interrupted;
      const [only] = summary.failures.length === 1 ? summary.failures : [];
      if (only?.failure.reason === 'reported' && only.failure.exitCode !== undefined) {
        return only.failure.exitCode;
      }
      return summary.counts.failed > 0 || summary.failures.length > 0 ? EXIT.failed : EXIT.ok;
    } finally {
      if (held?.ok) held.releaseAll();
    }
  } finally {
    stopSignals();
  }
}

/**
 * Locks the nodes of the plan that may run, read-only tasks and groups without a run excepted,
 * so runs whose plans share no such task never wait for each other (see lock.ts).
 */
function lockPlan(
  io: Io,
  root: string,
  nodes: readonly PlanNode[],
  values: Values,
  signal: AbortSignal,
): Promise<TaskLocks> {
  const keys = closure(nodes)
    .filter((node) => node.task.run && !node.readOnly)
    .map((node) => node.key);
  return acquireTaskLocks(join(root, '.task'), keys, lockOptions(io, values, signal));
}

/** Waiting for a held node (and saying so), or with --no-wait failing at once. */
function lockOptions(io: Io, values: Values, signal: AbortSignal): LockOptions {
  return {
    wait: !values['no-wait'],
    signal,
    onWait: ({ pid, key }) =>
      io.stderr.write(`task: waiting for another task run (pid ${pid}), which holds ${key}…\n`),
  };
}

/** --watch: runs until Ctrl-C, then exits 130 once every task it started has exited. */
async function runWatch(
  io: Io,
  context: {
    root: string;
    file: string;
    state: State;
    registry: Registry;
    graph: WatchGraph;
    sources: readonly string[];
    requests: readonly Request[];
    jobs: number;
    debounceMs: number;
    values: Values;
  },
): Promise<number> {
  const { root, values, requests } = context;
  const controller = new AbortController();
  const stopSignals = installSignalHandlers(controller);
  try {
    const json = values.json ?? false;
    const quiet = !json && (values.quiet ?? false);
    // A live tree redraws in place, which the watcher's lines and persistent tasks' output would
    // tear: watch mode prints plain lines (or JSON events, with its own lines on stderr; or with
    // -q the tasks' own output alone, the watcher's lines being progress).
    const reporter = json
      ? jsonReporter(io.stdout)
      : quiet
        ? quietReporter(io.stdout, io.stderr)
        : plainReporter(io.stdout, {
            githubActions: io.env.GITHUB_ACTIONS === 'true',
            trace: values.trace ?? false,
          });
    const { watch } = await import('./watch.js');
    await watch({
      root,
      state: context.state,
      hasher: FileHasher.open(root, join(root, '.task', 'stat-cache.json')),
      env: io.env,
      concurrency: context.jobs,
      keepGoing: values['keep-going'] ?? false,
      force: values.force ?? false,
      debounceMs: context.debounceMs,
      signal: controller.signal,
      reporter,
      out: (line) => (quiet ? undefined : (json ? io.stderr : io.stdout).write(`${line}\n`)),
      err: (line) => io.stderr.write(`task: ${line}\n`),
      registry: context.registry,
      graph: context.graph,
      sources: context.sources,
      load: async () => {
        const loaded = await loadTaskfile({ cwd: root, file: context.file });
        if (!loaded.ok) return { ok: false, message: describeLoadError(loaded.error) };
        if (loaded.registry.problems.length > 0) {
          const where = relative(io.cwd, loaded.file) || loaded.file;
          return { ok: false, message: `${where}: ${loaded.registry.problems.join('; ')}` };
        }
        return { ok: true, registry: loaded.registry, sources: loaded.sources };
      },
      plan: (registry) => {
        const planner = new Planner(registry);
        const expansion = planner.expand(requests);
        return expansion.ok
          ? { ok: true, graph: { planner, nodes: expansion.nodes } }
          : { ok: false, message: describePlanError(expansion.error, registry) };
      },
      trapEscapes,
      lock: async (nodes) => {
        const locks = await lockPlan(io, root, nodes, values, controller.signal);
        if (locks.ok) return locks.releaseAll;
        if (!controller.signal.aborted) {
          io.stderr.write(
            `task: another task run (pid ${locks.pid}) holds the lock on ${locks.key}; skipped this run, still watching\n`,
          );
        }
        return undefined;
      },
    });
    await reporter.close();
    return EXIT.interrupted;
  } finally {
    stopSignals();
  }
}

type Values = {
  help?: boolean;
  version?: boolean;
  list?: string | true;
  all?: boolean;
  prereqs?: boolean;
  'dry-run'?: boolean;
  explain?: string;
  force?: boolean;
  jobs?: string;
  'keep-going'?: boolean;
  directory?: string;
  file?: string;
  graph?: string;
  json?: boolean;
  forget?: boolean;
  'no-wait'?: boolean;
  watch?: boolean;
  debounce?: string;
  trace?: boolean;
  quiet?: boolean;
  check?: boolean;
};

type Parsed =
  | {
      values: Values;
      targets: string[];
      named: Record<string, string>;
      /** A word after a bare --graph, taken as a target: a typo'd format if no task has its name. */
      graphFollower?: string;
    }
  | { error: string };

const GRAPH_FORMATS = ['mermaid', 'dot'] as const;

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  all: { type: 'boolean' },
  prereqs: { type: 'boolean', short: 'P' },
  'dry-run': { type: 'boolean', short: 'n' },
  explain: { type: 'string' },
  force: { type: 'boolean', short: 'B' },
  jobs: { type: 'string', short: 'j' },
  'keep-going': { type: 'boolean', short: 'k' },
  directory: { type: 'string', short: 'C' },
  file: { type: 'string', short: 'f' },
  json: { type: 'boolean' },
  forget: { type: 'boolean' },
  'no-wait': { type: 'boolean' },
  watch: { type: 'boolean', short: 'w' },
  debounce: { type: 'string' },
  trace: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  check: { type: 'boolean' },
} as const;

/** Options handled before parseArgs (their value is optional), for suggestions. */
const OWN_OPTIONS = ['list', 'graph'];

export function parseCommandLine(argv: readonly string[]): Parsed {
  const dashdash = argv.indexOf('--');
  const own = dashdash === -1 ? [...argv] : argv.slice(0, dashdash);
  const rest = dashdash === -1 ? [] : argv.slice(dashdash + 1);

  // Options whose value is optional: take the next word only when it is not a target.
  let list: string | true | undefined;
  let graph: string | undefined;
  let graphFollower: string | undefined;
  const words: string[] = [];
  for (let i = 0; i < own.length; i++) {
    const word = own[i] as string;
    if (word === '-T' || word === '--list') {
      const next = own[i + 1];
      if (next !== undefined && !next.startsWith('-')) {
        list = next;
        i++;
      } else list = true;
    } else if (word.startsWith('--list=')) list = word.slice('--list='.length);
    else if (word === '--graph') {
      const next = own[i + 1];
      if (next === 'dot' || next === 'mermaid') {
        graph = next;
        i++;
      } else {
        graph = 'mermaid';
        if (next !== undefined && !next.startsWith('-')) graphFollower = next;
      }
    } else if (word.startsWith('--graph=')) graph = word.slice('--graph='.length);
    else words.push(word);
  }
  if (graph !== undefined && !(GRAPH_FORMATS as readonly string[]).includes(graph)) {
    return {
      error: `--graph: unknown format "${graph}"; the formats are ${GRAPH_FORMATS.join(', ')}`,
    };
  }

  let parsed;
  try {
    parsed = parseArgs({ args: words, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (error) {
    return { error: describeArgsError(error as Error & { code?: string }) };
  }
  const named: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i] as string;
    const match = /^--([^=]+)(?:=(.*))?$/s.exec(word);
    if (!match || word === '--') {
      // The rest is a command for the task (ENV:run, ENV:artisan), kept word for word.
      named[COMMAND_ARG] = encodeCommand(rest.slice(word === '--' ? i + 1 : i));
      break;
    }
    named[match[1] as string] = match[2] ?? 'true';
  }
  const values: Values = { ...(parsed.values as Values) };
  if (list !== undefined) values.list = list;
  if (graph !== undefined) values.graph = graph;
  return {
    values,
    targets: parsed.positionals,
    named,
    ...(graphFollower === undefined ? {} : { graphFollower }),
  };
}

/**
 * parseArgs' message for an unknown option ends with a half-quoted hint about `--`; ours names
 * the nearest option instead.
 */
function describeArgsError(error: Error & { code?: string }): string {
  const unknown = /^Unknown option '([^']+)'/.exec(error.message)?.[1];
  if (error.code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || unknown === undefined) {
    return error.message.split('\n')[0] ?? 'bad arguments';
  }
  const long = [...Object.keys(OPTIONS), ...OWN_OPTIONS].map((name) => `--${name}`);
  const [nearest] = unknown.startsWith('--') ? suggest(unknown, long) : [];
  return nearest
    ? `unknown option ${unknown}; did you mean ${nearest}?`
    : `unknown option ${unknown}; to pass it to a task, put it after --`;
}

async function pickReporter(io: Io, values: Values): Promise<Reporter> {
  if (values.json) return jsonReporter(io.stdout);
  if (values.quiet) return quietReporter(io.stdout, io.stderr);
  const trace = values.trace ?? false;
  const ci = io.env.CI !== undefined && io.env.CI !== '' && io.env.CI !== 'false';
  if (io.stdout.isTTY && !ci) {
    const { listrReporter } = await import('./report/listr.js');
    return listrReporter(io.stdout, { trace });
  }
  return plainReporter(io.stdout, { githubActions: io.env.GITHUB_ACTIONS === 'true', trace });
}

function silentReporter(): Reporter {
  return { emit: () => {}, close: async () => {} };
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

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
