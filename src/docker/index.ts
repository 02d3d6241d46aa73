/**
 * The Docker helpers a Taskfile may use (`import { createDocker } from 'taskgraph/docker'`): the
 * docker CLI as an adapter (argv arrays, output to the task's log, aborts), its failures as data,
 * and local and registry images as output kinds.
 */
export { createDocker } from './docker.js';
export type {
  BuildOptions,
  ContainerInfo,
  Docker,
  DockerOptions,
  DockerVersion,
  ImageInfo,
  RegistryLogin,
  RunOptions,
  Volume,
} from './docker.js';
export { describeDockerError, DockerFailure, isDockerFailure } from './errors.js';
export type { DockerError } from './errors.js';
export { dockerImageOutput, registryImageOutput } from './image-output.js';
export type { RegistryImage } from './image-output.js';
