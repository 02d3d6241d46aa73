// The up-to-date decision as a pure function: a record made from one set of fresh hashes, then
// exactly one ingredient changed, must give "run" with the reason, and --explain's comparison must
// name that ingredient and nothing else. No files, no processes: the facts are plain data.
import { describe, expect, it } from 'vitest';
import { installRegistry, Registry, task } from '../src/dsl.js';
import type { TaskOptions } from '../src/dsl.js';
import type { FileDigest } from '../src/file-hasher.js';
import { explainChanges, fingerprintNode } from '../src/fingerprint.js';
import type { Change, DepResult, FingerprintDetail } from '../src/fingerprint.js';
import { parseTarget, Planner } from '../src/graph.js';
import type { PlanNode } from '../src/graph.js';
import { compareOutputs, decide } from '../src/up-to-date.js';
import type { Facts, Verdict } from '../src/up-to-date.js';

type Run = NonNullable<TaskOptions['run']>;
const RUN: Run = () => {};
const OTHER_RUN: Run = () => {
  console.log('edited');
};

/** The `out[name=x]` node of a small graph (dep `lib`), defined with `options` overriding. */
function nodeOf(options: Partial<TaskOptions<'name'>> = {}, target = 'out[x]'): PlanNode {
  const registry = new Registry();
  installRegistry(registry);
  task('lib', { run: RUN, outputs: ['lib.a'] });
  task('out', {
    deps: ['lib'],
    args: ['name'],
    inputs: ['src/**'],
    outputs: ['out.txt'],
    env: ['MODE'],
    vars: { image: 'app:1' },
    run: RUN,
    ...options,
  });
  const expansion = new Planner(registry).expand([parseTarget(target)]);
  if (!expansion.ok) throw new Error(expansion.error.reason);
  return expansion.nodes[0] as PlanNode;
}

interface Fresh {
  node: PlanNode;
  files: FileDigest[];
  dep: DepResult;
  env: NodeJS.ProcessEnv;
}

const BASE: Fresh = {
  node: nodeOf(),
  files: [
    { path: 'src/a.txt', sha256: 'aaa' },
    { path: 'src/b.txt', sha256: 'bbb' },
  ],
  dep: { fingerprint: 'lib-fp', outputs: { 'file:lib.a': 'lib-digest' } },
  env: { MODE: 'prod' },
};

function fingerprintOf(fresh: Fresh): { fingerprint: string; detail: FingerprintDetail } {
  const deps = new Map(fresh.node.deps.map((dep) => [dep.key, fresh.dep]));
  return fingerprintNode(fresh.node, fresh.files, deps, fresh.env);
}

const RECORDED = fingerprintOf(BASE);
const RECORD = { fingerprint: RECORDED.fingerprint, outputs: { 'file:out.txt': 'out-digest' } };

function facts(overrides: Partial<Facts> = {}): Facts {
  return {
    key: 'out[name=x]',
    runs: true,
    depRan: false,
    force: false,
    readOnly: false,
    tracked: true,
    record: RECORD,
    fingerprint: RECORDED.fingerprint,
    ...overrides,
  };
}

/** Both steps of the decision, the output `file:out.txt` having `digest` now (as recorded). */
function verdictOf(f: Facts, digest: { now: string | undefined } = { now: 'out-digest' }): Verdict {
  const decision = decide(f);
  return 'compare' in decision
    ? compareOutputs(['file:out.txt'], decision.recorded, [digest.now])
    : decision;
}

/** Some sha256: what the hash is, is fingerprint.ts's business; that it is named is ours. */
const HASH = expect.stringMatching(/^[0-9a-f]{64}$/) as unknown as string;

const CHANGED = 'inputs changed (run `task --explain out[name=x]` for details)';

describe('the up-to-date decision', () => {
  it('is up to date when nothing changed and the outputs are as recorded', () => {
    expect(fingerprintOf(BASE).fingerprint).toBe(RECORDED.fingerprint);
    expect(verdictOf(facts())).toEqual({
      upToDate: true,
      reason: 'up to date',
      outputs: RECORD.outputs,
    });
  });

  const cases: [string, Partial<Fresh>, Change][] = [
    ['the definition (run)', { node: nodeOf({ run: OTHER_RUN }) }, { what: 'definition' }],
    ['the definition (version)', { node: nodeOf({ version: '2' }) }, { what: 'definition' }],
    [
      'an argument',
      { node: nodeOf({}, 'out[y]') },
      { what: 'arg', name: 'name', old: 'x', now: 'y' },
    ],
    [
      'a var',
      { node: nodeOf({ vars: { image: 'app:2' } }) },
      { what: 'var', name: 'image', old: HASH, now: HASH },
    ],
    [
      'a declared env var',
      { env: { MODE: 'dev' } },
      { what: 'env', name: 'MODE', old: HASH, now: HASH },
    ],
    [
      'a declared env var becoming unset',
      { env: {} },
      { what: 'env', name: 'MODE', old: HASH, now: null },
    ],
    [
      'an input file added',
      { files: [...BASE.files, { path: 'src/c.txt', sha256: 'ccc' }] },
      { what: 'input', path: 'src/c.txt', old: undefined, now: 'ccc' },
    ],
    [
      'an input file deleted',
      { files: [BASE.files[0] as FileDigest] },
      { what: 'input', path: 'src/b.txt', old: 'bbb', now: undefined },
    ],
    [
      'an input file edited',
      { files: [BASE.files[0] as FileDigest, { path: 'src/b.txt', sha256: 'b2' }] },
      { what: 'input', path: 'src/b.txt', old: 'bbb', now: 'b2' },
    ],
    [
      "a dependency's fingerprint",
      { dep: { ...BASE.dep, fingerprint: 'lib-fp-2' } },
      { what: 'dep', key: 'lib', old: HASH, now: HASH },
    ],
    [
      "a dependency's output digest",
      { dep: { ...BASE.dep, outputs: { 'file:lib.a': 'lib-digest-2' } } },
      { what: 'dep', key: 'lib', old: HASH, now: HASH },
    ],
  ];

  it.each(cases)(
    'reruns when %s alone changes, and --explain names only that',
    (_, change, said) => {
      const fresh = fingerprintOf({ ...BASE, ...change });
      expect(fresh.fingerprint).not.toBe(RECORDED.fingerprint);
      expect(verdictOf(facts({ fingerprint: fresh.fingerprint }))).toEqual({
        upToDate: false,
        reason: CHANGED,
        outputs: {},
      });
      expect(explainChanges(RECORDED.detail, fresh.detail)).toEqual([said]);
    },
  );

  it('reruns when an input file is renamed (same content, new path)', () => {
    const renamed = [BASE.files[0] as FileDigest, { path: 'src/c.txt', sha256: 'bbb' }];
    const fresh = fingerprintOf({ ...BASE, files: renamed });
    expect(verdictOf(facts({ fingerprint: fresh.fingerprint })).reason).toBe(CHANGED);
    expect(explainChanges(RECORDED.detail, fresh.detail)).toEqual([
      { what: 'input', path: 'src/b.txt', old: 'bbb', now: undefined },
      { what: 'input', path: 'src/c.txt', old: undefined, now: 'bbb' },
    ]);
  });

  it('reruns when an output is missing, edited, or not in the record', () => {
    expect(verdictOf(facts(), { now: undefined })).toEqual({
      upToDate: false,
      reason: 'output file:out.txt is missing',
      outputs: {},
    });
    expect(verdictOf(facts(), { now: 'edited' })).toEqual({
      upToDate: false,
      reason: 'output file:out.txt changed since the last run',
      outputs: {},
    });
    const older = facts({ record: { ...RECORD, outputs: {} } });
    expect(verdictOf(older).reason).toBe('output file:out.txt is new');
  });

  it('runs what never ran, what is forced, and what declares neither inputs nor outputs', () => {
    expect(verdictOf(facts({ record: undefined })).reason).toBe('never ran successfully');
    expect(verdictOf(facts({ force: true })).reason).toBe('forced (--force)');
    expect(verdictOf(facts({ tracked: false }))).toEqual({
      upToDate: false,
      reason: 'no inputs or outputs: always runs',
      outputs: {},
    });
  });

  it('a task without run is up to date unless a dependency ran, forced or not', () => {
    const group = facts({ runs: false, record: undefined, tracked: false, force: true });
    expect(verdictOf(group)).toEqual({ upToDate: true, reason: 'nothing to do', outputs: {} });
    expect(verdictOf({ ...group, depRan: true })).toEqual({
      upToDate: false,
      reason: 'a dependency ran',
      outputs: {},
    });
  });
});
