/**
 * Where in the user's own source an error happened. A Taskfile runs as an esbuild bundle in
 * .task/cache/bundle-<hash>/, so raw stack frames name the bundle; the source maps written beside
 * it lead back to `tasks/x.ts:12:5`. The maps are read only when an error is being rendered: a
 * run that fails nothing never opens them (Node's --enable-source-maps would parse every map of
 * every module at start-up, on every run).
 *
 * A user frame is one in a file under the project root that is neither a package
 * (node_modules) nor the engine itself (its dist/, or its src/ when the project is the engine's
 * own repository): a message points at the Taskfile line that called the engine, not at the
 * engine's line that threw.
 */
import { readFileSync } from 'node:fs';
import type { SourceMap } from 'node:module';
import { dirname, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Failure } from './failure.js';

export interface Frame {
  /** The frame's function, when V8 named one. */
  readonly fn: string | undefined;
  /** Absolute path after mapping (or a `node:` specifier); undefined for a frame with none. */
  readonly file: string | undefined;
  readonly line: number;
  readonly column: number;
  /** In the user's source: under the root, not a package, not the engine. */
  readonly user: boolean;
  /** The frame as V8 printed it, when it is not one we could read. */
  readonly raw: string;
}

/** The engine's package folder (dist/ is below it, and src/ in its own repository). */
const ENGINE_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** `    at fn (location:line:col)`, `    at location:line:col`, `    at async fn (...)`. */
const FRAME = /^\s*at (?:(.+?) \()?((?:file:\/\/|node:|\/)[^()]*?):(\d+):(\d+)\)?$/;

const maps = new Map<string, SourceMap | undefined>();

/** Every `at` line of the stack, each mapped to its source. */
export function parseStack(stack: string, root: string): Frame[] {
  const frames: Frame[] = [];
  for (const raw of stack.split('\n')) {
    if (!/^\s*at /.test(raw)) continue;
    const match = FRAME.exec(raw);
    if (!match) {
      frames.push({
        fn: undefined,
        file: undefined,
        line: 0,
        column: 0,
        user: false,
        raw: raw.trim(),
      });
      continue;
    }
    const [, fn, location = '', line = '0', column = '0'] = match;
    const path = location.startsWith('file://') ? fileURLToPath(location) : location;
    const mapped = mapPosition(path, Number(line), Number(column));
    frames.push({ fn, ...mapped, user: isUserFile(mapped.file, root), raw: raw.trim() });
  }
  return frames;
}

/** `tasks/x.ts:12:5`: the first user frame, relative to the root; undefined when none is. */
export function userLocation(stack: string | undefined, root: string): string | undefined {
  if (!stack) return undefined;
  const frame = parseStack(stack, root).find((f) => f.user);
  return frame && formatLocation(frame, root);
}

/**
 * The whole stack with bundle frames mapped to their sources (for --trace and the task's log):
 * the message lines as they were, then one `at` line per frame.
 */
export function mappedStack(stack: string, root: string): string {
  const lines = stack.split('\n');
  const first = lines.findIndex((line) => /^\s*at /.test(line));
  const head = first === -1 ? lines : lines.slice(0, first);
  const frames = parseStack(stack, root).map((frame) => {
    if (frame.file === undefined) return `    ${frame.raw}`;
    const where = formatLocation(frame, root);
    return frame.fn ? `    at ${frame.fn} (${where})` : `    at ${where}`;
  });
  return [...head, ...frames].join('\n');
}

function formatLocation(frame: Frame, root: string): string {
  const file = frame.file ?? '?';
  const inside = file.startsWith('/') && isInside(file, root);
  return `${inside ? relative(root, file) : file}:${frame.line}:${frame.column}`;
}

/** The source position of a position in a bundle file, when the bundle has a map; else itself. */
function mapPosition(
  path: string,
  line: number,
  column: number,
): { file: string; line: number; column: number } {
  if (!path.includes('/.task/cache/bundle-')) return { file: path, line, column };
  const map = sourceMap(path);
  // SourceMap positions are 0-based; stack frames are 1-based.
  const entry = map?.findEntry(line - 1, column - 1);
  if (!entry || !('originalSource' in entry) || entry.originalSource === undefined) {
    return { file: path, line, column };
  }
  // esbuild writes sources relative to its outdir, .task/cache/; the loader then moves each
  // output one folder down, into bundle-<hash>/.
  const source = entry.originalSource.startsWith('file://')
    ? fileURLToPath(entry.originalSource)
    : resolve(dirname(dirname(path)), entry.originalSource);
  return { file: source, line: entry.originalLine + 1, column: entry.originalColumn + 1 };
}

function sourceMap(path: string): SourceMap | undefined {
  if (maps.has(path)) return maps.get(path);
  let map: SourceMap | undefined;
  try {
    const payload = JSON.parse(readFileSync(`${path}.map`, 'utf8')) as ConstructorParameters<
      typeof SourceMap
    >[0];
    // Not a top-level import: node:module is not otherwise loaded by a run that fails nothing.
    const { SourceMap: Map } = process.getBuiltinModule('node:module');
    map = new Map(payload);
  } catch {
    map = undefined;
  }
  maps.set(path, map);
  return map;
}

function isUserFile(file: string | undefined, root: string): boolean {
  if (file === undefined || !file.startsWith('/') || !isInside(file, root)) return false;
  if (file.split(sep).includes('node_modules')) return false;
  if (file.includes(`${sep}.task${sep}cache${sep}`)) return true;
  return (
    !isInside(file, resolve(ENGINE_ROOT, 'dist')) && !isInside(file, resolve(ENGINE_ROOT, 'src'))
  );
}

function isInside(file: string, dir: string): boolean {
  const rel = relative(dir, file);
  return rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep);
}

/**
 * Node names the bundle file whose import failed (`Cannot find package 'x' imported from
 * .../.task/cache/bundle-<hash>/chunk-<hash>.mjs`): the import's line in the user's source
 * instead, found by the specifier in that file and its map. Undefined for any other message.
 */
export function missingPackage(
  message: string,
  root: string,
): { where: string; message: string } | undefined {
  const match =
    /^Cannot find package '([^']+)' imported from (\/\S*\/\.task\/cache\/bundle-\S+)$/.exec(
      message,
    );
  const [, specifier = '', chunk = ''] = match ?? [];
  if (!match) return undefined;
  let lines: string[];
  try {
    lines = readFileSync(chunk, 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const quoted = JSON.stringify(specifier);
  const index = lines.findIndex(
    (line) => /^\s*(?:import|export)\b/.test(line) && line.includes(quoted),
  );
  if (index === -1) return undefined;
  const mapped = mapPosition(chunk, index + 1, 1);
  if (!isUserFile(mapped.file, root)) return undefined;
  return {
    where: formatLocation({ ...mapped, fn: undefined, user: true, raw: '' }, root),
    message: `Cannot find package '${specifier}': install it, or fix the import`,
  };
}

/** `file:line:col: message` for an error thrown while defining tasks, located in the user's source. */
export function describeUserError(error: Error, root: string): string {
  const missing = missingPackage(error.message, root);
  if (missing) return `${missing.where}: ${missing.message}`;
  const where = userLocation(error.stack, root);
  return where ? `${where}: ${error.message}` : error.message;
}

/** An exception's failure with its user location and its stack mapped to the sources. */
export function locateFailure(failure: Failure, root: string): Failure {
  if (failure.reason !== 'exception' || !failure.stack) return failure;
  const where = userLocation(failure.stack, root);
  return { ...failure, stack: mappedStack(failure.stack, root), ...(where ? { where } : {}) };
}
