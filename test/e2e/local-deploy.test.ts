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

const OLD_HEADING = 'Hello from Laravel 8.83.26';
const NEW_HEADING = 'Howdy from Laravel 8.83.26';
const VIEW = 'example/resources/views/visits.blade.php';
const MIGRATIONS = 'example/database/migrations';

describe.skipIf(!dockerReady)('local:deploy', () => {
  let dir: string;
  let project: string;
  let ports: { nginx: number; primary: number; alternate: number; database: number };
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
        TASKGRAPH_LOCAL_DB_PORT: String(ports.database),
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

  const volume = () => `taskgraph-local-${project}-mariadb-data`;

  /** A query as root over the server's own socket, inside its container: tab-separated rows. */
  async function sql(query: string): Promise<string[][]> {
    const { stdout } = await execa('docker', [
      ...['exec', `taskgraph-local-${project}-database`],
      ...['mariadb', '--user=root', '--batch', '--skip-column-names', 'example', '-e', query],
    ]);
    return stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('\t'));
  }

  const migrations = () => sql('SELECT migration, batch FROM migrations ORDER BY id');

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
    ports = {
      nginx: await freePort(),
      primary: await freePort(),
      alternate: await freePort(),
      database: await freePort(),
    };
    url = `http://127.0.0.1:${ports.nginx}`;
  });

  afterAll(async () => {
    if (project !== undefined) {
      const ids = (await containers()).map((line) => line.split(' ')[1] ?? '');
      if (ids.length > 0) await execa('docker', ['rm', '--force', ...ids], { reject: false });
      await execa('docker', ['volume', 'rm', volume()], { reject: false });
    }
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('builds everything from scratch and serves the Laravel app backed by its database', async () => {
    const result = await task(['local:deploy']);
    expect(result.exitCode, result.output).toBe(0);
    expect(result.output).toContain(`serving on ${url}`);
    // A fresh clone has no task state, so every task runs; docker's layer cache and the base
    // image already on this machine (same content hash) keep that short.
    for (const step of ['base:rebuild', 'images:build', 'local:nginx', 'local:deploy'])
      expect(result.output).toContain(`[${step}] started`);
    expect(result.output).toContain('Migrated:  2026_01_01_000000_create_visits_table');

    // nginx -> php-fpm -> Laravel -> MariaDB: the row this request wrote is on the next page.
    const note = `note-${project}`;
    const first = await request(`${url}/?note=${note}`);
    expect(first.status, first.body).toBe(200);
    expect(first.body).toContain(OLD_HEADING);
    const page = await request(`${url}/`);
    expect(page.body).toMatch(new RegExp(`<td>${note}</td>`));
    expect(await sql(`SELECT note FROM visits WHERE note = '${note}'`)).toEqual([[note]]);

    expect((await request(`${url}/css/app.css`)).status).toBe(200);
    const health = await request(`${url}/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: 'ok', database: 'ok' });
    const roles = (await containers()).map(
      (line) => /-(database|nginx|php-fpm|worker|scheduler)-?/.exec(line)?.[1],
    );
    expect(roles.sort()).toEqual(['database', 'nginx', 'php-fpm', 'scheduler', 'worker']);
    // Every migration ran once, in the first batch.
    expect((await migrations()).map(([, batch]) => batch)).toEqual(['1', '1', '1', '1']);
  });

  it('gives the worker and scheduler no health check docker would fail, and local:status says what docker says', async () => {
    /** Docker's health state of our container whose name has `-role-` (`none` without a check). */
    const dockerHealth = async (role: string) => {
      const line = (await containers()).find((container) => container.includes(`-${role}-`));
      const { stdout } = await execa('docker', [
        ...['inspect', '--format'],
        '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}',
        line?.split(' ')[0] ?? '',
      ]);
      return stdout.trim();
    };
    // php-fpm's HEALTHCHECK (every 10 s) has answered: docker's health checks have run by now.
    const deadline = Date.now() + 60_000;
    while ((await dockerHealth('php-fpm')) !== 'healthy' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(await dockerHealth('php-fpm')).toBe('healthy');
    // Not the php-fpm image's check, which probes a php-fpm the workers do not run (unhealthy).
    expect(await dockerHealth('worker')).toBe('none');
    expect(await dockerHealth('scheduler')).toBe('none');
    const status = await task(['local:status']);
    expect(status.exitCode, status.output).toBe(0);
    for (const role of ['worker', 'scheduler']) {
      expect(status.output).toMatch(
        new RegExp(
          `${role} +prod_example_php_fpm:\\w+ .*running, no health check, docker: no health check`,
        ),
      );
    }
    expect(status.output).toMatch(
      /php-fpm +prod_example_php_fpm:\w+ .*running, healthy \(serving\), docker: healthy/,
    );
    expect(status.output).toMatch(
      /database +local_example_mariadb:\w+ .*running, healthy, docker: healthy/,
    );
  });

  it('runs the queued job in the worker container', async () => {
    const note = `queued-${project}`;
    const answer = await request(`${url}/?note=${note}`);
    const id = /id="visit">#(\d+)</.exec(answer.body)?.[1];
    expect(id, answer.body).toBeDefined();
    const processed = async () =>
      (await sql(`SELECT processed_at IS NOT NULL FROM visits WHERE id = ${id}`))[0]?.[0];
    const deadline = Date.now() + 30_000;
    while ((await processed()) !== '1' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(await processed()).toBe('1');
    expect(await sql('SELECT COUNT(*) FROM jobs')).toEqual([['0']]);
    const worker = (await containers()).find((line) => line.includes('-worker-'))?.split(' ')[0];
    const { stdout, stderr } = await execa('docker', ['logs', worker ?? '']);
    expect(`${stdout}${stderr}`).toContain('Processed:  App\\Jobs\\StampVisit');
  });

  it('runs the scheduled command from the scheduler container', async () => {
    // schedule:work runs heartbeat:record at each minute boundary: one comes within 60 s.
    const beats = async () => Number((await sql('SELECT COUNT(*) FROM heartbeats'))[0]?.[0]);
    const deadline = Date.now() + 75_000;
    while ((await beats()) === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(await beats()).toBeGreaterThan(0);
    const scheduler = (await containers()).find((line) => line.includes('-scheduler-'));
    const { stdout, stderr } = await execa('docker', ['logs', scheduler?.split(' ')[0] ?? '']);
    expect(`${stdout}${stderr}`).toContain('heartbeat:record');
  });

  it('does nothing when nothing changed', async () => {
    const before = await containers();
    // How fast is for the benchmarks (a timed assertion here would fail on a busy machine).
    const result = await task(['local:deploy']);
    expect(result.exitCode, result.output).toBe(0);
    expect(result.output).toContain('[local:deploy] up to date');
    expect(result.output).toMatch(/0 ran, \d+ up to date/);
    expect(await containers()).toEqual(before);
  });

  it('redeploys a source change with no failed request; rows survive and nothing migrates again', async () => {
    const before = await containers();
    const rowsBefore = Number((await sql('SELECT COUNT(*) FROM visits'))[0]?.[0]);
    await editSource(VIEW, (text) => text.replace('Hello from', 'Howdy from'));
    const loop = requestLoop(`${url}/`);
    const result = await task(['local:deploy']);
    const duringDeploy = loop.count();
    await new Promise((resolve) => setTimeout(resolve, 500));
    const seen = await loop.stop();
    expect(result.exitCode, result.output).toBe(0);
    expect(result.output).toContain('[images:build] started');
    for (const untouched of ['base:rebuild', 'vendor:install', 'local:nginx'])
      expect(result.output).not.toContain(`[${untouched}] started`);
    expect(result.output).toContain('Nothing to migrate.');

    expect(seen.failures).toEqual([]);
    const kinds = seen.answers.map((body) => (body.includes(NEW_HEADING) ? 'new' : 'old'));
    expect(kinds[0]).toBe('old');
    expect(kinds.at(-1)).toBe('new');
    // During nginx's graceful reload, old workers may still take a connection or two; once the
    // deploy returned, the old php-fpm is gone and only the new content is served.
    expect(kinds.slice(duringDeploy)).not.toContain('old');
    expect(kinds.length).toBeGreaterThan(duringDeploy);

    // The rows written before and during the deploy are all there (each page wrote one).
    const rowsAfter = Number((await sql('SELECT COUNT(*) FROM visits'))[0]?.[0]);
    expect(rowsAfter).toBe(rowsBefore + seen.answers.length);
    expect(await sql(`SELECT COUNT(*) FROM visits WHERE note = 'note-${project}'`)).toEqual([
      ['1'],
    ]);
    expect((await migrations()).map(([, batch]) => batch)).toEqual(['1', '1', '1', '1']);

    const after = await containers();
    const kept = (lines: string[]) => lines.filter((line) => /-(nginx|database) /.test(line));
    expect(kept(after)).toEqual(kept(before));
    expect(after).toHaveLength(5);
    for (const replaced of ['-php-fpm-', '-worker-', '-scheduler-']) {
      expect(after.find((line) => line.includes(replaced))).not.toEqual(
        before.find((line) => line.includes(replaced)),
      );
    }
  });

  it('runs a new migration once, in a batch of its own', async () => {
    const file = `${MIGRATIONS}/2026_02_01_000000_add_agent_to_visits.php`;
    await writeFile(
      path.join(dir, file),
      migration(
        'AddAgentToVisits',
        "Schema::table('visits', function ($table) { $table->string('agent')->nullable(); });",
      ),
    );
    const result = await task(['local:deploy']);
    expect(result.exitCode, result.output).toBe(0);
    expect(result.output).toContain('Migrated:  2026_02_01_000000_add_agent_to_visits');
    expect(await migrations()).toEqual([
      ['2026_01_01_000000_create_visits_table', '1'],
      ['2026_01_01_000001_create_jobs_table', '1'],
      ['2026_01_01_000002_create_cache_table', '1'],
      ['2026_01_01_000003_create_heartbeats_table', '1'],
      ['2026_02_01_000000_add_agent_to_visits', '2'],
    ]);
  });

  it("stops before the swap on a broken migration, with Laravel's error, and the old containers keep serving", async () => {
    const file = path.join(dir, MIGRATIONS, '2026_03_01_000000_broken.php');
    const before = await containers();
    await writeFile(
      file,
      migration('Broken', "DB::statement('ALTER TABLE no_such_table ADD COLUMN x INT');"),
    );
    try {
      const result = await task(['local:deploy']);
      expect(result.exitCode).toBe(1);
      expect(result.output).toContain('php artisan migrate --force');
      expect(result.output).toContain('nothing was switched');
      // Laravel's own words, from the migration container.
      expect(result.output).toMatch(/SQLSTATE\[42S02\].*no_such_table/);
      expect(await containers()).toEqual(before);
      const page = await request(`${url}/`);
      expect(page.status).toBe(200);
      expect(page.body).toContain(NEW_HEADING);
      expect((await migrations()).map(([name]) => name)).not.toContain('2026_03_01_000000_broken');
    } finally {
      await rm(file);
    }
  });

  it('keeps the previous containers serving when the new image fails its health check', async () => {
    const controller = 'example/app/Http/Controllers/HealthController.php';
    const original = await readFile(path.join(dir, controller), 'utf8');
    const before = await containers();
    await editSource(controller, (text) =>
      text.replace("DB::table('visits')", "DB::table('no_such_table')"),
    );
    try {
      const result = await task(['local:deploy']);
      expect(result.exitCode).toBe(1);
      expect(result.output).toContain('did not become healthy');
      expect(result.output).toContain('GET /health over FastCGI answered HTTP 503, 3 times');
      // Its own log lines, as Laravel wrote them to stderr.
      expect(result.output).toMatch(/health check failed: SQLSTATE/);
      expect(await containers()).toEqual(before);
      expect((await request(`${url}/`)).body).toContain(NEW_HEADING);
    } finally {
      await writeFile(path.join(dir, controller), original);
    }
  });

  it('replaces a worker whose command changed, and keeps the old one when the new one exits', async () => {
    const file = 'environments/local.ts';
    const original = await readFile(path.join(dir, file), 'utf8');
    const before = await containers();
    await editSource(file, (text) => text.replace("'schedule:work'", "'schedule:wrok'"));
    try {
      const result = await task(['local:deploy']);
      expect(result.exitCode).toBe(1);
      expect(result.output).toContain('stopped right after it started');
      // Laravel's own words, from the new container's log.
      expect(result.output).toContain('Command "schedule:wrok" is not defined');
      // The php containers and the database are as they were (nginx's image is built from the
      // environment file too, so it may have been replaced before the workers' turn).
      const php = (lines: string[]) => lines.filter((line) => !line.includes('-nginx '));
      expect(php(await containers())).toEqual(php(before));
    } finally {
      await writeFile(path.join(dir, file), original);
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

  it('local:down keeps the database volume, so rows outlive it; local:down[purge] removes it', async () => {
    const deploy = await task(['local:deploy']);
    expect(deploy.exitCode, deploy.output).toBe(0);
    // The rows written before `local:down` (in the port test) are still there.
    expect(await sql(`SELECT COUNT(*) FROM visits WHERE note = 'note-${project}'`)).toEqual([
      ['1'],
    ]);
    const status = await task(['local:status']);
    expect(status.exitCode, status.output).toBe(0);
    expect(status.output).toMatch(/nginx +prod_example_nginx:\w+ .*running, healthy/);
    expect(status.output).toMatch(
      /php-fpm +prod_example_php_fpm:\w+ .*running, healthy \(serving\)/,
    );
    expect(status.output).toMatch(/database +local_example_mariadb:\w+ .*running, healthy/);
    expect(status.output).toMatch(/worker +prod_example_php_fpm:\w+ .*running/);
    expect(status.output).toMatch(/scheduler +prod_example_php_fpm:\w+ .*running/);

    const down = await task(['local:down']);
    expect(down.exitCode, down.output).toBe(0);
    expect(down.output).toContain(`kept the database volume ${volume()}`);
    expect(await containers()).toEqual([]);
    expect(
      (await execa('docker', ['volume', 'inspect', volume()], { reject: false })).exitCode,
    ).toBe(0);
    expect((await task(['local:status'])).output).toContain('nothing runs for this checkout');

    const purge = await task(['local:down[purge]']);
    expect(purge.exitCode, purge.output).toBe(0);
    expect(purge.output).toContain(`removed the database volume ${volume()}`);
    expect(
      (await execa('docker', ['volume', 'inspect', volume()], { reject: false })).exitCode,
    ).not.toBe(0);
  });
});

/** A Laravel 8 migration class whose up() runs `statement`. */
function migration(className: string, statement: string): string {
  return [
    '<?php',
    '',
    'use Illuminate\\Database\\Migrations\\Migration;',
    'use Illuminate\\Support\\Facades\\DB;',
    'use Illuminate\\Support\\Facades\\Schema;',
    '',
    `class ${className} extends Migration`,
    '{',
    '    public function up(): void',
    '    {',
    `        ${statement}`,
    '    }',
    '}',
    '',
  ].join('\n');
}

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
