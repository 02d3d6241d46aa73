// Bundles the CLI (src/main.ts and everything it loads, execa included) into dist/cli.bundle.js,
// run by `npm run build` after tsc. Start-up is a measured target: Node loads an ES module file
// at a time, and the CLI with execa is ~170 of them; bundled, a no-op run loads two files and a
// rerun that spawns processes adds one chunk.
//
// The bundle sits in dist/ beside tsc's output (which stays the package's API: `taskgraph`,
// `taskgraph/<module>`), so `import.meta.url` means the same folder in both. A Taskfile's
// `import 'taskgraph'` binds to dist/index.js, not to the bundle, so what the two share is
// looked up through globalThis (the task registry, the live process groups) or by a brand (a
// TaskError thrown by a Taskfile), never by module identity.
//
//   node scripts/bundle-cli.mjs
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, URL } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');

const { metafile } = await build({
  absWorkingDir: root,
  entryPoints: { 'cli.bundle': 'src/main.ts' },
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

// Chunks are named by content hash: once the new build is in place, remove the ones it no longer
// uses, so that stale chunks do not pile up (a failed build leaves the previous one whole).
const current = new Set(Object.keys(metafile.outputs).map((path) => path.replace(/^dist\//, '')));
for (const name of readdirSync(dist)) {
  const ours = name.startsWith('cli.bundle') || name.startsWith('cli-chunk-');
  if (ours && !current.has(name)) rmSync(join(dist, name));
}
