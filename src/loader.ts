/**
 * Loads Taskfile.ts (and what it imports) without a build step: esbuild bundles it once into
 * .task/cache/, keyed by the content of every file it is made of, and later runs import the
 * cached bundle without loading esbuild at all (a no-op run's start-up is a measured figure).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { readJson, writeFileAtomic } from './atomic-file.js';
import { installRegistry, Registry } from './dsl.js';
import { describeUserError, missingPackage, userLocation } from './source-location.js';
import { DeferredErrors } from './deferred-build-errors.js';
import type { EsbuildMessage } from './deferred-build-errors.js';
import { describeModules, ModuleGraph, packagesUnchanged, toPosix } from './module-graph.js';
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

interface Manifest {
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
const ENGINE_URL = new URL('./index.js', import.meta.url).href;
/** Where the DSL bound to a defining module comes from (see taskgraphFor): not public API. */
const DSL_URL = new URL('./cli.bundle.js', import.meta.url).href;

/**
 * Which engine build the cached bundle links to (its import paths name the engine's files): a
 * rebuilt or moved engine rebundles the Taskfile. One stat per run.
 */
function engineBuild(): string {
  return `${DSL_URL}@${statSync(fileURLToPath(DSL_URL), { throwIfNoEntry: false })?.mtimeMs ?? 0}`;
}

/**
 * Each module's `import ... from 'taskgraph'` binds to a virtual module of its own, whose task(),
 * file() and rule() record that module as the definition's: the module where the call stands,
 * known without a stack trace per call (a no-op run of 1,000 tasks would pay for 1,000).
 */
const BOUND = 'taskgraph-bound';

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

async function bundle(
  file: string,
  root: string,
  cacheDir: string,
  deferred = new DeferredErrors(root, file),
): Promise<{ manifest: Manifest; cacheable: boolean } | { error: LoadError }> {
  const esbuild = await import('esbuild');
  const api = Object.keys((await import(ENGINE_URL)) as object);
  let result;
  try {
    result = await esbuild.build({
      entryPoints: { taskfile: file },
      bundle: true,
      write: false,
      // Splitting keeps `await import('./x.ts')` lazy: without it, x's package imports (the AWS
      // SDK, say) are hoisted to the top of one bundle and load on every run.
      splitting: true,
      outdir: cacheDir,
      outExtension: { '.js': '.mjs' },
      chunkNames: 'chunk-[hash]',
      metafile: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      logLevel: 'silent',
      // Maps beside the bundle, read only to locate an error (source-location.ts).
      sourcemap: 'linked',
      sourcesContent: false,
      absWorkingDir: root,
      plugins: [
        {
          name: 'taskgraph',
          setup(build) {
            build.onResolve({ filter: /^taskgraph$/ }, (args) => ({
              path: toPosix(relative(root, args.importer)),
              namespace: BOUND,
            }));
            build.onLoad({ filter: /.*/, namespace: BOUND }, (args) => ({
              contents: taskgraphFor(args.path, api),
              loader: 'js',
            }));
            build.onResolve({ filter: /^file:/, namespace: BOUND }, (args) => ({
              path: args.path,
              external: true,
            }));
            build.onResolve({ filter: /^taskgraph\/.*$/ }, (args) => engineModule(args.path));
            // The bundle lives in .task/cache/, so each source keeps its own import.meta paths.
            build.onLoad({ filter: /\.[mc]?[jt]s$/ }, (args) => {
              const failed = deferred.stub(args.path);
              if (failed !== undefined) return { contents: failed, loader: 'js' };
              const source = readFileSync(args.path, 'utf8');
              const url = pathToFileURL(args.path).href;
              const contents = source
                .replaceAll('import.meta.url', JSON.stringify(url))
                .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path)))
                .replaceAll('import.meta.filename', JSON.stringify(args.path));
              return { contents, loader: /\.[mc]?ts$/.test(args.path) ? 'ts' : 'js' };
            });
          },
        },
      ],
    });
  } catch (error) {
    const errors = (error as { errors?: EsbuildMessage[] }).errors ?? [];
    const first = errors[0];
    if (!first) throw error;
    // A module that fails to build is built again as one that throws its error when imported.
    if (deferred.add(errors)) return bundle(file, root, cacheDir, deferred);
    return { error: syntaxError(first, root, file) };
  }
  // A deferred module the Taskfile imports statically would fail every load: report it as such.
  const eager = deferred.eager(result.metafile);
  if (eager) return { error: syntaxError(eager, root, file) };
  const hash = createHash('sha256');
  for (const out of result.outputFiles)
    hash.update(relative(cacheDir, out.path)).update(out.contents);
  const folder = `bundle-${hash.digest('hex').slice(0, 16)}`;
  for (const out of result.outputFiles) {
    writeFileAtomic(join(cacheDir, folder, relative(cacheDir, out.path)), out.contents, {
      fsync: false,
    });
  }
  for (const old of readdirSync(cacheDir)) {
    if (old.startsWith('bundle-') && old !== folder)
      rmSync(join(cacheDir, old), { recursive: true, force: true });
  }
  const { modules: inputs, packages } = describeModules(result.metafile, {
    root,
    engine: {
      urlPrefix: new URL('.', ENGINE_URL).href,
      packageJson: fileURLToPath(new URL('../package.json', ENGINE_URL)),
    },
    isVirtual: (input) => input.startsWith(`${BOUND}:`),
  });
  const dirs = [...new Set(inputs.map((input) => dirname(input.path)))]
    .filter((dir) => !dir.startsWith('..') && !dir.split('/').includes('node_modules'))
    .map((dir) => ({ path: dir, mtimeMs: statSync(join(root, dir)).mtimeMs }));
  return {
    manifest: {
      version: 2,
      entry: file,
      engine: engineBuild(),
      bundle: `${folder}/taskfile.mjs`,
      inputs,
      packages,
      dirs,
    },
    cacheable: deferred.none(),
  };
}

function syntaxError(message: EsbuildMessage, root: string, file: string): LoadError {
  const location = message.location;
  return {
    reason: 'syntax',
    file: location ? resolve(root, location.file) : file,
    line: location?.line ?? 0,
    column: (location?.column ?? 0) + 1,
    message: message.text,
    lineText: location?.lineText ?? '',
  };
}

/**
 * The virtual module `import 'taskgraph'` resolves to in the module at `path`: the names of the
 * package's API (`api`, those of dist/index.js), taken from the engine's bundle itself, which the
 * CLI has loaded already. Through dist/index.js every run would load one module file more.
 */
function taskgraphFor(path: string, api: readonly string[]): string {
  const bound = ['task', 'file', 'rule'];
  const names = api.filter((name) => !bound.includes(name));
  return [
    `import { definedIn } from ${JSON.stringify(DSL_URL)};`,
    `export { ${names.join(', ')} } from ${JSON.stringify(DSL_URL)};`,
    `export const { task, file, rule } = definedIn(${JSON.stringify(path)});`,
  ].join('\n');
}

/**
 * `taskgraph/<name>` binds to the entry the running engine's package.json exports (files of the
 * CLI's own build, scripts/bundle-cli.mjs): a Taskfile and the CLI run one copy of the engine.
 * Anything else under `taskgraph/` is internal and fails the load, naming the API.
 */
function engineModule(
  specifier: string,
): { path: string; external: true } | { errors: { text: string }[] } {
  const exports = engineExports();
  const target = exports.get(`.${specifier.slice('taskgraph'.length)}`);
  if (target !== undefined) return { path: target, external: true };
  const names = [...exports.keys()].map((key) => `taskgraph${key.slice(1)}`).join(', ');
  return {
    errors: [
      {
        text: `"${specifier}" is not part of taskgraph's API (it exports ${names}); see the README's "Package exports"`,
      },
    ],
  };
}

/** The engine's package.json "exports": `.` and `./docker` -> the file URL of each entry. */
function engineExports(): Map<string, string> {
  const root = new URL('../', ENGINE_URL);
  const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as {
    exports: Record<string, string | { default: string }>;
  };
  return new Map(
    Object.entries(pkg.exports).map(([key, target]) => [
      key,
      new URL(typeof target === 'string' ? target : target.default, root).href,
    ]),
  );
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}
