/**
 * What a task makes. The engine records each output's digest after a successful run and, on the
 * next run, treats the task as up to date only if every output still reports that digest.
 *
 * Output kinds are pluggable: files and directories live here; Docker images and registry images
 * live in src/docker/ and implement the same interface.
 */
import type { OutputInfo } from './dsl.js';
import type { FileHasher, MaybePromise } from './file-hasher.js';
import { TaskError } from './failure.js';
import type { PlanNode } from './graph.js';
import { projectPath } from './task-options.js';
import { isPromise } from './file-hasher.js';

export interface Output {
  /** Stable key naming the output in state and messages, e.g. `file:build/vendor.tar`. */
  readonly id: string;
  /**
   * The output's current digest, or undefined when it does not exist. A plain value when it is
   * known without waiting (a file in the stat cache), so a no-op run never suspends for it.
   */
  digest(): MaybePromise<string | undefined>;
  /**
   * True when the same content has a different digest on another machine (a local image id:
   * labels, build times). Such digests still decide whether this task is up to date, but stay
   * out of dependents' fingerprints, so a tag derived from those is the same on every machine.
   */
  readonly machineLocal?: boolean;
}

export function isOutput(value: unknown): value is Output {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Output).id === 'string' &&
    typeof (value as Output).digest === 'function'
  );
}

export function fileOutput(hasher: FileHasher, path: string): Output {
  return { id: `file:${path}`, digest: () => hasher.digestPath(path) };
}

/**
 * Each output's digest, in the outputs' order (undefined when it is gone); a plain array when
 * all were known without waiting. By position, not in a record keyed by output id: a record per
 * node, each with its own keys, gives V8 a new object shape per node on a no-op run's hot path.
 */
export function digestAll(outputs: readonly Output[]): MaybePromise<(string | undefined)[]> {
  const digests = outputs.map((output) => output.digest());
  return digests.some(isPromise)
    ? Promise.all(digests.map(async (digest) => digest))
    : (digests as (string | undefined)[]);
}

/** What a run made: each output's digest by id; throws output-missing for one it did not make. */
export async function madeOutputs(outputs: readonly Output[]): Promise<Record<string, string>> {
  const values = await digestAll(outputs);
  const missing = outputs.find((_, i) => values[i] === undefined);
  if (missing) throw new TaskError({ reason: 'output-missing', output: missing.id });
  return Object.fromEntries(outputs.map((o, i) => [o.id, values[i] as string]));
}

/** A node's outputs as Output objects: paths become file outputs, a function is called first. */
export function outputsOf(node: PlanNode, info: OutputInfo, hasher: FileHasher): Output[] {
  const { outputs } = node.task;
  const specs = typeof outputs === 'function' ? outputs(info) : (outputs ?? []);
  return specs.map((spec) => {
    if (isOutput(spec)) return spec;
    if (typeof spec === 'string') {
      // Static outputs were made relative when defined; a function's are checked here.
      const checked = /^(\/|\.\.)/.test(spec) ? projectPath(spec, info.root) : { path: spec };
      if ('error' in checked) {
        throw new TaskError({ reason: 'reported', message: checked.error });
      }
      return fileOutput(hasher, checked.path);
    }
    throw new Error(`task ${node.key}: an output must be a path or an Output, got ${typeof spec}`);
  });
}

/**
 * The digests dependents hash: those of outputs that are the same on every machine for the same
 * content (not a local image id), so tags derived from them are portable. The record itself when
 * every output qualifies (one object per result, so its digest is computed once).
 */
export function portableDigests(
  outputs: readonly Output[],
  made: { readonly outputs: Readonly<Record<string, string>> },
): Readonly<Record<string, string>> {
  const all = made.outputs;
  const exact =
    Object.keys(all).length === outputs.length &&
    outputs.every((o) => !o.machineLocal && all[o.id] !== undefined);
  if (exact) return all;
  const shared: Record<string, string> = {};
  for (const o of outputs) {
    const digest = all[o.id];
    if (!o.machineLocal && digest !== undefined) shared[o.id] = digest;
  }
  return shared;
}
