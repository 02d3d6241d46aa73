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
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');

// Chunks of an earlier build are named by content hash: clear them so stale ones do not pile up.
for (const name of readdirSync(dist)) {
  if (name.startsWith('cli.bundle') || name.startsWith('cli-chunk-')) rmSync(join(dist, name));
}

await build({
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
  logLevel: 'warning',
});
