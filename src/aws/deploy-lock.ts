/**
 * One deploy of an environment at a time, across machines. The lock lives on state every
 * deploying machine shares, the environment's ECS cluster, as tags: ECS has no conditional write
 * (TagResource overwrites a key and leaves other keys alone, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TagResource.html)
 * and its reads are eventually consistent, so each run writes a key of its own and decides only
 * after it has read its own write back and waited for other writes to become visible.
 *
 *   ListTagsForResource ─ a live lock of another run ─> refuse, naming it (who, since when)
 *   TagResource taskgraph:lock:<run id> = "<who> <since> <expires>"
 *   read until our own tag is visible (read-after-write), wait `settle`, read again
 *   the earliest live lock (since, then run id) wins ─ not ours ─> untag ours, refuse naming it
 *   ... the deploy ...
 *   UntagResource (always; a run killed outright leaves a lock that expires)
 *
 * Two runs that overlap both see both tags once `settle` has passed (reads catch up within it)
 * and agree on one winner; the loser has changed nothing. The order uses each machine's clock,
 * so clocks must agree to within `settle` (NTP does far better).
 */
import { randomBytes } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import {
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type Tag,
} from '@aws-sdk/client-ecs';
import type { AwsContext } from './clients.js';
import { AwsFailure, awsCall } from './errors.js';

const PREFIX = 'taskgraph:lock:';

export interface LockEntry {
  readonly runId: string;
  /** `user@host` of the run. */
  readonly holder: string;
  /** ISO times. */
  readonly since: string;
  readonly expires: string;
}

/** Pure: the live locks among a resource's tags (expired ones are ignored), earliest first. */
export function liveLocks(tags: readonly Tag[], now: number): LockEntry[] {
  return tags
    .filter((t) => t.key?.startsWith(PREFIX) === true)
    .map((t) => {
      const [holder = '?', since = '', expires = ''] = (t.value ?? '').split(' ');
      return { runId: (t.key ?? '').slice(PREFIX.length), holder, since, expires };
    })
    .filter((l) => Date.parse(l.expires) > now)
    .sort((a, b) => a.since.localeCompare(b.since) || a.runId.localeCompare(b.runId));
}

/** Tag values allow letters, digits, spaces and `_ . : / = + - @`. */
function tagSafe(text: string): string {
  return text.replace(/[^\p{L}\p{N}_.:/=+\-@]/gu, '_');
}

export interface DeployLock {
  readonly runId: string;
  release(): Promise<void>;
}

export interface LockOptions {
  /** How long to wait for other runs' tags to become visible (default 10 s). */
  readonly settleMs?: number;
  /** How long a lock of a run that died stays in force. */
  readonly ttlMs: number;
  /** Who is deploying; default `user@host`. */
  readonly holder?: string;
}

function clusterArn(ctx: AwsContext): string {
  const { aws, ecs } = ctx.env;
  return `arn:aws:ecs:${aws.region}:${aws.accountId}:cluster/${ecs.cluster}`;
}

async function readTags(ctx: AwsContext, arn: string): Promise<Tag[]> {
  const out = await awsCall('ecs:ListTagsForResource', arn, () =>
    ctx.clients.ecs.send(new ListTagsForResourceCommand({ resourceArn: arn })),
  );
  return out.tags ?? [];
}

function refuse(ctx: AwsContext, other: LockEntry): never {
  throw new AwsFailure({
    reason: 'deploy-locked',
    environment: ctx.env.name,
    cluster: ctx.env.ecs.cluster,
    holder: other.holder,
    since: other.since,
    expires: other.expires,
    runId: other.runId,
  });
}

/** Takes the environment's deploy lock, or fails with `deploy-locked` naming who holds it. */
export async function acquireDeployLock(
  ctx: AwsContext,
  options: LockOptions,
): Promise<DeployLock> {
  const arn = clusterArn(ctx);
  const runId = randomBytes(6).toString('hex');
  const key = `${PREFIX}${runId}`;
  const settleMs = options.settleMs ?? 10_000;
  const before = liveLocks(await readTags(ctx, arn), ctx.clock.now());
  const other = before[0];
  if (other !== undefined) refuse(ctx, other);
  const now = ctx.clock.now();
  const holder = tagSafe(options.holder ?? `${userInfo().username}@${hostname()}`);
  const value = `${holder} ${new Date(now).toISOString()} ${new Date(now + options.ttlMs).toISOString()}`;
  await awsCall('ecs:TagResource', arn, () =>
    ctx.clients.ecs.send(new TagResourceCommand({ resourceArn: arn, tags: [{ key, value }] })),
  );
  const release = async () => {
    await awsCall('ecs:UntagResource', arn, () =>
      ctx.clients.ecs.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: [key] })),
    );
  };
  try {
    // Read-after-write: our own tag first, then long enough for anyone else's to show too.
    for (let waited = 0; ; waited += 1000) {
      const seen = await readTags(ctx, arn);
      if (seen.some((t) => t.key === key)) break;
      if (waited >= options.ttlMs) throw new Error(`the lock tag ${key} never became visible`);
      await ctx.clock.sleep(1000, ctx.signal);
    }
    await ctx.clock.sleep(settleMs, ctx.signal);
    const locks = liveLocks(await readTags(ctx, arn), ctx.clock.now());
    const winner = locks[0];
    if (winner !== undefined && winner.runId !== runId) {
      await release();
      refuse(ctx, winner);
    }
  } catch (error) {
    if (!(error instanceof AwsFailure && error.failure.reason === 'deploy-locked')) {
      await release().catch(() => undefined);
    }
    throw error;
  }
  ctx.log(`${ctx.env.name}: deploy lock taken (run ${runId})`);
  return { runId, release };
}

/**
 * Runs `work` holding the environment's deploy lock, released however `work` ends. The lock's
 * lifetime covers every stage rolling out and being restored, and the migration.
 */
export async function withDeployLock<T>(ctx: AwsContext, work: () => Promise<T>): Promise<T> {
  const { deploy } = ctx.env;
  const lock = await acquireDeployLock(ctx, {
    settleMs: (deploy.lockSettleSeconds ?? 10) * 1000,
    ttlMs: deploy.rolloutTimeoutSeconds * 1000 * (2 * deploy.order.length + 2),
  });
  try {
    return await work();
  } finally {
    await lock.release().catch((error: unknown) => {
      ctx.log(
        `${ctx.env.name}: could not remove the deploy lock of run ${lock.runId} (${error instanceof AwsFailure ? error.failure.reason : String(error)}); it expires on its own`,
      );
    });
  }
}
