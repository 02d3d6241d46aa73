import { defineEnvironment } from '../src/environment.js';

/**
 * Ports can be moved off the defaults without editing this file (a second checkout, a test run, a
 * machine where 8080 is taken): TASKGRAPH_LOCAL_NGINX_PORT, TASKGRAPH_LOCAL_PHP_FPM_PORT and
 * TASKGRAPH_LOCAL_PHP_FPM_ALTERNATE_PORT. The values end up in the rendered config and in the
 * tasks' vars, so changing one re-renders and redeploys.
 */
function port(variable: string, fallback: number): number {
  const raw = process.env[variable];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,5}$/.test(raw)) {
    throw new Error(`environments/local.ts: ${variable}=${raw} is not a port number (1-65535)`);
  }
  return Number(raw);
}

const nginxPort = port('TASKGRAPH_LOCAL_NGINX_PORT', 8080);

export default defineEnvironment('local', {
  kind: 'local',
  host: '127.0.0.1',
  nginx: { port: nginxPort, serverNames: ['localhost', 'example.test'] },
  phpFpm: {
    // The local deploy starts the new php-fpm on whichever port is free, then points nginx at it.
    ports: {
      primary: port('TASKGRAPH_LOCAL_PHP_FPM_PORT', 9001),
      alternate: port('TASKGRAPH_LOCAL_PHP_FPM_ALTERNATE_PORT', 9002),
    },
    pool: {
      pm: 'dynamic',
      maxChildren: 4,
      startServers: 1,
      minSpareServers: 1,
      maxSpareServers: 2,
      maxRequests: 0,
    },
  },
  app: {
    env: {
      APP_ENV: 'local',
      APP_DEBUG: 'true',
      APP_URL: `http://127.0.0.1:${nginxPort}`,
      LOG_CHANNEL: 'stderr',
      DB_CONNECTION: 'sqlite',
      DB_DATABASE: '/var/www/example/database/database.sqlite',
      CACHE_STORE: 'file',
      SESSION_DRIVER: 'file',
    },
  },
});
