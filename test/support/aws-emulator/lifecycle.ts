/**
 * ECR lifecycle policy evaluation, as documented in
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/LifecyclePolicies.html#lifecycle_policy_evaluation:
 *
 * - rules apply lowest rulePriority first; an image is expired by exactly one or zero rules;
 * - an image that matches the tagging requirements of a higher-priority rule cannot be expired by
 *   a rule with a lower priority, but lower rules still count it ("can still identify them as if
 *   they haven't been expired");
 * - tagPrefixList matches when every prefix matches one of the image's tags;
 * - imageCountMoreThan sorts the rule's images youngest first (pushed time) and expires those past
 *   countNumber; sinceImagePushed expires images older than countNumber days.
 *
 * Pure: the emulator's preview (which images a policy would expire now) runs it over the
 * repository's images.
 */

export interface LifecycleImage {
  readonly digest: string;
  readonly tags: readonly string[];
  /** ms since the epoch. */
  readonly pushedAt: number;
}

interface Rule {
  rulePriority: number;
  selection: {
    tagStatus: 'tagged' | 'untagged' | 'any';
    tagPrefixList?: string[];
    tagPatternList?: string[];
    countType: 'imageCountMoreThan' | 'sinceImagePushed';
    countNumber: number;
  };
}

function wildcard(pattern: string): RegExp {
  const body = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${body.join('.*')}$`);
}

function selects(rule: Rule, image: LifecycleImage): boolean {
  const { tagStatus, tagPrefixList, tagPatternList } = rule.selection;
  if (tagStatus === 'any') return true;
  if (tagStatus === 'untagged') return image.tags.length === 0;
  if (image.tags.length === 0) return false;
  if (tagPrefixList) return tagPrefixList.every((p) => image.tags.some((t) => t.startsWith(p)));
  if (tagPatternList) {
    return tagPatternList.every((p) => image.tags.some((t) => wildcard(p).test(t)));
  }
  return true;
}

/** The digests `policyText` would expire among `images` at time `now`. */
export function lifecycleExpired(
  policyText: string,
  images: readonly LifecycleImage[],
  now: number,
): string[] {
  const rules = ((JSON.parse(policyText) as { rules: Rule[] }).rules ?? [])
    .slice()
    .sort((a, b) => a.rulePriority - b.rulePriority);
  const expired = new Set<string>();
  rules.forEach((rule, index) => {
    const higher = rules.slice(0, index);
    const matched = images
      .filter((image) => selects(rule, image))
      .sort((a, b) => b.pushedAt - a.pushedAt);
    const candidates =
      rule.selection.countType === 'imageCountMoreThan'
        ? matched.slice(rule.selection.countNumber)
        : matched.filter(
            (image) => now - image.pushedAt > rule.selection.countNumber * 24 * 3600 * 1000,
          );
    for (const image of candidates) {
      if (higher.some((h) => selects(h, image))) continue;
      expired.add(image.digest);
    }
  });
  return [...expired];
}
