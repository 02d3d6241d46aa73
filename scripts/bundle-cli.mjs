// Bundles the engine with esbuild into dist/: the CLI (src/main.ts -> dist/cli.bundle.js) and, in
// the same build, every entry of package.json's "exports" (`taskgraph` -> dist/index.js,
// `taskgraph/docker` -> dist/docker/index.js) and the loader's internal entry (dist/internal/dsl.js).
// Built together with code splitting, the entries share their modules through chunks, so a
// Taskfile's `import 'taskgraph'` (which the loader resolves to these very files) runs the same
// copy of the task registry, the failure type and the process table as the CLI: one engine per
// process, no bridge between two copies. tsc writes only the type declarations beside them.
//
// Start-up is a measured target: Node loads an ES module file at a time, and the CLI with execa
// is ~170 of them; bundled, a no-op run loads a handful and a rerun that spawns processes adds
// one chunk. Run by `npm run build` and by the tests' global setup (test/support/build.ts).
//
//   node scripts/bundle-cli.mjs
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, URL } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');

/** `./dist/docker/index.js` -> entry `docker/index` from `src/docker/index.ts`. */
function publicEntries() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const entries = {};
  for (const target of Object.values(pkg.exports)) {
    const file = typeof target === 'string' ? target : target.default;
    const name = file.replace(/^\.\/dist\//, '').replace(/\.js$/, '');
    entries[name] = `src/${name}.ts`;
  }
  return entries;
}

const { metafile } = await build({
  absWorkingDir: root,
  entryPoints: {
    'cli.bundle': 'src/main.ts',
    ...publicEntries(),
    // task(), file() and rule() bound to a defining module (see src/loader.ts): not public API.
    'internal/dsl': 'src/dsl.ts',
  },
  outdir: 'dist',
  // Lazily imported modules (the TTY renderer, watch mode, execa) stay separate chunks, loaded
  // only by the runs that need them.
  chunkNames: 'cli-chunk-[name]-[hash]',
  bundle: true,
  splitting: true,
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
});

// Chunks are named by content hash: once the new build is in place, remove the JavaScript it no
// longer makes (old chunks, and tsc's per-module output from before the engine was bundled), so
// that nothing stale can be imported (a failed build leaves the previous one whole). Type
// declarations stay: tsc writes them.
const current = new Set(Object.keys(metafile.outputs).map((path) => relative('dist', path)));
for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !/\.js(\.map)?$/.test(entry.name)) continue;
  const path = relative(dist, join(entry.parentPath, entry.name));
  if (!current.has(path)) rmSync(join(dist, path));
}
