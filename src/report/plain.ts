/**
 * Plain lines for CI and pipes: every line prefixed with its task, no control codes. Under
 * GitHub Actions each task's output is buffered and printed whole inside ::group::/::endgroup::,
 * since interleaved parallel output cannot be grouped.
 */
import type { Writable } from 'node:stream';
import { describeFailure } from '../failure.js';
import type { Reporter, RunEvent } from './events.js';
import { formatDuration, formatSummary, labelLine } from './summary.js';
import type { SummaryOptions } from './summary.js';

export function plainReporter(
  out: Writable,
  options: { githubActions: boolean } & SummaryOptions,
): Reporter {
  const buffered = new Map<string, string[]>();
  // Lines are batched into one write per tick: a large run emits thousands of them.
  let pending = '';
  const flush = (): void => {
    if (pending === '') return;
    out.write(pending);
    pending = '';
  };
  const write = (line: string): void => {
    if (pending === '') setImmediate(flush);
    pending += `${line}\n`;
  };
  return {
    emit(event: RunEvent): void {
      switch (event.type) {
        case 'plan':
          return;
        case 'warning':
          write(`warning: ${event.message}`);
          return;
        case 'start':
          if (!options.githubActions) write(`[${event.key}] started`);
          return;
        case 'output':
          if (options.githubActions) {
            const lines = buffered.get(event.key) ?? [];
            lines.push(event.line);
            buffered.set(event.key, lines);
          } else {
            write(labelLine(event.key, event.line));
          }
          return;
        case 'end': {
          const line = endLine(event);
          const lines = buffered.get(event.key);
          buffered.delete(event.key);
          if (options.githubActions && lines) {
            write(`::group::${line}`);
            lines.forEach(write);
            write('::endgroup::');
          } else {
            write(line);
          }
          return;
        }
        case 'summary':
          formatSummary(event.summary, options).forEach(write);
          flush();
          return;
      }
    },
    close: async () => flush(),
  };
}

function endLine(event: Extract<RunEvent, { type: 'end' }>): string {
  const prefix = `[${event.key}]`;
  switch (event.status) {
    case 'ran':
      return `${prefix} done in ${formatDuration(event.durationMs)}`;
    case 'up-to-date':
      return `${prefix} up to date`;
    case 'would-run':
      return `${prefix} would run: ${event.reason ?? ''}`;
    case 'skipped':
      return `${prefix} skipped (${event.reason ?? ''})`;
    case 'cancelled':
      return `${prefix} cancelled`;
    case 'failed':
      return `${prefix} FAILED: ${event.failure ? describeFailure(event.failure) : 'unknown error'}`;
  }
}
