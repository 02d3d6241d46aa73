#!/usr/bin/env node
// The other Node.js runtimes taskgraph supports, side by side with the machine's own node.
//
//   node scripts/runtimes.mjs install          installs Node 22 and 24 into .runtimes/ (if missing)
//   node scripts/runtimes.mjs list             prints "<major> <path to node>" for each one present
//   node scripts/runtimes.mjs test             npm run test:fast on each of them, then the summary
//
// Each runtime comes from the npm registry's `node` package (which installs the official binary
// for this platform) into .runtimes/node-<major>/ of the checkout: the system's node is never
// replaced, nothing outside the checkout changes, and `rm -rf .runtimes` undoes it all. The
// machine's own node runs the full suite (`npm test`); these run `test:fast`, which is where a
// runtime difference would show (the engine, the CLI, the loader), without a second Docker run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath, URL } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const RUNTIMES = join(REPO, '.runtimes');
/** The majors besides the machine's own that CI tests; package.json's engines says >= 20.19. */
export const MAJORS = ['22', '24'];

const log = (line) => process.stderr.write(`runtimes: ${line}\n`);

/** Where `npm install --prefix` puts the `node` package's binary. */
const binDir = (major) => join(RUNTIMES, `node-${major}`, 'node_modules', '.bin');

/** @returns {{ major: string, node: string }[]} the runtimes installed in .runtimes/ */
export function installedRuntimes() {
  if (!existsSync(RUNTIMES)) return [];
  return readdirSync(RUNTIMES)
    .map((name) => /^node-(\d+)$/.exec(name)?.[1])
    .filter((major) => major !== undefined)
    .sort((a, b) => Number(a) - Number(b))
    .map((major) => ({ major, node: join(binDir(major), 'node') }))
    .filter((runtime) => existsSync(runtime.node));
}

function install() {
  for (const major of MAJORS) {
    const node = join(binDir(major), 'node');
    if (existsSync(node) && versionOf(node)?.startsWith(`v${major}.`)) continue;
    const prefix = join(RUNTIMES, `node-${major}`);
    mkdirSync(prefix, { recursive: true });
    log(`installing node@${major} from the npm registry into ${prefix}`);
    const result = spawnSync(
      'npm',
      [
        'install',
        '--prefix',
        prefix,
        '--no-save',
        '--no-package-lock',
        '--no-audit',
        `node@${major}`,
      ],
      { stdio: ['ignore', 'inherit', 'inherit'] },
    );
    if (result.status !== 0 || versionOf(node) === undefined) {
      throw new Error(
        `npm install node@${major} failed (exit ${result.status}); see npm's output above`,
      );
    }
  }
  for (const runtime of installedRuntimes())
    log(`node ${versionOf(runtime.node)}: ${runtime.node}`);
}

function versionOf(node) {
  const result = spawnSync(node, ['--version'], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** The environment that makes `node` (and so npm, npx and every `#!/usr/bin/env node`) this one. */
export function envFor(node) {
  return { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH ?? ''}` };
}

/**
 * `npm run test:fast` on each runtime, each writing vitest's JSON results, then one closing line
 * over every results file of this run (the full suite's included, when `npm test` ran first), so
 * CI's last line counts every test that ran on every runtime.
 */
function test() {
  install();
  const files = [join(REPO, 'build', 'vitest-results.json')].filter(existsSync);
  let failed = false;
  for (const runtime of installedRuntimes().filter((r) => MAJORS.includes(r.major))) {
    const version = versionOf(runtime.node);
    const results = join(REPO, 'build', `vitest-results-node-${runtime.major}.json`);
    log(`npm run test:fast on node ${version}`);
    const result = spawnSync(
      'npm',
      [
        'run',
        'test:fast',
        '--',
        '--reporter=default',
        '--reporter=json',
        `--outputFile.json=${results}`,
      ],
      { cwd: REPO, env: envFor(runtime.node), stdio: ['ignore', 'inherit', 'inherit'] },
    );
    if (result.status !== 0) {
      failed = true;
      log(`test:fast failed on node ${version} (exit ${result.status ?? result.signal})`);
    }
    if (existsSync(results)) files.push(results);
  }
  spawnSync(process.execPath, [join(REPO, 'scripts', 'test-summary.mjs'), ...files], {
    stdio: 'inherit',
  });
  return failed ? 1 : 0;
}

const COMMANDS = { install: () => (install(), 0), list, test };

function list() {
  for (const runtime of installedRuntimes())
    process.stdout.write(`${runtime.major} ${runtime.node}\n`);
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const command = COMMANDS[process.argv[2] ?? ''];
  if (!command) {
    process.stderr.write(`usage: node scripts/runtimes.mjs ${Object.keys(COMMANDS).join('|')}\n`);
    process.exitCode = 2;
  } else {
    try {
      process.exitCode = command();
    } catch (error) {
      log(error instanceof Error ? error.message : String(error));
      process.exitCode = 1;
    }
  }
}
