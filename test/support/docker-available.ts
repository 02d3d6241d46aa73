import { execa } from 'execa';

/**
 * Whether docker tests can run. In CI (CI=true) they must: a missing daemon or tool throws, so a
 * broken runner fails loudly instead of going green with every docker test skipped. Elsewhere the
 * tests skip with a warning that says how to enable them.
 *
 *     const dockerReady = await requireDocker();
 *     describe.skipIf(!dockerReady)('...', () => { ... });
 */
export async function requireDocker(
  options: { commands?: readonly string[] } = {},
): Promise<boolean> {
  const problem = await findProblem(options.commands ?? []);
  if (problem === undefined) return true;
  const message = `${problem}. Run \`sudo bash scripts/setup.sh\` to install and start what is missing.`;
  if (isCi()) throw new Error(`Docker tests cannot run in CI: ${message}`);
  console.warn(`\n*** SKIPPING DOCKER TESTS: ${message} ***\n`);
  return false;
}

function isCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

async function findProblem(commands: readonly string[]): Promise<string | undefined> {
  const info = await execa('docker', ['info', '--format', '{{.ServerVersion}}'], {
    reject: false,
    timeout: 20_000,
    stdin: 'ignore',
  });
  if (info.failed) {
    if (info.code === 'ENOENT') return 'the `docker` command is not installed';
    const detail =
      info.stderr.split('\n').find((line) => line.trim() !== '') ??
      info.shortMessage ??
      'no output';
    return `Docker is not running (${detail.trim()})`;
  }
  for (const command of commands) {
    // Any argv works: only "could it be spawned" matters, not the exit code.
    const probe = await execa(command, ['--help'], {
      reject: false,
      timeout: 10_000,
      stdin: 'ignore',
    });
    if (probe.failed && probe.code === 'ENOENT')
      return `the \`${command}\` command is not installed`;
  }
  return undefined;
}
