/**
 * Bundles a Taskfile (and what it imports) with esbuild into .task/cache/ and describes it for
 * the loader's manifest: what each task's definition covers, and what makes the bundle stale.
 * Only a run whose cached bundle is stale comes here: the loader imports this module lazily, as
 * it does esbuild, so a run that reads the cache compiles none of it.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeFileAtomic } from './atomic-file.js';
import { DeferredErrors } from './deferred-build-errors.js';
import type { EsbuildMessage } from './deferred-build-errors.js';
import { DSL_URL, ENGINE_URL, engineBuild } from './loader.js';
import type { LoadError, Manifest } from './loader.js';
import { toPosix } from './module-graph.js';
import { describeModules } from './module-records.js';

/**
 * Each module's `import ... from 'taskgraph'` binds to a virtual module of its own, whose task(),
 * file() and rule() record that module as the definition's: the module where the call stands,
 * known without a stack trace per call (a no-op run of 1,000 tasks would pay for 1,000).
 */
const BOUND = 'taskgraph-bound';

export async function bundle(
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
