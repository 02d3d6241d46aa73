/**
 * The last word on a deploy: the environment's smoke-check URL must answer 200. A few attempts a
 * few seconds apart, because a load balancer can take a moment to send traffic to new targets.
 */
import type { AwsContext } from './clients.js';

export type SmokeResult = { readonly ok: true } | { readonly ok: false; readonly detail: string };

export interface SmokeOptions {
  readonly attempts?: number;
  readonly intervalMs?: number;
  readonly timeoutMs?: number;
}

export async function smokeCheck(
  ctx: Pick<AwsContext, 'clock' | 'log' | 'signal'>,
  url: string,
  options: SmokeOptions = {},
): Promise<SmokeResult> {
  const attempts = options.attempts ?? 3;
  let detail = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const response = await fetch(url, {
        redirect: 'manual',
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      await response.body?.cancel();
      if (response.status === 200) {
        ctx.log(`smoke check: ${url} answered 200`);
        return { ok: true };
      }
      detail = `HTTP ${response.status}`;
    } catch (error) {
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
      detail = cause instanceof Error ? cause.message : String(cause);
    }
    ctx.log(`smoke check: ${url} attempt ${attempt}/${attempts}: ${detail}`);
    if (attempt < attempts) await ctx.clock.sleep(options.intervalMs ?? 5000, ctx.signal);
    if (ctx.signal?.aborted === true) break;
  }
  return { ok: false, detail: `${detail} after ${attempts} attempts` };
}
