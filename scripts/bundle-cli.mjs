// Bundles the engine with esbuild into dist/ (tsc writes only the type declarations beside it):
//
//   dist/cli.bundle.js     src/engine.ts: the CLI (bin/task.js calls its main()), the package's API
//                          and the loader's internal DSL entry, in one file (lazy chunks aside)
//   dist/index.js          `taskgraph`: re-exports src/index.ts's names from cli.bundle.js
//   dist/docker/index.js   `taskgraph/docker`: the Docker helpers, a bundle of their own
//
// A Taskfile's `import 'taskgraph'` resolves (src/loader.ts) to these very files, so it runs the
// CLI's own copy of the task registry, the failure type and the process table: one engine per
// process, no bridge between two copies. The Docker helpers hold no engine state and import no
// engine module (checked below), so their separate bundle duplicates nothing that matters.
//
// Start-up is a measured target: Node loads an ES module file at a time, and the CLI with execa
// is ~170 of them; bundled, a no-op run loads cli.bundle.js (and the Taskfile's bundle) only,
// and a rerun that spawns processes adds one chunk (see foldStaticChunks). Run by
// `npm run build` and by the tests' global setup (test/support/build.ts).
//
//   node scripts/bundle-cli.mjs
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');

const common = {
  absWorkingDir: root,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // esbuild finds its native binary through its own package: it cannot be bundled.
  external: ['esbuild'],
  // CommonJS dependencies (cross-spawn, under execa) call require() for Node's built-ins, which
  // are all that is left to require once everything else is bundled. Not createRequire: that
  // loads node:module into every run.
  banner: { js: 'const require = (id) => process.getBuiltinModule(id);' },
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
};

/**
 * The engine's built-in modules other than node:fs and node:path, taken with
 * process.getBuiltinModule rather than imported. Node 20 gives an imported built-in an ES module
 * facade that reads every export, getters included, so importing node:crypto also loads
 * WebCrypto, node:util its MIME parser, and so on: ~0.9 ms of a no-op run's start-up for these
 * seven (measured in a fresh process, after node:fs). node:fs and node:path are left imported:
 * a Taskfile that imports them pays for their facades anyway, and shares the engine's.
 *
 * Each becomes a module exporting the names src/ imports from it (an import esbuild cannot match
 * to one of them fails the build, naming it); a package's own imports of built-ins are left.
 */
const FACADELESS = ['node:crypto', 'node:util', 'node:os', 'node:url', 'node:string_decoder'];
FACADELESS.push('node:async_hooks', 'node:fs/promises');

function builtinsWithoutFacades() {
  const imported = new Map(FACADELESS.map((id) => [id, new Set()]));
  for (const entry of readdirSync(join(root, 'src'), { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !entry.name.endsWith('.ts')) continue;
    const file = join(entry.parentPath, entry.name);
    const source = readFileSync(file, 'utf8');
    // A default or namespace import would see only the names imported elsewhere: refuse it.
    for (const [, id] of source.matchAll(/^import (?!type\b)(?!\{)[^;]*? from '(node:[^']+)'/gm)) {
      if (imported.has(id)) {
        throw new Error(
          `${relative(root, file)}: import names from ${id}, as { a, b } (see builtinsWithoutFacades in scripts/bundle-cli.mjs)`,
        );
      }
    }
    for (const [, list, id] of source.matchAll(/^import \{([^}]*)\} from '(node:[^']+)'/gm)) {
      for (const item of imported.get(id) === undefined ? [] : list.split(',')) {
        const name = item.trim().split(/\s+as\s+/)[0];
        if (name && !name.startsWith('type ')) imported.get(id).add(name);
      }
    }
  }
  const src = join(root, 'src');
  return {
    name: 'builtins-without-facades',
    setup(pass) {
      // Static imports only: a dynamic import() wants the whole module (its default too), which
      // the names collected above are not.
      pass.onResolve({ filter: /^node:/ }, (args) =>
        args.kind === 'import-statement' && imported.has(args.path) && args.importer.startsWith(src)
          ? { path: args.path, namespace: 'builtin' }
          : undefined,
      );
      pass.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
        contents: `const builtin = process.getBuiltinModule(${JSON.stringify(args.path)});\nexport const { ${[...imported.get(args.path)].join(', ')} } = builtin;\n`,
        loader: 'js',
      }));
    },
  };
}

const engine = await build({
  ...common,
  plugins: [builtinsWithoutFacades()],
  entryPoints: { 'cli.bundle': 'src/engine.ts' },
  outdir: 'dist',
  // Lazily imported modules (the TTY renderer, watch mode, execa) stay separate chunks, loaded
  // only by the runs that need them.
  chunkNames: 'cli-chunk-[name]-[hash]',
  splitting: true,
});

const merged = await foldStaticChunks(engine.metafile, 'dist/cli.bundle.js');

const docker = await build({
  ...common,
  entryPoints: { 'docker/index': 'src/docker/index.ts' },
  outdir: 'dist',
});

const engineInputs = new Set(Object.keys(engine.metafile.inputs));
const shared = Object.keys(docker.metafile.inputs).filter(
  (input) => input.startsWith('src/') && engineInputs.has(input),
);
if (shared.length > 0) {
  throw new Error(
    `dist/docker/index.js would carry a second copy of ${shared.join(', ')}: the Docker helpers must not import engine modules`,
  );
}

// `taskgraph`: exactly src/index.ts's names, taken from cli.bundle.js (which also exports main).
const api = await build({
  ...common,
  entryPoints: ['src/index.ts'],
  write: false,
  outdir: 'dist',
  packages: 'external',
  sourcemap: false,
});
const names = Object.values(api.metafile.outputs).flatMap((output) => output.exports);
writeFileSync(
  join(dist, 'index.js'),
  `// The package's API (src/index.ts), from the engine's own bundle: see scripts/bundle-cli.mjs.\nexport { ${names.sort().join(', ')} } from './cli.bundle.js';\n`,
);

/**
 * esbuild puts the code the entry shares with a lazy chunk (the scheduler with watch mode, the
 * failure type with everything) into shared chunks of their own, which every run then loads
 * beside cli.bundle.js: six module files for a no-op run, and Node 20 links ES modules a file at
 * a time (measured: ~3 ms of a no-op run's start-up against one file). So a second esbuild pass
 * folds the entry's static chunks into cli.bundle.js, which also re-exports their names, and the
 * lazy chunks import those names from cli.bundle.js instead: still one copy of every module (the
 * lazy chunks are only ever loaded by cli.bundle.js, so it has run by then), and a run that
 * loads nothing lazily opens one file. Returns the files it wrote and the chunks it folded.
 */
async function foldStaticChunks(metafile, entry) {
  const outputs = metafile.outputs;
  // The entry's static chunks and, transitively, theirs: the list grows as it is walked.
  const folded = [];
  const walk = [entry];
  for (let index = 0; index < walk.length; index++) {
    for (const { path, kind, external } of outputs[walk[index]].imports) {
      if (kind !== 'import-statement' || external || folded.includes(path)) continue;
      folded.push(path);
      walk.push(path);
    }
  }
  const name = (file) => `./${relative('dist', file)}`;
  // Every name of the entry and of its static chunks, re-exported: `export *` drops a name two
  // of them export for different bindings, which the check below turns into a build error
  // (esbuild's metafile still lists such a name: the module itself is asked).
  const modules = [entry, ...folded];
  const result = await build({
    ...common,
    stdin: {
      contents: modules.map((file) => `export * from ${JSON.stringify(name(file))};\n`).join(''),
      resolveDir: dist,
      sourcefile: 'cli.bundle.fold.js',
    },
    outfile: entry,
    write: false,
    plugins: [
      {
        name: 'lazy-stays-lazy',
        setup(pass) {
          // The lazy chunks stay files of their own, beside the output as they were.
          pass.onResolve({ filter: /.*/ }, (args) =>
            args.kind === 'dynamic-import' ? { path: args.path, external: true } : undefined,
          );
        },
      },
    ],
  });
  for (const out of result.outputFiles) writeFileSync(out.path, out.contents);
  const exported = new Set(Object.keys(await import(pathToFileURL(join(root, entry)).href)));
  const missing = modules.flatMap((file) => outputs[file].exports.filter((n) => !exported.has(n)));
  if (missing.length > 0) {
    throw new Error(
      `folding the static chunks into ${entry} loses the exports ${missing.join(', ')} (two chunks export the name)`,
    );
  }
  const specifiers = new Set(folded.map(name));
  for (const file of Object.keys(outputs)) {
    if (!file.endsWith('.js') || file === entry || folded.includes(file)) continue;
    const text = readFileSync(join(root, file), 'utf8');
    const relinked = text.replace(/(\b(?:from|import)\s*)"(\.\/[^"]+)"/g, (whole, keyword, spec) =>
      specifiers.has(spec) ? `${keyword}"./cli.bundle.js"` : whole,
    );
    // A folded chunk still named anywhere would be a second copy of its modules, or a failure.
    const stale = [...specifiers].find((spec) => relinked.includes(`"${spec}"`));
    if (stale !== undefined)
      throw new Error(`${file} still imports ${stale}, folded into ${entry}`);
    if (relinked !== text) writeFileSync(join(root, file), relinked);
  }
  return {
    written: Object.keys(result.metafile.outputs),
    folded: folded.flatMap((file) => [file, `${file}.map`]),
  };
}

// Chunks are named by content hash: once the new build is in place, remove the JavaScript it no
// longer makes (old chunks, and tsc's per-module output from before the engine was bundled), so
// that nothing stale can be imported (a failed build leaves the previous one whole). Type
// declarations stay: tsc writes them.
const current = new Set(
  [
    ...Object.keys(engine.metafile.outputs).filter((file) => !merged.folded.includes(file)),
    ...merged.written,
    ...Object.keys(docker.metafile.outputs),
    'dist/index.js',
  ].map((path) => relative('dist', path)),
);
for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !/\.js(\.map)?$/.test(entry.name)) continue;
  const path = relative(dist, join(entry.parentPath, entry.name));
  if (!current.has(path)) rmSync(join(dist, path));
}
