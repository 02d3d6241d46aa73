/**
 * The wrong account: credentials that reach another AWS account than the environment's must stop
 * every writing command before its first write, with STS GetCallerIdentity answered by the
 * emulator over STS's own query protocol.
 */
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { vi, beforeEach, describe, expect, test } from 'vitest';
import { checkAccount } from '../../src/aws/account.js';
import { createAwsClients, destroyAwsClients, type AwsContext } from '../../src/aws/clients.js';
import { create } from '../../src/aws/create.js';
import { deploy } from '../../src/aws/deploy.js';
import { push } from '../../src/aws/ecr.js';
import { runOneOff } from '../../src/aws/one-off.js';
import { deregister } from '../../src/aws/revisions.js';
import { rollback } from '../../src/aws/rollback.js';
import { scale } from '../../src/aws/scale.js';
import { verify } from '../../src/aws/verify.js';
import { describeAwsFailure, type Result } from '../../src/aws/errors.js';
import { failure, startHarness, value, type Harness } from './harness.js';

let h: Harness;

beforeEach(async () => {
  h = await startHarness();
  return () => h.stop();
});

const OTHER = '999988887777';

/** Clients whose credentials belong to account OTHER, as far as STS is concerned. */
function otherAccountContext() {
  h.emu.identities.set('AKIDOTHERACCOUNT', {
    accountId: OTHER,
    arn: `arn:aws:iam::${OTHER}:user/ci`,
  });
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDOTHERACCOUNT');
  const clients = createAwsClients(h.env);
  return { ctx: h.ctx({ clients }), done: () => destroyAwsClients(clients) };
}

describe('STS GetCallerIdentity in the emulator', () => {
  test('answers over the query protocol with the account the access key belongs to', async () => {
    const sts = new STSClient({ region: h.env.aws.region, maxAttempts: 1 });
    try {
      const own = await sts.send(new GetCallerIdentityCommand({}));
      expect(own.Account).toBe(h.env.aws.accountId);
      expect(own.UserId).toBe('AKIDEMULATOR');
      h.emu.identities.set('AKIDEMULATOR', {
        accountId: OTHER,
        arn: `arn:aws:iam::${OTHER}:user/x`,
      });
      const other = await sts.send(new GetCallerIdentityCommand({}));
      expect(other).toMatchObject({ Account: OTHER, Arn: `arn:aws:iam::${OTHER}:user/x` });
      h.emu.faults.throttle('GetCallerIdentity', 10);
      const throttled = await sts.send(new GetCallerIdentityCommand({})).catch((e: unknown) => e);
      expect((throttled as Error).name).toBe('Throttling');
    } finally {
      sts.destroy();
    }
  });
});

describe('the account check', () => {
  test('checkAccount passes for the environment account and names both accounts otherwise', async () => {
    expect(value(await checkAccount(h.ctx())).account).toBe(h.env.aws.accountId);
    const { ctx, done } = otherAccountContext();
    try {
      const wrong = failure(await checkAccount(ctx));
      expect(wrong).toMatchObject({ reason: 'wrong-account', found: OTHER });
      const text = describeAwsFailure(wrong);
      expect(text).toContain(`reach account ${OTHER} (as arn:aws:iam::${OTHER}:user/ci)`);
      expect(text).toContain(
        `Switch AWS_PROFILE (or credentials) to account ${h.env.aws.accountId}`,
      );
    } finally {
      done();
    }
  });

  test("push, create and deploy with another account's credentials write nothing", async () => {
    const { ctx, done } = otherAccountContext();
    try {
      const taskDefinitions = await h.render({ phpFpm: 'v1', nginx: 'v1' });
      const image = { source: 'prod:x', tag: 'x', fingerprint: 'x' };
      const pushed = await push({ ...ctx, images: { phpFpm: image, nginx: image } });
      const created = await create({ ...ctx, taskDefinitions });
      const deployed = await deploy({ ...ctx, taskDefinitions });
      for (const result of [pushed, created, deployed] as Result<unknown>[]) {
        expect(failure(result)).toMatchObject({ reason: 'wrong-account', found: OTHER });
      }
      // Not even a read of the wrong account's ECR or ECS: STS is the only service asked.
      expect(h.emu.calls).toEqual(['GetCallerIdentity', 'GetCallerIdentity', 'GetCallerIdentity']);
      expect(h.emu.ecr.repositories.size).toBe(0);
      expect(h.emu.ecs.clusters.size).toBe(0);
    } finally {
      done();
    }
  });
});

describe('every command that writes checks the account before its first call', () => {
  // One entry per writing command of src/aws/commands.ts (ENV:run and ENV:artisan share
  // runOneOff); each would write if it got that far: verify[fix] a log group, run a task.
  const writers: Record<string, (ctx: AwsContext) => Promise<Result<unknown>>> = {
    'verify[fix]': (ctx: AwsContext) => verify({ ...ctx, fix: true }),
    'run / artisan': (ctx: AwsContext) =>
      runOneOff({ ...ctx, service: 'example-staging-php-fpm', command: ['php', '-v'] }),
    rollback: (ctx: AwsContext) => rollback(ctx),
    scale: (ctx: AwsContext) => scale({ ...ctx, service: 'php-fpm', count: 2 }),
    deregister: (ctx: AwsContext) => deregister(ctx),
  };
  for (const [command, run] of Object.entries(writers)) {
    test(`${command} with another account's credentials asks STS only, and stops`, async () => {
      const { ctx, done } = otherAccountContext();
      try {
        expect(failure(await run(ctx))).toMatchObject({ reason: 'wrong-account', found: OTHER });
        expect(h.emu.calls).toEqual(['GetCallerIdentity']);
        expect(h.emu.logs.groups.size).toBe(0);
      } finally {
        done();
      }
    });
  }
});
