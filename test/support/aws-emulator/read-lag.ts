/**
 * Eventual consistency. ECS documents its API as eventually consistent: "the result of an API
 * command you run that affects your Amazon ECS resources might not be immediately visible to all
 * subsequent commands you run" (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html,
 * and the same note on UpdateService and CreateService; tagging follows the same model,
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TagResource.html). The docs give
 * no bound, so the emulator models the worst a client must survive: in read-lag mode every write
 * becomes visible to reads only after a random delay (seeded, so a failing run replays exactly),
 * and until then reads answer from the view as it was before the write, however old. A second
 * write inside the window keeps the older view and moves visibility further out: a lagging
 * replica has seen neither. The write's own response is always current, as ECS's is.
 *
 *   write at t ──> reads in [t, t + delay) see the view before the write ──> then the live one
 */

export interface ReadLagOptions {
  /** Seed of the delays; the same seed and requests give the same delays. */
  readonly seed: number;
  /** The longest a write stays invisible, in seconds; delays are uniform in [0, maxSeconds]. */
  readonly maxSeconds: number;
}

/** mulberry32: a small seeded generator, uniform in [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Stale<V> {
  /** Reads before this time (ms) see `view`. */
  visibleAt: number;
  /** What reads see meanwhile; undefined when the thing did not exist before the write. */
  view: V | undefined;
}

/** Per-key stale views for one kind of resource (services, tags); a no-op when lag is off. */
export class LaggedViews<V> {
  readonly #next: (() => number) | undefined;
  readonly #maxMs: number;
  readonly #stale = new Map<string, Stale<V>>();

  constructor(options: ReadLagOptions | undefined) {
    this.#next = options === undefined ? undefined : seeded(options.seed);
    this.#maxMs = (options?.maxSeconds ?? 0) * 1000;
  }

  /** Call before applying a write to `key`, with the view reads saw until now. */
  wrote(key: string, now: number, before: V | undefined): void {
    if (this.#next === undefined) return;
    const delay = Math.round(this.#next() * this.#maxMs);
    const current = this.#stale.get(key);
    if (current !== undefined && now < current.visibleAt) {
      current.visibleAt = Math.max(current.visibleAt, now + delay);
      return;
    }
    this.#stale.set(key, { visibleAt: now + delay, view: before });
  }

  /** What a read of `key` at `now` sees: the stale view inside the window, else `fresh()`. */
  read(key: string, now: number, fresh: () => V | undefined): V | undefined {
    const stale = this.#stale.get(key);
    if (stale !== undefined && now < stale.visibleAt) return stale.view;
    this.#stale.delete(key);
    return fresh();
  }
}
