/**
 * Time for the emulator. The emulator reads `now()` once per request and advances its
 * simulation by the time elapsed since the previous request, so a test controls how fast
 * rollouts progress without sleeping: a manual clock that moves a fixed step on every read
 * makes each SDK poll (a waiter's DescribeServices, say) worth that many simulated seconds.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const realClock: Clock = { now: () => Date.now() };

export interface ManualClock extends Clock {
  /** Moves time forward without a request. */
  advance(seconds: number): void;
  /** Changes how far each later `now()` moves time (0 stops auto-advancing). */
  setStep(seconds: number): void;
}

export interface ManualClockOptions {
  /** Start time in ms since the epoch; a fixed default keeps event timestamps stable. */
  start?: number;
  /** Seconds added after every `now()`, i.e. after every emulator request. Default 0. */
  stepSeconds?: number;
}

export function manualClock(options: ManualClockOptions = {}): ManualClock {
  let time = options.start ?? Date.UTC(2025, 0, 1);
  let stepMs = (options.stepSeconds ?? 0) * 1000;
  return {
    now() {
      const current = time;
      time += stepMs;
      return current;
    },
    advance(seconds) {
      time += seconds * 1000;
    },
    setStep(seconds) {
      stepMs = seconds * 1000;
    },
  };
}
