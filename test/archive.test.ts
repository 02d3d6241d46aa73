import { createHash } from 'node:crypto';
import {
  chmod,
  link,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { list } from 'tar';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ARCHIVE_MTIME, createDeterministicTar } from '../src/archive.js';

// Long enough to need a ustar prefix or a pax path header (over 100 characters).
const longDir = `vendor/${'deeply-nested-package-name/'.repeat(4)}src`;

interface TreeVariant {
  /** Permission bits given to plain files and to directories/executables. */
  readonly fileMode: number;
  readonly execMode: number;
  readonly mtime: Date;
  /** Creation order differs between variants so readdir order may too. */
  readonly reverse: boolean;
  readonly hardLink: boolean;
}

const files: [string, string][] = [
  ['composer.json', '{"name":"example/app"}\n'],
  ['composer.lock', '{"packages":[]}\n'],
  ['vendor/autoload.php', '<?php return 1;\n'],
  ['vendor/b/B.php', '<?php class B {}\n'],
  ['vendor/a/A.php', '<?php class A {}\n'],
  [`${longDir}/Long.php`, '<?php class Long {}\n'],
];

async function makeTree(root: string, variant: TreeVariant): Promise<void> {
  const ordered = variant.reverse ? [...files].reverse() : files;
  for (const [file, content] of ordered) {
    await mkdir(path.join(root, path.dirname(file)), { recursive: true });
    await writeFile(path.join(root, file), content);
    await chmod(path.join(root, file), variant.fileMode);
  }
  await mkdir(path.join(root, 'vendor/bin'), { recursive: true });
  await writeFile(path.join(root, 'vendor/bin/tool'), '#!/bin/sh\necho tool\n');
  await chmod(path.join(root, 'vendor/bin/tool'), variant.execMode);
  await symlink('../a/A.php', path.join(root, 'vendor/bin/a-link'));
  if (variant.hardLink) {
    // Same bytes as a regular file, but tar would write a hard-link entry unless told otherwise.
    await link(path.join(root, 'vendor/a/A.php'), path.join(root, 'vendor/a/Copy.php'));
  } else {
    await writeFile(path.join(root, 'vendor/a/Copy.php'), '<?php class A {}\n');
    await chmod(path.join(root, 'vendor/a/Copy.php'), variant.fileMode);
  }
  for (const dir of ['vendor', 'vendor/a', 'vendor/b', 'vendor/bin', longDir]) {
    await chmod(path.join(root, dir), variant.execMode);
  }
  for (const file of [...files.map(([name]) => name), 'vendor/bin/tool', 'vendor/a/Copy.php']) {
    await utimes(path.join(root, file), variant.mtime, variant.mtime);
  }
}

interface ListedEntry {
  path: string;
  type: string;
  mode: number | undefined;
  uid: number | undefined;
  gid: number | undefined;
  uname: string | undefined;
  mtime: number | undefined;
}

async function listArchive(file: string): Promise<ListedEntry[]> {
  const entries: ListedEntry[] = [];
  await list({
    file,
    onReadEntry: (entry) => {
      entries.push({
        path: entry.path,
        type: entry.type,
        mode: entry.mode,
        uid: entry.uid,
        gid: entry.gid,
        uname: entry.uname,
        mtime: entry.mtime?.getTime(),
      });
    },
  });
  return entries;
}

const sha256 = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

describe('createDeterministicTar', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'taskgraph-archive-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gives byte-identical archives for trees that differ only in metadata', async () => {
    const first = path.join(dir, 'first');
    const second = path.join(dir, 'second');
    await makeTree(first, {
      fileMode: 0o600,
      execMode: 0o700,
      mtime: new Date('1995-06-01T12:00:00Z'),
      reverse: false,
      hardLink: false,
    });
    await makeTree(second, {
      fileMode: 0o664,
      execMode: 0o775,
      mtime: new Date(),
      reverse: true,
      hardLink: true,
    });
    const entries = ['composer.json', 'composer.lock', 'vendor'];

    const firstSha = await createDeterministicTar({ cwd: first, entries, file: '../first.tar' });
    const secondSha = await createDeterministicTar({
      cwd: second,
      entries: [...entries].reverse(),
      file: path.join(dir, 'second.tar'),
    });

    expect(secondSha).toBe(firstSha);
    expect(await sha256(path.join(dir, 'first.tar'))).toBe(firstSha);
    expect(await sha256(path.join(dir, 'second.tar'))).toBe(firstSha);
  });

  it('writes sorted entries with normalized owner, modes and mtime', async () => {
    const tree = path.join(dir, 'tree');
    await makeTree(tree, {
      fileMode: 0o600,
      execMode: 0o700,
      mtime: new Date(),
      reverse: true,
      hardLink: true,
    });
    const file = path.join(dir, 'out.tar');

    await createDeterministicTar({ cwd: tree, entries: ['vendor', 'composer.json'], file });
    const entries = await listArchive(file);

    const paths = entries.map((entry) => entry.path);
    expect(paths).toEqual([...paths].sort());
    expect(paths).toContain(`${longDir}/Long.php`);
    expect(paths).not.toContain('composer.lock');
    const byPath = new Map(entries.map((entry) => [entry.path, entry]));
    expect(byPath.get('composer.json')?.mode).toBe(0o644);
    expect(byPath.get('vendor/')?.mode).toBe(0o755);
    expect(byPath.get('vendor/bin/tool')?.mode).toBe(0o755);
    expect(byPath.get('vendor/bin/a-link')?.type).toBe('SymbolicLink');
    expect(byPath.get('vendor/a/Copy.php')?.type).toBe('File');
    for (const entry of entries) {
      expect(entry.uid ?? 0).toBe(0);
      expect(entry.gid ?? 0).toBe(0);
      expect(entry.uname ?? '').toBe('');
      expect(entry.mtime).toBe(ARCHIVE_MTIME.getTime());
    }
  });

  it('changes the digest when a file changes', async () => {
    const tree = path.join(dir, 'tree');
    const variant = {
      fileMode: 0o644,
      execMode: 0o755,
      mtime: new Date(),
      reverse: false,
      hardLink: false,
    };
    await makeTree(tree, variant);
    const before = await createDeterministicTar({ cwd: tree, entries: ['.'], file: '../a.tar' });
    await writeFile(path.join(tree, 'vendor/b/B.php'), '<?php class B { }\n');
    const after = await createDeterministicTar({ cwd: tree, entries: ['.'], file: '../b.tar' });

    expect(after).not.toBe(before);
  });

  it('replaces the archive atomically and leaves no temporary files', async () => {
    const tree = path.join(dir, 'tree');
    await mkdir(tree);
    await writeFile(path.join(tree, 'a.txt'), 'a\n');
    const out = path.join(dir, 'out');
    await mkdir(out);
    await writeFile(path.join(out, 'archive.tar'), 'stale');

    const digest = await createDeterministicTar({
      cwd: tree,
      entries: ['a.txt'],
      file: path.join(out, 'archive.tar'),
    });

    expect(await readdir(out)).toEqual(['archive.tar']);
    expect(await sha256(path.join(out, 'archive.tar'))).toBe(digest);
  });

  it('rejects entries outside cwd and missing entries', async () => {
    await expect(
      createDeterministicTar({ cwd: dir, entries: ['../etc'], file: 'x.tar' }),
    ).rejects.toThrow(/inside cwd/);
    await expect(
      createDeterministicTar({ cwd: dir, entries: ['missing'], file: 'x.tar' }),
    ).rejects.toThrow(/ENOENT/);
    expect(await readdir(dir)).toEqual([]);
  });
});
