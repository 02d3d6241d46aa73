/**
 * ECS resource tags: TagResource, UntagResource, ListTagsForResource on clusters, services (long
 * ARN only) and task definitions, as https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TagResource.html
 * describes them: tags not named in a request are left as they are, a key named again is
 * overwritten (keys are unique per resource), at most 50 tags per resource, keys up to 128 and
 * values up to 256 characters of letters, digits, spaces and `_ . : / = + - @`, and `aws:` is
 * reserved. There is no conditional write. Reads lag writes in read-lag mode (read-lag.ts).
 */
import { z } from 'zod';
import { findTaskDefinition, type EcsState } from './ecs-state.js';
import { fail, parseInput } from './protocol.js';
import type { Handlers } from './protocol.js';

export interface Tag {
  readonly key: string;
  readonly value: string;
}

const ALLOWED = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const tag = z.object({
  key: z.string().min(1).max(128).regex(ALLOWED, 'has characters a tag may not use'),
  value: z.string().max(256).regex(ALLOWED, 'has characters a tag may not use'),
});
const tagInput = z.object({ resourceArn: z.string().min(1), tags: z.array(tag) });
const untagInput = z.object({ resourceArn: z.string().min(1), tagKeys: z.array(z.string()) });
const listInput = z.object({ resourceArn: z.string().min(1) });

const MAX_TAGS = 50;

/** The tags of the resource an ARN names, as a getter and a setter over the state. */
function resource(state: EcsState, arn: string): { get(): Tag[]; set(tags: Tag[]): void } {
  const match = /^arn:aws[a-z-]*:ecs:[^:]+:\d{12}:(cluster|service|task-definition)\/(.+)$/.exec(
    arn,
  );
  const kind = match?.[1];
  const rest = match?.[2] ?? '';
  if (kind === 'cluster') {
    const cluster = state.clusters.get(rest);
    if (cluster !== undefined) {
      return {
        get: () => [...((cluster.sent['tags'] as Tag[] | undefined) ?? [])],
        set: (tags) => (cluster.sent = { ...cluster.sent, tags }),
      };
    }
  }
  if (kind === 'service') {
    if (!rest.includes('/')) {
      // The docs: a short service ARN must be migrated to the long format before tagging.
      fail('InvalidParameterException', 'Long arn format must be used for tagging operations');
    }
    const record = state.services.get(rest);
    if (record !== undefined) {
      return {
        get: () => [...((record.sent['tags'] as Tag[] | undefined) ?? [])],
        set: (tags) => (record.sent = { ...record.sent, tags }),
      };
    }
  }
  if (kind === 'task-definition') {
    const def = findTaskDefinition(state, arn);
    if (def !== undefined) {
      return {
        get: () => [...(def.tags as Tag[])],
        set: (tags) => (def.tags = tags),
      };
    }
  }
  return fail('ResourceNotFoundException', 'The specified resource could not be found.');
}

export function tagHandlers(state: EcsState): Handlers {
  return {
    TagResource(raw) {
      const input = parseInput(tagInput, raw);
      if (input.tags.some((t) => t.key.toLowerCase().startsWith('aws:'))) {
        fail('InvalidParameterException', 'Tag keys beginning with aws: are reserved.');
      }
      const target = resource(state, input.resourceArn);
      const before = target.get();
      const next = [
        ...before.filter((t) => !input.tags.some((n) => n.key === t.key)),
        ...input.tags,
      ];
      if (next.length > MAX_TAGS) {
        fail('InvalidParameterException', `A resource can have at most ${MAX_TAGS} tags.`);
      }
      state.tagViews.wrote(input.resourceArn, state.time, before);
      target.set(next);
      return {};
    },

    UntagResource(raw) {
      const input = parseInput(untagInput, raw);
      const target = resource(state, input.resourceArn);
      const before = target.get();
      state.tagViews.wrote(input.resourceArn, state.time, before);
      target.set(before.filter((t) => !input.tagKeys.includes(t.key)));
      return {};
    },

    ListTagsForResource(raw) {
      const input = parseInput(listInput, raw);
      const target = resource(state, input.resourceArn);
      return { tags: state.tagViews.read(input.resourceArn, state.time, () => target.get()) ?? [] };
    },
  };
}
