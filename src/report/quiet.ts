/**
 * -q/--quiet (Rake's -q, go-task's -s): only the tasks' own output, as they printed it, with no
 * prefixes, progress or summary, so `npx task -q staging:config > env.json` is the task's output
 * alone. A task's stderr, warnings and failures go to stderr.
 */
import type { Writable } from 'node:stream';
import { describeFailure } from '../failure.js';
import type { Failure } from '../failure.js';
import type { Reporter, RunEvent } from './events.js';

export function quietReporter(out: Writable, err: Writable): Reporter {
  const said = new Set<string>();
  const fail = (key: string, failure: Failure): void => {
    if (said.has(key)) return;
    said.add(key);
    err.write(`task: ✖ ${key}: ${describeFailure(failure)}\n`);
  };
  return {
    emit(event: RunEvent): void {
      switch (event.type) {
        case 'output':
          (event.stream === 'stderr' ? err : out).write(`${event.line}\n`);
          return;
        case 'warning':
          err.write(`task: warning: ${event.message}\n`);
          return;
        case 'end':
          if (event.status === 'failed' && event.failure) fail(event.key, event.failure);
          return;
        case 'summary':
          // An error outside any task has no end event of its own.
          for (const { key, failure } of event.summary.failures) fail(key, failure);
          // Watch mode's next run says its own failures again.
          said.clear();
          return;
        case 'plan':
        case 'start':
          return;
      }
    },
    close: async () => {},
  };
}
