/**
 * The state lock within one process: mid-run, the journal's append holds .task/state.lock
 * across its awaits while a task's ctx.invoke extends the run's claim. The claim must wait for
 * the append, never take the lock a second time (which was "bug: ... taken twice by one process"
 * out of base:rebuild's invoke of vendor:archive, in a dry-run e2e test under load).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireTaskLocks, withStateLock } from '../src/lock.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function stateDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'taskgraph-state-lock-'));
  dirs.push(dir);
  return join(dir, '.task');
}

describe('the state lock within one process', () => {
  it('a claim extended while this process holds the state lock (a journal append) waits for it', async () => {
    const dir = stateDir();
    const locks = await acquireTaskLocks(dir, ['a'], { wait: false });
    if (!locks.ok) throw new Error('the first claim failed');
    let endAppend!: () => void;
    const append = withStateLock(dir, () => new Promise<void>((resolve) => (endAppend = resolve)));
    const extended = locks.extend(['b'], { wait: false });
    let settled = false;
    void extended.then(
      () => (settled = true),
      () => (settled = true),
    );
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(settled).toBe(false); // still waiting for the append
    endAppend();
    await append;
    await expect(extended).resolves.toEqual({ ok: true });
    // And a second claim of the same process, as a watch run makes, waits the same way.
    let endSecond!: () => void;
    const second = withStateLock(dir, () => new Promise<void>((resolve) => (endSecond = resolve)));
    const next = acquireTaskLocks(dir, ['c'], { wait: false });
    await new Promise((resolve) => setTimeout(resolve, 30));
    endSecond();
    await second;
    await expect(next).resolves.toMatchObject({ ok: true });
    locks.releaseAll();
  });
});
