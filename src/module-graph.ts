/**
 * A task's definition is the code it runs: the module where its task() call stands and every
 * local module that module imports, transitively, as Bazel counts a rule's .bzl file and its
 * loads. Packages count by their installed name and version, not by their files.
 *
 * The graph is esbuild's: the loader's bundle step records, per local module, its content hash,
 * the local modules it imports and the packages it imports (module-records.ts). That runs only
 * when a source changed; every other run reads the records from the loader's manifest and
 * computes the closure of each module that defines tasks, once (ModuleGraph).
 */
import { hash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';

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

/** Paths as the manifest and --explain name them, whatever the platform's separator. */
export function toPosix(path: string): string {
  return path.split('\\').join('/');
}
