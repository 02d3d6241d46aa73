/**
 * ENV:push with the real docker CLI (src/docker's adapter) into the emulated ECR, whose images
 * live in a real registry: the token goes into a throwaway DOCKER_CONFIG's config.json, no
 * credential helper ever sees it, and nothing of the password is left anywhere afterwards.
 *
 * The trap being tested: `docker login` into an empty config looks for the platform's default
 * credential helper (on Linux `pass`, else `secretservice`) and stores the password there
 * (https://docs.docker.com/reference/cli/docker/login/#credential-stores), so removing the folder
 * would leave the token in the keychain. Here every helper docker could pick is a recording fake
 * on PATH, `pass` included, and a HOME whose config names a credsStore and credHelpers.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest';
import { push, type PushDocker } from '../../src/aws/ecr.js';
import { describeAwsFailure } from '../../src/aws/errors.js';
import { createDocker } from '../../src/docker/docker.js';
import { startHarness, type Harness } from '../aws/harness.js';
import { startRegistry, type Registry } from '../support/aws-emulator/registry-fixture.js';
import { requireDocker } from '../support/docker-available.js';

const dockerReady = await requireDocker({ commands: ['docker-registry', 'htpasswd'] });

const HELPERS = ['pass', 'secretservice', 'desktop', 'osxkeychain', 'wincred', 'ecr-login'];

/** Every file under `dir` whose content contains `needle`. */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if ((await readFile(file, 'utf8')).includes(needle)) found.push(file);
  }
  return found;
}

describe.skipIf(!dockerReady)('push with the real docker CLI', () => {
  const run = randomBytes(4).toString('hex');
  const local = {
    phpFpm: `taskgraph-aws-push-php:${run}`,
    nginx: `taskgraph-aws-push-nginx:${run}`,
  };
  const dockerOutput: string[] = [];
  const docker = createDocker({ cwd: process.cwd(), onOutput: (line) => dockerOutput.push(line) });
  const created: string[] = [];
  let registry: Registry;
  let h: Harness;
  let scratch: string;

  beforeAll(async () => {
    registry = await startRegistry();
    h = await startHarness({ registry: { url: registry.url, password: registry.password } });
    for (const ref of Object.values(local)) {
      await docker.tag('debian:bookworm-slim', ref);
      created.push(ref);
    }
    scratch = await mkdtemp(path.join(tmpdir(), 'taskgraph-push-helpers-'));
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await docker.rmi(created);
    await h?.stop();
    await registry?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  test('pushes each image once; no credential helper runs and the password stays in the temp folder', async () => {
    // A PATH where every credential helper docker might pick records its calls, and `docker`
    // itself is a wrapper that records its argv before running the real client.
    const bin = path.join(scratch, 'bin');
    const home = path.join(scratch, 'home');
    const pushTmp = path.join(scratch, 'tmp');
    const calls = path.join(scratch, 'helper-calls.log');
    const argv = path.join(scratch, 'docker-argv.log');
    await mkdir(bin);
    await mkdir(path.join(home, '.docker'), { recursive: true });
    await mkdir(pushTmp);
    const realDocker = (await execa('sh', ['-c', 'command -v docker'])).stdout.trim();
    for (const helper of HELPERS) {
      const script = `#!/bin/sh\nstdin=$(cat)\nprintf '%s %s %s\\n' "${helper}" "$*" "$stdin" >> '${calls}'\nexit 0\n`;
      await writeFile(path.join(bin, `docker-credential-${helper}`), script);
      await chmod(path.join(bin, `docker-credential-${helper}`), 0o755);
    }
    await writeFile(path.join(bin, 'pass'), `#!/bin/sh\necho "pass $*" >> '${calls}'\n`);
    await chmod(path.join(bin, 'pass'), 0o755);
    await writeFile(
      path.join(bin, 'docker'),
      `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argv}'\nexec '${realDocker}' "$@"\n`,
    );
    await chmod(path.join(bin, 'docker'), 0o755);
    await writeFile(
      path.join(home, '.docker', 'config.json'),
      JSON.stringify({
        credsStore: 'desktop',
        credHelpers: { [new URL(h.emu.endpoint).host]: 'secretservice' },
      }),
    );
    vi.stubEnv('PATH', `${bin}:${process.env.PATH ?? ''}`);
    vi.stubEnv('HOME', home);

    const configDirs: string[] = [];
    const recording: PushDocker = {
      tag: async (source, target) => {
        created.push(target);
        await docker.tag(source, target);
      },
      push: async (ref, options) => {
        configDirs.push(options.configDir);
        return docker.push(ref, options);
      },
      imageInspect: (ref) => docker.imageInspect(ref),
    };
    const images = {
      phpFpm: { source: local.phpFpm, tag: run, fingerprint: run },
      nginx: { source: local.nginx, tag: run, fingerprint: run },
    };
    const first = await push({ ...h.ctx(), docker: recording, images, tmpDir: pushTmp });
    if (!first.ok) throw new Error(describeAwsFailure(first.failure));
    expect(first.value.map((i) => i.outcome)).toEqual(['pushed', 'pushed']);
    const tags = await fetch(`http://${registry.url}/v2/staging_example_php_fpm/tags/list`, {
      headers: {
        authorization: `Basic ${Buffer.from(`AWS:${registry.password}`).toString('base64')}`,
      },
    }).then((r) => r.json() as Promise<{ tags: string[] }>);
    expect(tags.tags).toEqual([run]);

    expect(existsSync(calls) ? await readFile(calls, 'utf8') : '').toBe('');
    const docked = await readFile(argv, 'utf8');
    // ECR's registry endpoint is the emulator, fronting the real registry.
    expect(docked).toContain(`push ${new URL(h.emu.endpoint).host}/staging_example_php_fpm:${run}`);
    expect(docked).not.toContain('login');
    expect(new Set(configDirs).size).toBe(1);
    expect(existsSync(configDirs[0] ?? '')).toBe(false);
    const token = Buffer.from(`AWS:${registry.password}`).toString('base64');
    for (const secret of [registry.password, token]) {
      expect(docked).not.toContain(secret);
      expect([...h.lines, ...dockerOutput].join('\n')).not.toContain(secret);
      expect(await filesContaining(scratch, secret)).toEqual([]);
    }

    const second = await push({ ...h.ctx(), docker: recording, images, tmpDir: pushTmp });
    expect(second.ok && second.value.map((i) => i.outcome)).toEqual(['present', 'present']);
    expect(new Set(configDirs).size).toBe(1);
  });
});
