/**
 * What a run has done so far, from its events alone: the summary a second Ctrl-C prints when it
 * ends the run without waiting for the scheduler (a task that ignores its signal never returns).
 */
import type { RunEvent, RunSummary, TaskStatus } from './events.js';

export class Tally {
  private readonly planned = new Set<string>();
  private readonly running = new Set<string>();
  private readonly ended = new Map<string, TaskStatus>();
  private readonly failures: RunSummary['failures'] = [];
  private readonly started = Date.now();

  emit(event: RunEvent): void {
    switch (event.type) {
      case 'plan':
        for (const task of event.tasks) this.planned.add(task.key);
        return;
      case 'start':
        this.running.add(event.key);
        return;
      case 'end':
        this.running.delete(event.key);
        this.ended.set(event.key, event.status);
        if (event.failure)
          this.failures.push({ key: event.key, failure: event.failure, lastLines: [] });
        return;
      default:
        return;
    }
  }

  /** Tasks started and not yet ended, in the order they started. */
  runningTasks(): string[] {
    return [...this.running];
  }

  /**
   * The run cut short now, as the events that end it: what still runs is cancelled, what never
   * started is skipped, then the summary (what ran stays counted).
   */
  interrupted(): RunEvent[] {
    const counts = { ran: 0, 'up-to-date': 0, failed: 0, skipped: 0, cancelled: 0, 'would-run': 0 };
    const ends: RunEvent[] = [];
    for (const key of this.planned) {
      let status = this.ended.get(key);
      if (status === undefined) {
        status = this.running.has(key) ? 'cancelled' : 'skipped';
        const reason = status === 'cancelled' ? 'interrupted (forced)' : 'not started: interrupted';
        ends.push({ type: 'end', key, status, durationMs: 0, reason, failure: undefined });
      }
      counts[status]++;
    }
    const summary: RunSummary = {
      counts,
      durationMs: Date.now() - this.started,
      failures: this.failures,
      interrupted: true,
    };
    return [...ends, { type: 'summary', summary }];
  }
}
