/**
 * The records of a Taskfile's modules for the loader's manifest (module-graph.ts), from the
 * metafile of the bundle just built: per local module its content hash, the local modules it
 * imports (static, dynamic and glob imports alike) and the packages it imports, by version.
 * Only a run that bundles comes here (taskfile-bundle.ts); every other run reads the records.
 */
import { hash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Metafile } from 'esbuild';
import { toPosix } from './module-graph.js';
import type { ModuleRecord, PackageRecord } from './module-graph.js';

export interface DescribeOptions {
  /** The Taskfile's folder: esbuild's absWorkingDir, to which metafile paths are relative. */
  root: string;
  /**
   * The engine's own files (external imports whose path starts with this URL) count as the
   * engine's package, by the version in this package.json.
   */
  engine: { urlPrefix: string; packageJson: string };
  /** A metafile input that is no file (the loader's virtual modules): its imports are its importers'. */
  isVirtual: (input: string) => boolean;
}

/** The records for the manifest, from the metafile of the bundle just built. */
export function describeModules(
  metafile: Metafile,
  options: DescribeOptions,
): { modules: ModuleRecord[]; packages: PackageRecord[] } {
  const { root } = options;
  const inputs = metafile.inputs;
  const files = Object.keys(inputs).filter((input) => !options.isVirtual(input));
  const packages = new Map<string, PackageRecord>();
  const packageOf = (specifier: string, importer: string): string | undefined => {
    const found = findPackage(specifier, importer, options);
    if (!found) return undefined;
    const file = toPosix(relative(root, found));
    if (!packages.has(file)) packages.set(file, readPackage(found, file));
    return file;
  };

  const modules = files.map((input): ModuleRecord => {
    const absolute = resolve(root, input);
    const data = readFileSync(absolute);
    const stats = statSync(absolute);
    const imports = new Set<string>();
    const used = new Set<string>();
    // A virtual module's imports are followed as if the importer had written them.
    const edges = [...inputs[input]!.imports];
    for (let index = 0; index < edges.length; index++) {
      const edge = edges[index]!;
      if (!edge.external) {
        if (options.isVirtual(edge.path)) edges.push(...(inputs[edge.path]?.imports ?? []));
        else imports.add(edge.path);
      } else if (isGlob(edge.path)) {
        // `import(`./${name}.ts`)`: esbuild bundles every match and records the pattern.
        for (const match of globMatches(edge.path, input, files)) imports.add(match);
      } else {
        const file = packageOf(edge.path, absolute);
        if (file !== undefined) used.add(file);
      }
    }
    return {
      path: toPosix(relative(root, absolute)),
      size: stats.size,
      mtimeMs: stats.mtimeMs,
      sha256: hash('sha256', data),
      imports: [...imports].map((path) => toPosix(relative(root, resolve(root, path)))).sort(),
      packages: [...used].sort(),
    };
  });
  return { modules, packages: [...packages.values()] };
}

function isGlob(path: string): boolean {
  return path.startsWith('.') && path.includes('*');
}

function globMatches(pattern: string, importer: string, files: readonly string[]): string[] {
  const absolute = posix.join(posix.dirname(toPosix(importer)), pattern);
  // esbuild's patterns use only `*` (within a name) and `**/` (any folders): no picomatch needed.
  const source = absolute
    .split(/(\*\*\/|\*)/)
    .map((part) =>
      part === '**/'
        ? '(?:.*/)?'
        : part === '*'
          ? '[^/]*'
          : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  const regex = new RegExp(`^${source}$`);
  return files.filter((file) => regex.test(toPosix(file)));
}

/**
 * The package.json an external import reads from; undefined for Node's built-ins (`fs` finds no
 * node_modules/fs: without node:module's list, which would load on every run).
 */
function findPackage(
  specifier: string,
  importer: string,
  options: DescribeOptions,
): string | undefined {
  if (specifier.startsWith(options.engine.urlPrefix)) return options.engine.packageJson;
  if (specifier.startsWith('node:')) return undefined;
  if (specifier.startsWith('file:')) return packageJsonAbove(fileURLToPath(specifier));
  const name = packageName(specifier);
  if (name === undefined) return undefined;
  for (let dir = dirname(importer); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name, 'package.json');
    if (statSync(candidate, { throwIfNoEntry: false })?.isFile()) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/** `@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`; undefined for a path. */
function packageName(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function packageJsonAbove(file: string): string | undefined {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    const candidate = join(dir, 'package.json');
    if (statSync(candidate, { throwIfNoEntry: false })?.isFile()) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

function readPackage(path: string, file: string): PackageRecord {
  const stats = statSync(path);
  let parsed: { name?: unknown; version?: unknown } = {};
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as typeof parsed;
  } catch {
    // An unreadable package.json still counts, by its size and mtime through the manifest.
  }
  return {
    file,
    name: typeof parsed.name === 'string' ? parsed.name : file,
    version: typeof parsed.version === 'string' ? parsed.version : 'unknown',
    size: stats.size,
    mtimeMs: stats.mtimeMs,
  };
}
