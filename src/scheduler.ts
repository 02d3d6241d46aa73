/**
 * Runs a plan: each node once (its promise is shared by every dependent), independent nodes in
 * parallel up to `concurrency`, skipping nodes that are up to date.
 *
 *   per node:  wait deps ──any failed──> skipped (dependency failed)
 *                 │
 *              fingerprint ──same as record and outputs intact──> up-to-date (up-to-date.ts)
 *                 │
 *              wait for a slot ──run stopping (fail-fast, Ctrl-C)──> skipped
 *                 │
 *              run(ctx) ──throws──> failed (or cancelled when aborted); nothing recorded
 *                 │
 *              digest outputs ──one missing──> failed
 *                 │
 *              record fingerprint + output digests ──> ran
 *
 * Each running node has its own AbortController, linked to the run's signal. Watch mode reruns
 * the nodes a change makes stale within the run (`rerun`): each gets a new attempt (attempts.ts)
 * that starts, once their preflight checks pass, as soon as its own deps allow, a running one
 * being killed first, while the others carry on; a cancelled attempt records nothing. Invoked tasks are in invoke.ts. With
 * `background` (watch mode), a persistent node starts and its dependents go on at once; it keeps
 * running across runs until its fingerprint changes or the run's signal aborts (background.ts).
 * The context a run function receives is shaped in task-context.ts; how the run stops (failures,
 * fail-fast and -k, escaped errors, a failed preflight) is in stopping.ts; how a dry run decides
 * a node whose dependency would run is in dry-run.ts.
 */
import { relative } from 'node:path';
import { linkAbort, SUPERSEDED } from './abort-link.js';
import { Attempts } from './attempts.js';
import type { Attempt, NodeResult } from './attempts.js';
import { startPersistent } from './background.js';
import type { Background } from './background.js';
import { now } from './clock.js';
import type { FileHasher, MaybePromise } from './file-hasher.js';
import { isPromise } from './file-hasher.js';
import { failureFrom } from './failure.js';
import type { Failure } from './failure.js';
import type { DepResult, FingerprintDetail } from './fingerprint.js';
import { fingerprintNode, knownDepDigest } from './fingerprint.js';
import type { PlanNode, Planner } from './graph.js';
import { closure } from './graph.js';
import { invoke, planEntry, shownTargets } from './invoke.js';
import type { InvokeHost } from './invoke.js';
import { digestAll, madeOutputs, outputsOf, portableDigests } from './output.js';
import type { Output } from './output.js';
import { DryRun } from './dry-run.js';
import { runPreflights } from './preflight.js';
import type { PreflightFailure } from './preflight.js';
import { Semaphore } from './semaphore.js';
import { locateFailure } from './source-location.js';
import { EmptyInputWarnings, missingInput, unmatchedInputs } from './input-check.js';
import { withinTask } from './escaped-error.js';
import { NOT_STARTED, Stopping } from './stopping.js';
import { envValueDigest } from './env-key.js';
import { taskContext } from './task-context.js';
import { openLog } from './task-log.js';
import { decide, verdictOf } from './up-to-date.js';
import type { Verdict } from './up-to-date.js';
import type { RunEvent, RunSummary, TaskStatus } from './report/events.js';
import type { State, TaskRecord } from './state.js';

export interface SchedulerOptions {
  planner: Planner;
  root: string;
  state: State;
  hasher: FileHasher;
  env: NodeJS.ProcessEnv;
  concurrency: number;
  keepGoing: boolean;
  /** Run these (or every) tasks even when up to date. */
  force: boolean;
  /** Decide only: nothing runs and nothing is recorded. */
  dryRun: boolean;
  signal: AbortSignal;
  emit: (event: RunEvent) => void;
  /** Watch mode: where persistent tasks live between runs. Without it they run like any other. */
  background?: Background;
  /** Claims what ctx.invoke reaches against other runs (lock.ts); unset, nothing is claimed. */
  claim?: InvokeHost['claim'];
}

export type { NodeResult } from './attempts.js';

export class Scheduler {
  private readonly attempts = new Attempts();
  /** What run() waits for: its nodes, and those that rerun() added. */
  private readonly targets = new Set<PlanNode>();
  /** Set once run() has seen every target settle: rerun() is refused from then on. */
  private finished = false;
  private readonly slots: Semaphore;
  /** Declared env values' keyed digest; the key is read only if some task declares env. */
  private readonly envDigest: (value: string) => string;
  /** Each input glob that matched nothing, said once per run. */
  private readonly emptyInputs: EmptyInputWarnings;
  /** Failures, and whether new tasks may still start (stopping.ts). */
  private readonly stop: Stopping;
  /** A dry run's expectations of what the tasks that would run will make (dry-run.ts). */
  private dryRun: DryRun | undefined;
  /** Records being written off the event loop; the run ends only when they are on disk. */
  private readonly writes: Promise<void>[] = [];

  private readonly invokeHost: InvokeHost;

  /** Results of the nodes that have settled so far, readable while the run goes on. */
  get settled(): ReadonlyMap<string, NodeResult> {
    return this.attempts.settled;
  }

  constructor(private readonly options: SchedulerOptions) {
    this.slots = new Semaphore(Math.max(1, options.concurrency));
    this.invokeHost = {
      planner: options.planner,
      slots: this.slots,
      emit: options.emit,
      has: (key) => this.has(key),
      settle: (node) => this.settle(node),
      whyNot: (key, result) => this.stop.whyNot(key, result),
      claim: options.claim,
    };
    const { root, keepGoing, signal } = options;
    this.stop = new Stopping({ root, keepGoing, signal });
    this.envDigest = envValueDigest(options.state.dir);
    this.emptyInputs = new EmptyInputWarnings(options.emit);
  }

  /**
   * Runs the nodes and everything they depend on (`all`: closure(nodes), passed when the caller
   * has it already, as a run that claimed its tasks does); resolves when all have settled.
   */
  async run(
    nodes: readonly PlanNode[],
    all: readonly PlanNode[] = closure(nodes),
  ): Promise<RunSummary> {
    const started = now();
    if (this.options.dryRun) this.dryRun = new DryRun(this.options.state, all);
    this.options.emit({ type: 'plan', tasks: all.map(planEntry), targets: shownTargets(nodes) });
    this.stop.preflightFailure = await this.preflight(all);
    // After a failed preflight every node settles at once, each saying why it did not start.
    for (const node of this.stop.preflightFailure ? all : nodes) this.targets.add(node);
    // rerun() may replace a target's promise (or add targets) while this waits: wait again.
    for (;;) {
      const waited = [...this.targets].map((node) => this.settle(node));
      await Promise.all(waited);
      const { results } = this.attempts;
      if ([...this.targets].every((node, i) => results.get(node.key) === waited[i])) break;
    }
    this.finished = true;
    await Promise.all(this.writes);
    if (!this.options.dryRun) await this.options.state.compact();
    const summary: RunSummary = {
      counts: await this.attempts.counts(),
      durationMs: now() - started,
      failures: this.stop.failures,
      interrupted: this.options.signal.aborted,
    };
    this.options.emit({ type: 'summary', summary });
    return summary;
  }

  settle(node: PlanNode): Promise<NodeResult> {
    // execute() enters the node into `settled` itself, as soon as it is decided.
    return this.attempts.results.get(node.key) ?? this.attempts.begin(node, this.execute);
  }

  /**
   * Watch mode, mid-run: these nodes (a change made them stale, and their dependents, in
   * dependency order) start again as soon as their own dependencies allow. A running one is
   * aborted (its processes killed) and starts again once it has exited; the other nodes carry on.
   * Returns false, doing nothing, when the run has already finished (see `accepting`): the
   * caller starts a new run instead.
   */
  rerun(nodes: readonly PlanNode[]): boolean {
    if (this.finished) return false;
    const { replaced, exiting } = this.attempts.supersede(nodes);
    // The change is a new request: a failure it reruns no longer stops the run.
    this.stop.forgive(replaced);
    const added = nodes.filter((node) => !replaced.has(node.key) && !this.has(node.key));
    if (added.length > 0) this.options.emit({ type: 'plan', tasks: added.map(planEntry) });
    // What starts again checks its preflight first, as a run's tasks do.
    const checked = this.preflight(nodes);
    for (const node of nodes) {
      this.targets.add(node);
      if (this.has(node.key)) continue;
      void this.attempts.begin(node, this.execute, exiting.get(node.key), checked);
    }
    return true;
  }

  /** The preflight checks of `nodes` (preflight.ts): the first failure, if any. None in a dry run. */
  private preflight(nodes: readonly PlanNode[]): Promise<PreflightFailure | undefined> | undefined {
    if (this.options.dryRun || !nodes.some((node) => node.task.preflight)) return undefined;
    const { root, signal, emit } = this.options;
    const log = (key: string, line: string) => emit({ type: 'output', key, stream: 'log', line });
    return runPreflights(nodes, { root, signal, log });
  }

  /**
   * The hash of each input file as `key` saw it in this run (hashed, running or settled);
   * undefined when it has not hashed its inputs yet (it will see the files as they are then).
   */
  seen(key: string): Readonly<Record<string, string>> | undefined {
    return this.attempts.seen(key);
  }

  /** Whether this run has `key` in hand: it will decide it, or already did. */
  has(key: string): boolean {
    return this.attempts.results.has(key);
  }

  /** Whether `key`'s run function is in progress. */
  isRunning(key: string): boolean {
    return this.attempts.live.has(key);
  }

  /** Whether rerun() can still add work; false once the run has seen its last node settle. */
  get accepting(): boolean {
    return !this.finished;
  }

  private readonly execute = async (attempt: Attempt): Promise<NodeResult> => {
    const { node } = attempt;
    const { emit, signal, root } = this.options;
    // A rerun waits for the attempt it replaces to be gone: never two copies of a task at once.
    if (attempt.replaces) await attempt.replaces;
    // (Awaited only for a rerun that has checks: a no-op run decides every node without a pause.)
    const preflightFailure =
      this.stop.preflightFailure ?? (attempt.preflight && (await attempt.preflight));
    // A superseded attempt's failure is not the node's: its replacement checks again.
    if (preflightFailure && !attempt.superseded) {
      const outcome = this.stop.notPreflighted(node.key, preflightFailure);
      return this.finish(attempt, outcome.status, 0, outcome.reason, outcome.failure);
    }
    // Deps that have settled already are read without awaiting: on a no-op run every node is
    // decided in one synchronous pass, dependencies first, with no suspension per node.
    // (Loops, not map() and find() with a closure each: this runs for every node of a no-op
    // run, mostly unoptimized, see fingerprint.ts.)
    const { deps: depNodes } = node;
    for (let i = 0; i < depNodes.length; i++) void this.settle(depNodes[i] as PlanNode);
    const depResults =
      this.attempts.settledOf(depNodes) ??
      (await Promise.all(depNodes.map((dep) => this.settle(dep))));
    for (let i = 0; i < depNodes.length; i++) {
      if (!isBlocking(depResults[i]?.status)) continue;
      const blocked = depNodes[i] as PlanNode;
      return this.skip(attempt, `dependency ${blocked.key} did not succeed`);
    }
    if (this.stop.halted) return this.skip(attempt, NOT_STARTED);
    const deps = new Map<string, DepResult>();
    for (let i = 0; i < depNodes.length; i++) {
      // One object per result, so its digest is computed once for all of its dependents.
      const dep = depResults[i]?.dep;
      if (dep) deps.set((depNodes[i] as PlanNode).key, dep);
    }
    const hashing = this.options.hasher.hashInputs(node.task.inputs);
    const hashed = isPromise(hashing) ? await hashing : hashing;
    // A dry run reads another task's output as that task would leave it.
    const overlaid = this.dryRun ? this.dryRun.overlay(hashed, node.task.inputs) : hashed;
    const files = overlaid ?? hashed;
    const unmatched = unmatchedInputs(node.task.inputs, files, this.options.root);
    const warning = this.emptyInputs.check(node.task.name, unmatched.empty);
    if (warning) this.writes.push(warning);
    const missing =
      unmatched.missing.length === 0
        ? undefined
        : unmatched.missing.find((path) => !this.dryRun?.willMake(path));
    if (missing !== undefined)
      return this.failEarly(
        attempt,
        await missingInput(missing, { root: this.options.root, patterns: node.task.inputs }),
      );
    const { env } = this.options;
    const { fingerprint, detail } = fingerprintNode(node, files, deps, env, this.envDigest);
    this.attempts.hashedWith(attempt, detail);
    let outputs: Output[];
    try {
      outputs = outputsOf(node, { fingerprint, args: node.args, root }, this.options.hasher);
    } catch (error) {
      // An outputs function that throws, or names a path outside the project: this task fails.
      return this.failEarly(attempt, locateFailure(failureFrom(error), root));
    }
    if (node.task.persistent && node.task.run && this.options.background && !this.options.dryRun) {
      const { background } = this.options;
      return this.startInBackground(attempt, background, fingerprint, detail, outputs);
    }

    // A dry run hashes a dep that would run as what its run will give (dry-run.ts), so a
    // dependent is decided as the run will decide it, unless that is known only after the run.
    const undecided = this.dryRun?.undecided(node, depResults, overlaid !== undefined);
    if (undecided) return this.dryRunWouldRun(attempt, undecided, fingerprint, detail, outputs);
    const record = node.task.run ? this.options.state.read(node.key) : undefined;
    const deciding = this.verdict(node, fingerprint, outputs, depResults, record);
    const verdict = isPromise(deciding) ? await deciding : deciding;
    if (verdict.upToDate) {
      const result = { fingerprint, outputs: verdict.outputs, detail };
      const done = this.finish(
        attempt,
        'up-to-date',
        0,
        verdict.reason,
        undefined,
        result,
        outputs,
      );
      // Dependents hash exactly the record's fingerprint and outputs: the record has their digest.
      const { dep } = done;
      if (dep && record?.depDigest && dep.outputs === record.outputs) {
        if (dep.fingerprint === record.fingerprint) knownDepDigest(dep, record.depDigest);
      }
      return done;
    }
    if (this.dryRun) {
      const reason = this.dryRun.reason(node.key, verdict.reason, detail);
      return this.dryRunWouldRun(attempt, reason, fingerprint, detail, outputs);
    }

    await this.slots.acquire();
    if (this.stop.halted || attempt.superseded) {
      this.slots.release();
      return attempt.superseded
        ? this.finish(attempt, 'cancelled', 0, SUPERSEDED, undefined)
        : this.skip(attempt, NOT_STARTED);
    }
    const started = now();
    const controller = new AbortController();
    const unlink = linkAbort(signal, controller);
    this.attempts.live.set(node.key, controller);
    attempt.started = true;
    emit({ type: 'start', key: node.key });
    const { log, context, close } = this.open(node, fingerprint, controller.signal);
    try {
      // An error escaping the task (escaped()) fails it even if run() never settles.
      const escaped = this.stop.escapeRoute(node.key);
      await Promise.race([withinTask(node.key, () => node.task.run?.(context)), escaped]);
      // A task that ignores its signal still finished against inputs that are gone: no record.
      if (controller.signal.aborted) {
        const why = this.stop.cancelReason();
        return this.finish(attempt, 'cancelled', now() - started, why, undefined);
      }
      const digests = await madeOutputs(outputs);
      const { task } = node;
      if (!node.readOnly && (task.inputs.length > 0 || outputs.length > 0)) {
        this.record({ key: node.key, task: task.name, fingerprint, outputs: digests }, detail);
      }
      const result = { fingerprint, outputs: digests, detail };
      const durationMs = now() - started;
      return this.finish(attempt, 'ran', durationMs, verdict.reason, undefined, result, outputs);
    } catch (error) {
      const durationMs = now() - started;
      if (controller.signal.aborted) {
        return this.finish(attempt, 'cancelled', durationMs, this.stop.cancelReason(), undefined);
      }
      // What the task started and left running (a run() that never settled) goes with it.
      controller.abort();
      const logPath = relative(this.options.root, this.options.state.logPath(node.key));
      const failure = this.stop.failed(node.key, error, log, logPath);
      return this.finish(attempt, 'failed', durationMs, verdict.reason, failure);
    } finally {
      unlink();
      this.stop.closeEscapeRoute(node.key);
      this.attempts.live.delete(node.key);
      close();
      this.slots.release();
    }
  };

  /**
   * Watch mode's persistent node: left running when it already runs with this fingerprint,
   * otherwise (re)started without a slot or a record (see background.ts). Its dependents count it
   * as started.
   */
  private async startInBackground(
    attempt: Attempt,
    background: Background,
    fingerprint: string,
    detail: FingerprintDetail,
    outputs: readonly Output[],
  ): Promise<NodeResult> {
    const { node } = attempt;
    const { signal, emit, root } = this.options;
    const started = await startPersistent(background, {
      key: node.key,
      fingerprint,
      root,
      signal,
      emit,
      stopping: () => this.stop.halted || attempt.superseded,
      // As run(): an error escaping its code is blamed on it (escaped-error.ts).
      run: (own) =>
        withinTask(node.key, async () => {
          const { context, close } = this.open(node, fingerprint, own);
          try {
            await node.task.run?.(context);
          } finally {
            close();
          }
        }),
    });
    const result = { fingerprint, outputs: {}, detail };
    if (started === 'still-running') {
      return this.finish(attempt, 'up-to-date', 0, 'still running', undefined, result, outputs);
    }
    if (started === 'stopping') return this.skip(attempt, NOT_STARTED);
    attempt.started = true;
    const reason = 'started in the background';
    return this.enter(attempt, { status: 'ran', reason, ...result }, outputs);
  }

  /** An error escaped a task's code (the CLI's process handlers call this): see stopping.ts. */
  escaped(error: unknown, key: string | undefined): void {
    this.stop.escaped(error, key, this.attempts.live);
  }

  /** A failure found before the task ran: counted, and stopping the run, as any other. */
  private failEarly(attempt: Attempt, failure: Failure): NodeResult {
    if (attempt.superseded) return this.finish(attempt, 'cancelled', 0, SUPERSEDED, undefined);
    this.stop.failEarly(attempt.node.key, failure);
    return this.finish(attempt, 'failed', 0, undefined, failure);
  }

  /**
   * Records a success without holding up dependents: the write (temp file, fsync, rename) runs on
   * libuv's threads. A run killed before it lands simply redoes the task next time.
   */
  private record(record: Parameters<State['write']>[0], detail: FingerprintDetail): void {
    this.writes.push(
      this.options.state.write(record, detail).catch((error: unknown) => {
        this.options.emit({
          type: 'warning',
          message: `could not record ${record.key} (${(error as Error).message}); it will run again next time`,
        });
      }),
    );
  }

  /**
   * The up-to-date decision (up-to-date.ts) fed with this node's facts. A plain value when the
   * outputs' digests were known without waiting (see MaybePromise): a no-op run never suspends.
   */
  private verdict(
    node: PlanNode,
    fingerprint: string,
    outputs: readonly Output[],
    depResults: readonly NodeResult[],
    record: TaskRecord | undefined,
  ): MaybePromise<Verdict> {
    const { task } = node;
    const decision = decide({
      key: node.key,
      runs: task.run !== undefined,
      depRan: depResults.some((r) => r.status === 'ran' || r.status === 'would-run'),
      force: this.options.force,
      readOnly: node.readOnly,
      tracked: task.inputs.length > 0 || outputs.length > 0,
      record,
      fingerprint,
    });
    const ids = outputs.map((o) => o.id);
    return verdictOf(decision, ids, () => digestAll(outputs));
  }

  /** A dry run's node that would run, with what its run is expected to make (predictOutputs). */
  private async dryRunWouldRun(
    attempt: Attempt,
    reason: string,
    fingerprint: string,
    detail: FingerprintDetail,
    outputs: readonly Output[],
  ): Promise<NodeResult> {
    const { node } = attempt;
    const record = node.task.run ? this.options.state.read(node.key) : undefined;
    const predicted = await this.dryRun?.wouldRun(node.key, record, fingerprint, outputs);
    const result = { fingerprint, outputs: predicted ?? {}, detail };
    return this.finish(attempt, 'would-run', 0, reason, undefined, result, predicted && outputs);
  }

  /** The task's log (closed by `close`, off the event loop) and the context its run() gets. */
  private open(node: PlanNode, fingerprint: string, signal: AbortSignal) {
    const { root, emit } = this.options;
    const log = openLog(this.options.state.logPath(node.key));
    const context = taskContext({
      node,
      fingerprint,
      root,
      signal,
      line: (stream, text) => {
        log.write(text);
        this.stop.tail(node.key, text);
        emit({ type: 'output', key: node.key, stream, line: text });
      },
      invoke: (name, args) => invoke(this.invokeHost, node, name, args),
      resultOf: (dep) => this.settled.get(dep.key),
    });
    return { log, context, close: () => this.writes.push(log.close().catch(() => {})) };
  }

  private skip(attempt: Attempt, reason: string): NodeResult {
    return this.finish(attempt, 'skipped', 0, reason, undefined);
  }

  private finish(
    attempt: Attempt,
    status: TaskStatus,
    durationMs: number,
    reason: string | undefined,
    failure: Failure | undefined,
    result: Pick<NodeResult, 'fingerprint' | 'outputs' | 'detail'> = UNDECIDED,
    /** The node's outputs, for a success: what its dependents hash is derived from them. */
    outputs?: readonly Output[],
  ): NodeResult {
    // A superseded attempt that never started is no news: its replacement reports the node.
    if (!attempt.superseded || attempt.started) {
      const { key } = attempt.node;
      this.options.emit({ type: 'end', key, status, durationMs, reason, failure });
    }
    return this.enter(attempt, { status, reason, ...result }, outputs);
  }

  /**
   * Enters a node's result into `settled` at once, not when the promise's callbacks run:
   * dependents read it synchronously, so it is completed first (with a success's outputs, the
   * `dep` part its dependents hash).
   */
  private enter(attempt: Attempt, result: NodeResult, outputs?: readonly Output[]): NodeResult {
    if (outputs && result.fingerprint !== undefined) {
      result.dep = { fingerprint: result.fingerprint, outputs: portableDigests(outputs, result) };
    }
    this.attempts.enter(attempt, result);
    return result;
  }
}

/** The result of a node that never got as far as a verdict (skipped, cancelled, failed early). */
const UNDECIDED = { fingerprint: undefined, outputs: {}, detail: undefined } as const;

function isBlocking(status: TaskStatus | undefined): boolean {
  return status === 'failed' || status === 'skipped' || status === 'cancelled';
}
