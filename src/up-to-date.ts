/**
 * The up-to-date decision: a pure function of what .task/ recorded and what this run just
 * hashed. The scheduler gathers the facts (the fingerprint of fresh input hashes, the record, the
 * outputs' current digests) and acts on the verdict; nothing here reads a file or a clock.
 *
 *   no run function ──a dependency ran──> run; otherwise up to date ("nothing to do")
 *   --force ──> run
 *   readOnly ──> run (never recorded: it changes nothing a run must remember)
 *   neither inputs nor outputs ──> run (nothing could show it is up to date)
 *   no record ──> run (never ran successfully)
 *   recorded fingerprint differs ──> run (some ingredient changed: --explain names it)
 *   each output recorded, present, with its recorded digest ──> up to date; otherwise run
 *
 * In two steps, so that outputs are digested (a stat, or a `docker image inspect`) only for a
 * node whose fingerprint matches: `decide` says up to date, run, or "compare the outputs", and
 * `compareOutputs` finishes the last case.
 */
import type { MaybePromise } from './file-hasher.js';
import { isPromise } from './file-hasher.js';
import type { TaskRecord } from './state.js';

export interface Facts {
  /** The node's key, for the message that points at --explain. */
  readonly key: string;
  /** The task has a run function; one without only groups its dependencies. */
  readonly runs: boolean;
  /** A dependency ran (or would run, in a dry run) in this run. */
  readonly depRan: boolean;
  /** --force: run even when up to date. */
  readonly force: boolean;
  /** The task declares itself read-only: never recorded, so it runs whenever asked. */
  readonly readOnly: boolean;
  /** The task declares inputs or outputs; without either, nothing tells that it is up to date. */
  readonly tracked: boolean;
  /** The last successful run's record, if any. */
  readonly record: Pick<TaskRecord, 'fingerprint' | 'outputs'> | undefined;
  /** This run's fingerprint, from fresh input hashes and the dependencies' results. */
  readonly fingerprint: string;
}

export interface Verdict {
  readonly upToDate: boolean;
  readonly reason: string;
  /** The recorded output digests, when up to date (dependents hash them); else empty. */
  readonly outputs: Readonly<Record<string, string>>;
}

/** The fingerprint matches: up to date if the outputs are as recorded (see compareOutputs). */
export interface CompareOutputs {
  readonly compare: 'outputs';
  readonly recorded: Readonly<Record<string, string>>;
}

/** Everything but the outputs' digests: a verdict, or the outputs to compare. */
export function decide(facts: Facts): Verdict | CompareOutputs {
  if (!facts.runs) return facts.depRan ? runs('a dependency ran') : UP_TO_DATE_GROUP;
  if (facts.force) return runs('forced (--force)');
  if (facts.readOnly) return runs('read-only: runs whenever asked');
  if (!facts.tracked) return runs('no inputs or outputs: always runs');
  const { record } = facts;
  if (!record) return runs('never ran successfully');
  if (record.fingerprint !== facts.fingerprint) {
    return runs(inputsChanged(facts.key));
  }
  return { compare: 'outputs', recorded: record.outputs };
}

/**
 * The verdict for a node whose fingerprint matches: `ids` are its outputs now, `digests` their
 * current digests in the same order (undefined for one that is gone).
 */
export function compareOutputs(
  ids: readonly string[],
  recorded: Readonly<Record<string, string>>,
  digests: readonly (string | undefined)[],
): Verdict {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i] as string;
    const was = recorded[id];
    const now = digests[i];
    if (was === undefined) return runs(`output ${id} is new`);
    if (now === undefined) return runs(`output ${id} is missing`);
    if (now !== was) return runs(`output ${id} changed since the last run`);
  }
  return { upToDate: true, reason: 'up to date', outputs: recorded };
}

/**
 * The verdict, digesting the outputs (`digest`, in the order of `ids`) only when the fingerprint
 * matched. A plain value when the digests were known without waiting (see MaybePromise), so a
 * no-op run never suspends.
 */
export function verdictOf(
  decision: Verdict | CompareOutputs,
  ids: readonly string[],
  digest: () => MaybePromise<readonly (string | undefined)[]>,
): MaybePromise<Verdict> {
  if (!('compare' in decision)) return decision;
  let digests: MaybePromise<readonly (string | undefined)[]>;
  try {
    digests = digest();
  } catch (error) {
    return outputsUnchecked((error as Error).message);
  }
  // The callbacks are made only when needed: a no-op run takes the plain path per node.
  if (!isPromise(digests)) return compareOutputs(ids, decision.recorded, digests);
  return digests.then(
    (known) => compareOutputs(ids, decision.recorded, known),
    (error: unknown) => outputsUnchecked((error as Error).message),
  );
}

/** An output kind that could not answer (Docker down, say): the task runs and meets it itself. */
export function outputsUnchecked(message: string): Verdict {
  return runs(`its outputs could not be checked (${message.split('\n')[0] ?? ''})`);
}

/**
 * The reason when the fingerprint differs: which ingredient changed is known only from the
 * recorded detail, which a run does not read (a dry run names a changed module: dry-run.ts).
 */
export function inputsChanged(key: string): string {
  return `inputs changed (run \`task --explain ${key}\` for details)`;
}

const UP_TO_DATE_GROUP: Verdict = { upToDate: true, reason: 'nothing to do', outputs: {} };

function runs(reason: string): Verdict {
  return { upToDate: false, reason, outputs: {} };
}
