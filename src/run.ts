/**
 * A run of the planned tasks as the command line asked for it, once or in watch mode: the
 * reporter, the run's locks, stopping on a signal, and the exit code it ends with. What it needs
 * of the process (signals, escaped errors) cli.ts passes in: only cli.ts touches process.
 */
import { join, relative } from 'node:path';
import { EXIT } from './command-line.js';
import type { Io, Values } from './command-line.js';
import type { Registry } from './dsl.js';
import { FileHasher } from './file-hasher.js';
import { closure, Planner } from './graph.js';
import type { PlanNode, Request } from './graph.js';
import { loadTaskfile } from './loader.js';
import { acquireTaskLocks } from './lock.js';
import type { LockOptions, TaskLocks } from './lock.js';
import type { Reporter } from './report/events.js';
import { jsonReporter } from './report/json.js';
import { plainReporter } from './report/plain.js';
import { quietReporter } from './report/quiet.js';
import { Tally } from './report/tally.js';
import { describeLoadError, describePlanError, explainText, ownDryRunNote } from './report/text.js';
import { Scheduler } from './scheduler.js';
import type { State } from './state.js';
import type { WatchGraph } from './watch.js';

/** What a run needs of the process, which cli.ts alone touches: it passes its own handlers. */
export interface ProcessHooks {
  /** Aborts `controller` on Ctrl-C, SIGTERM, SIGHUP or a closed stdout; returns the undo. */
  installSignalHandlers: (
    controller: AbortController,
    on?: { stopping?: () => void; forced?: () => Promise<void> },
  ) => () => void;
  /** Hands errors that escape a task to `escaped`, with the task's key; returns the undo. */
  trapEscapes: (escaped: (error: unknown, key: string | undefined) => void) => () => void;
}

/** Runs the plan once (or, with --dry-run or --explain, says what it would do). */
export async function runTasks(
  io: Io,
  context: {
    root: string;
    state: State;
    planner: Planner;
    nodes: readonly PlanNode[];
    jobs: number;
    readOnly: boolean;
    values: Values;
    hooks: ProcessHooks;
  },
): Promise<number> {
  const { root, state, planner, nodes, jobs, readOnly, values } = context;
  const { installSignalHandlers, trapEscapes } = context.hooks;
  // The plan's every node, walked once for the locks, the scheduler and the dry run's notes.
  const all = closure(nodes);
  const explain = values.explain;
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
      locks = await lockPlan(io, { root, state, all, values, signal: controller.signal });
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
      const summary = await scheduler.run(nodes, all).finally(stopEscapes);
      await shown.close();
      if (!readOnly) hasher.save();
      if (values['dry-run'] && !explain) {
        for (const node of all) {
          const note = ownDryRunNote(node, await scheduler.settle(node));
          if (note !== undefined) io.stderr.write(`task: ${note}\n`);
        }
      }
      if (explain) {
        const [node] = nodes as [PlanNode];
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
 * so runs whose plans share no such task never wait for each other (see lock.ts). The records
 * are read in the same hold of the state lock as the claim is made: once, not twice, per run.
 */
function lockPlan(
  io: Io,
  context: {
    root: string;
    state: State;
    /** The plan: its nodes and all they depend on (closure()). */
    all: readonly PlanNode[];
    values: Values;
    signal: AbortSignal;
  },
): Promise<TaskLocks> {
  const { root, state, all, values, signal } = context;
  const keys = all.filter((node) => node.task.run && !node.readOnly).map((node) => node.key);
  const options = lockOptions(io, values, signal);
  return acquireTaskLocks(join(root, '.task'), keys, options, () => state.loadHolding());
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
export async function runWatch(
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
    hooks: ProcessHooks;
  },
): Promise<number> {
  const { root, values, requests } = context;
  const { installSignalHandlers, trapEscapes } = context.hooks;
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
        const { state } = context;
        const all = closure(nodes);
        const locks = await lockPlan(io, { root, state, all, values, signal: controller.signal });
        if (locks.ok) {
          const claim = (keys: string[]) =>
            locks.extend(keys, lockOptions(io, values, controller.signal));
          return { claim, releaseAll: locks.releaseAll };
        }
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
