/**
 * A task's definition is the code it runs: the module where its task() call stands and every
 * local module that module imports, transitively, as Bazel counts a rule's .bzl file and its
 * loads. Packages count by their installed name and version, not by their files.
 *
 * The graph is esbuild's: the loader's bundle step records, per local module, its content hash,
 * the local modules it imports and the packages it imports (describeModules). That runs only when
 * a source changed; every other run reads the records from the loader's manifest and computes the
 * closure of each module that defines tasks, once (ModuleGraph).
 */
import { hash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Metafile } from 'esbuild';

/** One local module of the Taskfile, as the loader's manifest keeps it. */
export interface ModuleRecord {
  /** Relative to the Taskfile's folder, with `/` separators: how --explain names it. */
  path: string;
  size: number;
  mtimeMs: number;
  sha256: string;
  /** Local modules it imports (static, dynamic and glob imports alike), by path. */
  imports: string[];
  /** Packages it imports, by the path of their package.json (an index into the packages). */
  packages: string[];
}

/** An installed package a module imports; its version stands for all of its files. */
export interface PackageRecord {
  /** The package.json, relative to the Taskfile's folder: stat'ed to notice an upgrade. */
  file: string;
  name: string;
  version: string;
  size: number;
  mtimeMs: number;
}

/** What a task's definition covers: its defining module's closure. */
export interface DefiningModule {
  readonly path: string;
  /** sha256 over the closure (the fingerprint's ingredient). */
  readonly digest: string;
  /**
   * Each module of the closure by path (its sha256) and each package by `package:<name>` (its
   * version): what --explain compares to name the module that changed.
   */
  readonly closure: Readonly<Record<string, string>>;
}

/** Key of a package in a closure: never a module path, which is a relative file name. */
export const PACKAGE_PREFIX = 'package:';

/** The closures of the modules that define tasks, computed on first use, once per module. */
export class ModuleGraph {
  readonly #modules = new Map<string, ModuleRecord>();
  readonly #packages = new Map<string, PackageRecord>();
  readonly #defining = new Map<string, DefiningModule | undefined>();

  constructor(modules: readonly ModuleRecord[], packages: readonly PackageRecord[]) {
    for (const module of modules) this.#modules.set(module.path, module);
    for (const record of packages) this.#packages.set(record.file, record);
  }

  definingModule(path: string): DefiningModule | undefined {
    if (this.#defining.has(path)) return this.#defining.get(path);
    const defining = this.#closureOf(path);
    this.#defining.set(path, defining);
    return defining;
  }

  #closureOf(path: string): DefiningModule | undefined {
    if (!this.#modules.has(path)) return undefined;
    const closure: Record<string, string> = {};
    const pending = [path];
    for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
      const module = this.#modules.get(next);
      if (!module || closure[module.path] !== undefined) continue;
      closure[module.path] = module.sha256;
      pending.push(...module.imports);
      for (const file of module.packages) {
        const record = this.#packages.get(file);
        if (!record) continue;
        const key = PACKAGE_PREFIX + record.name;
        // Two installs of one package in a closure (nested node_modules) count by both versions.
        const seen = closure[key];
        closure[key] =
          seen === undefined || seen.split(',').includes(record.version)
            ? (seen ?? record.version)
            : [seen, record.version].sort().join(',');
      }
    }
    const sorted = Object.keys(closure).sort();
    let listing = '';
    for (const key of sorted) listing += `${key}\0${closure[key]}\n`;
    const ordered: Record<string, string> = {};
    for (const key of sorted) ordered[key] = closure[key] as string;
    return { path, digest: hash('sha256', listing), closure: ordered };
  }
}

/** True while every package.json recorded is the one that was read (no install changed it). */
export function packagesUnchanged(packages: readonly PackageRecord[], root: string): boolean {
  return packages.every((record) => {
    const stats = statSync(join(root, record.file), { throwIfNoEntry: false });
    return stats?.size === record.size && stats.mtimeMs === record.mtimeMs;
  });
}

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

/** Paths as the manifest and --explain name them, whatever the platform's separator. */
export function toPosix(path: string): string {
  return path.split('\\').join('/');
}
