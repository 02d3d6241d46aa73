import { defineEnvironment } from './schema.js';

export default defineEnvironment('local', {
  kind: 'local',
  host: '127.0.0.1',
  nginx: { port: 8080, serverNames: ['localhost', 'example.test'] },
  phpFpm: {
    // The local deploy starts the new php-fpm on whichever port is free, then points nginx at it.
    ports: { primary: 9001, alternate: 9002 },
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
      APP_URL: 'http://127.0.0.1:8080',
      LOG_CHANNEL: 'stderr',
      DB_CONNECTION: 'sqlite',
      DB_DATABASE: '/var/www/example/database/database.sqlite',
      CACHE_STORE: 'file',
      SESSION_DRIVER: 'file',
    },
  },
});
