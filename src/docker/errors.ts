/**
 * Expected Docker failures as data. Adapters throw a DockerFailure carrying one of these; the
 * reporter (or a test) renders it with describeDockerError, which names the thing that failed and
 * the next step. Anything else thrown from src/docker/ is a bug.
 */
import type { BuildStep } from './build-log.js';

export type DockerError =
  /** The docker CLI is not on PATH. */
  | { readonly reason: 'docker-missing' }
  /** The CLI runs but no engine answers (not started, wrong DOCKER_HOST, no permission). */
  | { readonly reason: 'daemon-down'; readonly detail: string }
  | {
      readonly reason: 'build-failed';
      readonly dockerfile: string;
      /** The step that was running when the build stopped; undefined if it failed before one. */
      readonly step: BuildStep | undefined;
      readonly lastLines: readonly string[];
    }
  | { readonly reason: 'image-not-found'; readonly ref: string }
  | { readonly reason: 'login-failed'; readonly registry: string; readonly detail: string }
  | {
      readonly reason: 'container-failed';
      readonly image: string;
      readonly exitCode: number | undefined;
      readonly lastLines: readonly string[];
    }
  | {
      readonly reason: 'registry-error';
      readonly url: string;
      readonly status: number | undefined;
      readonly detail: string;
    }
  | {
      readonly reason: 'command-failed';
      /** argv without values that could be secret (env values never reach argv anyway). */
      readonly command: readonly string[];
      readonly exitCode: number | undefined;
      readonly lastLines: readonly string[];
    };

export class DockerFailure extends Error {
  override readonly name = 'DockerFailure';

  constructor(readonly error: DockerError) {
    super(describeDockerError(error));
  }
}

export function isDockerFailure(value: unknown): value is DockerFailure {
  return value instanceof DockerFailure;
}

const SETUP_HINT =
  'start it with `sudo bash scripts/setup.sh`, or point DOCKER_HOST at a running engine';

export function describeDockerError(error: DockerError): string {
  switch (error.reason) {
    case 'docker-missing':
      return 'The `docker` command was not found on PATH: install Docker (on Debian or Ubuntu, `sudo bash scripts/setup.sh` does it).';
    case 'daemon-down':
      return `Docker is not running (${error.detail}): ${SETUP_HINT}.`;
    case 'build-failed': {
      const where =
        error.step === undefined
          ? `${error.dockerfile}`
          : `${error.dockerfile}, step ${error.step.number}/${error.step.total} (${error.step.instruction})`;
      return `Docker build failed at ${where}:\n${indent(error.lastLines)}\nFix that step, then run the task again.`;
    }
    case 'image-not-found':
      return `Image ${error.ref} was not found: build or pull it first, or check the tag.`;
    case 'login-failed':
      return `Login to registry ${error.registry} failed (${error.detail}): check the registry address and that the credentials are current (ECR tokens expire after 12 hours).`;
    case 'container-failed': {
      const status =
        error.exitCode === undefined ? 'was killed' : `exited with code ${error.exitCode}`;
      return `Container from ${error.image} ${status}:\n${indent(error.lastLines)}\nRun the same command with \`docker run\` to reproduce it.`;
    }
    case 'registry-error':
      return `Registry request ${error.url} failed${error.status === undefined ? '' : ` with HTTP ${error.status}`} (${error.detail}): check the registry address and credentials.`;
    case 'command-failed':
      return `\`${error.command.join(' ')}\` failed${error.exitCode === undefined ? '' : ` with exit code ${error.exitCode}`}:\n${indent(error.lastLines)}`;
  }
}

function indent(lines: readonly string[]): string {
  return lines.length === 0 ? '  (no output)' : lines.map((line) => `  ${line}`).join('\n');
}
