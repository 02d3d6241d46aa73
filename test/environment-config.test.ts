/**
 * `npx task -q staging:config > env.json`, as the README writes it: the repository's own Taskfile
 * run by the real CLI with its stdout a pipe prints the resolved environment as JSON, secrets as
 * their references.
 */
import { cpSync, symlinkSync } from 'node:fs';
import { afterEach, expect, test } from 'vitest';
import staging from '../environments/staging.js';
import { PIPELINE_SOURCES, Project, REPO } from './support/project.js';

let project: Project | undefined;
afterEach(() => project?.remove());

test('-q staging:config to a pipe is the environment as JSON, secrets as references', async () => {
  const copy = new Project();
  project = copy;
  for (const entry of PIPELINE_SOURCES) {
    cpSync(`${REPO}/${entry}`, copy.path(entry), {
      recursive: true,
      filter: (source) => !source.startsWith(`${REPO}/example/vendor`),
    });
  }
  symlinkSync(`${REPO}/node_modules`, copy.path('node_modules'));
  const result = await copy.task(['-q', 'staging:config']);
  expect(result.exitCode, result.stderr).toBe(0);
  const printed = JSON.parse(result.stdout) as Record<string, unknown>;
  expect(Object.keys(printed).sort()).toEqual(Object.keys(staging).sort());
  expect(printed).toEqual(JSON.parse(JSON.stringify(staging)));
  // A secret is printed as the ARN the environment names, which ECS resolves at task start.
  expect(staging.secrets.APP_KEY).toMatch(/^arn:aws:ssm:/);
  expect((printed.secrets as Record<string, unknown>).APP_KEY).toBe(staging.secrets.APP_KEY);
});
