/**
 * Reads images from the real registry behind the emulated ECR, over the registry's HTTP API
 * (OCI distribution spec) with the same basic-auth credentials GetAuthorizationToken hands out.
 */
import { AwsError } from './protocol.js';

export interface RegistryAccess {
  /** `http://127.0.0.1:5123`, or `127.0.0.1:5123` (plain HTTP, as Docker allows on loopback). */
  url: string;
  /** The password of user AWS in the registry's htpasswd. */
  password: string;
}

export interface Manifest {
  digest: string;
  mediaType: string;
  /** The manifest exactly as stored: its sha256 is the digest. */
  body: string;
  /** Config and layer sizes, which ECR reports as the image size. */
  size: number;
  artifactMediaType: string | undefined;
}

const manifestTypes = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
].join(', ');

export const registryUser = 'AWS';

/** The registry's base URL, `http://host:port`, without a trailing slash. */
export function registryBase(access: RegistryAccess): string {
  const url = access.url.includes('://') ? access.url : `http://${access.url}`;
  return url.replace(/\/+$/, '');
}

export function registryClient(access: RegistryAccess) {
  const base = registryBase(access);
  const authorization = `Basic ${Buffer.from(`${registryUser}:${access.password}`).toString('base64')}`;

  async function get(path: string, accept?: string): Promise<Response | undefined> {
    let response: Response;
    try {
      response = await fetch(`${base}${path}`, {
        headers: { authorization, ...(accept ? { accept } : {}) },
      });
    } catch (e) {
      throw new AwsError('ServerException', `registry at ${base} unreachable: ${String(e)}`, 500);
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    if (!response.ok) {
      const text = await response.text();
      throw new AwsError(
        'ServerException',
        `registry answered ${response.status} for ${path}: ${text}`,
        500,
      );
    }
    return response;
  }

  return {
    /** Stores `body` as `repository:reference` (PutImage's way in); returns the digest. */
    async putManifest(
      repository: string,
      reference: string,
      body: string,
      mediaType: string,
    ): Promise<string> {
      const response = await fetch(`${base}/v2/${repository}/manifests/${reference}`, {
        method: 'PUT',
        headers: { authorization, 'content-type': mediaType },
        body,
      });
      if (response.status !== 201) {
        throw new AwsError(
          'ServerException',
          `registry refused the manifest: ${response.status} ${await response.text()}`,
          500,
        );
      }
      await response.body?.cancel();
      return response.headers.get('docker-content-digest') ?? '';
    },

    /** Tags of a repository; empty when the registry has never seen the repository. */
    async tags(repository: string): Promise<string[]> {
      const response = await get(`/v2/${repository}/tags/list`);
      if (!response) return [];
      const body = (await response.json()) as { tags?: string[] | null };
      return body.tags ?? [];
    },

    /** A manifest by tag or digest, or undefined when there is none. */
    async manifest(repository: string, reference: string): Promise<Manifest | undefined> {
      const response = await get(`/v2/${repository}/manifests/${reference}`, manifestTypes);
      if (!response) return undefined;
      const body = await response.text();
      const parsed = JSON.parse(body) as {
        mediaType?: string;
        config?: { size?: number; mediaType?: string };
        layers?: { size?: number }[];
        manifests?: { size?: number }[];
      };
      const parts = [parsed.config, ...(parsed.layers ?? []), ...(parsed.manifests ?? [])];
      return {
        digest: response.headers.get('docker-content-digest') ?? '',
        mediaType: response.headers.get('content-type') ?? parsed.mediaType ?? '',
        body,
        size: parts.reduce((sum, p) => sum + (p?.size ?? 0), 0),
        artifactMediaType: parsed.config?.mediaType,
      };
    },
  };
}

export type RegistryClient = ReturnType<typeof registryClient>;
