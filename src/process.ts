/**
 * Child processes for tasks: argv arrays only (execa), each in its own process group so that
 * aborting a task kills everything it started, grandchildren included.
 */
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { TaskError } from './failure.js';

export interface ProcessOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  input?: string;
  signal: AbortSignal;
  /** Resolve with a non-zero exit code instead of throwing. */
  allowFailure?: boolean;
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
}

export interface ProcessResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Process groups still running, so a second Ctrl-C can kill them all at once. */
const liveGroups = new Set<number>();

/**
 * Output kept per stream for the result: the tail beyond this is dropped, so a persistent task
 * (a dev server under watch) does not grow without bound. Execa's own buffer would fail the
 * command instead, at 100 MB.
 */
const KEPT_BYTES = 32 * 1024 * 1024;

/** Grace between SIGTERM and SIGKILL for an aborted task's process group. */
const KILL_GRACE_MS = 3000;

export async function runProcess(
  file: string,
  args: readonly string[],
  options: ProcessOptions,
): Promise<ProcessResult> {
  const command = [file, ...args].map(quoteForDisplay).join(' ');
  options.signal.throwIfAborted();
  const onLine = options.onLine;
  // Loaded on first use: importing execa costs more than a whole no-op run of a large graph.
  const { execa } = await import('execa');
  const child = execa(file, args, {
    cwd: options.cwd,
    env: options.env ?? {},
    detached: true,
    reject: false,
    // The output is collected by the listeners below: execa's own buffering runs each chunk
    // through its generator transforms, which cost more per call than the spawn itself on a
    // large rerun. Its SIGKILL timer is not needed either: abort() below escalates itself.
    buffer: false,
    forceKillAfterDelay: false,
    ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
  });
  const stdout = collect(child.stdout, onLine && ((line) => onLine(line, 'stdout')));
  const stderr = collect(child.stderr, onLine && ((line) => onLine(line, 'stderr')));
  const pid = child.pid;
  let timer: NodeJS.Timeout | undefined;
  const abort = (): void => {
    if (pid === undefined) return;
    killGroup(pid, 'SIGTERM');
    timer = setTimeout(() => killGroup(pid, 'SIGKILL'), KILL_GRACE_MS);
    timer.unref();
  };
  if (pid !== undefined) liveGroups.add(pid);
  options.signal.addEventListener('abort', abort, { once: true });
  // Aborted while execa was loading: the listener came too late to hear it.
  if (options.signal.aborted) abort();
  const result = await child;
  options.signal.removeEventListener('abort', abort);
  if (timer) clearTimeout(timer);
  if (pid !== undefined) liveGroups.delete(pid);

  if (result.failed) {
    if (result.exitCode === undefined && result.signal === undefined) {
      throw new TaskError({
        reason: 'spawn-failed',
        command,
        message: result.shortMessage ?? 'unknown error',
      });
    }
    if (result.signal) throw new TaskError({ reason: 'killed', command, signal: result.signal });
    if (options.allowFailure && result.exitCode !== undefined) {
      return { stdout: stdout.text(), stderr: stderr.text(), exitCode: result.exitCode };
    }
    throw new TaskError({ reason: 'exit-non-zero', command, exitCode: result.exitCode ?? -1 });
  }
  return { stdout: stdout.text(), stderr: stderr.text(), exitCode: result.exitCode ?? 0 };
}

/**
 * Keeps a stream's output (`text()`: its last KEPT_BYTES, less one final newline, as execa's
 * stripFinalNewline) and, with onLine, hands over each complete line as it arrives and the last
 * one when the stream ends.
 */
function collect(
  stream: Readable | null,
  onLine: ((line: string) => void) | undefined,
): { text: () => string } {
  if (!stream) return { text: () => '' };
  const chunks: Buffer[] = [];
  let kept = 0;
  const decoder = new StringDecoder('utf8');
  // The unfinished line, in pieces: only new text is searched for a newline and the pieces are
  // joined once, so a 100 MB line with no newline costs linear time, not a rescan per chunk.
  let pending: string[] = [];
  const line = (text: string): void => onLine?.(text.endsWith('\r') ? text.slice(0, -1) : text);
  const emit = (text: string): void => {
    if (!onLine) return;
    let start = 0;
    let end = text.indexOf('\n');
    while (end !== -1) {
      pending.push(text.slice(start, end));
      line(pending.length === 1 ? (pending[0] as string) : pending.join(''));
      pending = [];
      start = end + 1;
      end = text.indexOf('\n', start);
    }
    if (start < text.length) pending.push(text.slice(start));
  };
  stream.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    kept += chunk.length;
    while (kept > KEPT_BYTES && chunks.length > 1) kept -= (chunks.shift() as Buffer).length;
    emit(decoder.write(chunk));
  });
  stream.on('end', () => {
    emit(decoder.end());
    if (pending.length > 0) line(pending.join(''));
    pending = [];
  });
  return {
    text: () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.endsWith('\r\n')) return text.slice(0, -2);
      return text.endsWith('\n') ? text.slice(0, -1) : text;
    },
  };
}

export function killAllProcessGroups(signal: NodeJS.Signals): void {
  for (const pid of liveGroups) killGroup(pid, signal);
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** For messages only; nothing is ever run through a shell. */
function quoteForDisplay(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
