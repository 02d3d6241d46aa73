/**
 * The real OCI registry the emulator's ECR answers from (test/support/registry.ts, Debian's
 * docker-registry on loopback with htpasswd auth for user AWS), and a way to push a small image
 * through the registry's HTTP API without a Docker daemon.
 */
import { createHash } from 'node:crypto';
import type { TestRegistry } from '../registry.js';

export { startRegistry } from '../registry.js';
export type Registry = TestRegistry;

export interface PushedImage {
  digest: string;
  manifest: string;
}

/**
 * The config blob of the tiny image for `content`, with `labels` besides (a build's
 * `taskgraph.fingerprint`, say): its sha256 is the image's id.
 */
export function imageConfig(content: string, labels: Record<string, string> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { ...labels, content } },
      rootfs: { type: 'layers', diff_ids: [] },
    }),
  );
}

/** The id docker would show for the tiny image of `content` (sha256 of its config). */
export function imageId(content: string, labels: Record<string, string> = {}): string {
  return sha256(imageConfig(content, labels));
}

/** Pushes a tiny image (a config blob and one layer) as `repository:tag`. */
export async function pushImage(
  registry: Pick<Registry, 'url' | 'username' | 'password'>,
  repository: string,
  tag: string,
  content = tag,
  labels: Record<string, string> = {},
): Promise<PushedImage> {
  const base = registry.url.includes('://') ? registry.url : `http://${registry.url}`;
  const authorization = `Basic ${Buffer.from(`${registry.username}:${registry.password}`).toString('base64')}`;
  const config = imageConfig(content, labels);
  const layer = Buffer.from(`layer of ${content}`);
  const pushBlob = async (blob: Buffer) => {
    const digest = sha256(blob);
    const start = await fetch(`${base}/v2/${repository}/blobs/uploads/`, {
      method: 'POST',
      headers: { authorization },
    });
    await start.body?.cancel();
    const location = start.headers.get('location');
    if (start.status !== 202 || !location) throw new Error(`blob upload refused: ${start.status}`);
    const target = new URL(location, base);
    target.searchParams.set('digest', digest);
    const put = await fetch(target, {
      method: 'PUT',
      headers: { authorization, 'content-type': 'application/octet-stream' },
      body: blob,
    });
    if (put.status !== 201)
      throw new Error(`blob upload failed: ${put.status} ${await put.text()}`);
    return { digest, size: blob.length };
  };
  const configRef = await pushBlob(config);
  const layerRef = await pushBlob(layer);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configRef },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layerRef }],
  });
  const put = await fetch(`${base}/v2/${repository}/manifests/${tag}`, {
    method: 'PUT',
    headers: { authorization, 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    body: manifest,
  });
  if (put.status !== 201)
    throw new Error(`manifest push failed: ${put.status} ${await put.text()}`);
  return { digest: sha256(Buffer.from(manifest)), manifest };
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
