import { describe, expect, it } from 'vitest';
import { lastBuildStep, parseBuildStep, tailLines } from '../src/docker/build-log.js';
import { describeDockerError, DockerFailure, type DockerError } from '../src/docker/errors.js';

describe('build log', () => {
  it('reads classic and BuildKit step lines', () => {
    expect(parseBuildStep('Step 3/5 : ADD build/vendor.tar /vendor/')).toEqual({
      number: 3,
      total: 5,
      instruction: 'ADD build/vendor.tar /vendor/',
    });
    expect(parseBuildStep('#8 [vendor 2/3] RUN composer install')).toEqual({
      number: 2,
      total: 3,
      instruction: 'RUN composer install',
    });
    expect(parseBuildStep(' ---> Running in 7032354bc63d')).toBeUndefined();
  });

  it('finds the step that was running when the build stopped', () => {
    const log = [
      'Sending build context to Docker daemon  115.2kB',
      'Step 1/3 : FROM debian:bookworm-slim',
      ' ---> e526010f3241',
      'Step 2/3 : RUN exit 3',
      ' ---> Running in 0123456789ab',
      "The command '/bin/sh -c exit 3' returned a non-zero code: 3",
    ];
    expect(lastBuildStep(log)?.number).toBe(2);
    expect(lastBuildStep(['unable to prepare context: path "x" not found'])).toBeUndefined();
  });

  it('keeps the meaningful tail of the output', () => {
    const log = [
      'DEPRECATED: The legacy builder is deprecated and will be removed in a future release.',
      '            BuildKit is currently disabled; enable it by removing the DOCKER_BUILDKIT=0',
      '            environment-variable.',
      '',
      'Step 1/1 : RUN false',
      ' ---> [Warning] IPv4 forwarding is disabled. Networking will not work.',
      "The command '/bin/sh -c false' returned a non-zero code: 1",
    ];
    expect(tailLines(log)).toEqual([
      'Step 1/1 : RUN false',
      "The command '/bin/sh -c false' returned a non-zero code: 1",
    ]);
    expect(tailLines(['a', 'b', 'c'], 2)).toEqual(['b', 'c']);
  });
});

describe('describeDockerError', () => {
  const cases: [DockerError, RegExp][] = [
    [{ reason: 'docker-missing' }, /not found on PATH.*scripts\/setup\.sh/],
    [
      { reason: 'daemon-down', detail: 'Cannot connect to the Docker daemon' },
      /Docker is not running \(Cannot connect.*\): start it with `sudo bash scripts\/setup\.sh`/,
    ],
    [
      {
        reason: 'build-failed',
        dockerfile: 'images/base/php-fpm.Dockerfile',
        step: { number: 3, total: 5, instruction: 'ADD build/vendor.tar /vendor/' },
        lastLines: ['ADD failed: file not found in build context'],
      },
      /images\/base\/php-fpm\.Dockerfile, step 3\/5 \(ADD build\/vendor\.tar \/vendor\/\):\n {2}ADD failed/,
    ],
    [{ reason: 'image-not-found', ref: 'base:abc' }, /Image base:abc was not found: build or pull/],
    [
      { reason: 'login-failed', registry: '127.0.0.1:5000', detail: 'unauthorized' },
      /registry 127\.0\.0\.1:5000 failed \(unauthorized\)/,
    ],
    [
      { reason: 'container-failed', image: 'app:1', exitCode: 7, lastLines: [] },
      /app:1 exited with code 7:\n {2}\(no output\)/,
    ],
    [
      { reason: 'registry-error', url: 'http://r/v2/', status: 401, detail: 'unauthorized' },
      /http:\/\/r\/v2\/ failed with HTTP 401/,
    ],
    [
      {
        reason: 'command-failed',
        command: ['docker', 'push', 'x'],
        exitCode: 1,
        lastLines: ['no'],
      },
      /`docker push x` failed with exit code 1:\n {2}no/,
    ],
  ];

  it.each(cases)('renders %j', (error, expected) => {
    expect(describeDockerError(error)).toMatch(expected);
  });

  it('carries the data on the thrown error', () => {
    const failure = new DockerFailure({ reason: 'image-not-found', ref: 'x:1' });
    expect(failure.error).toEqual({ reason: 'image-not-found', ref: 'x:1' });
    expect(failure.message).toBe(describeDockerError(failure.error));
  });
});
