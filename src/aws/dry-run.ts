/**
 * `ENV:deploy -- --dry-run` (also `ENV:plan`): what `ENV:deploy` would do now, found with read
 * calls only (GetCallerIdentity, Describe*): which images it would push, whether it would
 * register a task definition (with the changes), whether the migration would run, and which
 * services it would update, in which stage, with which settings. Nothing is written: no push,
 * no registration, no RunTask, no UpdateService.
 */
import { requireAccount } from './account.js';
import type { AwsContext } from './clients.js';
import { stagesOf } from './deploy.js';
import { AwsFailure, runCommand, type Result } from './errors.js';
import { differingSettings } from './service-diff.js';
import { requireServices } from './services.js';
import {
  chooseRevision,
  describeChanges,
  describeTaskDefinition,
  renderedFor,
  shortRevision,
  type RenderedTaskDefinitions,
  type RevisionChoice,
} from './task-definitions.js';
import { checkImage } from './verify.js';

export interface DryRunOptions extends AwsContext {
  readonly taskDefinitions: RenderedTaskDefinitions;
}

export interface PlannedService {
  readonly key: string;
  readonly service: string;
  readonly revision: RevisionChoice;
  readonly settingsDiffer: boolean;
}

export interface DryRunPlan {
  readonly environment: string;
  /** `unknown` when ECR could not be asked (the push would find out). */
  readonly images: readonly { readonly image: string; readonly inEcr: boolean | 'unknown' }[];
  readonly services: readonly PlannedService[];
  /** The services that would be updated, stage by stage. */
  readonly stages: readonly (readonly string[])[];
  readonly migrate: { readonly service: string; readonly command: readonly string[] } | undefined;
}

export async function dryRun(options: DryRunOptions): Promise<Result<DryRunPlan>> {
  return runCommand(async () => {
    const ctx = options;
    const { env } = ctx;
    await requireAccount(ctx);
    const keys = env.deploy.order.flat();
    const images = [
      ...new Set(
        keys.flatMap((key) =>
          (renderedFor(options.taskDefinitions, key).containerDefinitions ?? []).map(
            (c) => c.image ?? '',
          ),
        ),
      ),
    ].filter((image) => image !== '');
    const present = await Promise.all(
      images.map(async (image) => {
        try {
          return { image, inEcr: (await checkImage(ctx, image)).every((f) => f.ok) };
        } catch (error) {
          if (!(error instanceof AwsFailure)) throw error;
          return { image, inEcr: 'unknown' as const };
        }
      }),
    );
    const snapshots = await requireServices(ctx, keys);
    const settings = await differingSettings(ctx, options.taskDefinitions, keys);
    const services: PlannedService[] = [];
    for (const key of keys) {
      const service = env.services[key];
      if (!service) continue;
      const running = snapshots.get(key)?.taskDefinition;
      const current =
        running === undefined ? undefined : await describeTaskDefinition(ctx, running);
      const latest = await describeTaskDefinition(ctx, service.family);
      const revision = chooseRevision(
        { ...renderedFor(options.taskDefinitions, key), family: service.family },
        current,
        latest,
      );
      services.push({ key, service: service.name, revision, settingsDiffer: settings.has(key) });
    }
    const changing = services.filter(
      (s) =>
        s.settingsDiffer ||
        s.revision.kind === 'register' ||
        s.revision.arn !== snapshots.get(s.key)?.taskDefinition,
    );
    const migrating = services.find((s) => s.key === env.deploy.migrate.service);
    const newRevision =
      migrating !== undefined &&
      (migrating.revision.kind === 'register' ||
        migrating.revision.arn !== snapshots.get(migrating.key)?.taskDefinition);
    return {
      environment: env.name,
      images: present,
      services,
      stages: stagesOf(env, changing).map((stage) => stage.map((s) => s.service)),
      migrate:
        newRevision && migrating
          ? { service: migrating.service, command: env.deploy.migrate.command }
          : undefined,
    };
  });
}

export function describeDryRun(plan: DryRunPlan): string {
  const lines = [`Dry run for ${plan.environment}: nothing was pushed, registered or updated.`];
  for (const { image, inEcr } of plan.images) {
    lines.push(
      inEcr === true
        ? `  push: ${image} is already in ECR`
        : `  push: ${image}${inEcr === 'unknown' ? ' (unless ECR has it: it could not be asked)' : ''}`,
    );
  }
  for (const s of plan.services) {
    if (s.revision.kind === 'reuse') {
      lines.push(`  ${s.service}: task definition unchanged (${shortRevision(s.revision.arn)})`);
    } else {
      const against = s.revision.against;
      lines.push(
        `  ${s.service}: would register a new revision${against === undefined ? '' : ` (changed from ${shortRevision(against)})`}`,
        ...describeChanges(s.revision.changes, '    '),
      );
    }
    if (s.settingsDiffer) lines.push(`  ${s.service}: service settings differ (see ENV:diff)`);
  }
  lines.push(
    plan.migrate === undefined
      ? '  migration: would not run'
      : `  migration: would run ${JSON.stringify(plan.migrate.command)} on ${plan.migrate.service}'s new revision`,
  );
  lines.push(
    plan.stages.length === 0
      ? '  services: none would be updated'
      : `  services: ${plan.stages.map((stage, i) => `stage ${i + 1}: ${stage.join(', ')}`).join('; ')}`,
  );
  return lines.join('\n');
}
