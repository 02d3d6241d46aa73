/**
 * The live tree on a terminal, drawn by listr2: each planned task is a row that waits, spins
 * while it runs, then shows its time, "up to date" or why it was skipped. Output appears under a
 * running task (the last lines), and in full under a failed one.
 *
 * listr2 drives the rows from promises; each row's promise settles when the scheduler emits the
 * task's `end` event, so the scheduler stays the only thing deciding what runs.
 */
import type { Writable } from 'node:stream';
import { Listr } from 'listr2';
import type { ListrTaskWrapper, ListrDefaultRenderer, ListrSimpleRenderer } from 'listr2';
import { describeFailure } from '../failure.js';
import type { Reporter, RunEvent } from './events.js';
import { formatDuration, formatSummary } from './summary.js';
import type { SummaryOptions } from './summary.js';

type Row = ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer>;

interface RowState {
  wrapper?: Row;
  started: boolean;
  lines: string[];
  done?: (error?: Error) => void;
  end?: Extract<RunEvent, { type: 'end' }>;
}

export function listrReporter(out: Writable, options: SummaryOptions = {}): Reporter {
  const rows = new Map<string, RowState>();
  let started = false;
  let running: Promise<unknown> | undefined;
  let summary: string[] = [];

  const settle = (row: RowState): void => {
    const { wrapper, end, done } = row;
    if (!wrapper || !end || !done) return;
    switch (end.status) {
      case 'ran':
        wrapper.title = `${wrapper.title ?? ''} (${formatDuration(end.durationMs)})`;
        done();
        return;
      case 'up-to-date':
        wrapper.skip(`${end.key} (up to date)`);
        done();
        return;
      case 'would-run':
        wrapper.skip(`${end.key} (would run: ${end.reason ?? ''})`);
        done();
        return;
      case 'skipped':
      case 'cancelled':
        wrapper.skip(`${end.key} (${end.status}: ${end.reason ?? ''})`);
        done();
        return;
      case 'failed': {
        const message = end.failure ? describeFailure(end.failure) : 'failed';
        wrapper.output = row.lines.join('\n');
        done(new Error(`${end.key}: ${message}`));
        return;
      }
    }
  };

  return {
    emit(event: RunEvent): void {
      switch (event.type) {
        case 'plan': {
          if (started) return; // tasks invoked mid-run appear in the summary and the logs
          started = true;
          const listr = new Listr(
            event.tasks.map(({ key }) => {
              const row: RowState = { started: false, lines: [] };
              rows.set(key, row);
              return {
                title: key,
                rendererOptions: { bottomBar: 5, persistentOutput: false },
                task: (_ctx: unknown, wrapper: Row) =>
                  new Promise<void>((resolve, reject) => {
                    row.wrapper = wrapper;
                    wrapper.title = `${key} …`;
                    row.done = (error) => (error ? reject(error) : resolve());
                    if (row.started) wrapper.title = key;
                    settle(row);
                  }),
              };
            }),
            {
              concurrent: true,
              exitOnError: false,
              registerSignalListeners: false,
              rendererOptions: { collapseErrors: false, collapseSkips: true },
            },
          );
          running = listr.run().catch(() => undefined);
          return;
        }
        case 'start': {
          const row = rows.get(event.key);
          if (!row) return;
          row.started = true;
          if (row.wrapper) row.wrapper.title = event.key;
          return;
        }
        case 'output': {
          const row = rows.get(event.key);
          if (!row) return;
          row.lines.push(event.line);
          if (row.wrapper) row.wrapper.output = event.line;
          return;
        }
        case 'end': {
          const row = rows.get(event.key);
          if (!row) return;
          row.end = event;
          settle(row);
          return;
        }
        case 'warning':
          summary.push(`warning: ${event.message}`);
          return;
        case 'summary':
          summary = [...summary, ...formatSummary(event.summary, options)];
          return;
      }
    },
    async close(): Promise<void> {
      await running;
      for (const line of summary) out.write(`${line}\n`);
    },
  };
}
