import { openSync, writeSync, closeSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileHasher } from '../src/file-hasher.js';
import { Project, RECORD } from './support/project.js';

const COPY = `import { task } from 'taskgraph';
import { cpSync } from 'node:fs';
import { record } from './record.ts';
task('copy', { inputs: ['in/**'], outputs: ['out'], run: () => { record('copy'); cpSync('in', 'out', { recursive: true }); } });
`;

const TREE = `import { task } from 'taskgraph';
import { writeFileSync } from 'node:fs';
import { record } from './record.ts';
task('copy', { inputs: ['in/**'], outputs: ['out'], run: () => { record('copy'); writeFileSync('out', 'x'); } });
`;

/** Rewrites a file in place with the same size, so only its content differs. */
function rewriteSameSize(path: string, content: string): void {
  const fd = openSync(path, 'r+');
  writeSync(fd, content, 0);
  closeSync(fd);
}

describe('stat cache', () => {
  it('re-reads a same-size in-place edit made within one timestamp tick of the previous write', async () => {
    const project = new Project({ 'Taskfile.ts': COPY, 'record.ts': RECORD, 'in/a.txt': 'aaaa' });
    try {
      expect((await project.task(['copy'])).exitCode).toBe(0);
      // Immediately: the same size, and very likely the same mtime tick as the first write.
      rewriteSameSize(project.path('in/a.txt'), 'bbbb');
      expect((await project.task(['copy'])).exitCode).toBe(0);
      expect(project.runs()).toEqual(['copy', 'copy']);
      expect(project.read('out/a.txt')).toBe('bbbb');
    } finally {
      project.remove();
    }
  });

  it('never trusts an entry hashed within the racy window', async () => {
    const project = new Project({ 'f.txt': 'one' });
    try {
      const cache = project.path('cache.json');
      const first = FileHasher.open(project.dir, cache);
      const [a] = await first.hashPaths(['f.txt']);
      first.save();
      rewriteSameSize(project.path('f.txt'), 'two');
      const [b] = await FileHasher.open(project.dir, cache).hashPaths(['f.txt']);
      expect(b?.sha256).not.toBe(a?.sha256);
    } finally {
      project.remove();
    }
  });

  describe('a 20,000-file input tree', () => {
    let project: Project;
    beforeAll(async () => {
      project = new Project({ 'Taskfile.ts': TREE, 'record.ts': RECORD });
      for (let d = 0; d < 200; d++) {
        const dir = project.path('in', `pkg${d}`, 'src');
        mkdirSync(dir, { recursive: true });
        for (let f = 0; f < 100; f++)
          writeFileSync(join(dir, `File${f}.php`), `<?php // ${d}/${f}\n`);
      }
      // Age the tree past the racy window, so the cache trusts it as it would a real checkout.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      expect((await project.task(['copy'])).exitCode).toBe(0);
      expect((await project.task(['copy'])).exitCode).toBe(0);
      project.clearRuns();
    }, 120_000);
    afterAll(() => project.remove());

    it('reruns after a one-byte edit deep in the tree, and not otherwise', async () => {
      await project.task(['copy']);
      expect(project.runs()).toEqual([]);
      rewriteSameSize(project.path('in/pkg137/src/File42.php'), '<?php // 137/43');
      await project.task(['copy']);
      expect(project.runs()).toEqual(['copy']);
    });
  });
});
