/** One JSON object per line on stdout, for tools; the event types are in events.ts. */
import type { Writable } from 'node:stream';
import { describeFailure } from '../failure.js';
import type { Reporter, RunEvent } from './events.js';

export function jsonReporter(out: Writable): Reporter {
  return {
    emit(event: RunEvent): void {
      const withMessage =
        event.type === 'end' && event.failure
          ? { ...event, message: describeFailure(event.failure) }
          : event;
      out.write(`${JSON.stringify({ ...withMessage, time: new Date().toISOString() })}\n`);
    },
    close: async () => {},
  };
}
