/**
 * The docker CLI behind a small interface. Every call is an argv array run by execa, never a shell
 * string. Secrets never reach argv: a login password goes through stdin, container environment
 * values through the client's own environment (`--env NAME` copies NAME from it).
 *
 * The CLI, not the Engine API, because it is what users have configured: DOCKER_HOST, contexts,
 * credential helpers and DOCKER_CONFIG all keep working, since the environment passes through.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { z } from 'zod';
import { lastBuildStep, tailLines } from './build-log.js';
import { DockerFailure } from './errors.js';

export interface DockerOptions {
  /** Directory relative paths (Dockerfile, build context, volumes) are resolved against. */
  readonly cwd: string;
  /** Added to the inherited environment of every docker command (e.g. DOCKER_HOST). */
  readonly env?: Readonly<Record<string, string>>;
  /** Receives build, push, pull and run output line by line, for the task's log. */
  readonly onOutput?: (line: string) => void;
  /** Aborting kills the running docker command; the call then rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

export interface BuildOptions {
  /** Dockerfile path, relative to cwd. */
  readonly file: string;
  /** Build context directory, relative to cwd. */
  readonly context: string;
  readonly tags?: readonly string[];
  /** Visible in `docker history`: never put secrets here. */
  readonly buildArgs?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly target?: string;
  readonly platform?: string;
  /** `host` lets RUN steps reach the network on machines whose containers have no bridge. */
  readonly network?: string;
  /** Where docker writes the image id; a private temporary file when omitted. */
  readonly iidFile?: string;
  readonly pull?: boolean;
  readonly noCache?: boolean;
}

export interface ImageInfo {
  /** Local image id (sha256:...): changes whenever the image's content or config does. */
  readonly id: string;
  readonly repoTags: readonly string[];
  /** `repository@sha256:...` for each registry the image was pushed to or pulled from. */
  readonly repoDigests: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly created: string;
  readonly size: number;
}

export interface Volume {
  /** Host path, relative to cwd or absolute; with `kind: 'volume'`, a named volume's name. */
  readonly source: string;
  /** `bind` (default): a host folder. `volume`: a named volume docker creates on first use. */
  readonly kind?: 'bind' | 'volume';
  readonly target: string;
  readonly readOnly?: boolean;
}

export interface RunOptions {
  readonly image: string;
  readonly command?: readonly string[];
  readonly name?: string;
  /** Values reach the container through the client's environment, never its argv. */
  readonly env?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly network?: string;
  readonly user?: string;
  readonly workdir?: string;
  readonly volumes?: readonly Volume[];
  readonly entrypoint?: string;
  /** Docker's restart policy, e.g. `unless-stopped` for a worker that exits to be replaced. */
  readonly restart?: 'no' | 'on-failure' | 'unless-stopped' | 'always';
  /** `never` for images that only exist locally, so a typo fails fast instead of asking a hub. */
  readonly pull?: 'always' | 'missing' | 'never';
  /** `--no-healthcheck`: a container whose image's HEALTHCHECK probes what it does not run. */
  readonly noHealthcheck?: boolean;
}

export interface ContainerInfo {
  readonly id: string;
  readonly name: string;
  readonly image: string;
  /** created, running, exited, ... */
  readonly state: string;
  readonly exitCode: number;
  /** Docker's health state (starting, healthy, unhealthy); undefined without a health check. */
  readonly health: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
}

export interface DockerVersion {
  readonly client: string;
  readonly server: string;
  readonly apiVersion: string;
}

export interface RegistryLogin {
  /** host[:port], e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com or 127.0.0.1:5000. */
  readonly registry: string;
  readonly username: string;
  readonly password: string;
  /**
   * DOCKER_CONFIG directory to store the credentials in. Pass a throwaway directory so a CI token
   * never lands in the user's ~/.docker; pass the same one to push and pull.
   */
  readonly configDir?: string;
}

export interface Docker {
  version(): Promise<DockerVersion>;
  build(options: BuildOptions): Promise<{ imageId: string }>;
  /** undefined when no such image exists locally. */
  imageInspect(ref: string): Promise<ImageInfo | undefined>;
  tag(source: string, target: string): Promise<void>;
  /** Returns the manifest digest the registry reported. */
  push(ref: string, options?: { configDir?: string }): Promise<{ digest: string | undefined }>;
  pull(ref: string, options?: { configDir?: string }): Promise<void>;
  /**
   * Runs a container to completion (removed afterwards) and returns what it wrote to stdout.
   * Aborting the signal removes the container too, not just the client attached to it.
   */
  run(options: RunOptions): Promise<{ stdout: string[] }>;
  /** Starts a container in the background and returns its id. */
  runDetached(options: RunOptions & { remove?: boolean }): Promise<{ containerId: string }>;
  /** Force-removes containers; ids that no longer exist are ignored. */
  rm(containers: readonly string[]): Promise<void>;
  /** Removes image tags or ids; refs that no longer exist are ignored. */
  rmi(refs: readonly string[], options?: { force?: boolean }): Promise<void>;
  /** Containers (running or not) carrying all the given labels. */
  ps(options: { labels: Readonly<Record<string, string>> }): Promise<ContainerInfo[]>;
  login(options: RegistryLogin): Promise<void>;
}

interface Completed {
  readonly ok: boolean;
  readonly exitCode: number | undefined;
  readonly stdout: string;
  readonly stdoutLines: readonly string[];
  /** stdout and stderr lines, interleaved as they arrived. */
  readonly lines: readonly string[];
}

interface ExecOptions {
  readonly input?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Forward lines to onOutput (long-running commands whose progress a user wants to see). */
  readonly stream?: boolean;
  /** For clean-up that must still happen after the signal aborted. */
  readonly ignoreSignal?: boolean;
}

const DAEMON_DOWN =
  /Cannot connect to the Docker daemon|Is the docker daemon running|error during connect|permission denied while trying to connect/i;
const NO_SUCH_IMAGE = /No such image|does not exist locally|reference does not exist/i;
const NOT_IN_REGISTRY = /manifest unknown|not found|repository does not exist|pull access denied/i;
const NO_SUCH_CONTAINER = /No such container/i;

export function createDocker(options: DockerOptions): Docker {
  const { cwd, onOutput, signal } = options;

  async function exec(args: readonly string[], execOptions: ExecOptions = {}): Promise<Completed> {
    const lines: string[] = [];
    const stdoutLines: string[] = [];
    const collector = (into: string[][]) =>
      function* (line: unknown) {
        const text = String(line);
        for (const list of into) list.push(text);
        if (execOptions.stream === true) onOutput?.(text);
        yield line;
      };
    const cancel = execOptions.ignoreSignal === true ? undefined : signal;
    const result = await execa('docker', args, {
      cwd,
      env: { ...options.env, ...execOptions.env },
      reject: false,
      stdout: [collector([lines, stdoutLines])],
      stderr: [collector([lines])],
      ...(execOptions.input === undefined ? { stdin: 'ignore' } : { input: execOptions.input }),
      ...(cancel === undefined ? {} : { cancelSignal: cancel }),
    });
    if (result.isCanceled) {
      cancel?.throwIfAborted();
    }
    if (result.failed && result.exitCode === undefined && result.code === 'ENOENT') {
      throw new DockerFailure({ reason: 'docker-missing' });
    }
    if (result.failed) {
      const down = lines.find((line) => DAEMON_DOWN.test(line));
      if (down !== undefined)
        throw new DockerFailure({ reason: 'daemon-down', detail: down.trim() });
    }
    return {
      ok: !result.failed,
      exitCode: result.exitCode,
      stdout: result.stdout,
      stdoutLines,
      lines,
    };
  }

  function commandFailed(args: readonly string[], completed: Completed): DockerFailure {
    return new DockerFailure({
      reason: 'command-failed',
      command: ['docker', ...args],
      exitCode: completed.exitCode,
      lastLines: tailLines(completed.lines),
    });
  }

  function configEnv(configDir: string | undefined): Record<string, string> {
    return configDir === undefined ? {} : { DOCKER_CONFIG: path.resolve(cwd, configDir) };
  }

  async function imageInspect(ref: string): Promise<ImageInfo | undefined> {
    const args = ['image', 'inspect', '--', ref];
    const completed = await exec(args);
    if (!completed.ok) {
      if (completed.lines.some((line) => NO_SUCH_IMAGE.test(line))) return undefined;
      throw commandFailed(args, completed);
    }
    const [image] = z.array(imageInspectSchema).parse(JSON.parse(completed.stdout));
    if (image === undefined) return undefined;
    return {
      id: image.Id,
      repoTags: image.RepoTags ?? [],
      repoDigests: image.RepoDigests ?? [],
      labels: image.Config?.Labels ?? {},
      created: image.Created,
      size: image.Size,
    };
  }

  function runArgs(run: RunOptions): { args: string[]; env: Record<string, string> } {
    const args: string[] = [];
    const env: Record<string, string> = {};
    if (run.name !== undefined) args.push('--name', run.name);
    for (const [name, value] of sortedEntries(run.env)) {
      // The client reads these itself; letting a container variable set one would redirect or
      // reconfigure the docker command instead of reaching the container.
      if (name.startsWith('DOCKER_'))
        throw new Error(`container env ${name} would configure the docker client`);
      args.push('--env', name);
      env[name] = value;
    }
    for (const [name, value] of sortedEntries(run.labels)) args.push('--label', `${name}=${value}`);
    if (run.network !== undefined) args.push('--network', run.network);
    if (run.user !== undefined) args.push('--user', run.user);
    if (run.workdir !== undefined) args.push('--workdir', run.workdir);
    if (run.entrypoint !== undefined) args.push('--entrypoint', run.entrypoint);
    if (run.restart !== undefined) args.push('--restart', run.restart);
    if (run.pull !== undefined) args.push('--pull', run.pull);
    if (run.noHealthcheck === true) args.push('--no-healthcheck');
    for (const volume of run.volumes ?? []) {
      // --mount, not -v: a missing source is an error instead of a silently created empty dir.
      const readOnly = volume.readOnly === true ? ',readonly' : '';
      const source =
        volume.kind === 'volume'
          ? `type=volume,source=${volume.source}`
          : `type=bind,source=${path.resolve(cwd, volume.source)}`;
      args.push('--mount', `${source},target=${volume.target}${readOnly}`);
    }
    args.push('--', run.image, ...(run.command ?? []));
    return { args, env };
  }

  function runFailed(
    run: RunOptions,
    args: readonly string[],
    completed: Completed,
  ): DockerFailure {
    if (completed.lines.some((line) => /Unable to find image|No such image/i.test(line))) {
      return new DockerFailure({ reason: 'image-not-found', ref: run.image });
    }
    // docker run exits 125 when the container could not be created or started at all.
    if (completed.exitCode === 125) return commandFailed(args, completed);
    return new DockerFailure({
      reason: 'container-failed',
      image: run.image,
      exitCode: completed.exitCode,
      lastLines: tailLines(completed.lines),
    });
  }

  return {
    async version() {
      const args = ['version', '--format', '{{json .}}'];
      const completed = await exec(args);
      if (!completed.ok) throw commandFailed(args, completed);
      const version = versionSchema.parse(JSON.parse(completed.stdout));
      return {
        client: version.Client.Version,
        server: version.Server.Version,
        apiVersion: version.Server.ApiVersion,
      };
    },

    async build(build) {
      const iidDir =
        build.iidFile === undefined
          ? await mkdtemp(path.join(tmpdir(), 'taskgraph-iid-'))
          : undefined;
      const iidFile = build.iidFile ?? path.join(iidDir ?? '', 'iid');
      try {
        // --force-rm: the classic builder otherwise keeps the container of a failed step forever.
        const args = ['build', '--force-rm', '--file', build.file, '--iidfile', iidFile];
        for (const tag of build.tags ?? []) args.push('--tag', tag);
        for (const [name, value] of sortedEntries(build.buildArgs)) {
          args.push('--build-arg', `${name}=${value}`);
        }
        for (const [name, value] of sortedEntries(build.labels))
          args.push('--label', `${name}=${value}`);
        if (build.target !== undefined) args.push('--target', build.target);
        if (build.platform !== undefined) args.push('--platform', build.platform);
        if (build.network !== undefined) args.push('--network', build.network);
        if (build.pull === true) args.push('--pull');
        if (build.noCache === true) args.push('--no-cache');
        args.push(build.context);
        // The classic builder by default: it is what every daemon has (no buildx plugin needed)
        // and its "Step N/M" lines name the failing step. DOCKER_BUILDKIT in options.env wins.
        const completed = await exec(args, {
          stream: true,
          env: { DOCKER_BUILDKIT: options.env?.DOCKER_BUILDKIT ?? '0' },
        });
        if (!completed.ok) {
          throw new DockerFailure({
            reason: 'build-failed',
            dockerfile: build.file,
            step: lastBuildStep(completed.lines),
            lastLines: tailLines(completed.lines),
          });
        }
        return { imageId: (await readFile(iidFile, 'utf8')).trim() };
      } finally {
        if (iidDir !== undefined) await rm(iidDir, { recursive: true, force: true });
      }
    },

    imageInspect,

    async tag(source, target) {
      const args = ['tag', source, target];
      const completed = await exec(args);
      if (completed.ok) return;
      if (completed.lines.some((line) => NO_SUCH_IMAGE.test(line))) {
        throw new DockerFailure({ reason: 'image-not-found', ref: source });
      }
      throw commandFailed(args, completed);
    },

    async push(ref, pushOptions = {}) {
      const args = ['push', ref];
      const completed = await exec(args, { stream: true, env: configEnv(pushOptions.configDir) });
      if (!completed.ok) {
        if (completed.lines.some((line) => NO_SUCH_IMAGE.test(line))) {
          throw new DockerFailure({ reason: 'image-not-found', ref });
        }
        throw commandFailed(args, completed);
      }
      // "<tag>: digest: sha256:... size: 1234", the last line of a successful push.
      const digest = completed.lines
        .map((line) => /digest: (sha256:[0-9a-f]{64})/.exec(line)?.[1])
        .findLast((found) => found !== undefined);
      return { digest };
    },

    async pull(ref, pullOptions = {}) {
      const args = ['pull', ref];
      const completed = await exec(args, { stream: true, env: configEnv(pullOptions.configDir) });
      if (completed.ok) return;
      if (completed.lines.some((line) => NOT_IN_REGISTRY.test(line))) {
        throw new DockerFailure({ reason: 'image-not-found', ref });
      }
      throw commandFailed(args, completed);
    },

    async run(run) {
      // Named, so an abort can remove the container: killing the attached client leaves it
      // running, and PID 1 in a container ignores the SIGTERM the client would forward.
      const name = run.name ?? `taskgraph-run-${randomBytes(6).toString('hex')}`;
      const { args, env } = runArgs({ ...run, name });
      const fullArgs = ['run', '--rm', ...args];
      const removeContainer = () => exec(['rm', '--force', name], { ignoreSignal: true });
      // Removing the container at once ends the attached client too, well before execa's
      // SIGTERM-then-SIGKILL of the client would.
      const onAbort = () => void removeContainer().catch(() => undefined);
      signal?.addEventListener('abort', onAbort, { once: true });
      let completed: Completed;
      try {
        completed = await exec(fullArgs, { stream: true, env });
      } catch (error) {
        // Again, and awaited: the container may have been created after the first attempt.
        if (signal?.aborted === true) await removeContainer();
        throw error;
      } finally {
        signal?.removeEventListener('abort', onAbort);
      }
      if (!completed.ok) throw runFailed(run, fullArgs, completed);
      return { stdout: [...completed.stdoutLines] };
    },

    async runDetached(run) {
      const { args, env } = runArgs(run);
      const fullArgs = ['run', '--detach', ...(run.remove === true ? ['--rm'] : []), ...args];
      const completed = await exec(fullArgs, { env });
      if (!completed.ok) throw runFailed(run, fullArgs, completed);
      return { containerId: completed.stdout.trim().split('\n').pop() ?? '' };
    },

    async rm(containers) {
      if (containers.length === 0) return;
      const args = ['rm', '--force', '--volumes', ...containers];
      const completed = await exec(args);
      const failed = completed.lines.filter((line) => /^Error/i.test(line));
      if (!completed.ok && !failed.every((line) => NO_SUCH_CONTAINER.test(line))) {
        throw commandFailed(args, completed);
      }
    },

    async rmi(refs, rmiOptions = {}) {
      if (refs.length === 0) return;
      const args = ['image', 'rm', ...(rmiOptions.force === true ? ['--force'] : []), ...refs];
      const completed = await exec(args);
      const failed = completed.lines.filter((line) => /^Error/i.test(line));
      if (!completed.ok && !failed.every((line) => NO_SUCH_IMAGE.test(line))) {
        throw commandFailed(args, completed);
      }
    },

    async ps({ labels }) {
      const args = ['ps', '--all', '--quiet', '--no-trunc'];
      for (const [name, value] of sortedEntries(labels))
        args.push('--filter', `label=${name}=${value}`);
      const listed = await exec(args);
      if (!listed.ok) throw commandFailed(args, listed);
      const ids = listed.stdout.split('\n').filter((id) => id !== '');
      if (ids.length === 0) return [];
      // A container may vanish between ps and inspect; inspect then still prints the others.
      const inspected = await exec(['container', 'inspect', ...ids]);
      if (!inspected.ok && !inspected.stdout.trimStart().startsWith('[')) return [];
      return z
        .array(containerInspectSchema)
        .parse(JSON.parse(inspected.stdout))
        .map((container) => ({
          id: container.Id,
          name: container.Name.replace(/^\//, ''),
          image: container.Config.Image,
          state: container.State.Status,
          exitCode: container.State.ExitCode,
          health: container.State.Health?.Status,
          labels: container.Config.Labels ?? {},
        }));
    },

    async login({ registry, username, password, configDir }) {
      const args = ['login', '--username', username, '--password-stdin', registry];
      const completed = await exec(args, { input: password, env: configEnv(configDir) });
      if (completed.ok) return;
      const detail = tailLines(completed.lines, 1)[0] ?? `exit code ${String(completed.exitCode)}`;
      throw new DockerFailure({ reason: 'login-failed', registry, detail });
    },
  };
}

function sortedEntries(record: Readonly<Record<string, string>> | undefined): [string, string][] {
  return Object.entries(record ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

const labelsSchema = z.record(z.string()).nullable().optional();

const imageInspectSchema = z.object({
  Id: z.string(),
  RepoTags: z.array(z.string()).nullable().optional(),
  RepoDigests: z.array(z.string()).nullable().optional(),
  Created: z.string(),
  Size: z.number(),
  Config: z.object({ Labels: labelsSchema }).nullable().optional(),
});

const containerInspectSchema = z.object({
  Id: z.string(),
  Name: z.string(),
  State: z.object({
    Status: z.string(),
    ExitCode: z.number(),
    Health: z.object({ Status: z.string() }).nullable().optional(),
  }),
  Config: z.object({ Image: z.string(), Labels: labelsSchema }),
});

const versionSchema = z.object({
  Client: z.object({ Version: z.string() }),
  Server: z.object({ Version: z.string(), ApiVersion: z.string() }),
});
