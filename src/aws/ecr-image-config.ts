/**
 * The labels of an image in ECR, read from its config blob. ECR's BatchGetImage returns the
 * manifest, which names the config by digest; the config itself is a blob, which the registry
 * endpoint serves as the OCI distribution spec says, `GET /v2/<name>/blobs/<digest>`
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-blobs), to a
 * client that sends the GetAuthorizationToken token as basic auth (user `AWS`,
 * https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry_auth.html). ECR answers a blob
 * with a redirect to a pre-signed S3 URL; fetch follows it and drops the Authorization header on
 * the way to another origin, as the Fetch standard requires.
 *
 * Why: the push compares ECR's image under our tag with ours. Builds of the same inputs on two
 * machines differ in bytes (layer mtimes, the classic builder's timestamps), so a different digest
 * alone proves nothing; the `taskgraph.fingerprint` label (tasks/docker.ts imageLabels) says which
 * inputs the remote image was built from.
 */
import { createHash } from 'node:crypto';

export const FINGERPRINT_LABEL = 'taskgraph.fingerprint';

export interface RegistryEndpoint {
  /** The token's proxyEndpoint, e.g. `https://123.dkr.ecr.eu-west-1.amazonaws.com`. */
  readonly endpoint: string;
  /** The GetAuthorizationToken token: base64 of `AWS:password`. */
  readonly token: string;
}

/** What the remote config says, or why it could not be read. */
export type RemoteLabels =
  | { readonly ok: true; readonly labels: Readonly<Record<string, string>> }
  | { readonly ok: false; readonly why: string };

/** The config blob `digest` of `repository`, checked against its digest, as its labels. */
export async function remoteLabels(
  registry: RegistryEndpoint,
  repository: string,
  digest: string,
): Promise<RemoteLabels> {
  const url = `${registry.endpoint.replace(/\/+$/, '')}/v2/${repository}/blobs/${digest}`;
  let body: Buffer;
  try {
    const response = await fetch(url, { headers: { authorization: `Basic ${registry.token}` } });
    if (!response.ok) {
      await response.body?.cancel();
      return { ok: false, why: `the registry answered ${response.status} for its config` };
    }
    body = Buffer.from(await response.arrayBuffer());
  } catch (error) {
    return { ok: false, why: `its config could not be read: ${(error as Error).message}` };
  }
  const actual = `sha256:${createHash('sha256').update(body).digest('hex')}`;
  if (actual !== digest) return { ok: false, why: `its config blob does not match ${digest}` };
  return { ok: true, labels: configLabels(body.toString('utf8')) };
}

/** Pure: `config.Labels` of an image config (OCI or Docker), empty when it has none. */
export function configLabels(config: string): Record<string, string> {
  try {
    const parsed = JSON.parse(config) as { config?: { Labels?: Record<string, string> | null } };
    return { ...(parsed.config?.Labels ?? {}) };
  } catch {
    return {};
  }
}
