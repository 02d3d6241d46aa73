/**
 * `npx task local:deploy` end to end, from a fresh copy of the repository: real builds, real
 * containers on the host network, real HTTP through nginx. The copy has its own ports (free ones)
 * and its own project label, so a local deploy of the checkout itself is never touched.
 */
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireDocker } from '../support/docker-available.js';
import { freePort } from '../support/free-port.js';
import { REPO, TASK_BIN, cleanEnv } from '../support/project.js';

const dockerReady = await requireDocker();

/** What a fresh clone has: no dependencies installed, no build output, no task state. */
const NOT_IN_A_CLONE = new Set([
  'node_modules',
  '.task',
  'build',
  'dist',
  '.git',
  'example/vendor',
]);

const OLD_GREETING = 'Hello, developers, operators and users!';
const NEW_GREETING = 'Howdy, developers, operators and users!';

describe.skipIf(!dockerReady)('local:deploy', () => {
  let dir: string;
  let project: string;
  let ports: { nginx: number; primary: number; alternate: number };
  let url: string;

  async function task(args: string[], env: Record<string, string> = {}) {
    const result = await execa(process.execPath, [TASK_BIN, ...args], {
      cwd: dir,
      env: {
        ...cleanEnv(),
        CI: 'true',
        TASKGRAPH_LOCAL_NGINX_PORT: String(ports.nginx),
        TASKGRAPH_LOCAL_PHP_FPM_PORT: String(ports.primary),
        TASKGRAPH_LOCAL_PHP_FPM_ALTERNATE_PORT: String(ports.alternate),
        ...env,
      },
      extendEnv: false,
      reject: false,
      all: true,
    });
    return { exitCode: result.exitCode, output: String(result.all) };
  }

  /** Our containers, by the project label local:deploy puts on them: `name id image`. */
  async function containers(): Promise<string[]> {
    const { stdout } = await execa('docker', [
      ...['ps', '--all', '--filter', `label=taskgraph.project=${project}`],
      ...['--format', '{{.Names}} {{.ID}} {{.Image}}'],
    ]);
    return stdout.split('\n').filter(Boolean).sort();
  }

  async function editSource(file: string, edit: (text: string) => string): Promise<void> {
    const target = path.join(dir, file);
    await writeFile(target, edit(await readFile(target, 'utf8')));
  }

  beforeAll(async () => {
    dir = await realpath(await mkdtemp(path.join(tmpdir(), 'taskgraph-local-')));
    await cp(REPO, dir, {
      recursive: true,
      filter: (source) => !NOT_IN_A_CLONE.has(path.relative(REPO, source)),
    });
    await symlink(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
    // The same rule as tasks/local-runtime.ts: the label is a hash of the checkout's path.
    project = createHash('sha256').update(dir).digest('hex').slice(0, 12);
    ports = { nginx: await freePort(), primary: await freePort(), alternate: await freePort() };
    url = `http://127.0.0.1:${ports.nginx}`;
  });

  afterAll(async () => {
    if (project !== undefined) {
      const ids = (await containers()).map((line) => line.split(' ')[1] ?? '');
      if (ids.length > 0) await execa('docker', ['rm', '--force', ...ids], { reject: false });
    }
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('builds everything from scratch and serves the app with its vendor libraries', async () => {
    const result = await task(['local:deploy']);
    expect(result.exitCode, result.output).toBe(0);
    expect(result.output).toContain(`serving on ${url}`);
    // A fresh clone has no task state, so every task runs; docker's layer cache and the base
    // image already on this machine (same content hash) keep that short.
    for (const step of ['base:rebuild', 'images:build', 'local:nginx', 'local:deploy'])
      expect(result.output).toContain(`[${step}] started`);

    const home = await request(`${url}/`);
    expect(home.status).toBe(200);
    // The greeting comes from example/packages/greeting, installed into vendor/ by composer.
    expect(home.body).toContain(OLD_GREETING);
    expect(home.body).toContain('Environment: local');
    expect((await request(`${url}/css/app.css`)).status).toBe(200);
    expect((await request(`${url}/health`)).body).toBe('ok\n');
    expect(await containers()).toHaveLength(2);
  });

  it('does nothing when nothing changed', async () => {
    const before = await containers();
    const started = performance.now();
    const result = await task(['local:deploy']);
    expect(result.exitCode, result.output).toBe(0);
    expect(result.output).toContain('[local:deploy] up to date');
    expect(result.output).toMatch(/0 ran, \d+ up to date/);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(await containers()).toEqual(before);
  });

  it('redeploys a source change with no failed request, replacing only php-fpm', async () => {
    const before = await containers();
    await editSource('example/config/app.php', (text) => text.replace("'Hello'", "'Howdy'"));
    const loop = requestLoop(`${url}/`);
    const result = await task(['local:deploy']);
    const duringDeploy = loop.count();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const seen = await loop.stop();
    expect(result.exitCode, result.output).toBe(0);
    expect(result.output).toContain('[images:build] started');
    for (const untouched of ['base:rebuild', 'vendor:install', 'local:nginx'])
      expect(result.output).not.toContain(`[${untouched}] started`);

    expect(seen.failures).toEqual([]);
    const kinds = seen.answers.map((body) => (body.includes(NEW_GREETING) ? 'new' : 'old'));
    expect(kinds[0]).toBe('old');
    expect(kinds.at(-1)).toBe('new');
    // During nginx's graceful reload, old workers may still take a connection or two; once the
    // deploy returned, the old php-fpm is gone and only the new content is served.
    expect(kinds.slice(duringDeploy)).not.toContain('old');
    expect(kinds.length).toBeGreaterThan(duringDeploy);

    const after = await containers();
    const nginx = (lines: string[]) => lines.filter((line) => line.includes('-nginx '));
    expect(nginx(after)).toEqual(nginx(before));
    expect(after).toHaveLength(2);
    expect(after.find((line) => line.includes('-php-fpm-'))).not.toEqual(
      before.find((line) => line.includes('-php-fpm-')),
    );
  });

  it('keeps the previous containers serving when the new image fails its health check', async () => {
    const controller = 'example/app/Http/Controllers/HealthController.php';
    const original = await readFile(path.join(dir, controller), 'utf8');
    const before = await containers();
    await editSource(controller, (text) =>
      text.replace('return new Response(200', 'return new (200'),
    );
    try {
      const result = await task(['local:deploy']);
      expect(result.exitCode).toBe(1);
      expect(result.output).toContain('did not become healthy');
      expect(result.output).toContain('GET /health over FastCGI answered HTTP 500, 3 times');
      // Its own log lines, as php-fpm wrote them.
      expect(result.output).toMatch(/PHP Parse error/);
      expect(await containers()).toEqual(before);
      expect((await request(`${url}/`)).body).toContain(NEW_GREETING);
    } finally {
      await writeFile(path.join(dir, controller), original);
    }
  });

  it('names a port that is already taken, and starts nothing', async () => {
    expect((await task(['local:down'])).exitCode).toBe(0);
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(ports.nginx, '127.0.0.1', resolve));
    try {
      const result = await task(['local:deploy']);
      expect(result.exitCode).toBe(1);
      expect(result.output).toContain(`Port ${ports.nginx} on 127.0.0.1 (nginx) is already in use`);
      expect(result.output).toContain('TASKGRAPH_LOCAL_NGINX_PORT=<port>');
      expect(await containers()).toEqual([]);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });

  it('fails at once, saying what to do, when Docker is not running', async () => {
    const started = performance.now();
    const result = await task(['local:deploy'], {
      DOCKER_HOST: `unix://${path.join(dir, 'no-docker.sock')}`,
    });
    expect(result.exitCode).toBe(1);
    expect(result.output).toContain('Docker is not running');
    expect(result.output).toContain('sudo bash scripts/setup.sh');
    expect(result.output).not.toMatch(/^\s+at /m);
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('local:status shows what runs; local:down leaves no container behind', async () => {
    expect((await task(['local:deploy'])).exitCode).toBe(0);
    const status = await task(['local:status']);
    expect(status.exitCode, status.output).toBe(0);
    expect(status.output).toMatch(/nginx +prod_example_nginx:\w+ .*running, healthy/);
    expect(status.output).toMatch(
      /php-fpm +prod_example_php_fpm:\w+ .*running, healthy \(serving\)/,
    );

    const down = await task(['local:down']);
    expect(down.exitCode, down.output).toBe(0);
    expect(await containers()).toEqual([]);
    expect((await task(['local:status'])).output).toContain('nothing runs for this checkout');
  });
});

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One request on a new connection (no keep-alive), as a fresh client would make it. */
function request(url: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, timeout: 5000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      response.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}

/** Requests back to back until stopped; every answer that is not a 200 page is a failure. */
function requestLoop(url: string): {
  count: () => number;
  stop: () => Promise<{ answers: string[]; failures: string[] }>;
} {
  const answers: string[] = [];
  const failures: string[] = [];
  let running = true;
  const done = (async () => {
    while (running) {
      try {
        const answer = await request(url);
        if (answer.status === 200) answers.push(answer.body);
        else failures.push(`HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
      } catch (error) {
        failures.push(String(error));
      }
    }
  })();
  return {
    count: () => answers.length,
    async stop() {
      running = false;
      await done;
      return { answers, failures };
    },
  };
}
