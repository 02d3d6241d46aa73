/**
 * Watch mode: run the targets, then rerun what each change makes out of date.
 *
 *   changes:  ──change──> debouncing ──quiet for debounceMs──> no run going: start one
 *                          ▲    │                               a run going: react within it
 *                          └────┘ change: restart the timer
 *
 *   runs:     idle ──start──> running ──settled──> idle, or the next run when a Taskfile edit
 *                              │  ▲                 (reloads wait for the run) is pending
 *                              └──┘ react: the stale tasks and their dependents join the run
 *                                   and start as soon as their own deps allow, running ones
 *                                   killed first; the other tasks carry on
 *
 * A change counts by content, not by event: a path makes a task stale only when its inputs match
 * it and its hash differs from the one the task last saw. So a save that changed nothing, a
 * task's own outputs, or a producer's output that its consumer has already hashed never rerun
 * anything, and no rerun can loop. What reruns is the stale tasks and every dependent in the plan.
 *
 * Persistent tasks live in `BackgroundTasks` between runs; the scheduler restarts one only when
 * its fingerprint differs from the one it was started with. Locks are taken per run, on every
 * task of the watched graph: a change mid-run may add any of them to the run.
 *
 * A run here fails as a normal run does: errors that escape tasks come to `escaped` (cli.ts traps
 * them for the whole session), so one fails its task instead of the watcher, and what starts again
 * mid-run checks its preflight first (scheduler.ts).
 *
 * Events come from tree-watcher.ts (one fs.watch per folder in scope, not chokidar: see there).
 */
import { lstatSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import type { Ignore } from 'ignore';
import type { Registry } from './dsl.js';
import type { PlanNode, Planner } from './graph.js';
import type { Reporter } from './report/events.js';
import { BackgroundTasks } from './background.js';
import { describeFailure, failureFrom } from './failure.js';
import { locateFailure } from './source-location.js';
import { closure } from './graph.js';
import { Scheduler } from './scheduler.js';
import type { NodeResult, SchedulerOptions } from './scheduler.js';
import { inputMatcher, readGitignore, scopeOf, TreeWatcher, trimSlash } from './tree-watcher.js';
import type { Scope } from './tree-watcher.js';

/** The requested nodes and the planner that made them (ctx.invoke plans more on demand). */
export interface WatchGraph {
  planner: Planner;
  nodes: readonly PlanNode[];
}

export type Reloaded =
  { ok: true; registry: Registry; sources: readonly string[] } | { ok: false; message: string };

export type Planned = { ok: true; graph: WatchGraph } | { ok: false; message: string };

/** What each run's scheduler gets, plus what the watcher itself needs. */
export interface WatchOptions extends Pick<
  SchedulerOptions,
  'root' | 'state' | 'hasher' | 'env' | 'concurrency' | 'keepGoing'
> {
  /** -B: the first run runs everything; reruns are decided by fingerprints. */
  force: boolean;
  debounceMs: number;
  /** Aborted on Ctrl-C: the watcher stops its tasks and resolves once their processes are gone. */
  signal: AbortSignal;
  reporter: Reporter;
  /** The watcher's own lines (what changed, what reruns) and its errors. */
  out: (line: string) => void;
  err: (line: string) => void;
  registry: Registry;
  graph: WatchGraph;
  /** Absolute paths of every file the Taskfile bundle was made of. */
  sources: readonly string[];
  /** Loads the Taskfile again; a failure comes back as a message naming the file. */
  load: () => Promise<Reloaded>;
  /** Plans the targets in a (reloaded) registry. */
  plan: (registry: Registry) => Planned;
  /**
   * Sends the errors that escape tasks (a timer's throw, an unhandled rejection) to `escaped`
   * with the task whose code it was, while watching; returns the undo (cli.ts owns `process`).
   */
  trapEscapes: (escaped: (error: unknown, key: string | undefined) => void) => () => void;
  /** Locks the nodes a run may run; undefined when it could not (the reason is already printed). */
  lock: (nodes: readonly PlanNode[]) => Promise<WatchLock | undefined>;
}

/** One run's claim: what ctx.invoke reaches joins it (as in a single run), all of it goes at the end. */
export interface WatchLock {
  claim: NonNullable<SchedulerOptions['claim']>;
  releaseAll: () => void;
}

/** Resolves after Ctrl-C, once every task it started (persistent ones included) has exited. */
export async function watch(options: WatchOptions): Promise<void> {
  const watcher = new Watcher(options);
  await watcher.run();
}

class Watcher {
  private graph: WatchGraph;
  private registry: Registry;
  private sources: Set<string>;
  private readonly results = new Map<string, NodeResult>();
  private readonly background = new BackgroundTasks();
  private readonly pending = new Set<string>();
  private readonly gitignore: Ignore;
  private tree: TreeWatcher;
  private timer: NodeJS.Timeout | undefined;
  private current: Scheduler | undefined;
  private loop: Promise<void> | undefined;
  /** Mid-run reactions, one after another (each hashes the changed files first). */
  private reacting: Promise<void> = Promise.resolve();

  constructor(private readonly options: WatchOptions) {
    this.graph = options.graph;
    this.registry = options.registry;
    this.sources = this.relativeSources(options.sources);
    this.gitignore = readGitignore(options.root);
    this.tree = new TreeWatcher(options.root, this.scope(), (path) => this.onChange(path));
  }

  async run(): Promise<void> {
    const { signal } = this.options;
    const untrap = this.options.trapEscapes((error, key) => this.escaped(error, key));
    try {
      this.tree.open();
      await this.runNodes(this.graph.nodes, this.options.force);
      this.idle();
      this.next();
      await new Promise<void>((resolve) => {
        if (signal.aborted) resolve();
        else signal.addEventListener('abort', () => resolve(), { once: true });
      });
      clearTimeout(this.timer);
      this.tree.close();
      await this.reacting;
      await this.loop;
      await this.background.stopAll();
    } finally {
      untrap();
    }
  }

  /**
   * An error escaped a task's code. A persistent task's fails that task (background.ts); one in
   * a run fails its task and stops the run, as in a normal run (stopping.ts); one after its task's
   * run ended is reported. The watcher goes on watching in each case.
   */
  private escaped(error: unknown, key: string | undefined): void {
    if (key !== undefined && this.background.fail(key, error)) return;
    const scheduler = this.current;
    if (scheduler?.accepting) {
      scheduler.escaped(error, key);
      return;
    }
    const failure = locateFailure(failureFrom(error), this.options.root);
    const blamed = key === undefined ? 'outside any task' : `from ${key} after it finished`;
    this.options.err(`an error escaped ${blamed}: ${describeFailure(failure)}; still watching`);
  }

  private onChange(path: string): void {
    if (this.options.signal.aborted) return;
    this.pending.add(path);
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.onQuiet(), this.options.debounceMs);
  }

  private onQuiet(): void {
    this.timer = undefined;
    const scheduler = this.current;
    if (scheduler) {
      this.reacting = this.reacting
        .then(() => this.react(scheduler))
        .catch((error: unknown) => this.bug(error));
      return;
    }
    this.kick();
  }

  /** Between runs: handles what changed meanwhile, if anything did. */
  private next(): void {
    if (this.pending.size > 0 && !this.timer && !this.current && !this.options.signal.aborted) {
      this.kick();
    }
  }

  private kick(): void {
    if (this.loop) return;
    this.loop = this.drain()
      .catch((error: unknown) => this.bug(error))
      .finally(() => {
        this.loop = undefined;
        if (this.pending.size > 0 && !this.timer && !this.options.signal.aborted) this.kick();
      });
  }

  private async drain(): Promise<void> {
    while (this.pending.size > 0 && !this.timer && !this.options.signal.aborted) {
      const batch = [...this.pending].sort();
      this.pending.clear();
      await this.handle(batch);
    }
  }

  private async handle(batch: string[]): Promise<void> {
    const edited = batch.filter((path) => this.sources.has(path));
    if (edited.length > 0) {
      const reloaded = await this.reload(edited);
      if (reloaded) {
        await this.runNodes(this.graph.nodes, false);
        this.idle();
        return;
      }
    }
    const changes = batch.filter((path) => !this.sources.has(path));
    const { changed, stale } = await this.staleNodes(changes);
    if (changed.length === 0) return;
    const all = closure(this.graph.nodes);
    // Tasks a cancelled or stopped run never finished rerun with the change (a failure waits for
    // its own inputs to change).
    for (const node of all) {
      const last = this.results.get(node.key);
      const unfinished = last?.status === 'cancelled' || last?.status === 'skipped';
      if (unfinished && !closure([node]).some((n) => this.results.get(n.key)?.status === 'failed'))
        stale.add(node);
    }
    const rerun = withDependents(all, stale);
    this.options.out(`${listPaths(changed)} changed -> ${rerun.map((n) => n.key).join(', ')}`);
    await this.runNodes(rerun, false);
    this.idle();
  }

  /**
   * Mid-run: the tasks the pending changes make stale, and their dependents, start again within
   * the running run, as soon as their own dependencies allow; running ones among them are killed
   * first. Unrelated running tasks carry on. A Taskfile edit waits for the run to end (reloading
   * replaces the graph).
   */
  private async react(scheduler: Scheduler): Promise<void> {
    const paths = [...this.pending].filter((path) => !this.sources.has(path));
    for (const path of paths) this.pending.delete(path);
    // What a task saw: in this run once it has hashed its inputs; before that it will hash the
    // files as they are, so only a task this run does not include goes by the last run's hashes.
    const seen = (key: string) =>
      scheduler.has(key) ? scheduler.seen(key) : this.results.get(key)?.detail?.files;
    const considered = (node: PlanNode) =>
      !scheduler.has(node.key) || scheduler.seen(node.key) !== undefined;
    const { changed, stale } = await this.staleNodes(paths, seen, considered);
    if (changed.length === 0) return;
    if (this.current !== scheduler || !scheduler.accepting) {
      // The run ended while the files were hashed: the next run takes the changes.
      for (const path of paths) this.pending.add(path);
      this.next();
      return;
    }
    const rerun = withDependents(closure(this.graph.nodes), stale);
    const stopping = rerun.filter((node) => scheduler.isRunning(node.key)).map((node) => node.key);
    const cancelling = stopping.length > 0 ? ` (cancelling ${stopping.join(', ')})` : '';
    this.options.out(
      `${listPaths(changed)} changed -> ${rerun.map((n) => n.key).join(', ')}${cancelling}`,
    );
    scheduler.rerun(rerun);
  }

  /** The changed paths that make some task stale, and those tasks (without their dependents). */
  private async staleNodes(
    paths: readonly string[],
    seen: (key: string) => Readonly<Record<string, string>> | undefined = (key) =>
      this.results.get(key)?.detail?.files,
    considered: (node: PlanNode) => boolean = () => true,
  ): Promise<{ changed: string[]; stale: Set<PlanNode> }> {
    const now = await this.hashes(paths);
    const changed = new Set<string>();
    const stale = new Set<PlanNode>();
    for (const node of closure(this.graph.nodes)) {
      if (node.task.inputs.length === 0 || !considered(node)) continue;
      const files = seen(node.key);
      const matches = inputMatcher(node.task.inputs);
      const owned = this.outputPaths(node);
      for (const path of paths) {
        if (owned.some((out) => path === out || path.startsWith(`${out}/`))) continue;
        const hash = now.get(path);
        const differs = files
          ? (matches(path) && files[path] !== hash) ||
            // A folder that went away: every file recorded below it went with it.
            (hash === undefined && Object.keys(files).some((f) => f.startsWith(`${path}/`)))
          : matches(path);
        if (differs) {
          changed.add(path);
          stale.add(node);
        }
      }
    }
    return { changed: [...changed].sort(), stale };
  }

  /** sha256 of each path that is a file now; undefined for what is gone (or a folder). */
  private async hashes(paths: readonly string[]): Promise<Map<string, string | undefined>> {
    const files = paths.filter((path) => {
      const stats = lstatSync(join(this.options.root, path), { throwIfNoEntry: false });
      return stats?.isFile() ?? false;
    });
    let digests: { path: string; sha256: string }[] = [];
    try {
      digests = await this.options.hasher.hashPaths(files);
    } catch {
      // Deleted between the stat and the read: the next event for it says what it became.
    }
    const byPath = new Map<string, string | undefined>(paths.map((path) => [path, undefined]));
    for (const digest of digests) byPath.set(digest.path, digest.sha256);
    return byPath;
  }

  /** A task's file outputs: what it writes is never a change that reruns it. */
  private outputPaths(node: PlanNode): string[] {
    const { outputs } = node.task;
    const declared = Array.isArray(outputs)
      ? outputs.filter((o): o is string => typeof o === 'string')
      : [];
    const made = Object.keys(this.results.get(node.key)?.outputs ?? {})
      .filter((id) => id.startsWith('file:'))
      .map((id) => id.slice('file:'.length));
    return [...declared, ...made].map((path) => trimSlash(path));
  }

  /** true when the graph changed and must run; false keeps the current one (and says why). */
  private async reload(edited: readonly string[]): Promise<boolean> {
    const loaded = await this.options.load();
    if (!loaded.ok) {
      this.options.err(`${loaded.message}\n  still watching: fix it and save to reload`);
      return false;
    }
    const { registry } = loaded;
    const planned = this.options.plan(registry);
    if (!planned.ok) {
      this.options.err(`${planned.message}\n  still watching: fix the Taskfile and save to reload`);
      return false;
    }
    this.options.out(`${listPaths(edited)} changed -> reloading the Taskfile`);
    this.graph = planned.graph;
    this.registry = registry;
    this.sources = this.relativeSources(loaded.sources);
    const keys = new Set(closure(this.graph.nodes).map((node) => node.key));
    await Promise.all(
      this.background
        .keys()
        .filter((key) => !keys.has(key))
        .map((key) => this.background.stop(key)),
    );
    this.tree.close();
    this.tree = new TreeWatcher(this.options.root, this.scope(), (path) => this.onChange(path));
    this.tree.open();
    return true;
  }

  private async runNodes(nodes: readonly PlanNode[], force: boolean): Promise<void> {
    // Every task of the graph, not only `nodes`: a change mid-run may add any of them (react).
    const lock = await this.options.lock(this.graph.nodes);
    if (!lock) return;
    try {
      const { options } = this;
      const scheduler = new Scheduler({
        planner: this.graph.planner,
        root: options.root,
        state: options.state,
        hasher: options.hasher,
        env: options.env,
        concurrency: options.concurrency,
        keepGoing: options.keepGoing,
        force,
        dryRun: false,
        signal: options.signal,
        claim: lock.claim,
        emit: (event) => options.reporter.emit(event),
        background: this.background,
      });
      this.current = scheduler;
      await scheduler.run(nodes);
      for (const [key, result] of scheduler.settled) this.results.set(key, result);
      options.hasher.save();
    } finally {
      this.current = undefined;
      lock.releaseAll();
    }
  }

  private idle(): void {
    if (this.options.signal.aborted) return;
    this.options.out(
      `watching ${this.tree.size} folder(s) for changes to the inputs; Ctrl-C to stop`,
    );
  }

  private scope(): Scope {
    const inputs = closure(this.graph.nodes).flatMap((node) => node.task.inputs);
    return scopeOf(inputs, [...this.sources], this.gitignore);
  }

  private relativeSources(sources: readonly string[]): Set<string> {
    return new Set(
      sources
        .map((source) => relative(this.options.root, source).split(sep).join('/'))
        .filter((path) => !path.startsWith('..')),
    );
  }

  private bug(error: unknown): void {
    this.options.err(`watch mode failed: ${error instanceof Error ? error.stack : String(error)}`);
  }
}

/** Every node in `stale` and everything that depends on it, in plan (dependency) order. */
function withDependents(all: readonly PlanNode[], stale: ReadonlySet<PlanNode>): PlanNode[] {
  const out = new Set(stale);
  for (const node of all) if (node.deps.some((dep) => out.has(dep))) out.add(node);
  return all.filter((node) => out.has(node));
}

function listPaths(paths: readonly string[]): string {
  if (paths.length <= 3) return paths.join(', ');
  return `${paths.slice(0, 2).join(', ')} and ${paths.length - 2} more files`;
}
