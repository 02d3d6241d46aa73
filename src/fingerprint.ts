/**
 * What a task's hash is made of, and explaining what changed between two runs.
 *
 * fingerprint = sha256(canonical JSON of FingerprintParts). Each part is there so that a change
 * in it, and only such a change, makes the task run again.
 */
import { hash } from 'node:crypto';
import type { FileDigest } from './file-hasher.js';
import type { TaskDefinition } from './dsl.js';
import type { PlanNode } from './graph.js';

export interface FingerprintParts {
  /** The task's name: a renamed task is a different task and never reuses another's result. */
  task: string;
  /** sha256 of run's source and the optional `version`: editing how a task works reruns it. */
  definition: string;
  /** Argument values by name (`greet[alice]` and `greet[bob]` make different things). */
  args: Readonly<Record<string, string>>;
  /** sha256 per `vars` key (settings, image names) so --explain can name the one that changed. */
  vars: Record<string, string>;
  /** sha256 per declared env var (null when unset): values never land in .task/, secrets included. */
  env: Record<string, string | null>;
  /** sha256 over the sorted (path, sha256) of every input file: adds, deletes and renames count. */
  inputs: string;
  /** Per dependency: its fingerprint and the digests of what it made (an image id, a file hash). */
  deps: Record<string, string>;
}

/** What --explain compares: the parts plus each input file's hash. */
export interface FingerprintDetail {
  parts: FingerprintParts;
  files: Record<string, string>;
}

export interface DepResult {
  readonly fingerprint: string;
  readonly outputs: Readonly<Record<string, string>>;
}

export function fingerprintParts(
  node: PlanNode,
  inputs: readonly FileDigest[],
  deps: ReadonlyMap<string, DepResult>,
  env: NodeJS.ProcessEnv,
): FingerprintParts {
  const { task } = node;
  const fixed = definitionHashes(task);
  // Plain loops and one-shot hashes: this runs once per node of every run, no-op runs included.
  let listing = '';
  for (const file of inputs) listing += `${file.path}\0${file.sha256}\n`;
  const envHashes: Record<string, string | null> = {};
  for (const name of task.env.length > 1 ? [...task.env].sort() : task.env) {
    const value = env[name];
    envHashes[name] = value === undefined ? null : sha256(value);
  }
  const depHashes: Record<string, string> = {};
  for (const dep of node.deps) {
    const result = deps.get(dep.key);
    depHashes[dep.key] = result ? depDigest(result) : 'unknown';
  }
  return {
    task: task.name,
    definition: fixed.definition,
    args: node.args,
    vars: fixed.vars,
    env: envHashes,
    inputs: sha256(listing),
    deps: depHashes,
  };
}

/** What never changes for a definition, hashed once however many nodes or runs use it. */
const definitionCache = new WeakMap<
  TaskDefinition,
  { definition: string; vars: Record<string, string> }
>();

function definitionHashes(task: TaskDefinition): {
  definition: string;
  vars: Record<string, string>;
} {
  let hashes = definitionCache.get(task);
  if (!hashes) {
    hashes = {
      definition: sha256(`${task.kind}\0${task.run?.toString() ?? ''}\0${task.version ?? ''}`),
      vars: Object.fromEntries(
        Object.keys(task.vars)
          .sort()
          .map((k) => [k, sha256(canonicalJson(task.vars[k]))]),
      ),
    };
    definitionCache.set(task, hashes);
  }
  return hashes;
}

export function fingerprintOf(parts: FingerprintParts): string {
  // The parts' shape is fixed, so a positional array of sorted entries is canonical, and much
  // cheaper than a generic canonical JSON on the hot path of a no-op run.
  return sha256(
    JSON.stringify([
      parts.task,
      parts.definition,
      sortedEntries(parts.args),
      sortedEntries(parts.vars),
      sortedEntries(parts.env),
      parts.inputs,
      sortedEntries(parts.deps),
    ]),
  );
}

function sortedEntries<T>(record: Record<string, T>): [string, T][] {
  const entries = Object.entries(record);
  return entries.length < 2 ? entries : entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A dependency's contribution: its fingerprint and output digests, hashed once per result. */
const depDigests = new WeakMap<DepResult, string>();

function depDigest(result: DepResult): string {
  let digest = depDigests.get(result);
  if (digest === undefined) {
    digest = sha256(JSON.stringify([result.fingerprint, sortedEntries(result.outputs)]));
    depDigests.set(result, digest);
  }
  return digest;
}

export type Change =
  | { what: 'new'; detail: 'never ran successfully' }
  | { what: 'definition' }
  | { what: 'arg'; name: string; old: string | undefined; now: string | undefined }
  | { what: 'var'; name: string; old: string | undefined; now: string | undefined }
  | { what: 'env'; name: string; old: string | null | undefined; now: string | null | undefined }
  | { what: 'input'; path: string; old: string | undefined; now: string | undefined }
  | { what: 'dep'; key: string; old: string | undefined; now: string | undefined };

/** Every difference between the last successful run and now, most telling first. */
export function explainChanges(
  old: FingerprintDetail | undefined,
  now: FingerprintDetail,
): Change[] {
  if (!old) return [{ what: 'new', detail: 'never ran successfully' }];
  const changes: Change[] = [];
  if (old.parts.definition !== now.parts.definition) changes.push({ what: 'definition' });
  for (const name of keysOf(old.parts.args, now.parts.args)) {
    if (old.parts.args[name] !== now.parts.args[name])
      changes.push({ what: 'arg', name, old: old.parts.args[name], now: now.parts.args[name] });
  }
  for (const name of keysOf(old.parts.vars, now.parts.vars)) {
    if (old.parts.vars[name] !== now.parts.vars[name])
      changes.push({ what: 'var', name, old: old.parts.vars[name], now: now.parts.vars[name] });
  }
  for (const name of keysOf(old.parts.env, now.parts.env)) {
    if (old.parts.env[name] !== now.parts.env[name])
      changes.push({ what: 'env', name, old: old.parts.env[name], now: now.parts.env[name] });
  }
  for (const path of keysOf(old.files, now.files)) {
    if (old.files[path] !== now.files[path])
      changes.push({ what: 'input', path, old: old.files[path], now: now.files[path] });
  }
  for (const key of keysOf(old.parts.deps, now.parts.deps)) {
    if (old.parts.deps[key] !== now.parts.deps[key])
      changes.push({ what: 'dep', key, old: old.parts.deps[key], now: now.parts.deps[key] });
  }
  return changes;
}

function keysOf(a: object, b: object): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
}

/** One-shot (crypto.hash): no Hash object per call, which a 1,000-node run made by the thousand. */
export function sha256(text: string): string {
  return hash('sha256', text);
}

/** JSON with object keys sorted at every level, so equal values always hash equally. */
export function canonicalJson(value: unknown): string {
  return (
    JSON.stringify(value, (_key, v: unknown) => {
      if (v === undefined || typeof v === 'function') return null;
      if (typeof v === 'bigint') return v.toString();
      if (v instanceof Map) {
        const entries = [...(v as Map<string, unknown>).entries()].sort(([a], [b]) =>
          a < b ? -1 : 1,
        );
        return Object.fromEntries(entries) as Record<string, unknown>;
      }
      if (v instanceof Set) return [...(v as Set<unknown>)].sort();
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        return Object.fromEntries(
          Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        );
      }
      return v;
    }) ?? 'null'
  );
}
