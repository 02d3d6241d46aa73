/**
 * A command after `--` (`task staging:artisan -- migrate:status`): parsed word for word into the
 * task's `command` argument, never joined into a shell string.
 */
import { describe, expect, test } from 'vitest';
import { parseCommandLine } from '../src/command-line.js';
import { decodeCommand } from '../src/command-args.js';

function parsed(argv: string[]) {
  const result = parseCommandLine(argv);
  if ('error' in result) throw new Error(result.error);
  return {
    targets: result.targets,
    named: result.named,
    command: decodeCommand(result.named['command']),
  };
}

describe('a command after --', () => {
  test('starts at the first word that is not --name=value', () => {
    expect(parsed(['staging:artisan', '--', 'migrate:status', '--pretend'])).toEqual({
      targets: ['staging:artisan'],
      named: { command: '["migrate:status","--pretend"]' },
      command: ['migrate:status', '--pretend'],
    });
    expect(
      parsed(['staging:run', '--', '--service=worker', 'sh', '-c', 'echo "$HOME"; rm -rf /']),
    ).toMatchObject({
      named: { service: 'worker' },
      command: ['sh', '-c', 'echo "$HOME"; rm -rf /'],
    });
  });

  test('a second -- passes words that look like options', () => {
    expect(parsed(['staging:artisan', '--', '--', '--version']).command).toEqual(['--version']);
    expect(parsed(['staging:deploy', '--', '--force']).named).toEqual({ force: 'true' });
  });

  test('decodeCommand refuses anything but a JSON array of strings', () => {
    expect(decodeCommand('php artisan')).toBeUndefined();
    expect(decodeCommand('[1,2]')).toBeUndefined();
    expect(decodeCommand(undefined)).toBeUndefined();
  });
});
