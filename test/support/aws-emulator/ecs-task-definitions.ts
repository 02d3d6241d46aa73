/**
 * ECS task definitions: RegisterTaskDefinition, DescribeTaskDefinition, ListTaskDefinitions,
 * DeregisterTaskDefinition. Revisions count up per family and are never reused.
 */
import { z } from 'zod';
import { ecsArn } from './arn.js';
import { findTaskDefinition, type EcsState, type TaskDefinitionRecord } from './ecs-state.js';
import { defined, epochSeconds, fail, parseInput, type Handlers } from './protocol.js';
import { requiresAttributes, storedTaskDefinition } from './task-definition-shape.js';

const registerInput = z
  .object({
    family: z.string().regex(/^[a-zA-Z0-9_-]{1,255}$/, 'must be 1-255 letters, digits, - or _'),
    containerDefinitions: z
      .array(z.object({ name: z.string().min(1), image: z.string().min(1) }).passthrough())
      .min(1),
    tags: z.array(z.unknown()).optional(),
  })
  .passthrough();

const describeInput = z.object({
  taskDefinition: z.string().min(1),
  include: z.array(z.string()).optional(),
});

const listInput = z.object({
  familyPrefix: z.string().optional(),
  status: z.enum(['ACTIVE', 'INACTIVE', 'DELETE_IN_PROGRESS']).optional(),
  sort: z.enum(['ASC', 'DESC']).optional(),
  maxResults: z.number().int().min(1).max(100).optional(),
  nextToken: z.string().optional(),
});

const deregisterInput = z.object({ taskDefinition: z.string().min(1) });

export function taskDefinitionHandlers(state: EcsState): Handlers {
  return {
    RegisterTaskDefinition(raw) {
      const { tags, ...sent } = parseInput(registerInput, raw);
      const revisions = state.taskDefinitions.get(sent.family) ?? [];
      const revision = revisions.length + 1;
      const record: TaskDefinitionRecord = {
        arn: ecsArn(state.account, `task-definition/${sent.family}:${revision}`),
        family: sent.family,
        revision,
        status: 'ACTIVE',
        registeredAt: state.time,
        deregisteredAt: undefined,
        sent,
        tags: tags ?? [],
        images: sent.containerDefinitions.map((c) => c.image),
      };
      state.taskDefinitions.set(sent.family, [...revisions, record]);
      return { taskDefinition: render(state, record), tags: record.tags };
    },

    DescribeTaskDefinition(raw) {
      const input = parseInput(describeInput, raw);
      const def = findTaskDefinition(state, input.taskDefinition);
      if (!def) return fail('ClientException', 'Unable to describe task definition.');
      const tags = input.include?.includes('TAGS') ? { tags: def.tags } : {};
      return { taskDefinition: render(state, def), ...tags };
    },

    ListTaskDefinitions(raw) {
      const input = parseInput(listInput, raw);
      const status = input.status ?? 'ACTIVE';
      const all = [...state.taskDefinitions.values()]
        .flat()
        .filter((d) => d.status === status)
        .filter((d) => input.familyPrefix === undefined || d.family === input.familyPrefix)
        .sort((a, b) => a.family.localeCompare(b.family) || a.revision - b.revision);
      if (input.sort === 'DESC') all.reverse();
      const start = input.nextToken ? Number(Buffer.from(input.nextToken, 'base64').toString()) : 0;
      const end = start + (input.maxResults ?? 100);
      const nextToken = end < all.length ? Buffer.from(String(end)).toString('base64') : undefined;
      return defined({ taskDefinitionArns: all.slice(start, end).map((d) => d.arn), nextToken });
    },

    DeregisterTaskDefinition(raw) {
      const input = parseInput(deregisterInput, raw);
      if (!/:\d+$/.test(input.taskDefinition)) {
        return fail('ClientException', 'A revision must be specified in the task definition.');
      }
      const def = findTaskDefinition(state, input.taskDefinition);
      if (!def) return fail('ClientException', 'The specified task definition does not exist.');
      if (def.status === 'ACTIVE') {
        def.status = 'INACTIVE';
        def.deregisteredAt = state.time;
      }
      return { taskDefinition: render(state, def) };
    },
  };
}

function render(state: EcsState, def: TaskDefinitionRecord): Record<string, unknown> {
  const requires = def.sent['requiresCompatibilities'];
  const fargate = Array.isArray(requires) && requires.includes('FARGATE');
  // What ECS stored, not what was sent: see task-definition-shape.ts.
  return defined({
    ...storedTaskDefinition(def.sent),
    taskDefinitionArn: def.arn,
    family: def.family,
    revision: def.revision,
    status: def.status,
    compatibilities: fargate ? ['EC2', 'FARGATE'] : ['EXTERNAL', 'EC2'],
    requiresAttributes: requiresAttributes(def.sent),
    registeredAt: epochSeconds(def.registeredAt),
    registeredBy: `arn:aws:iam::${state.account.accountId}:user/emulator`,
    deregisteredAt: def.deregisteredAt === undefined ? undefined : epochSeconds(def.deregisteredAt),
  });
}
