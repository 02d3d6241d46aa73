/**
 * Build errors of modules the Taskfile imports lazily, deferred to the import, as Node itself
 * would report them: `await import('./environments/qa.ts')` of a file with a syntax error, or one
 * that imports a missing file, rejects that import; it does not stop the Taskfile from loading.
 * The Taskfile catches it (disableNamespace) and every other task still works.
 *
 * When esbuild fails, each module an error is located in is built again as a stub that throws
 * the located error when it is evaluated (no ESM syntax, so esbuild treats it as CommonJS and an
 * importer's named imports of it still link). A deferred module that the Taskfile's entry chunk
 * imports statically would throw on every load: that one is reported as the build error it is.
 * Only a failed build pays for any of this; a good one and the cached bundle are unchanged.
 */
import { relative, resolve } from 'node:path';
import type { Metafile } from 'esbuild';
import { toPosix } from './module-graph.js';

export interface EsbuildMessage {
  text: string;
  location: { file: string; line: number; column: number; lineText: string } | null;
}

export class DeferredErrors {
  /** By absolute path: the first error located in each deferred module. */
  readonly #errors = new Map<string, EsbuildMessage>();

  constructor(
    private readonly root: string,
    private readonly entry: string,
  ) {}

  /**
   * Defers every error's module; false when one cannot be deferred (no location, the entry
   * itself, or a module already replaced by its stub), so the build fails as it is.
   */
  add(errors: readonly EsbuildMessage[]): boolean {
    const added = new Map<string, EsbuildMessage>();
    for (const error of errors) {
      if (!error.location) return false;
      const path = resolve(this.root, error.location.file);
      if (path === this.entry || this.#errors.has(path)) return false;
      if (!added.has(path)) added.set(path, error);
    }
    for (const [path, error] of added) this.#errors.set(path, error);
    return added.size > 0;
  }

  none(): boolean {
    return this.#errors.size === 0;
  }

  /** The stub's source for a deferred module; undefined for every other module. */
  stub(path: string): string | undefined {
    const error = this.#errors.get(path);
    if (!error?.location) return undefined;
    const { file, line, column } = error.location;
    const message = `${toPosix(file)}:${line}:${column + 1}: ${error.text}`;
    // No stack frames: the stub's own line is no place in the user's file; the message is.
    return [
      `const error = new Error(${JSON.stringify(message)});`,
      `error.stack = ${JSON.stringify(`Error: ${message}`)};`,
      `throw error;`,
    ].join('\n');
  }

  /** The error of a deferred module the entry's chunk imports statically, if any. */
  eager(metafile: Metafile | undefined): EsbuildMessage | undefined {
    if (this.none() || !metafile) return undefined;
    const entry = toPosix(relative(this.root, this.entry));
    const start = Object.keys(metafile.outputs).find(
      (out) => metafile.outputs[out]?.entryPoint === entry,
    );
    const inputs = new Set<string>();
    const pending = start === undefined ? [] : [start];
    const seen = new Set(pending);
    for (let out = pending.pop(); out !== undefined; out = pending.pop()) {
      const output = metafile.outputs[out];
      if (!output) continue;
      for (const input of Object.keys(output.inputs)) inputs.add(input);
      for (const imported of output.imports) {
        if (imported.kind !== 'import-statement' || seen.has(imported.path)) continue;
        seen.add(imported.path);
        pending.push(imported.path);
      }
    }
    for (const [path, error] of this.#errors) {
      if (inputs.has(toPosix(relative(this.root, path)))) return error;
    }
    return undefined;
  }
}
