/**
 * A `task --watch` process against a Project, read as it prints: every wait is on a line it
 * prints (or a file a task writes), never a fixed sleep, so a loaded machine only makes the tests
 * slower.
 */
import type { Project } from './project.js';
import { waitFor } from './wait.js';

/** The line the watcher prints each time it goes idle. */
export const IDLE = /^watching \d+ folder\(s\) for changes/;
export const TIMEOUT = 30_000;

export class Watching {
  stdout = '';
  stderr = '';
  readonly child: ReturnType<Project['spawn']>;

  constructor(project: Project, args: string[] = []) {
    this.child = project.spawn(['--watch', ...args]);
    this.child.stdout?.on('data', (chunk: Buffer) => (this.stdout += chunk.toString()));
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
  }

  lines(): string[] {
    return this.stdout.split('\n');
  }

  count(pattern: RegExp): number {
    return this.lines().filter((line) => pattern.test(line)).length;
  }

  /** Waits until `pattern` has matched `times` lines of stdout (or of stderr, with `stream`). */
  async until(pattern: RegExp, times = 1, stream: 'stdout' | 'stderr' = 'stdout'): Promise<void> {
    const matches = () =>
      stream === 'stdout'
        ? this.count(pattern)
        : this.stderr.split('\n').filter((line) => pattern.test(line)).length;
    try {
      await waitFor(() => matches() >= times, TIMEOUT);
    } catch {
      throw new Error(
        `waited for ${times} x ${String(pattern)} on ${stream}\n--- stdout\n${this.stdout}\n--- stderr\n${this.stderr}`,
      );
    }
  }

  /** Ends the watcher if it still runs (Ctrl-C, then SIGKILL after 10 s): for afterEach. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGINT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.child;
    clearTimeout(timer);
  }

  async interrupt(): Promise<number | undefined> {
    this.child.kill('SIGINT');
    const result = await this.child;
    return result.exitCode;
  }
}
