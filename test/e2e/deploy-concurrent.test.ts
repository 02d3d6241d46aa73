/**
 * Two machines deploy one environment at the same moment: two real `task e2e:deploy` processes,
 * each in its own checkout (the second a copy of the first, as a CI cache would give it), against
 * an emulator whose reads lag writes. One deploys; the other refuses, naming it, having
 * registered, migrated and updated nothing. No lock is left behind.
 */
import { cp, rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDocker } from '../support/docker-available.js';
import { ENV, startDeployWorld, type DeployWorld } from './support/deploy-fixture.js';

const APP_FILE = 'example/app/Http/Controllers/VisitController.php';
const dockerReady = await requireDocker({ commands: ['docker-registry', 'htpasswd'] });

describe.skipIf(!dockerReady)(`${ENV}: two deploys at once`, () => {
  let world: DeployWorld;
  let second: string;

  beforeAll(async () => {
    world = await startDeployWorld({ readLag: { seed: 5, maxSeconds: 1 } });
    second = `${world.clone.dir}-second-machine`;
  });

  afterAll(async () => {
    await rm(second, { recursive: true, force: true });
    await world?.stop();
  });

  it('one deploys, the other refuses naming it and changes nothing', async () => {
    const created = await world.plain([`${ENV}:create`]);
    expect(created.exitCode, created.text).toBe(0);
    // A source change both machines have, built and pushed once (the CI cache both restore).
    await world.clone.edit(APP_FILE, (text) => `${text}// concurrent ${Date.now()}\n`);
    const pushed = await world.plain([`${ENV}:push`, `${ENV}:render`]);
    expect(pushed.exitCode, pushed.text).toBe(0);
    await cp(world.clone.dir, second, { recursive: true, verbatimSymlinks: true });

    const before = world.emu.calls.length;
    const [a, b] = await Promise.all([
      world.plain([`${ENV}:deploy`]),
      world.plain([`${ENV}:deploy`], second),
    ]);
    const runs = [a, b];
    const won = runs.filter((r) => r.exitCode === 0);
    const lost = runs.filter((r) => r.exitCode !== 0);
    expect(won, runs.map((r) => r.text).join('\n----\n')).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]?.text).toMatch(
      /Another deploy of e2e is running: started by \S+ at \d{4}-\d\d-\d\dT[\d:.]+Z \(run [0-9a-f]{12}, lock on cluster example-e2e\)\. Nothing was changed\./,
    );
    // Only the winner migrated and updated: one migration, one UpdateService per service it moved.
    const calls = world.emu.calls.slice(before);
    const count = (op: string) => calls.filter((c) => c === op).length;
    const moved = (won[0]?.text.match(/: updating to arn:/g) ?? []).length;
    expect(moved).toBeGreaterThan(0);
    expect(count('RunTask')).toBe(1);
    expect(count('UpdateService')).toBe(moved);
    expect(lost[0]?.text).not.toMatch(/updating to|migration: running|registered/);
    // Both lock tags are gone: the winner's released, the loser's withdrawn.
    const cluster = world.emu.ecs.clusters.get('example-e2e');
    const tags = (cluster?.sent['tags'] as { key: string }[] | undefined) ?? [];
    expect(tags.filter((t) => t.key.startsWith('taskgraph:lock:'))).toEqual([]);
  });
});
