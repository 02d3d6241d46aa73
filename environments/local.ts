import { defineEnvironment } from '../src/environment.js';

/**
 * Ports can be moved off the defaults without editing this file (a second checkout, a test run, a
 * machine where 8080 is taken): TASKGRAPH_LOCAL_NGINX_PORT, TASKGRAPH_LOCAL_PHP_FPM_PORT,
 * TASKGRAPH_LOCAL_PHP_FPM_ALTERNATE_PORT and TASKGRAPH_LOCAL_DB_PORT. The values end up in the
 * rendered config and in the tasks' vars, so changing one re-renders and redeploys.
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
  // MariaDB in its own container, data on a named volume; 3307 so a MySQL of the machine's own on
  // 3306 is left alone. The password (and APP_KEY) are the checkout's: build/local/secrets.json.
  database: { port: port('TASKGRAPH_LOCAL_DB_PORT', 3307), name: 'example', user: 'example' },
  // The same commands staging and prod run as their worker and scheduler services.
  workers: {
    worker: {
      command: ['php', 'artisan', 'queue:work', '--sleep=1', '--tries=3', '--max-time=3600'],
    },
    scheduler: { command: ['php', 'artisan', 'schedule:work'] },
  },
  app: {
    env: {
      APP_ENV: 'local',
      APP_DEBUG: 'true',
      APP_URL: `http://127.0.0.1:${nginxPort}`,
      LOG_CHANNEL: 'stderr',
      DB_CONNECTION: 'mysql',
      CACHE_DRIVER: 'database',
      QUEUE_CONNECTION: 'database',
    },
  },
});
