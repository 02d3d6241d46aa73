/**
 * Loads Taskfile.ts (and what it imports) without a build step: esbuild bundles it once into
 * .task/cache/, keyed by the content of every file it is made of, and later runs import the
 * cached bundle without loading esbuild at all (a no-op run's start-up is a measured figure).
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readJson, writeFileAtomic } from './atomic-file.js';
import { installRegistry, Registry } from './dsl.js';
import { describeUserError, missingPackage, userLocation } from './source-location.js';
import { ModuleGraph, packagesUnchanged } from './module-graph.js';
import type { ModuleRecord, PackageRecord } from './module-graph.js';

export const TASKFILE_NAMES = ['Taskfile.ts', 'Taskfile.mts', 'Taskfile.js', 'Taskfile.mjs'];

export type LoadError =
  | { reason: 'not-found'; searchedFrom: string }
  | { reason: 'missing-file'; file: string }
  | {
      reason: 'syntax';
      file: string;
      line: number;
      column: number;
      message: string;
      lineText: string;
    }
  | { reason: 'evaluation'; file: string; message: string; where: string | undefined };

export type Loaded =
  | { ok: true; registry: Registry; file: string; root: string; sources: string[] }
  | { ok: false; error: LoadError };

export interface Manifest {
  version: 2;
  entry: string;
  engine: string;
  /** Entry of the bundle, relative to .task/cache/. */
  bundle: string;
  /** Every local source of the bundle: what makes it stale, and each task's definition. */
  inputs: ModuleRecord[];
  /** Packages the sources import: an install that changes one changes the definitions. */
  packages: PackageRecord[];
  /**
   * Folders of the sources, by mtime: a file added beside them (environments/qa.ts, picked up
   * by a glob import) rebuilds the bundle even though no recorded source changed.
   */
  dirs: { path: string; mtimeMs: number }[];
}

/** The engine's own entry: a Taskfile's `import 'taskgraph'` binds to the running CLI's copy. */
export const ENGINE_URL = new URL('./index.js', import.meta.url).href;
/** Where the DSL bound to a defining module comes from (see taskgraphFor): not public API. */
export const DSL_URL = new URL('./cli.bundle.js', import.meta.url).href;

/**
 * Which engine build the cached bundle links to (its import paths name the engine's files): a
 * rebuilt or moved engine rebundles the Taskfile. One stat per run.
 */
export function engineBuild(): string {
  return `${DSL_URL}@${statSync(fileURLToPath(DSL_URL), { throwIfNoEntry: false })?.mtimeMs ?? 0}`;
}

export function findTaskfile(cwd: string, file?: string): { file: string } | { error: LoadError } {
  if (file) {
    const path = resolve(cwd, file);
    return statSync(path, { throwIfNoEntry: false })?.isFile()
      ? { file: path }
      : { error: { reason: 'missing-file', file: path } };
  }
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    for (const name of TASKFILE_NAMES) {
      const path = join(dir, name);
      if (statSync(path, { throwIfNoEntry: false })?.isFile()) return { file: path };
    }
    if (dirname(dir) === dir) return { error: { reason: 'not-found', searchedFrom: resolve(cwd) } };
  }
}

export async function loadTaskfile(options: { cwd: string; file?: string }): Promise<Loaded> {
  const found = findTaskfile(options.cwd, options.file);
  if ('error' in found) return { ok: false, error: found.error };
  const { file } = found;
  const root = dirname(file);
  const cacheDir = join(root, '.task', 'cache');
  const manifestPath = join(cacheDir, 'taskfile.json');

  let manifest = readJson<Manifest>(manifestPath);
  if (!manifest || !isFresh(manifest, file)) {
    // Only a run whose cached bundle is stale bundles: the bundler, and esbuild, load only then.
    const { bundle } = await import('./taskfile-bundle.js');
    const built = await bundle(file, root, cacheDir);
    if ('error' in built) return { ok: false, error: built.error };
    manifest = built.manifest;
    // A bundle that defers a module's build error is rebuilt by every run until the module is
    // fixed: what fixes it (a created file, an install) may be nothing the manifest records.
    if (built.cacheable) writeFileAtomic(manifestPath, JSON.stringify(manifest), { fsync: false });
  }

  const registry = new Registry({
    root,
    locate: (stack) => userLocation(stack, root),
    describe: (error) => describeUserError(error, root),
    modules: new ModuleGraph(manifest.inputs, manifest.packages),
  });
  installRegistry(registry);
  try {
    await import(freshUrl(pathToFileURL(join(cacheDir, manifest.bundle)).href));
  } catch (error) {
    const err = error instanceof Error ? error : new Error(String(error));
    const missing = missingPackage(err.message, root);
    return {
      ok: false,
      error: {
        reason: 'evaluation',
        file: relative(options.cwd, file) || file,
        message: missing?.message ?? err.message,
        where: missing?.where ?? userLocation(err.stack, root),
      },
    };
  }
  return {
    ok: true,
    registry,
    file,
    root,
    sources: manifest.inputs.map((i) => join(root, i.path)),
  };
}

/** Bundles this process imported: Node evaluates a module URL once, and watch mode reloads. */
const imported = new Map<string, number>();

/** The bundle's URL, with a query when it was imported before, so that it is evaluated again. */
function freshUrl(url: string): string {
  const times = imported.get(url) ?? 0;
  imported.set(url, times + 1);
  return times === 0 ? url : `${url}?reload=${times}`;
}

function isFresh(manifest: Manifest, file: string): boolean {
  if (
    manifest.version !== 2 ||
    !Array.isArray(manifest.dirs) ||
    manifest.entry !== file ||
    manifest.engine !== engineBuild()
  )
    return false;
  const root = dirname(file);
  if (!statSync(join(root, '.task', 'cache', manifest.bundle), { throwIfNoEntry: false }))
    return false;
  const dirsSame = manifest.dirs.every(
    (dir) => statSync(join(root, dir.path), { throwIfNoEntry: false })?.mtimeMs === dir.mtimeMs,
  );
  return (
    dirsSame &&
    packagesUnchanged(manifest.packages, root) &&
    manifest.inputs.every((input) => {
      const path = join(root, input.path);
      const stats = statSync(path, { throwIfNoEntry: false });
      if (!stats) return false;
      if (stats.size === input.size && stats.mtimeMs === input.mtimeMs) return true;
      return stats.size === input.size && sha256(readFileSync(path)) === input.sha256;
    })
  );
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
