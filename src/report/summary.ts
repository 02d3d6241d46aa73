/** The end-of-run summary every human-facing reporter prints: counts, time, each failure. */
import { describeFailure } from '../failure.js';
import type { RunSummary, TaskStatus } from './events.js';

export function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(2)}s`;
}

/** How many of a task's last lines a terminal shows while it runs. */
export const OUTPUT_TAIL = 5;

/**
 * A line of a task's output as every labelling reporter shows it, so whose it is stays clear
 * where parallel tasks' lines interleave, and survives a copy and paste.
 */
export function labelLine(key: string, line: string): string {
  return `[${key}] ${line}`;
}

export interface SummaryOptions {
  /** --trace: each exception's whole stack, mapped to the sources, under its failure. */
  trace?: boolean;
}

export function formatSummary(summary: RunSummary, options: SummaryOptions = {}): string[] {
  const { counts } = summary;
  const parts = (
    [
      ['ran', 'ran'],
      ['up-to-date', 'up to date'],
      ['would-run', 'would run'],
      ['failed', 'failed'],
      ['skipped', 'skipped'],
      ['cancelled', 'cancelled'],
    ] as [TaskStatus, string][]
  )
    .filter(([status]) => counts[status] > 0 || status === 'ran' || status === 'up-to-date')
    .map(([status, label]) => `${counts[status]} ${label}`);
  const lines = [
    `${summary.interrupted ? 'Interrupted: ' : ''}${parts.join(', ')} in ${formatDuration(summary.durationMs)}`,
  ];
  for (const { key, failure, lastLines, log } of summary.failures) {
    lines.push('', `✖ ${key}: ${describeFailure(failure)}`);
    if (options.trace && failure.reason === 'exception' && failure.stack) {
      for (const line of failure.stack.split('\n')) lines.push(`  ${line}`);
    }
    if (lastLines.length > 0) {
      lines.push(`  last lines of output (full log: ${log ?? '.task/logs/'}):`);
      for (const line of lastLines) lines.push(`  ${labelLine(key, line)}`);
    } else if (log !== undefined) {
      lines.push(`  full log: ${log}`);
    }
  }
  return lines;
}
