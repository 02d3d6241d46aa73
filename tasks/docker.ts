/** The Docker adapter as the pipeline's tasks use it: output into the task's log, aborts. */
import type { TaskContext } from 'taskgraph';
import { createDocker } from '../src/docker/docker.ts';
import type { Docker } from '../src/docker/docker.ts';
import { dockerImageOutput } from '../src/docker/image-output.ts';
import type { Output } from 'taskgraph';

export function dockerFor(ctx: TaskContext): Docker {
  return createDocker({ cwd: ctx.root, onOutput: (line) => ctx.log(line), signal: ctx.signal });
}

/**
 * A local image tag as a task output: up to date while the tag names the image we built. Its
 * digest (the image id) is machine-local, so it stays out of dependents' tags.
 */
export function localImage(root: string, ref: string): Output {
  return dockerImageOutput(createDocker({ cwd: root }), ref);
}

/**
 * An image's labels: what built it and the fingerprint of its inputs, and nothing else. The tag is
 * 12 hex of that fingerprint, so a label that is not a function of the inputs (a commit, a clock,
 * a dirty flag, the clone's origin) would put different images under one tag: two checkouts on one
 * daemon would rebuild over each other, and two machines would push different digests under one
 * immutable ECR tag. The commit a deploy came from is recorded on what the deploy registers
 * instead (tasks/source-revision.ts).
 */
export function imageLabels(
  ctx: Pick<TaskContext, 'name' | 'fingerprint'>,
  extra: Readonly<Record<string, string>> = {},
): Record<string, string> {
  return { ...extra, 'taskgraph.task': ctx.name, 'taskgraph.fingerprint': ctx.fingerprint };
}
