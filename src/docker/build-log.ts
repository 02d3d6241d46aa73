/**
 * Reads `docker build` output to say which Dockerfile step failed. Pure, so a failing build's log
 * can be tested without a daemon.
 */

export interface BuildStep {
  readonly number: number;
  readonly total: number;
  /** The instruction as the builder printed it, e.g. `RUN composer install`. */
  readonly instruction: string;
}

// Classic builder: "Step 3/5 : ADD build/vendor.tar /vendor/".
const CLASSIC_STEP = /^Step (\d+)\/(\d+) : (.*)$/;
// BuildKit's plain progress: "#8 [vendor 2/3] RUN composer install" (the stage name is optional).
const BUILDKIT_STEP = /^#\d+ \[(?:[^\]\s]+ )?(\d+)\/(\d+)\] (.*)$/;

export function parseBuildStep(line: string): BuildStep | undefined {
  const match = CLASSIC_STEP.exec(line) ?? BUILDKIT_STEP.exec(line.trim());
  if (match === null) return undefined;
  const [, number, total, instruction] = match;
  return { number: Number(number), total: Number(total), instruction: (instruction ?? '').trim() };
}

/** The last step the log announced: where the build was when it stopped. */
export function lastBuildStep(lines: readonly string[]): BuildStep | undefined {
  for (let index = lines.length - 1; index >= 0; index--) {
    const step = parseBuildStep(lines[index] ?? '');
    if (step !== undefined) return step;
  }
  return undefined;
}

// Noise the classic builder prints on every build against this kind of daemon; it would push the
// real error out of the few lines an error message shows.
const NOISE = [
  /^DEPRECATED: The legacy builder is deprecated/,
  /^\s+BuildKit is currently disabled/,
  /^\s+environment-variable\.$/,
  /IPv4 forwarding is disabled\. Networking will not work/,
  /^\s*$/,
];

/** The last `count` meaningful lines, for an error message. */
export function tailLines(lines: readonly string[], count = 15): string[] {
  return lines.filter((line) => !NOISE.some((pattern) => pattern.test(line))).slice(-count);
}
