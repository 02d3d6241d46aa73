import { describe, expect, it } from 'vitest';
import { RenderError } from '../../src/render/failure.js';
import {
  checkNginxConfig,
  nginxTestArgs,
  type DockerRunner,
} from '../../src/render/nginx-check.js';

const options = {
  image: 'local_example_nginx:latest',
  configFile: '/repo/build/staging/nginx/default.conf',
  upstreamHost: 'php-fpm.staging.example.internal',
};

/** Records the arguments and answers like `docker run` would. */
function runner(exitCode: number, output: string): DockerRunner & { calls: string[][] } {
  const calls: string[][] = [];
  return {
    calls,
    run: async (args) => {
      calls.push([...args]);
      return { exitCode, output };
    },
  };
}

describe('nginx -t', () => {
  it('mounts the config where the production image puts it and maps the upstream host', () => {
    expect(nginxTestArgs(options)).toEqual([
      '--rm',
      '--add-host',
      'php-fpm.staging.example.internal:127.0.0.1',
      '--volume',
      '/repo/build/staging/nginx/default.conf:/etc/nginx/conf.d/example.conf:ro',
      '--entrypoint',
      'nginx',
      'local_example_nginx:latest',
      '-t',
    ]);
    expect(nginxTestArgs({ ...options, upstreamHost: '127.0.0.1' })).not.toContain('--add-host');
  });

  it('passes when nginx accepts the config', async () => {
    const docker = runner(
      0,
      'nginx: configuration file /etc/nginx/nginx.conf test is successful\n',
    );
    await checkNginxConfig(docker, options);
    expect(docker.calls).toEqual([nginxTestArgs(options)]);
  });

  it("fails with nginx's own words, naming the rendered file", async () => {
    const output =
      'nginx: [emerg] unknown directive "server_nme" in /etc/nginx/conf.d/example.conf:7\n' +
      'nginx: configuration file /etc/nginx/nginx.conf test failed\n';
    const error = await checkNginxConfig(runner(1, output), {
      ...options,
      name: 'build/staging/nginx/default.conf',
    }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(RenderError);
    expect((error as RenderError).failure).toEqual({
      reason: 'nginx-test-failed',
      file: 'build/staging/nginx/default.conf',
      output,
    });
    expect((error as RenderError).message).toBe(
      `build/staging/nginx/default.conf: nginx -t rejected the rendered config:\n${output.trimEnd()}`,
    );
  });
});
