/**
 * The README's "try a deploy without AWS", as a new user runs it: `npm run emulator -- --seed
 * staging --start-registry` (the real CLI entry, bundled by the npm script), its printed exports,
 * then `npx task staging:create` and `npx task staging:verify` in a copy of the repository with
 * environments/staging.ts as it is. Seeded, verify finds only what create makes (images, cluster);
 * after create, every check is ok.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import staging from '../../environments/staging.js';
import { requireDocker } from '../support/docker-available.js';
import { REPO } from '../support/project.js';
import { Clone, localTags } from './support/clone.js';

const dockerReady = await requireDocker({ commands: ['docker-registry', 'htpasswd'] });

/**
 * `npm run emulator -- ...` as the README has it. Detached: npm runs the bundler, then node; the
 * whole group is stopped at the end.
 */
function startEmulator() {
  return execa(
    'npm',
    [
      ...['run', '--silent', 'emulator', '--'],
      ...['--seed', 'staging', '--start-registry'],
      // Shortens the simulated waits (task start, health checks) only.
      ...['--time-scale', '0.1'],
    ],
    { cwd: REPO, detached: true, reject: false },
  );
}

/** The `export K=V ...` lines the emulator prints, as variables; resolves once it is seeded. */
async function exportsOf(child: ReturnType<typeof startEmulator>): Promise<Record<string, string>> {
  let printed = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
      if (!/^next: /m.test(printed)) return;
      const variables: Record<string, string> = {};
      for (const [, assignments] of printed.matchAll(/^export (.+)$/gm)) {
        for (const pair of (assignments ?? '').split(' ')) {
          const [key, value] = pair.split('=');
          if (key !== undefined && value !== undefined) variables[key] = value;
        }
      }
      resolve(variables);
    });
    void child.then((result) =>
      reject(new Error(`the emulator ended before it was seeded: ${result.stderr}`)),
    );
  });
}

describe.skipIf(!dockerReady)('npm run emulator -- --seed staging', () => {
  let emulator: ReturnType<typeof startEmulator>;
  let exported: Record<string, string>;
  let clone: Clone;
  let home: string;

  beforeAll(async () => {
    emulator = startEmulator();
    exported = await exportsOf(emulator);
    clone = await Clone.create();
    home = await mkdtemp(path.join(tmpdir(), 'taskgraph-seed-home-'));
  }, 120_000);

  afterAll(async () => {
    // Its group: npm, the shell it starts, and node (which stops the registry it started).
    // (exitCode is null while it runs; a group already gone throws ESRCH.)
    if (emulator?.pid !== undefined && emulator.exitCode === null) {
      process.kill(-emulator.pid, 'SIGTERM');
    }
    await emulator;
    // What staging:push tagged for the emulator's registry endpoint: this run's port, ours.
    const endpoint = exported?.['AWS_ENDPOINT_URL_ECR'];
    if (endpoint !== undefined && clone !== undefined) {
      const pushedTo = new URL(endpoint).host;
      for (const ref of await localTags()) if (ref.startsWith(`${pushedTo}/`)) clone.own(ref);
    }
    await clone?.remove();
    if (home !== undefined) await rm(home, { recursive: true, force: true });
  });

  /** `npx task ARGS` in the copy with what the emulator printed, and no other AWS settings. */
  function task(args: string[]) {
    return clone.task(args, {
      ...exported,
      HOME: home,
      AWS_CONFIG_FILE: path.join(home, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'no-credentials'),
      AWS_EC2_METADATA_DISABLED: 'true',
    });
  }

  it("prints the environment to export, in staging's region", () => {
    expect(exported['AWS_REGION']).toBe(staging.aws.region);
    expect(exported['AWS_ENDPOINT_URL_IAM']).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('staging:verify finds only what create makes; after staging:create, all ok', async () => {
    const before = await task(['staging:verify']);
    expect(before.exitCode, before.text).toBe(1);
    const failing = before.text.split('\n').filter((line) => line.startsWith('  FAIL'));
    // The two images (php-fpm's serves three services) and the cluster: nothing seeding can make.
    expect(failing).toEqual([
      expect.stringMatching(/^ {2}FAIL {2}\S+\/staging_example_php_fpm:\w+ is not in ECR/),
      expect.stringMatching(/^ {2}FAIL {2}\S+\/staging_example_nginx:\w+ is not in ECR/),
      expect.stringMatching(/^ {2}FAIL {2}cluster example-staging does not exist/),
    ]);
    expect(before.text).toContain('staging: 3 problems found');

    const created = await task(['staging:create']);
    expect(created.exitCode, created.text).toBe(0);
    // The builds have the checkout's fingerprints: the checkout may use them, keep them.
    clone.markShared();

    const after = await task(['staging:verify']);
    expect(after.exitCode, after.text).toBe(0);
    expect(after.text).not.toContain('FAIL');
    expect(after.text).toContain('staging: everything a deploy relies on is in place.');
  }, 900_000);
});
