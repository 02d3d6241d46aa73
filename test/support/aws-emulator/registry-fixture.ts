/**
 * A real OCI registry (Debian's `docker-registry`, the CNCF distribution server) on loopback,
 * with htpasswd basic auth for user AWS as ECR's registry endpoint expects, and a way to push a
 * small image through the registry's HTTP API without a Docker daemon.
 *
 * Same interface as test/support/registry.ts (url is host:port). This copy exists because that
 * one's startRegistry() never resolves: its async serve() returns the execa subprocess, a
 * thenable, so the caller awaits the registry's exit. Once that is fixed, import it instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../free-port.js';

export interface Registry {
  /** host:port, as docker wants it in image refs and `docker login`. */
  readonly url: string;
  readonly username: 'AWS';
  readonly password: string;
  stop(): Promise<void>;
}

export async function startRegistry(): Promise<Registry> {
  const dir = await mkdtemp(join(tmpdir(), 'aws-emulator-registry-'));
  const password = randomBytes(18).toString('base64url');
  await writeFile(join(dir, 'htpasswd'), await htpasswdEntry('AWS', password), { mode: 0o600 });
  // The port is picked before the registry binds it; a few attempts make a lost race harmless.
  let stderr = '';
  for (let attempt = 0; attempt < 3; attempt++) {
    const url = `127.0.0.1:${await freePort()}`;
    const config = {
      version: 0.1,
      log: { level: 'error', accesslog: { disabled: true } },
      storage: { filesystem: { rootdirectory: join(dir, 'data') }, delete: { enabled: true } },
      http: { addr: url, secret: randomBytes(16).toString('hex') },
      auth: { htpasswd: { realm: 'aws-emulator', path: join(dir, 'htpasswd') } },
    };
    // JSON is YAML, and JSON.stringify quotes the paths safely.
    await writeFile(join(dir, 'config.yml'), JSON.stringify(config, null, 2));
    const child = spawn('docker-registry', ['serve', join(dir, 'config.yml')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    if (await answers(`http://${url}`, child)) {
      return { url, username: 'AWS', password, stop: () => stopRegistry(child, dir) };
    }
    await stopRegistry(child, undefined);
  }
  await rm(dir, { recursive: true, force: true });
  throw new Error(`docker-registry did not start: ${stderr}`);
}

export interface PushedImage {
  digest: string;
  manifest: string;
}

/** Pushes a tiny image (a config blob and one layer) as `repository:tag`. */
export async function pushImage(
  registry: Pick<Registry, 'url' | 'username' | 'password'>,
  repository: string,
  tag: string,
  content = tag,
): Promise<PushedImage> {
  const base = registry.url.includes('://') ? registry.url : `http://${registry.url}`;
  const authorization = `Basic ${Buffer.from(`${registry.username}:${registry.password}`).toString('base64')}`;
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: { content } },
      rootfs: { type: 'layers', diff_ids: [] },
    }),
  );
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

/** A bcrypt htpasswd line; the password goes through stdin, never argv. */
async function htpasswdEntry(username: string, password: string): Promise<string> {
  const child = spawn('htpasswd', ['-niB', username], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  child.stdin.end(`${password}\n`);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`htpasswd failed (${String(code)}): ${err}`);
  return `${out.trim()}\n`;
}

/** Polls /v2/ until the registry asks for credentials (401), or the process dies. */
async function answers(url: string, child: ChildProcess): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null || child.signalCode !== null) return false;
    const status = await fetch(`${url}/v2/`).then(
      async (response) => {
        await response.body?.cancel();
        return response.status;
      },
      () => undefined,
    );
    if (status === 401) return true;
    if (status !== undefined)
      throw new Error(`registry on ${url} answered /v2/ with ${status}, expected 401`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return false;
}

async function stopRegistry(child: ChildProcess, dir: string | undefined): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
}
