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
      /** Our image's inputs (the tag is its first 12 hex). */
      readonly fingerprint: string;
      /** What the remote image's config says about its inputs. */
      readonly remoteInputs: RemoteInputs;
    };

/** Why ECR's image under our tag cannot be taken for ours. */
export type RemoteInputs =
  | { readonly kind: 'other'; readonly fingerprint: string }
  | { readonly kind: 'unlabelled' }
  | { readonly kind: 'unreadable'; readonly why: string };

function describeRemoteInputs(inputs: RemoteInputs, fingerprint: string): string {
  switch (inputs.kind) {
    case 'other':
      return `It was built from other inputs: its taskgraph.fingerprint is ${inputs.fingerprint}, ours ${fingerprint}.`;
    case 'unlabelled':
      return 'It carries no taskgraph.fingerprint label, so nothing shows it was built from the same inputs.';
    case 'unreadable':
      return `Its inputs could not be read (${inputs.why}), so nothing shows it was built from the same inputs.`;
  }
}

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
        describeRemoteInputs(failure.remoteInputs, failure.fingerprint),
        `If nothing runs the ECR image, remove it (\`aws ecr batch-delete-image --repository-name ${failure.repository} --image-ids imageTag=${failure.tag}\`) and run ${taskCommand(failure.environment, 'push')} again; otherwise find what pushed it under this tag.`,
      ].join(' ');
  }
}
