/**
 * Which revisions completed a rollout on a service, so `rollback` returns only to one that
 * worked. ECS keeps no such history on a revision, so a successful deploy, create or rollback
 * leaves a mark: the tag `taskgraph:completed:<service>` (time as value) on the task definition
 * revision the service now runs (TagResource works on task definitions,
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TagResource.html). A revision
 * whose rollout failed (ECS rolled it back, or we did) never gets one.
 */
import { ListTagsForResourceCommand, TagResourceCommand } from '@aws-sdk/client-ecs';
import type { AwsContext } from './clients.js';
import { awsCall } from './errors.js';
import { revisionOf } from './task-definitions.js';

/** Tag keys are at most 128 characters. */
export function completedKey(service: string): string {
  return `taskgraph:completed:${service}`.slice(0, 128);
}

/** Marks `taskDefinition` as having completed a rollout on `service`. */
export async function markCompleted(
  ctx: AwsContext,
  service: string,
  taskDefinition: string,
): Promise<void> {
  await awsCall('ecs:TagResource', taskDefinition, () =>
    ctx.clients.ecs.send(
      new TagResourceCommand({
        resourceArn: taskDefinition,
        tags: [{ key: completedKey(service), value: new Date(ctx.clock.now()).toISOString() }],
      }),
    ),
  );
}

/**
 * The newest revision among `active` below `current` that completed a rollout on `service`, or
 * undefined. Reads tags newest first and stops at the first marked one.
 */
export async function lastCompletedBelow(
  ctx: AwsContext,
  service: string,
  active: readonly string[],
  current: string,
): Promise<string | undefined> {
  const below = revisionOf(current) ?? 0;
  const candidates = active
    .filter((arn) => (revisionOf(arn) ?? 0) < below)
    .sort((a, b) => (revisionOf(b) ?? 0) - (revisionOf(a) ?? 0));
  for (const arn of candidates) {
    const out = await awsCall('ecs:ListTagsForResource', arn, () =>
      ctx.clients.ecs.send(new ListTagsForResourceCommand({ resourceArn: arn })),
    );
    if ((out.tags ?? []).some((t) => t.key === completedKey(service))) return arn;
  }
  return undefined;
}
