import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeEnvironment, discoverEnvironments } from '../../environments/index.js';
import local from '../../environments/local.js';
import { defineEnvironment, validateEnvironment } from '../../src/environment.js';
import staging from '../../environments/staging.js';
import { RenderError, type RenderFailure } from '../../src/render/failure.js';
import { withChanges } from './with-changes.js';
import { withWorker } from '../support/worker-environment.js';

/** A checked-in environment as its file spells it (no `name`), with some paths changed. */
function rawOf(env: typeof staging | typeof local, changes: Record<string, unknown> = {}): unknown {
  const { name: _name, ...raw } = env;
  return withChanges(raw, changes);
}

function failure(run: () => unknown): { failure: RenderFailure; message: string } {
  try {
    run();
  } catch (error) {
    if (error instanceof RenderError) return { failure: error.failure, message: error.message };
    throw error;
  }
  throw new Error('expected a RenderError');
}

function firstLine(raw: unknown, file = 'environments/staging.ts'): string {
  return failure(() => validateEnvironment(raw, file, 'staging')).message.split('\n')[0] ?? '';
}

describe('validateEnvironment', () => {
  it('accepts the checked-in environments unchanged', () => {
    expect(validateEnvironment(rawOf(staging), 'environments/staging.ts', 'staging')).toEqual(
      staging,
    );
    expect(validateEnvironment(rawOf(local), 'environments/local.ts', 'local')).toEqual(local);
  });

  it('names file, key path, what was expected and what was found', () => {
    const raw = rawOf(staging, { 'services.phpFpm.cpu': 300 });
    const { failure: data, message } = failure(() =>
      validateEnvironment(raw, 'environments/staging.ts', 'staging'),
    );
    expect(data).toEqual({
      reason: 'invalid-environment',
      file: 'environments/staging.ts',
      issues: [
        {
          path: 'services.phpFpm.cpu',
          expected: 'one of 256|512|1024|2048|4096|8192|16384',
          found: '300',
        },
      ],
    });
    expect(message.split('\n')[0]).toBe(
      'environments/staging.ts: services.phpFpm.cpu: expected one of 256|512|1024|2048|4096|8192|16384, found 300',
    );
  });

  it('rejects a misspelt key and suggests the real one', () => {
    const raw = rawOf(staging, { 'services.phpFpm.cpuu': 256, 'services.phpFpm.cpu': undefined });
    const { failure: data } = failure(() =>
      validateEnvironment(raw, 'environments/staging.ts', 'staging'),
    );
    expect(data.reason === 'invalid-environment' && data.issues.map((issue) => issue.path)).toEqual(
      ['services.phpFpm.cpu', 'services.phpFpm.cpuu'],
    );
    const lines = failure(() =>
      validateEnvironment(raw, 'environments/staging.ts', 'staging'),
    ).message.split('\n');
    expect(lines[0]).toBe(
      'environments/staging.ts: services.phpFpm.cpu: expected a number, found nothing (the key is missing)',
    );
    expect(lines[1]).toBe(
      'environments/staging.ts: services.phpFpm.cpuu: expected one of the known keys ' +
        'name|family|image|command|template|desiredCount|cpu|memory|launchType|runtimePlatform|healthCheckGracePeriodSeconds|containerPort|loadBalancer, ' +
        'found unknown key "cpuu" (did you mean "cpu"?)',
    );
  });

  it('suggests a long key cut short, and one in other capitals', () => {
    const raw = rawOf(staging, {
      'services.phpFpm.healthCheckGracePeriod': 60,
      'services.phpFpm.DesiredCount': 2,
    });
    const { failure: data } = failure(() =>
      validateEnvironment(raw, 'environments/staging.ts', 'staging'),
    );
    const hints = data.reason === 'invalid-environment' && data.issues.map((issue) => issue.hint);
    expect(hints).toEqual([
      'did you mean "healthCheckGracePeriodSeconds"?',
      'did you mean "desiredCount"?',
    ]);
  });

  it('rejects unknown keys at the top level and in local environments', () => {
    const raw = rawOf(local, { 'nginx.prot': 8081, extra: true });
    const { failure: data } = failure(() =>
      validateEnvironment(raw, 'environments/local.ts', 'local'),
    );
    expect(data.reason === 'invalid-environment' && data.issues).toEqual([
      {
        path: 'nginx.prot',
        expected: 'one of the known keys port|serverNames',
        found: 'unknown key "prot"',
        hint: 'did you mean "port"?',
      },
      {
        path: 'extra',
        expected: 'one of the known keys kind|host|nginx|phpFpm|database|workers|app',
        found: 'unknown key "extra"',
      },
    ]);
  });

  it('reports wrong types with the value found', () => {
    const raw = rawOf(staging, {
      'services.nginx.desiredCount': '2',
      'network.subnets[1]': 'subnet-XYZ',
      'app.env.DB_PORT': 3306,
      'ecr.scanOnPush': 'yes',
    });
    const { failure: data } = failure(() =>
      validateEnvironment(raw, 'environments/staging.ts', 'staging'),
    );
    expect(data.reason === 'invalid-environment' && data.issues).toEqual([
      { path: 'ecr.scanOnPush', expected: 'a boolean (true or false)', found: '"yes"' },
      { path: 'network.subnets[1]', expected: 'a subnet id (subnet-...)', found: '"subnet-XYZ"' },
      { path: 'services.nginx.desiredCount', expected: 'a number', found: '"2"' },
      { path: 'app.env.DB_PORT', expected: 'a string', found: '3306' },
    ]);
  });

  it('reports an unknown kind with the kinds there are', () => {
    expect(firstLine(rawOf(staging, { kind: 'k8s' }))).toBe(
      'environments/staging.ts: kind: expected one of ecs|local, found "k8s"',
    );
  });

  it('rejects a memory size Fargate does not offer for the cpu', () => {
    const raw = rawOf(staging, { 'services.phpFpm.cpu': 512, 'services.phpFpm.memory': 512 });
    expect(firstLine(raw)).toBe(
      'environments/staging.ts: services.phpFpm.memory: expected one of 1024|2048|3072|4096 (FARGATE with cpu 512), found 512',
    );
  });

  it('rejects a registry that is not the account and region', () => {
    const raw = rawOf(staging, { 'ecr.registry': '210987654321.dkr.ecr.eu-west-1.amazonaws.com' });
    expect(firstLine(raw)).toBe(
      'environments/staging.ts: ecr.registry: expected 123456789012.dkr.ecr.eu-west-1.amazonaws.com (from aws.accountId and aws.region), found "210987654321.dkr.ecr.eu-west-1.amazonaws.com"',
    );
  });

  it('accepts secrets only as SSM or Secrets Manager references', () => {
    const raw = rawOf(staging, { 'secrets.APP_KEY': 'base64:c2VjcmV0' });
    expect(firstLine(raw)).toBe(
      'environments/staging.ts: secrets.APP_KEY: expected an SSM parameter ARN or Secrets Manager secret ARN, found "base64:c2VjcmV0"',
    );
  });

  it('rejects a pool php-fpm would refuse, and a service missing from the deploy order', () => {
    const raw = rawOf(staging, { 'phpFpm.pool.maxSpareServers': 20, 'deploy.order': [['phpFpm']] });
    const { message } = failure(() =>
      validateEnvironment(raw, 'environments/staging.ts', 'staging'),
    );
    expect(message.split('\n').slice(0, 2)).toEqual([
      'environments/staging.ts: phpFpm.pool.maxSpareServers: expected at most maxChildren (8), found 20',
      'environments/staging.ts: deploy.order: expected each service in one stage, once (nginx appears 0 times), found an array of 1',
    ]);
  });

  it('accepts any number of services; one without a load balancer is as valid', () => {
    const env = withWorker(staging);
    expect(Object.keys(env.services)).toEqual(['phpFpm', 'nginx', 'worker']);
    expect(env.services.worker).not.toHaveProperty('loadBalancer');
  });

  it('rejects a deploy order or migration naming a service that is not declared', () => {
    const raw = rawOf(staging, {
      'deploy.order': [['phpFpm'], ['nginx', 'wroker'], ['queueWorker', 'scheduler']],
      'deploy.migrate.service': 'php',
    });
    const { message } = failure(() =>
      validateEnvironment(raw, 'environments/staging.ts', 'staging'),
    );
    expect(message.split('\n').slice(0, 2)).toEqual([
      'environments/staging.ts: deploy.order: expected only keys of services (phpFpm|nginx|queueWorker|scheduler); wroker is not one, found an array of 3',
      'environments/staging.ts: deploy.migrate.service: expected one of the services (phpFpm|nginx|queueWorker|scheduler), found "php"',
    ]);
  });

  it('rejects a load balancer without the container port it sends traffic to', () => {
    const raw = rawOf(staging, { 'services.nginx.containerPort': undefined });
    expect(firstLine(raw)).toBe(
      'environments/staging.ts: services.nginx.containerPort: expected the port the load balancer sends traffic to (loadBalancer is set), found nothing (the key is missing)',
    );
  });

  it('rejects local php-fpm ports that collide', () => {
    const raw = rawOf(local, { 'phpFpm.ports.alternate': 9001 });
    expect(firstLine(raw, 'environments/local.ts')).toBe(
      'environments/local.ts: phpFpm.ports.alternate: expected a port other than primary, found 9001',
    );
  });

  it('refuses an environment name that cannot be a task namespace', () => {
    expect(
      failure(() =>
        defineEnvironment('Staging', rawOf(staging) as Parameters<typeof defineEnvironment>[1]),
      ).message.split('\n')[0],
    ).toBe(
      'environments/Staging.ts: (name): expected lower-case letters, digits and -, found "Staging"',
    );
  });
});

describe('discoverEnvironments', () => {
  it('lists every environment file, so a new qa.ts needs no other edit', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'taskgraph-envs-'));
    try {
      for (const file of [
        'index.ts',
        'schema.ts',
        'prod.ts',
        'qa.ts',
        'local.ts',
        'notes.md',
        'x.d.ts',
      ]) {
        await writeFile(path.join(dir, file), '');
      }
      expect(discoverEnvironments(dir)).toEqual(['local', 'prod', 'qa']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('describeEnvironment', () => {
  it('prints every setting, and secrets as references only', () => {
    const text = describeEnvironment(staging);
    expect(text.split('\n')[0]).toBe('staging (ecs) from environments/staging.ts');
    expect(text).toMatch(/^ {2}services\.phpFpm\.cpu +256$/m);
    expect(text).toMatch(
      /^ {2}deploy\.migrate\.command +\["php","artisan","migrate","--force"\]$/m,
    );
    expect(text).toMatch(
      /^ {2}secrets\.APP_KEY +valueFrom arn:aws:ssm:eu-west-1:123456789012:parameter\/example\/staging\/APP_KEY \(reference/m,
    );
    expect(text).not.toMatch(/undefined|\[object Object\]/);
  });
});
