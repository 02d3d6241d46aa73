/**
 * Images as task outputs. A task that builds an image is up to date only while the image it made
 * is still there, unchanged: locally that is the image id behind a tag, in a registry the manifest
 * digest behind a tag.
 */
import type { Output } from '../output.js';
import type { Docker } from './docker.js';
import { DockerFailure } from './errors.js';

/** A local image tag; its digest is the image id, so a re-tag to other content counts as changed. */
export function dockerImageOutput(docker: Pick<Docker, 'imageInspect'>, ref: string): Output {
  return {
    id: `docker-image:${ref}`,
    // An image id differs between machines for the same inputs (labels, timestamps).
    machineLocal: true,
    async digest() {
      return (await docker.imageInspect(ref))?.id;
    },
  };
}

export interface RegistryImage {
  /** host[:port], optionally with a scheme; loopback hosts default to http, others to https. */
  readonly registry: string;
  readonly repository: string;
  readonly tag: string;
  /** Basic auth, as ECR (user AWS) and htpasswd registries accept. */
  readonly username?: string;
  readonly password?: string;
  /** For tests; the global fetch otherwise. */
  readonly fetch?: typeof fetch;
}

// Every manifest kind a push may have produced: the classic builder pushes Docker v2 manifests,
// BuildKit and other tools OCI ones, multi-platform builds an index or list. Without these the
// registry answers for a schema-1 conversion, or 404, instead of the real digest.
const MANIFEST_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

/** A tag in a registry; its digest is the manifest digest (docker-content-digest). */
export function registryImageOutput(image: RegistryImage): Output {
  const base = registryBaseUrl(image.registry);
  const host = base.replace(/^https?:\/\//, '');
  const url = `${base}/v2/${image.repository}/manifests/${encodeURIComponent(image.tag)}`;
  return {
    id: `registry-image:${host}/${image.repository}:${image.tag}`,
    async digest() {
      const headers: Record<string, string> = { Accept: MANIFEST_TYPES };
      if (image.username !== undefined || image.password !== undefined) {
        const credentials = `${image.username ?? ''}:${image.password ?? ''}`;
        headers.Authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
      }
      let response: Response;
      try {
        response = await (image.fetch ?? fetch)(url, { method: 'HEAD', headers });
      } catch (error) {
        const detail = error instanceof Error ? describeFetchError(error) : String(error);
        throw new DockerFailure({ reason: 'registry-error', url, status: undefined, detail });
      }
      if (response.status === 404) return undefined;
      if (!response.ok) {
        const detail =
          response.status === 401
            ? 'unauthorized: wrong or expired credentials'
            : response.statusText;
        throw new DockerFailure({ reason: 'registry-error', url, status: response.status, detail });
      }
      return response.headers.get('docker-content-digest') ?? undefined;
    },
  };
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?$/;

/** Docker itself talks plain HTTP to loopback registries and HTTPS to every other one. */
export function registryBaseUrl(registry: string): string {
  const trimmed = registry.replace(/\/+$/, '');
  if (/^https?:\/\//.test(trimmed)) return trimmed;
  return `${LOOPBACK.test(trimmed) ? 'http' : 'https'}://${trimmed}`;
}

function describeFetchError(error: Error): string {
  // undici hides the useful part (ECONNREFUSED, ENOTFOUND) in cause.
  const cause = error.cause;
  return cause instanceof Error ? `${error.message}: ${cause.message}` : error.message;
}
