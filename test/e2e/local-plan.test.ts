/**
 * The local deploy's decisions on plain data (no docker): which php-fpm port the new container
 * takes, what is kept, what is cleared, and how the runtime config and FastCGI answers are read.
 */
import { describe, expect, it } from 'vitest';
import { configuredPort, fastcgiStatus, planDeploy } from '../../tasks/local-plan.ts';
import type { LocalContainer } from '../../tasks/local-plan.ts';

const desired = {
  phpFpmImage: 'prod_example_php_fpm:new',
  nginxImage: 'prod_example_nginx:n1',
  ports: { primary: 9001, alternate: 9002 },
};

function fpm(port: number, image: string, state = 'running'): LocalContainer {
  return { id: `fpm${port}`, name: `php-fpm-${port}`, image, state, role: 'php-fpm', port };
}
const nginx: LocalContainer = {
  id: 'nginx',
  name: 'nginx',
  image: 'prod_example_nginx:n1',
  state: 'running',
  role: 'nginx',
  port: 8080,
};

describe('planDeploy', () => {
  it('starts everything on the primary port when nothing runs', () => {
    expect(planDeploy({ containers: [], configuredPort: undefined }, desired)).toEqual({
      clear: [],
      phpFpm: { kind: 'start', port: 9001, retire: undefined },
      nginx: { kind: 'start', replace: undefined },
    });
  });

  it('keeps what already runs the wanted images', () => {
    const serving = fpm(9002, desired.phpFpmImage);
    const plan = planDeploy({ containers: [nginx, serving], configuredPort: 9002 }, desired);
    expect(plan).toEqual({
      clear: [],
      phpFpm: { kind: 'keep', container: serving },
      nginx: { kind: 'keep', container: nginx },
    });
  });

  it('starts a new php-fpm on the other port and retires the serving one', () => {
    const serving = fpm(9001, 'prod_example_php_fpm:old');
    const plan = planDeploy({ containers: [nginx, serving], configuredPort: 9001 }, desired);
    expect(plan.phpFpm).toEqual({ kind: 'start', port: 9002, retire: serving });
    expect(plan.nginx).toEqual({ kind: 'keep', container: nginx });
  });

  it('clears a leftover from an interrupted deploy: nginx never pointed at it', () => {
    const serving = fpm(9001, 'prod_example_php_fpm:old');
    const leftover = fpm(9002, desired.phpFpmImage);
    const plan = planDeploy(
      { containers: [nginx, serving, leftover], configuredPort: 9001 },
      desired,
    );
    expect(plan.clear).toEqual([leftover]);
    expect(plan.phpFpm).toEqual({ kind: 'start', port: 9002, retire: serving });
  });

  it('replaces a stopped php-fpm and an nginx of another image', () => {
    const stopped = fpm(9002, desired.phpFpmImage, 'exited');
    const oldNginx = { ...nginx, image: 'prod_example_nginx:n0' };
    const plan = planDeploy({ containers: [oldNginx, stopped], configuredPort: 9002 }, desired);
    expect(plan.clear).toEqual([stopped]);
    expect(plan.phpFpm).toEqual({ kind: 'start', port: 9001, retire: undefined });
    expect(plan.nginx).toEqual({ kind: 'start', replace: oldNginx });
  });

  it('moves php-fpm when its port is no longer one of the configured ones', () => {
    const serving = fpm(9005, desired.phpFpmImage);
    const plan = planDeploy({ containers: [nginx, serving], configuredPort: 9005 }, desired);
    expect(plan.phpFpm).toEqual({ kind: 'start', port: 9001, retire: serving });
  });
});

describe('reading answers', () => {
  it('finds the FastCGI port nginx is pointed at', () => {
    const conf = '# Rendered\nupstream php_fpm {\n    server 127.0.0.1:9002;\n}\nserver {}\n';
    expect(configuredPort(conf)).toBe(9002);
    expect(configuredPort(undefined)).toBeUndefined();
    expect(configuredPort('server { listen 80; }')).toBeUndefined();
  });

  it('reads the status of a FastCGI response, 200 when php-fpm sends none', () => {
    expect(fastcgiStatus('Content-Type: text/plain\r\n\r\nok\n')).toBe(200);
    expect(
      fastcgiStatus('Status: 500 Internal Server Error\r\nContent-type: text/html\r\n\r'),
    ).toBe(500);
    expect(fastcgiStatus('Status: 404 Not Found\r\n\r\nNot Found')).toBe(404);
    expect(fastcgiStatus('')).toBeUndefined();
  });
});
