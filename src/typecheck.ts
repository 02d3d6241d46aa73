/**
 * `task --check`: typechecks the Taskfile with the project's own TypeScript. Loading a Taskfile
 * strips its types without checking them (esbuild), so this is the way to have them checked,
 * locally or in CI; task-options.ts still checks every definition's options on each load.
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { runProcess } from './process.js';

export type CheckResult =
  | { ok: true }
  | { ok: false; reason: 'type-errors' }
  | { ok: false; reason: 'no-typescript'; searchedFrom: string };

export async function checkTypes(options: {
  root: string;
  file: string;
  /** The node binary to run tsc with, and its environment. */
  node: string;
  env: NodeJS.ProcessEnv;
  signal: AbortSignal;
  out: (line: string) => void;
}): Promise<CheckResult> {
  const tsc = findTsc(options.root);
  if (!tsc) return { ok: false, reason: 'no-typescript', searchedFrom: options.root };
  // The project's tsconfig.json when it has one (its settings, its files); else the Taskfile
  // and what it imports, with the settings a Taskfile is written for.
  const args = existsSync(join(options.root, 'tsconfig.json'))
    ? ['--noEmit', '-p', 'tsconfig.json']
    : [
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        '--target',
        'es2022',
        '--module',
        'nodenext',
        '--moduleResolution',
        'nodenext',
        '--allowImportingTsExtensions',
        relative(options.root, options.file),
      ];
  const result = await runProcess(options.node, [tsc, ...args], {
    cwd: options.root,
    env: options.env,
    signal: options.signal,
    allowFailure: true,
    onLine: (line) => options.out(line),
  });
  return result.exitCode === 0 ? { ok: true } : { ok: false, reason: 'type-errors' };
}

/** node_modules/typescript/bin/tsc in the root or a folder above it. */
function findTsc(root: string): string | undefined {
  for (let dir = root; ; dir = dirname(dir)) {
    const tsc = join(dir, 'node_modules', 'typescript', 'bin', 'tsc');
    if (existsSync(tsc)) return tsc;
    if (dirname(dir) === dir) return undefined;
  }
}
