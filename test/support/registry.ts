/**
 * A real OCI registry for tests: Debian's docker-registry (the CNCF distribution server) on
 * 127.0.0.1 with htpasswd basic auth, standing in for ECR's registry endpoint, which also takes
 * `docker login -u AWS --password-stdin`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { freePort } from './free-port.js';

export interface TestRegistry {
  /** host:port, as docker wants it in image refs and `docker login`. */
  readonly url: string;
  readonly username: 'AWS';
  readonly password: string;
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 20_000;
const PORT_ATTEMPTS = 3;

export async function startRegistry(options: { dir?: string } = {}): Promise<TestRegistry> {
  const parent = options.dir ?? tmpdir();
  await mkdir(parent, { recursive: true });
  const dir = await mkdtemp(path.join(parent, 'taskgraph-registry-'));
  try {
    const password = randomBytes(18).toString('base64url');
    const htpasswdFile = path.join(dir, 'htpasswd');
    await writeFile(htpasswdFile, await bcryptEntry('AWS', password), { mode: 0o600 });

    // The port is picked before the registry binds it, so a parallel run may win the race; a few
    // attempts with fresh ports make that harmless.
    let lastError: unknown;
    for (let attempt = 0; attempt < PORT_ATTEMPTS; attempt++) {
      const url = `127.0.0.1:${await freePort()}`;
      const configFile = path.join(dir, 'config.yml');
      await writeFile(configFile, registryConfig({ url, dir, htpasswdFile }));
      try {
        const { server } = await serve(configFile, url);
        return {
          url,
          username: 'AWS',
          password,
          async stop() {
            server.kill('SIGTERM');
            await server;
            await rm(dir, { recursive: true, force: true });
          },
        };
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

/** `htpasswd -i` reads the password from stdin, so it never shows up in `ps`. */
async function bcryptEntry(username: string, password: string): Promise<string> {
  const { stdout } = await execa('htpasswd', ['-i', '-B', '-n', username], { input: password });
  return `${stdout.trim()}\n`;
}

function registryConfig(options: { url: string; dir: string; htpasswdFile: string }): string {
  // JSON is valid YAML, and JSON.stringify quotes the paths safely.
  return JSON.stringify(
    {
      version: 0.1,
      log: { level: 'warn' },
      storage: {
        filesystem: { rootdirectory: path.join(options.dir, 'data') },
        delete: { enabled: true },
      },
      http: { addr: options.url, secret: randomBytes(16).toString('hex') },
      auth: { htpasswd: { realm: 'taskgraph-test', path: options.htpasswdFile } },
    },
    null,
    2,
  );
}

// Wrapped in an object: execa's subprocess is a thenable, so returning it bare from an async
// function would wait for the registry to exit.
async function serve(configFile: string, url: string) {
  const output: string[] = [];
  const server = execa('docker-registry', ['serve', configFile], {
    reject: false,
    stdin: 'ignore',
    all: true,
    buffer: false,
  });
  server.all.on('data', (chunk: Buffer) => {
    output.push(...chunk.toString().split('\n').filter(Boolean));
    output.splice(0, Math.max(0, output.length - 20));
  });
  let exited = false;
  void server.then(() => {
    exited = true;
  });

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < deadline && !exited) {
    // 401 is the "up, and auth is on" answer; 200 would mean auth is off, which is a bug here.
    const status = await fetch(`http://${url}/v2/`).then(
      (response) => response.status,
      () => undefined,
    );
    if (status === 401) return { server };
    if (status !== undefined) {
      server.kill('SIGKILL');
      await server;
      throw new Error(`registry on ${url} answered /v2/ with ${status}, expected 401`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  server.kill('SIGKILL');
  await server;
  throw new Error(
    `docker-registry did not come up on ${url}${exited ? ' (it exited)' : ''}:\n${output.join('\n')}`,
  );
}
