/**
 * The live tree on a terminal, drawn by listr2: each planned task is a row that waits, spins
 * while it runs, then shows its time, "up to date" or why it was skipped. Below the tree, the
 * running tasks' last lines of output, interleaved as they come: each is labelled with its task as
 * in plain output (`[build] compiling…`), since parallel tasks share that space. When a task
 * ends its lines go; a failure's last lines stay in the summary, labelled the same way.
 *
 * The output of the run's targets, the tasks the user named (a status table, a diff, a deploy's
 * URL), is what they came to read: once the tree is drawn for the last time it is printed below
 * it as plain lines, colours kept, so it stays on screen. A prerequisite's goes with its row (it
 * is in the task's log).
 *
 * listr2 drives the rows from promises; each row's promise settles when the scheduler emits the
 * task's `end` event, so the scheduler stays the only thing deciding what runs.
 */
import type { Writable } from 'node:stream';
import { stripVTControlCharacters } from 'node:util';
import { Listr } from 'listr2';
import type { ListrTaskWrapper, ListrDefaultRenderer, ListrSimpleRenderer } from 'listr2';
import { describeFailure } from '../failure.js';
import type { Reporter, RunEvent } from './events.js';
import { formatDuration, formatSummary, labelLine, OUTPUT_TAIL } from './summary.js';
import type { SummaryOptions } from './summary.js';

/** At most this many of a target's last lines are kept to print after the tree. */
const KEPT_LINES = 2000;

/** A target's output, kept whole (up to KEPT_LINES) to print once the tree is done. */
interface Kept {
  lines: string[];
  dropped: number;
}

type Row = ListrTaskWrapper<unknown, ListrDefaultRenderer, ListrSimpleRenderer>;

interface RowState {
  wrapper?: Row;
  started: boolean;
  /** Lines printed before listr2 started the row, shown once it does. */
  early: string[];
  done?: (error?: Error) => void;
  end?: Extract<RunEvent, { type: 'end' }>;
}

/**
 * A line as the bottom bar shows it: labelled, without control codes, and cut to one row of the
 * terminal. listr2 would otherwise wrap it with wrap-ansi, whose cost grows faster than the line
 * (a 256 KB line with no newline took 200 s, 10 MB had not ended after 10 minutes), and fill the
 * screen with one line. The whole line is in the task's log, and a failure's in the summary.
 */
function shownLine(key: string, line: string, columns: number): string {
  // Listr2 draws `› ` before the line and wraps 2 columns short of the width.
  const room = Math.max(columns - 4, 20);
  // Control codes take no room: strip them from a bounded prefix only, so cost stays flat.
  const text = labelLine(key, stripVTControlCharacters(line.slice(0, room * 4)));
  if (text.length <= room && line.length <= room * 4) return text;
  const cut = text.slice(0, room - 1);
  // Never half a surrogate pair.
  return `${/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut}…`;
}

export function listrReporter(
  out: Writable & { columns?: number },
  options: SummaryOptions = {},
): Reporter {
  const rows = new Map<string, RowState>();
  // listr2 cannot add rows to a running list: a task invoked mid-run shows its lines, under its
  // own label, with the row of the task that invoked it (which waits for it meanwhile).
  const hosts = new Map<string, string>();
  const rowOf = (key: string): RowState | undefined => {
    const host = hosts.get(key);
    return rows.get(key) ?? (host === undefined ? undefined : rowOf(host));
  };
  let started = false;
  let running: Promise<unknown> | undefined;
  let summary: string[] = [];
  const kept = new Map<string, Kept>();

  /**
   * The output of the targets that ran, each line labelled if more than one target printed (a
   * failed one's lines are in the summary, labelled the same way).
   */
  const keptOutput = (): string[] => {
    const printed = [...kept].filter(([, { lines }]) => lines.length > 0);
    return printed
      .filter(([key]) => rows.get(key)?.end?.status === 'ran')
      .flatMap(([key, { lines, dropped }]) => [
        ...(dropped > 0 ? [`${dropped} earlier lines of ${key} are in its log (.task/logs/)`] : []),
        ...lines.map((line) => (printed.length > 1 ? labelLine(key, line) : line)),
      ]);
  };

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
        // Its last lines are in the summary: one multi-line block here would be drawn unlabelled.
        const message = end.failure ? describeFailure(end.failure) : 'failed';
        done(new Error(`${end.key}: ${message}`));
        return;
      }
    }
  };

  return {
    emit(event: RunEvent): void {
      switch (event.type) {
        case 'plan': {
          if (started) {
            const { invokedBy } = event;
            if (invokedBy !== undefined)
              for (const { key } of event.tasks) hosts.set(key, invokedBy);
            return;
          }
          started = true;
          for (const key of event.targets ?? []) kept.set(key, { lines: [], dropped: 0 });
          const listr = new Listr(
            event.tasks.map(({ key }) => {
              const row: RowState = { started: false, early: [] };
              rows.set(key, row);
              return {
                title: key,
                rendererOptions: { bottomBar: OUTPUT_TAIL, persistentOutput: false },
                task: (_ctx: unknown, wrapper: Row) =>
                  new Promise<void>((resolve, reject) => {
                    row.wrapper = wrapper;
                    wrapper.title = `${key} …`;
                    row.done = (error) => (error ? reject(error) : resolve());
                    if (row.started) wrapper.title = key;
                    for (const line of row.early) wrapper.output = line;
                    row.early = [];
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
          const target = kept.get(event.key);
          if (target) {
            target.lines.push(event.line);
            if (target.lines.length > KEPT_LINES) {
              target.lines.shift();
              target.dropped += 1;
            }
          }
          const row = rowOf(event.key);
          if (!row) return;
          const line = shownLine(event.key, event.line, out.columns || 80);
          if (row.wrapper) {
            row.wrapper.output = line;
          } else {
            row.early.push(line);
            if (row.early.length > OUTPUT_TAIL) row.early.shift();
          }
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
      for (const line of [...keptOutput(), ...summary]) out.write(`${line}\n`);
    },
  };
}
