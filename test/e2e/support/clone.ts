/**
 * A copy of this repository in a temp dir, and the real `task` CLI run against it with --json.
 *
 * Why a copy and not the checkout: the tests edit app files, Dockerfiles, composer files and
 * environments, and must not disturb the checkout someone is working in. Why .git is copied too:
 * a deploy records the commit it came from as tags on the task definitions it registers (image
 * labels depend on inputs only, so a copy builds the checkout's image ids and re-tags nothing).
 * In a git worktree .git is a pointer file: a copy then shares the worktree's HEAD and index, so
 * a test that commits must give its copy a repository of its own.
 *
 * Image tags are fingerprints, so before any edit a copy makes exactly the checkout's tags. A test
 * calls `markShared()` after its first build and makes its edits unique (`nonce`); `remove()`
 * then deletes only the tags made after that, never one that existed before the copy was made.
 */
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { PIPELINE_SOURCES, REPO, TASK_BIN, cleanEnv } from '../../support/project.js';

/** What a copy holds: the tracked and untracked source tree, without installs or build output. */
const COPIED = ['.git', ...PIPELINE_SOURCES];
const NOT_COPIED = new Set(['example/vendor']);

export type Status = 'ran' | 'up-to-date' | 'failed' | 'skipped' | 'cancelled' | 'would-run';

export type TaskEvent =
  | { type: 'plan'; tasks: { key: string; deps: string[] }[] }
  | { type: 'start'; key: string }
  | { type: 'output'; key: string; stream: string; line: string }
  | { type: 'end'; key: string; status: Status; reason?: string; message?: string }
  | { type: 'warning'; message: string }
  | { type: 'summary'; summary: { counts: Record<Status, number> } };

export interface TaskRun {
  readonly exitCode: number;
  readonly events: readonly TaskEvent[];
  /** Every output line, failure message and stderr line: for messages and for `expect(..., run.text)`. */
  readonly text: string;
  readonly durationMs: number;
}

export class Clone {
  /** Unique to this copy: put it in edits so that the images they produce have tags of their own. */
  readonly nonce = randomBytes(6).toString('hex');
  private readonly tagged = new Set<string>();
  private readonly shared = new Set<string>();

  private constructor(
    readonly dir: string,
    private readonly preexisting: ReadonlySet<string>,
  ) {}

  static async create(): Promise<Clone> {
    const dir = await realpath(await mkdtemp(path.join(tmpdir(), 'taskgraph-pipeline-')));
    for (const entry of COPIED) {
      await cp(path.join(REPO, entry), path.join(dir, entry), {
        recursive: true,
        filter: (source) => !NOT_COPIED.has(path.relative(REPO, source)),
      });
    }
    await symlink(path.join(REPO, 'node_modules'), path.join(dir, 'node_modules'));
    return new Clone(dir, new Set(await localTags()));
  }

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  read(file: string): Promise<string> {
    return readFile(this.path(file), 'utf8');
  }

  write(file: string, content: string): Promise<void> {
    return writeFile(this.path(file), content);
  }

  async edit(file: string, change: (text: string) => string): Promise<void> {
    const before = await this.read(file);
    const after = change(before);
    if (after === before) throw new Error(`edit of ${file} changed nothing`);
    await this.write(file, after);
  }

  /** `task ARGS --json` in the copy, CI/TASK_* scrubbed; `env` adds to a clean environment. */
  async task(args: readonly string[], env: Record<string, string> = {}): Promise<TaskRun> {
    const started = performance.now();
    // --json before any `--`: after it, the CLI would take it for a named task argument.
    const dashdash = args.includes('--') ? args.indexOf('--') : args.length;
    const argv = [...args.slice(0, dashdash), '--json', ...args.slice(dashdash)];
    const result = await execa(process.execPath, [TASK_BIN, ...argv], {
      cwd: this.dir,
      env: { ...cleanEnv(), CI: 'true', ...env },
      extendEnv: false,
      reject: false,
    });
    const durationMs = performance.now() - started;
    const events: TaskEvent[] = [];
    const text: string[] = [];
    for (const line of result.stdout.split('\n')) {
      if (!line.startsWith('{')) continue;
      const event = JSON.parse(line) as TaskEvent;
      events.push(event);
      if (event.type === 'output') {
        text.push(`[${event.key}] ${event.line}`);
        const tag = /^Successfully tagged (\S+)/.exec(event.line)?.[1];
        if (tag !== undefined) this.tagged.add(tag);
      }
      if (event.type === 'end' && event.message !== undefined) text.push(event.message);
    }
    text.push(result.stderr);
    return { exitCode: result.exitCode ?? -1, events, text: text.join('\n'), durationMs };
  }

  /**
   * Gives the copy development images of its own: a comment in each dev Dockerfile changes the
   * dev tasks' fingerprints (so every tag downstream is this copy's alone) but no build step, so
   * the builds still come from the layer cache. Without it, another checkout building at the same
   * time re-tags the shared dev tags and makes up-to-date assertions here flaky.
   */
  async isolateImages(): Promise<void> {
    for (const file of ['images/php-fpm/Dockerfile', 'images/nginx/Dockerfile']) {
      await this.edit(file, (text) => `${text}# test copy ${this.nonce}\n`);
    }
  }

  /** A tag this test made by other means than a build (docker tag, pull): removed at the end. */
  own(ref: string): void {
    this.tagged.add(ref);
  }

  /** Everything tagged so far has the checkout's fingerprints: the checkout may use it, keep it. */
  markShared(): void {
    for (const ref of this.tagged) this.shared.add(ref);
  }

  /** The tags this copy made after markShared(), other than `:latest`, which every build moves. */
  ownTags(): string[] {
    return [...this.tagged].filter(
      (ref) => !this.shared.has(ref) && !this.preexisting.has(ref) && !ref.endsWith(':latest'),
    );
  }

  async remove(): Promise<void> {
    await removeTags(this.ownTags());
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * `docker rmi` of each ref, and of its repository's `:latest` where that still names one of these
 * images (every build moves `:latest`; left alone it would keep our image alive).
 */
export async function removeTags(refs: readonly string[]): Promise<void> {
  const all = [...refs];
  const ours = new Set((await Promise.all(refs.map(imageId))).filter((id) => id !== undefined));
  for (const repository of new Set(refs.map((ref) => ref.slice(0, ref.lastIndexOf(':'))))) {
    const latest = `${repository}:latest`;
    const id = await imageId(latest);
    if (id !== undefined && ours.has(id) && !all.includes(latest)) all.push(latest);
  }
  // One by one: a tag a container still uses fails alone instead of failing the others.
  for (const ref of all) await execa('docker', ['rmi', ref], { reject: false });
}

export async function localTags(): Promise<string[]> {
  const { stdout } = await execa('docker', [
    ...['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'],
  ]);
  return stdout.split('\n').filter((ref) => ref !== '' && !ref.includes('<none>'));
}

/** Task -> final status, from the end events. */
export function statuses(run: TaskRun): Record<string, Status> {
  const result: Record<string, Status> = {};
  for (const event of run.events) if (event.type === 'end') result[event.key] = event.status;
  return result;
}

/** Tasks whose run function actually ran, in the order they finished. */
export function ranInOrder(run: TaskRun): string[] {
  return run.events.flatMap((event) =>
    event.type === 'end' && event.status === 'ran' ? [event.key] : [],
  );
}

export function started(run: TaskRun): string[] {
  return run.events.flatMap((event) => (event.type === 'start' ? [event.key] : []));
}

/** The output lines of one task. */
export function linesOf(run: TaskRun, key: string): string[] {
  return run.events.flatMap((event) =>
    event.type === 'output' && event.key === key ? [event.line] : [],
  );
}

/** The ref a task tagged, e.g. `prod_example_php_fpm:0123456789ab` (never `:latest`). */
export function taggedBy(run: TaskRun, key: string): string {
  const refs = linesOf(run, key)
    .map((line) => /^Successfully tagged (\S+)/.exec(line)?.[1])
    .filter((ref): ref is string => ref !== undefined && !ref.endsWith(':latest'));
  const [ref] = refs;
  if (ref === undefined || refs.length > 1) {
    throw new Error(`expected ${key} to tag one image, found ${JSON.stringify(refs)}`);
  }
  return ref;
}

export async function docker(args: readonly string[]): Promise<string> {
  return (await execa('docker', args)).stdout.trim();
}

/** The image's layer diff ids, base first. */
export async function layers(ref: string): Promise<string[]> {
  return JSON.parse(
    await docker(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', ref]),
  ) as string[];
}

/** Sizes in bytes of the history entries that made a layer, newest first. */
export async function layerSizes(ref: string): Promise<number[]> {
  const out = await docker([
    'history',
    '--no-trunc',
    '--human=false',
    '--format',
    '{{.Size}}',
    ref,
  ]);
  return out
    .split('\n')
    .map(Number)
    .filter((size) => size > 0);
}

export async function imageId(ref: string): Promise<string | undefined> {
  const result = await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', ref], {
    reject: false,
  });
  return result.exitCode === 0 ? result.stdout.trim() : undefined;
}
