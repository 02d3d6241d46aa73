/**
 * The commit a deploy came from, recorded as tags on each task definition revision the deploy
 * registers. Not in the images: an image's labels are a function of its inputs (its tag is their
 * hash), and a commit that changes no input must change no image. Not on every deploy either: a
 * deploy with nothing changed registers nothing and writes nothing. A revision is what ECS runs,
 * so its tags say which commit (and origin) the running code was registered from; RegisterTask
 * Definition takes `tags` and DescribeTaskDefinition returns them with `include: ['TAGS']`
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html).
 */
import type { Tag } from '@aws-sdk/client-ecs';

export interface DeploySource {
  /** `git rev-parse HEAD`. */
  readonly revision: string;
  /** Whether tracked files differed from the commit: the revision then does not fully say. */
  readonly dirty: boolean;
  /** The origin as a credential-free URL (see sourceUrl in tasks/source-revision.ts), if any. */
  readonly source: string | undefined;
}

export const SOURCE_TAG_KEYS = {
  revision: 'taskgraph:git-revision',
  dirty: 'taskgraph:git-dirty',
  source: 'taskgraph:git-source',
} as const;

/**
 * ECS tag values: at most 256 characters; "generally allowed characters are: letters, numbers,
 * and spaces representable in UTF-8, and the following characters: + - = . _ : / @"
 * (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Tag.html). A value outside
 * that is left out rather than sent to be refused.
 */
const TAG_VALUE = /^[\p{L}\p{N} +\-=._:/@]{0,256}$/u;

/** Pure: the tags that record `source` on a registered revision. */
export function sourceTags(source: DeploySource | undefined): Tag[] {
  if (source === undefined) return [];
  const tags: Tag[] = [
    { key: SOURCE_TAG_KEYS.revision, value: source.revision },
    { key: SOURCE_TAG_KEYS.dirty, value: String(source.dirty) },
    ...(source.source === undefined ? [] : [{ key: SOURCE_TAG_KEYS.source, value: source.source }]),
  ];
  return tags.filter((tag) => TAG_VALUE.test(tag.value ?? ''));
}
