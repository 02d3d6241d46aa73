/**
 * A dry run (-n, --explain) decides each node as the run would, without running anything: a
 * task that would run is taken to make what its run will make (predictOutputs), so that its
 * dependents hash what they will see, and a task reading another's output file reads what that
 * task is about to (re)make, not what lies on disk now (deleted, or edited by hand). When that
 * cannot be told before the run, the node would run (the engine runs when unsure).
 */
import type { FileDigest, MaybePromise } from './file-hasher.js';
import { isPromise } from './file-hasher.js';
import type { PlanNode } from './graph.js';
import { digestAll } from './output.js';
import type { Output } from './output.js';
import { explainChanges } from './fingerprint.js';
import type { DepResult, FingerprintDetail } from './fingerprint.js';
import { describeChange } from './report/text.js';
import { inputsChanged } from './up-to-date.js';
import type { State, TaskRecord } from './state.js';
import type { TaskStatus } from './report/events.js';

/** One dry run's expectations, filled in as its nodes are decided (dependencies first). */
export class DryRun {
  private readonly expected = new ExpectedFiles();
  /** The plan's nodes that depend on each node, by key (see madeBefore). */
  private readonly dependents = new Map<string, PlanNode[]>();

  /** `state` gives the details the plan's tasks recorded; `nodes` is the whole plan. */
  constructor(
    private readonly state: Pick<State, 'readDetail'>,
    nodes: readonly PlanNode[],
  ) {
    for (const node of nodes) {
      for (const dep of node.deps) {
        const list = this.dependents.get(dep.key) ?? [];
        list.push(node);
        this.dependents.set(dep.key, list);
      }
    }
  }

  /** The input files as the run will hash them; undefined when that is known only then. */
  overlay(files: readonly FileDigest[], patterns: readonly string[]): FileDigest[] | undefined {
    return this.expected.overlay(files, patterns);
  }

  /** Whether a task that would run is going to make this path. */
  willMake(path: string): boolean {
    return this.expected.willMake(path);
  }

  /**
   * Why `node` would run whatever its record says, when what it will hash is known only after
   * the run: a dependency that would run and whose outputs cannot be predicted, or an input file
   * another task would remake in a way not known first (`overlaid` false). Else undefined.
   */
  undecided(
    node: PlanNode,
    depResults: readonly { status: TaskStatus; dep?: DepResult }[],
    overlaid: boolean,
  ): string | undefined {
    const unknown = node.deps.find(
      (_, i) => depResults[i]?.status === 'would-run' && !depResults[i]?.dep,
    );
    if (unknown) return `dependency ${unknown.key} would run, and what it makes is known only then`;
    if (!overlaid) {
      return 'an input file another task would remake changes, and how is known only then';
    }
    return undefined;
  }

  /**
   * The one-line reason for a node that would run (the verdict's `reason`). When its fingerprint
   * differs because the code it runs changed, the module (or package, or run function) as
   * --explain lists it: "inputs changed" would send the user looking at files.
   */
  reason(key: string, reason: string, detail: FingerprintDetail): string {
    if (reason !== inputsChanged(key)) return reason;
    const changes = explainChanges(this.state.readDetail(key), detail);
    const code = changes.find((c) => c.what === 'module' || c.what === 'definition');
    if (!code) return reason;
    const more = changes.length - 1;
    const rest = more > 0 ? `; ${more} more change(s): \`task --explain ${key}\`` : '';
    return `${describeChange(code)}${rest}`;
  }

  /** A node that would run: what its run is expected to make, and its files expected from now. */
  async wouldRun(
    key: string,
    record: Pick<TaskRecord, 'fingerprint' | 'outputs'> | undefined,
    fingerprint: string,
    outputs: readonly Output[],
  ): Promise<Record<string, string> | undefined> {
    const predicting = predictOutputs(record, fingerprint, outputs);
    const predicted =
      (isPromise(predicting) ? await predicting : predicting) ??
      this.madeBefore(key, fingerprint, outputs);
    this.expected.add(outputs, predicted);
    return predicted;
  }

  /**
   * What `key` made when it last had this very fingerprint, as a dependent of it recorded (an
   * edit undone after `key` alone ran again): a task is taken as deterministic, so it makes the
   * same again, and that dependent may then be up to date. Only outputs that every machine
   * digests the same are recorded there; a machine-local one leaves the prediction unknown.
   */
  private madeBefore(
    key: string,
    fingerprint: string,
    outputs: readonly Output[],
  ): Record<string, string> | undefined {
    if (outputs.some((output) => output.machineLocal)) return undefined;
    for (const dependent of this.dependents.get(key) ?? []) {
      const made = this.state.readDetail(dependent.key)?.made?.[key];
      if (made?.fingerprint !== fingerprint) continue;
      if (outputs.every((output) => made.outputs[output.id] !== undefined)) return made.outputs;
    }
    return undefined;
  }
}

/** The files the tasks that would run are expected to leave behind. */
class ExpectedFiles {
  /** Path -> digest the file will have; undefined when it will be remade but its digest is unknown. */
  private readonly files = new Map<string, string | undefined>();

  /** A node that would run: its file outputs, with their predicted digests when known. */
  add(outputs: readonly Output[], predicted: Readonly<Record<string, string>> | undefined): void {
    for (const output of outputs) {
      if (!output.id.startsWith('file:')) continue;
      const digest = predicted?.[output.id];
      // A folder's digest is not a file hash: what it will hold is not known here.
      this.files.set(
        output.id.slice('file:'.length),
        digest?.startsWith('dir:') ? undefined : digest,
      );
    }
  }

  /** Whether a task that would run is going to make this path. */
  willMake(path: string): boolean {
    return this.files.has(path);
  }

  /**
   * The input files as the run will hash them: a file another task would remake gets its
   * predicted digest, and a literal input that it would make (and is missing now) is added.
   * Undefined when one of them will change in a way not known before the run.
   */
  overlay(files: readonly FileDigest[], patterns: readonly string[]): FileDigest[] | undefined {
    if (this.files.size === 0) return [...files];
    const byPath = new Map(files.map((file) => [file.path, file.sha256]));
    for (const pattern of patterns) {
      if (!/[*?[\]{}()!]/.test(pattern) && this.files.has(pattern)) byPath.set(pattern, '');
    }
    const result: FileDigest[] = [];
    for (const [path, sha256] of byPath) {
      if (!this.files.has(path)) {
        result.push({ path, sha256 });
        continue;
      }
      const expected = this.files.get(path);
      if (expected === undefined) return undefined;
      result.push({ path, sha256: expected });
    }
    return result.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }
}

/**
 * A dry run's answer to "what will this node's outputs digest to once it has run", so that its
 * dependents are decided as the run will decide them. Tasks are taken as deterministic (what
 * content hashing assumes anyway): no outputs give none; the same fingerprint as recorded
 * remakes what it recorded (an output deleted or edited by hand comes back); with no record,
 * outputs all present now are made again as they are. A changed fingerprint gives undefined:
 * its dependents' fingerprints, which hold this one, change too, so they would run (except a
 * dependent that last ran against this very fingerprint, say after an edit was undone: see
 * DryRun.madeBefore).
 */
export function predictOutputs(
  record: Pick<TaskRecord, 'fingerprint' | 'outputs'> | undefined,
  fingerprint: string,
  outputs: readonly Output[],
): MaybePromise<Record<string, string> | undefined> {
  if (outputs.length === 0) return {};
  if (record) {
    const same =
      record.fingerprint === fingerprint &&
      outputs.every((o) => record.outputs[o.id] !== undefined);
    return same ? record.outputs : undefined;
  }
  const present = (digests: readonly (string | undefined)[]) =>
    digests.every((d) => d !== undefined)
      ? Object.fromEntries(outputs.map((o, i) => [o.id, digests[i] as string]))
      : undefined;
  try {
    const digests = digestAll(outputs);
    return isPromise(digests) ? digests.then(present, () => undefined) : present(digests);
  } catch {
    return undefined;
  }
}
