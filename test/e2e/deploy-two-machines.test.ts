/**
 * Two machines deploying commits that share the app's inputs, through one ECR (the emulator in
 * front of a real registry): the first pushes, the second builds the same inputs into other bytes
 * (a rebuilt top layer has other timestamps) and finds ECR's image under the tag. Its push
 * accepts that image as built elsewhere from the same inputs (the same taskgraph.fingerprint
 * label), pushes nothing, and its deploy runs the image already in ECR. It failed with
 * image-tag-conflict while push compared digests only.
 */
import { cp, mkdtemp, realpath, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../support/project.js';
import { requireDocker } from '../support/docker-available.js';
import { imageId, removeTags } from './support/clone.js';
import { ENV, REPOSITORIES, startDeployWorld, type DeployWorld } from './support/deploy-fixture.js';

const dockerReady = await requireDocker({ commands: ['docker-registry', 'htpasswd'] });

/** What the copy's build and state hold, which the second machine makes for itself. */
const MACHINE_LOCAL = new Set(['.task', 'build', '.git', 'node_modules']);

describe.skipIf(!dockerReady)('two machines, one ECR', () => {
  let world: DeployWorld;
  let second: string | undefined;

  beforeAll(async () => {
    world = await startDeployWorld();
  });

  afterAll(async () => {
    await world?.stop();
    if (second !== undefined) await rm(second, { recursive: true, force: true });
  });

  /** The manifest and config digests the registry holds under `repository:tag`. */
  async function held(repository: string, tag: string) {
    const auth = Buffer.from(`AWS:${world.registry.password}`).toString('base64');
    const response = await fetch(`http://${world.registry.url}/v2/${repository}/manifests/${tag}`, {
      headers: {
        authorization: `Basic ${auth}`,
        accept: 'application/vnd.docker.distribution.manifest.v2+json',
      },
    });
    expect(response.status).toBe(200);
    const manifest = (await response.json()) as { config: { digest: string } };
    return {
      digest: response.headers.get('docker-content-digest'),
      config: manifest.config.digest,
    };
  }

  it("the second machine's deploy of a commit that touches no app input pushes nothing and runs ECR's image", async () => {
    const first = await world.task([`${ENV}:create`]);
    expect(first.exitCode, first.text).toBe(0);
    const [phpTag, ...morePhp] = await world.registryTags(REPOSITORIES.phpFpm);
    const [nginxTag, ...moreNginx] = await world.registryTags(REPOSITORIES.nginx);
    expect([morePhp, moreNginx]).toEqual([[], []]);
    if (phpTag === undefined || nginxTag === undefined) throw new Error('nothing was pushed');
    const before = {
      phpFpm: await held(REPOSITORIES.phpFpm, phpTag),
      nginx: await held(REPOSITORIES.nginx, nginxTag),
    };

    // The second machine: its own checkout, one commit ahead with no app change, and none of
    // the first machine's production images (its base and dev images are the same inputs, so
    // it would have made or pulled the same ones).
    const pushedTo = new URL(world.emu.endpoint).host;
    await removeTags([
      `prod_example_php_fpm:${phpTag}`,
      `prod_example_nginx:${nginxTag}`,
      `${pushedTo}/${REPOSITORIES.phpFpm}:${phpTag}`,
      `${pushedTo}/${REPOSITORIES.nginx}:${nginxTag}`,
    ]);
    const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'taskgraph-second-machine-')));
    second = dir;
    await cp(world.clone.dir, dir, {
      recursive: true,
      filter: (source) => !MACHINE_LOCAL.has(path.relative(world.clone.dir, source)),
    });
    await symlink(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
    const git = (...args: string[]) =>
      execa('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
        cwd: dir,
      });
    await git('init', '-q');
    await git('add', '-A');
    await git('commit', '-q', '-m', 'the app');
    await git('commit', '-q', '--allow-empty', '-m', 'docs only');

    const deployed = await world.plain([`${ENV}:deploy`], dir);
    expect(deployed.exitCode, deployed.text).toBe(0);
    // It did build other bytes: the same tag, another image id than the one in ECR.
    const local = await imageId(`prod_example_php_fpm:${phpTag}`);
    expect(local).toBeDefined();
    expect(local).not.toBe(before.phpFpm.config);
    expect(deployed.text).toContain(
      `${REPOSITORIES.phpFpm}:${phpTag}: already in the registry as ${before.phpFpm.digest}, built elsewhere from the same inputs; deploys run that image`,
    );
    expect(deployed.text).toContain(
      `${REPOSITORIES.nginx}:${nginxTag}: already in the registry as ${before.nginx.digest}, built elsewhere from the same inputs; deploys run that image`,
    );
    expect(deployed.text).not.toContain(`pushing ${pushedTo}`);
    // Nothing was pushed: ECR holds the first machine's images, under the same tags only.
    expect(await world.registryTags(REPOSITORIES.phpFpm)).toEqual([phpTag]);
    expect(await held(REPOSITORIES.phpFpm, phpTag)).toEqual(before.phpFpm);
    expect(await held(REPOSITORIES.nginx, nginxTag)).toEqual(before.nginx);
    // The task definitions name the same tags, so the services run the images ECR holds.
    expect(deployed.calls.filter((call) => call === 'RegisterTaskDefinition')).toEqual([]);
    expect(deployed.calls.filter((call) => call === 'UpdateService')).toEqual([]);
  });
});
