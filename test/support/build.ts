/**
 * Vitest global setup: bundles the engine from the sources as they are (scripts/bundle-cli.mjs,
 * about a second), so the `task` processes the tests start run the code in the tree, not
 * whatever `npm run build` left in dist/ last time.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO } from './project.js';

export default function setup(): void {
  execFileSync(process.execPath, [join(REPO, 'scripts', 'bundle-cli.mjs')], { stdio: 'inherit' });
}
