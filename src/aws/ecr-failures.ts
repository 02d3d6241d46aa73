/**
 * What can stop ENV:push for a reason the user can act on: no docker, a docker tag/push that
 * failed, no registry token, or ECR holding another image under our tag. Thrown as AwsFailure
 * by ecr.ts and rendered through describeAwsFailure (errors.ts), which hands these to
 * `describeEcrFailure`.
 */
import { taskCommand } from './next-step.js';

export type EcrFailure =
  | { readonly reason: 'no-docker'; readonly environment: string }
  | {
      readonly reason: 'docker-failed';
      readonly step: 'tag' | 'push';
      readonly ref: string;
      readonly detail: string;
    }
  | { readonly reason: 'no-registry-token'; readonly environment: string }
  | {
      /** ECR holds another image under our tag (compared by config digest, not by tag). */
      readonly reason: 'image-tag-conflict';
      readonly environment: string;
      readonly repository: string;
      readonly tag: string;
      readonly source: string;
      /** The local image id; empty when docker could not say. */
      readonly local: string;
      readonly remote: string;
      readonly immutable: boolean;
      readonly when: string;
    };

export function describeEcrFailure(failure: EcrFailure): string {
  switch (failure.reason) {
    case 'no-docker':
      return `Pushing images for ${failure.environment} needs Docker, and none was given to the task.`;
    case 'docker-failed':
      return `docker ${failure.step} ${failure.ref} failed: ${failure.detail}`;
    case 'no-registry-token':
      return `ECR returned no authorization token for ${failure.environment}: check ecr:GetAuthorizationToken in the IAM policy.`;
    case 'image-tag-conflict':
      return [
        `ECR's ${failure.repository}:${failure.tag} holds a different image (config ${failure.remote}) than the local ${failure.source} (${failure.local || 'unknown id'}), found ${failure.when}.`,
        failure.immutable
          ? 'The repository has immutable tags, so this push cannot replace it, and a deploy would run the image in ECR, not this one.'
          : 'A deploy would run whichever image the tag holds last.',
        `The tag is a content hash of the build's inputs, so another machine built different bytes from the same inputs. If nothing runs the ECR image, remove it (\`aws ecr batch-delete-image --repository-name ${failure.repository} --image-ids imageTag=${failure.tag}\`) and run ${taskCommand(failure.environment, 'push')} again; otherwise find what makes the build differ.`,
      ].join(' ');
  }
}
