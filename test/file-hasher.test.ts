import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileHasher } from '../src/file-hasher.js';
import { unchanged, walk } from '../src/tree-listing.js';
import { Project } from './support/project.js';

/** Longer than RACY_MARGIN_MS: only then are stats and listings trusted. */
const AGE_MS = 1100;
const age = () => new Promise((resolve) => setTimeout(resolve, AGE_MS));

/**
 * Each case has its own folder and glob set. All are built, aged past the racy window and listed
 * once into a shared cache before any case changes its folder; each case then checks that a fresh
 * hasher, opened on that cache, sees the change instead of the stored listing.
 */
const CASES: Record<string, string[]> = {
  added: ['added/**'],
  addedMatch: ['added-match/**/*.php'],
  deleted: ['deleted/**'],
  renamed: ['renamed/**'],
  replaced: ['replaced/**'],
  dot: ['dot/**'],
  negated: ['negated/**', '!negated/skip/**'],
  literal: ['literal'],
  linked: ['linked/**'],
  untouched: ['untouched/**'],
  appeared: ['appeared/**'],
};

describe('FileHasher listings (unchanged-tree cache)', () => {
  let project: Project;
  let cache: string;
  const paths = async (patterns: string[]) =>
    (await FileHasher.open(project.dir, cache).hashInputs(patterns)).map((d) => d.path);

  beforeAll(async () => {
    project = new Project({
      'added/a.txt': 'a',
      'added/empty/deeper/.keep-dir-only': '',
      'added-match/lib/README.md': 'no php here',
      'added-match/src/A.php': '<?php',
      'deleted/a.txt': 'a',
      'deleted/b.txt': 'b',
      'renamed/old/x.txt': 'x',
      'replaced/x': 'a file, for now',
      'dot/a.txt': 'a',
      'negated/keep/a.txt': 'a',
      'negated/skip/a.txt': 'a',
      'literal/a.txt': 'a',
      'outside/a.txt': 'a',
      'untouched/a.txt': 'a',
    });
    rmSync(project.path('added/empty/deeper/.keep-dir-only'));
    mkdirSync(project.path('linked'));
    symlinkSync('../outside', project.path('linked/to-outside'));
    cache = project.path('.task', 'stat-cache.json');
    await age();
    const hasher = FileHasher.open(project.dir, cache);
    for (const patterns of Object.values(CASES)) await hasher.hashInputs(patterns);
    hasher.save();
  }, 30_000);
  afterAll(() => project.remove());

  it('lists an untouched tree as before', async () => {
    expect(await paths(CASES.untouched as string[])).toEqual(['untouched/a.txt']);
  });

  it('finds a file added deep under a folder that held no files', async () => {
    writeFileSync(project.path('added/empty/deeper/new.txt'), 'new');
    expect(await paths(CASES.added as string[])).toEqual([
      'added/a.txt',
      'added/empty/deeper/new.txt',
    ]);
  });

  it('finds a matching file added to a folder that held only non-matching ones', async () => {
    writeFileSync(project.path('added-match/lib/B.php'), '<?php');
    expect(await paths(CASES.addedMatch as string[])).toEqual([
      'added-match/lib/B.php',
      'added-match/src/A.php',
    ]);
  });

  it('drops a deleted file, from the list watch mode gets too', async () => {
    rmSync(project.path('deleted/b.txt'));
    // hashInputs would skip a listed file that is gone anyway; expand() returns the list itself.
    const hasher = FileHasher.open(project.dir, cache);
    expect(await hasher.expand(CASES.deleted as string[])).toEqual(['deleted/a.txt']);
    expect(await paths(CASES.deleted as string[])).toEqual(['deleted/a.txt']);
  });

  it('follows a renamed folder', async () => {
    renameSync(project.path('renamed/old'), project.path('renamed/new'));
    expect(await paths(CASES.renamed as string[])).toEqual(['renamed/new/x.txt']);
  });

  it('sees a file replaced by a folder of the same name', async () => {
    rmSync(project.path('replaced/x'));
    mkdirSync(project.path('replaced/x'));
    writeFileSync(project.path('replaced/x/y.txt'), 'y');
    expect(await paths(CASES.replaced as string[])).toEqual(['replaced/x/y.txt']);
  });

  it('finds new dot files and files in dot folders', async () => {
    writeFileSync(project.path('dot/.env'), 'SECRET=1');
    mkdirSync(project.path('dot/.config'));
    writeFileSync(project.path('dot/.config/x'), 'x');
    expect(await paths(CASES.dot as string[])).toEqual(['dot/.config/x', 'dot/.env', 'dot/a.txt']);
  });

  it('keeps negated paths out, and a glob set without the negation has its own listing', async () => {
    writeFileSync(project.path('negated/skip/b.txt'), 'b');
    writeFileSync(project.path('negated/keep/b.txt'), 'b');
    expect(await paths(CASES.negated as string[])).toEqual([
      'negated/keep/a.txt',
      'negated/keep/b.txt',
    ]);
    expect(await paths(['negated/**'])).toEqual([
      'negated/keep/a.txt',
      'negated/keep/b.txt',
      'negated/skip/a.txt',
      'negated/skip/b.txt',
    ]);
  });

  it('finds files in a folder that did not exist when it was listed', async () => {
    mkdirSync(project.path('appeared'));
    writeFileSync(project.path('appeared/a.txt'), 'a');
    expect(await paths(CASES.appeared as string[])).toEqual(['appeared/a.txt']);
  });

  it('lists everything below a literal folder, new files included', async () => {
    mkdirSync(project.path('literal/sub'));
    writeFileSync(project.path('literal/sub/b.txt'), 'b');
    expect(await paths(CASES.literal as string[])).toEqual(['literal/a.txt', 'literal/sub/b.txt']);
  });

  it('sees a file added behind a symbolic link to a folder elsewhere', async () => {
    writeFileSync(project.path('outside/b.txt'), 'b');
    expect(await paths(CASES.linked as string[])).toEqual([
      'linked/to-outside/a.txt',
      'linked/to-outside/b.txt',
    ]);
  });
});

describe('tree listings', () => {
  let project: Project;
  beforeAll(() => {
    project = new Project({ 'a/b/c.txt': 'c' });
  });
  afterAll(() => project.remove());

  it('are not kept while a folder changed within the racy window, and kept once it aged', async () => {
    const fresh = await walk(project.dir, ['a/**']);
    expect(fresh.files).toEqual(['a/b/c.txt']);
    expect(fresh.listing).toBeUndefined();

    await age();
    const aged = await walk(project.dir, ['a/**']);
    expect(aged.listing?.files).toEqual(['a/b/c.txt']);
    expect(aged.listing && unchanged(project.dir, aged.listing)).toBe(true);

    writeFileSync(project.path('a/b/d.txt'), 'd');
    expect(aged.listing && unchanged(project.dir, aged.listing)).toBe(false);
  });

  it('see a file added right after the walk (the racy case)', async () => {
    const cache = project.path('racy-cache.json');
    mkdirSync(project.path('racy'));
    writeFileSync(project.path('racy/a.txt'), 'a');
    const first = FileHasher.open(project.dir, cache);
    expect((await first.hashInputs(['racy/**'])).map((d) => d.path)).toEqual(['racy/a.txt']);
    first.save();
    // On a filesystem with coarse timestamps this lands in the walk's tick and leaves the folder's
    // mtime as it was; where timestamps are fine-grained it only checks the plain case, and the
    // test above is the one that fails if racy listings are kept.
    writeFileSync(project.path('racy/b.txt'), 'b');
    const second = FileHasher.open(project.dir, cache);
    expect((await second.hashInputs(['racy/**'])).map((d) => d.path)).toEqual([
      'racy/a.txt',
      'racy/b.txt',
    ]);
  });
});
