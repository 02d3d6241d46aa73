/**
 * Fail before the expensive work: ENV:deploy with no AWS credentials, or with credentials for
 * another account, fails on its preflight check (STS GetCallerIdentity, answered by the emulator)
 * before any of its prerequisites (vendor, base and production images, nginx) starts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAwsEmulator, type AwsEmulator } from '../support/aws-emulator/server.js';
import { Clone, type TaskRun } from './support/clone.js';

const ACCOUNT = { accountId: '123456789012', region: 'eu-west-1' }; // environments/staging.ts's
const OTHER = '999988887777';

let clone: Clone;
let emu: AwsEmulator;
let home: string;

beforeAll(async () => {
  emu = await startAwsEmulator(ACCOUNT);
  emu.identities.set('AKIDOTHERACCOUNT', {
    accountId: OTHER,
    arn: `arn:aws:iam::${OTHER}:user/ci`,
  });
  clone = await Clone.create();
  home = await mkdtemp(path.join(tmpdir(), 'taskgraph-preflight-home-'));
});

afterAll(async () => {
  await emu.stop();
  await clone.remove();
  await rm(home, { recursive: true, force: true });
});

/** The SDK reaches only the emulator, and finds no credentials but the ones a test passes. */
function awsEnv(credentials: Record<string, string>): Record<string, string> {
  return {
    HOME: home,
    AWS_CONFIG_FILE: path.join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(home, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ENDPOINT_URL_ECS: emu.endpoint,
    AWS_ENDPOINT_URL_ECR: emu.endpoint,
    AWS_ENDPOINT_URL_STS: emu.endpoint,
    AWS_ENDPOINT_URL_CLOUDWATCH_LOGS: emu.endpoint,
    AWS_ENDPOINT_URL_SSM: emu.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: emu.endpoint,
    AWS_ENDPOINT_URL_IAM: emu.endpoint,
    AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: emu.endpoint,
    AWS_REGION: ACCOUNT.region,
    ...credentials,
  };
}

/** What the run started: nothing at all, when the preflight check failed first. */
function started(run: TaskRun): string[] {
  return run.events.flatMap((event) => (event.type === 'start' ? [event.key] : []));
}

function ended(run: TaskRun, key: string) {
  return run.events.find((event) => event.type === 'end' && event.key === key);
}

describe('deploy-family tasks check the account before building', () => {
  it('credentials for another account: staging:deploy fails before any build starts', async () => {
    const before = emu.calls.length;
    const run = await clone.task(
      ['staging:deploy'],
      awsEnv({ AWS_ACCESS_KEY_ID: 'AKIDOTHERACCOUNT', AWS_SECRET_ACCESS_KEY: 'other-secret' }),
    );
    expect(run.exitCode, run.text).toBe(1);
    expect(started(run)).toEqual([]);
    expect(ended(run, 'images:build')).toMatchObject({ status: 'skipped' });
    expect(ended(run, 'base:rebuild')).toMatchObject({ status: 'skipped' });
    expect(run.text).toContain(
      `The AWS credentials reach account ${OTHER} (as arn:aws:iam::${OTHER}:user/ci), but environments/staging.ts deploys to account ${ACCOUNT.accountId}`,
    );
    // STS is all that was asked: nothing read from, or written to, the wrong account's ECR/ECS.
    expect(new Set(emu.calls.slice(before))).toEqual(new Set(['GetCallerIdentity']));
  });

  it('no credentials at all: staging:deploy fails at once, naming what to set', async () => {
    const run = await clone.task(['staging:deploy'], awsEnv({}));
    expect(run.exitCode, run.text).toBe(1);
    expect(started(run)).toEqual([]);
    expect(run.text).toContain('No AWS credentials found');
    expect(ended(run, 'vendor:install') ?? ended(run, 'base:rebuild')).toMatchObject({
      status: 'skipped',
    });
  });

  it('staging:create with nothing set up stops in verify, saying nothing was created', async () => {
    const before = emu.calls.length;
    const run = await clone.task(
      ['staging:create'],
      awsEnv({ AWS_ACCESS_KEY_ID: 'AKIDSTAGING', AWS_SECRET_ACCESS_KEY: 'staging-secret' }),
    );
    expect(run.exitCode, run.text).toBe(1);
    expect(started(run)).toEqual([]);
    // The command the user ran is the one that stopped, and says what did not happen.
    expect(ended(run, 'staging:create')).toMatchObject({ status: 'failed' });
    expect(run.text).toContain(
      'staging: 7 problems found; `npx task staging:create` stopped before building or pushing anything: nothing was created.',
    );
    expect(run.text).not.toContain('nothing was deployed');
    expect(emu.calls.slice(before).filter((call) => !/^(Describe|Get|List)/.test(call))).toEqual(
      [],
    );
  });

  it('a dry run asks AWS nothing', async () => {
    const before = emu.calls.length;
    const run = await clone.task(
      ['staging:deploy', '-n'],
      awsEnv({ AWS_ACCESS_KEY_ID: 'AKIDOTHERACCOUNT', AWS_SECRET_ACCESS_KEY: 'other-secret' }),
    );
    expect(run.exitCode, run.text).toBe(0);
    expect(ended(run, 'staging:deploy')).toMatchObject({ status: 'would-run' });
    expect(emu.calls.slice(before)).toEqual([]);
  });
});
