/**
 * A throwaway project in a temp dir and the real `task` binary run against it, with CI/TASK_*
 * variables scrubbed so the developer's environment cannot change what a test sees.
 */
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TASK_BIN = join(REPO, 'bin', 'task.js');

/**
 * What loading and running this repository's own pipeline reads: its Taskfile, tasks, environments,
 * templates, images, the app and src/ (tasks import ../src/...), without installs or build output.
 * A JSON file, so that bench/pipeline.mjs (plain .mjs, which cannot import TypeScript) reads the
 * same list.
 */
export const PIPELINE_SOURCES = JSON.parse(
  readFileSync(join(REPO, 'test', 'support', 'pipeline-sources.json'), 'utf8'),
) as readonly string[];

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export class Project {
  readonly dir: string;

  constructor(files: Record<string, string> = {}) {
    this.dir = mkdtempSync(join(tmpdir(), 'taskgraph-test-'));
    for (const [path, content] of Object.entries(files)) this.write(path, content);
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /** Writes through a temp file and a rename, as editors save: a reader never sees it half done. */
  write(path: string, content: string): void {
    mkdirSync(dirname(this.path(path)), { recursive: true });
    const temp = `${this.path(path)}.${process.pid}.tmp`;
    writeFileSync(temp, content);
    renameSync(temp, this.path(path));
  }

  read(path: string): string {
    return readFileSync(this.path(path), 'utf8');
  }

  /** Lines a task appended to runs.log: which tasks actually ran, in order. */
  runs(): string[] {
    try {
      return this.read('runs.log').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  }

  clearRuns(): void {
    rmSync(this.path('runs.log'), { force: true });
  }

  async task(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
    const result = await this.spawn(args, env);
    return {
      exitCode: result.exitCode ?? -1,
      stdout: String(result.stdout),
      stderr: String(result.stderr),
    };
  }

  spawn(args: string[], env: Record<string, string> = {}) {
    return execa(process.execPath, [TASK_BIN, ...args], {
      cwd: this.dir,
      env: { ...cleanEnv(), CI: 'true', ...env },
      extendEnv: false,
      reject: false,
    });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value === undefined) continue;
    if (/^(CI|TASK_|GITHUB_|VITEST|NODE_OPTIONS)/.test(key)) continue;
    env[key] = value;
  }
  return env;
}

/** A run function body that records the task's name in runs.log. */
export const RECORD = `import { appendFileSync } from 'node:fs';
export const record = (name: string) => appendFileSync('runs.log', name + '\\n');
`;
