/**
 * An environment's `secrets` references, pure: verify checks what one names, and the emulator's
 * seeding (test/support/deploy-prerequisites.ts) makes it, without either importing the other.
 */

/** A `secrets` reference, split the way ECS reads it. */
export type SecretRef =
  | { readonly kind: 'ssm'; readonly arn: string; readonly names: readonly string[] }
  | {
      readonly kind: 'secretsmanager';
      readonly arn: string;
      /** The secret's own ARN, without the key/stage/version suffix. */
      readonly secretId: string;
      readonly jsonKey: string | undefined;
      readonly versionStage: string | undefined;
      readonly versionId: string | undefined;
    };

/**
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html:
 * `arn:aws:secretsmanager:region:account:secret:name-AbCdEf:json-key:version-stage:version-id`.
 * An SSM ARN `...:parameter/a/b` names `/a/b`; `...:parameter/a` names `a` or `/a`.
 */
export function parseSecretRef(arn: string): SecretRef | undefined {
  const ssm = /^arn:aws[a-z-]*:ssm:[^:]*:\d*:parameter\/(.+)$/.exec(arn);
  if (ssm) {
    const rest = ssm[1] as string;
    return { kind: 'ssm', arn, names: rest.includes('/') ? [`/${rest}`] : [rest, `/${rest}`] };
  }
  const sm =
    /^(arn:aws[a-z-]*:secretsmanager:[^:]*:\d*:secret:[^:]+)(?::([^:]*):([^:]*):([^:]*))?$/.exec(
      arn,
    );
  if (!sm) return undefined;
  const part = (value: string | undefined) =>
    value === undefined || value === '' ? undefined : value;
  return {
    kind: 'secretsmanager',
    arn,
    secretId: sm[1] as string,
    jsonKey: part(sm[2]),
    versionStage: part(sm[3]),
    versionId: part(sm[4]),
  };
}
