/**
 * ENV:run / ENV:artisan and ENV:logs against the emulator: a one-off task on a service's live
 * task definition and network configuration, its output streamed from CloudWatch Logs, its exit
 * code returned, Ctrl-C stopping it; following a service's streams with --since and --filter.
 */
import { beforeEach, describe, expect, test } from 'vitest';
import { create } from '../../src/aws/create.js';
import { describeAwsFailure } from '../../src/aws/errors.js';
import {
  followLogs,
  LOOKBACK_MS,
  parseSince,
  startFollowing,
  streamLabel,
  takeNew,
} from '../../src/aws/logs.js';
import { runOneOff } from '../../src/aws/one-off.js';
import { deploy } from '../../src/aws/deploy.js';
import { putLogGroup, writeEvents } from '../support/aws-emulator/logs.js';
import { declared, failure, startHarness, value, type Harness } from './harness.js';

let h: Harness;

const svc = (key: string) => declared(h, key);

beforeEach(async () => {
  h = await startHarness();
  putLogGroup(h.emu.logs, h.env.logs.group, h.env.logs.retentionDays);
  value(
    await create({ ...h.ctx(), taskDefinitions: await h.render({ phpFpm: 'v1', nginx: 'v1' }) }),
  );
  h.lines.length = 0;
  return () => h.stop();
});

describe('pure parts', () => {
  test('--since: relative units or an ISO time', () => {
    const now = Date.UTC(2025, 0, 1, 12);
    expect(parseSince('10m', now)).toBe(now - 600_000);
    expect(parseSince('2h', now)).toBe(now - 7_200_000);
    expect(parseSince('2025-01-01T11:00:00Z', now)).toBe(now - 3_600_000);
    expect(parseSince('yesterday', now)).toBeUndefined();
  });

  test('a follower prints each event once, oldest first, and looks back for late ones', () => {
    const ev = (id: string, timestamp: number) => ({ eventId: id, timestamp, message: id });
    const first = takeNew(startFollowing(0), [ev('b', 200_000), ev('a', 100_000)]);
    expect(first.fresh.map((e) => e.eventId)).toEqual(['a', 'b']);
    expect(first.state.since).toBe(200_000 - LOOKBACK_MS);
    // A late event with an older timestamp than the newest seen is still printed; seen ones are not.
    const second = takeNew(first.state, [ev('b', 200_000), ev('late', 190_000)]);
    expect(second.fresh.map((e) => e.eventId)).toEqual(['late']);
    expect(streamLabel('php-fpm/php-fpm/0123abcd')).toBe('php-fpm/0123abcd');
  });
});

describe('run', () => {
  test('streams the output while the task runs and returns its exit code; argv reaches the container unchanged', async () => {
    const service = svc('phpFpm').name;
    const arrived: string[] = [];
    h.emu.taskOutput.print({ family: svc('phpFpm').family }, [
      'Migration name  Ran?',
      'create_users  Yes',
    ]);
    const report = value(
      await runOneOff({
        ...h.ctx({ log: (line) => arrived.push(`${h.emu.ecs.time} ${line}`) }),
        service,
        command: ['php', 'artisan', 'migrate:status', '--path=a b;c'],
      }),
    );
    expect(report.exitCode).toBe(0);
    const lines = arrived.map((l) => l.split(' ').slice(1).join(' '));
    expect(lines.slice(1)).toEqual(['Migration name  Ran?', 'create_users  Yes']);
    // Streamed: the first line was printed before the task stopped (its stop is ~10 s after start).
    const [, first] = arrived;
    const stop = h.emu.ecs.tasks.get(report.taskId)?.sim.stoppedAt ?? 0;
    expect(Number(first?.split(' ')[0])).toBeLessThan(stop);
    const sent = h.emu.requests.filter((r) => r.operation === 'RunTask').at(-1)?.input as {
      overrides: { containerOverrides: { name: string; command: string[] }[] };
      networkConfiguration: unknown;
      launchType: string;
      taskDefinition: string;
    };
    expect(sent.overrides.containerOverrides).toEqual([
      { name: 'php-fpm', command: ['php', 'artisan', 'migrate:status', '--path=a b;c'] },
    ]);
    const live = h.emu.ecs.services.get(`${h.env.ecs.cluster}/${service}`)?.sent;
    expect(sent.networkConfiguration).toEqual(live?.['networkConfiguration']);
    expect(sent.taskDefinition).toMatch(/example-staging-php-fpm:1$/);
  });

  test('the container exit code comes back; unscripted output is the argv', async () => {
    h.emu.faults.exitCode({ family: svc('phpFpm').family }, 3);
    const report = value(
      await runOneOff({
        ...h.ctx(),
        service: svc('phpFpm').name,
        command: ['php', '-r', 'exit(3);'],
      }),
    );
    expect(report.exitCode).toBe(3);
    expect(h.lines).toContain('["php","-r","exit(3);"]');
  });

  test('Ctrl-C stops the task (StopTask) and says so', async () => {
    const controller = new AbortController();
    const result = await runOneOff({
      ...h.ctx({
        signal: controller.signal,
        log: (line) => {
          if (line.includes(' runs ')) controller.abort();
        },
      }),
      service: svc('phpFpm').name,
      command: ['sleep', '600'],
    });
    const f = failure(result);
    expect(f.reason).toBe('run-interrupted');
    expect(describeAwsFailure(f)).toContain('stopped the one-off task');
    expect(h.emu.calls).toContain('StopTask');
    const taskId = f.reason === 'run-interrupted' ? f.taskId : '';
    expect(h.emu.ecs.tasks.get(taskId)?.sim.stop?.reason).toBe(
      'Stopped by taskgraph: interrupted (Ctrl-C)',
    );
  });

  test('a service that does not exist', async () => {
    const f = failure(await runOneOff({ ...h.ctx(), service: 'nope', command: ['true'] }));
    expect(describeAwsFailure(f)).toContain('nope not found in cluster');
  });
});

describe('logs', () => {
  test("follows a service's streams, each line prefixed with container and task id; --filter and --since", async () => {
    const group = h.env.logs.group;
    putLogGroup(h.emu.logs, group); // without create's migration output
    const now = h.emuClock.now();
    writeEvents(h.emu.logs, group, 'php-fpm/php-fpm/aaaa', [
      { timestamp: now - 3_600_000, message: 'old line', ingestionTime: now - 3_600_000 },
      { timestamp: now - 1000, message: 'GET /health 200', ingestionTime: now - 1000 },
    ]);
    writeEvents(h.emu.logs, group, 'nginx/nginx/bbbb', [
      { timestamp: now - 500, message: 'ERROR upstream', ingestionTime: now - 500 },
    ]);
    const controller = new AbortController();
    let polls = 0;
    const printed = await followLogs(
      {
        ...h.ctx({ signal: controller.signal }),
        clock: {
          now: () => h.emuClock.now(),
          sleep: async (ms) => {
            polls++;
            if (polls === 1) {
              // A line arriving while following, with a timestamp older than the newest seen.
              writeEvents(h.emu.logs, group, 'php-fpm/php-fpm/cccc', [
                { timestamp: now - 2000, message: 'late line', ingestionTime: now + 1000 },
              ]);
            }
            if (polls === 2) controller.abort();
            h.emuClock.advance(ms / 1000);
          },
        },
      },
      {
        queries: [
          { group, streamPrefix: 'php-fpm/' },
          { group, streamPrefix: 'nginx/' },
        ],
        since: parseSince('10m', now) ?? 0,
        follow: true,
      },
    );
    expect(h.lines).toEqual([
      'php-fpm/aaaa | GET /health 200',
      'nginx/bbbb | ERROR upstream',
      'php-fpm/cccc | late line',
    ]);
    expect(printed).toBe(3);
    h.lines.length = 0;
    await followLogs(h.ctx(), {
      queries: [
        { group, streamPrefix: 'nginx/', filter: 'ERROR' },
        { group, streamPrefix: 'php-fpm/', filter: 'ERROR' },
      ],
      since: 0,
      follow: false,
    });
    expect(h.lines).toEqual(['nginx/bbbb | ERROR upstream']);
  });

  test("a failed deploy's report prints the stopped tasks' last log lines", async () => {
    h.emu.taskOutput.print({ image: 'staging_example_php_fpm:bad' }, [
      'booting',
      'PHP Fatal error: Class "App\\Kernel" not found',
    ]);
    const ctx = h.ctx({
      log: (line) => {
        // The migration (a one-off task) passes; the service's new tasks then fail.
        if (line.startsWith('migration:') && line.endsWith('exited 0')) {
          h.emu.faults.failHealthCheck({ image: 'staging_example_php_fpm:bad' });
        }
      },
    });
    const result = failure(
      await deploy({ ...ctx, taskDefinitions: await h.render({ phpFpm: 'bad', nginx: 'v1' }) }),
    );
    const text = describeAwsFailure(result);
    expect(text).toContain('Task failed container health checks');
    expect(text).toMatch(/\n {6}\| booting\n {6}\| PHP Fatal error: Class "App\\Kernel" not found/);
  });
});
