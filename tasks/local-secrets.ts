/**
 * The local environment's secrets: APP_KEY and the database password, made once per checkout and
 * kept in an ignored file (build/local/secrets.json, mode 0600), as ECS keeps its own in SSM or
 * Secrets Manager. They reach containers through the docker client's environment (`--env NAME`),
 * never argv, an image or a rendered file. APP_KEY (or DB_PASSWORD) in the environment of
 * `npx task local:deploy` wins over the file, for a key a team shares.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const SECRETS_FILE = 'build/local/secrets.json';

export interface LocalSecrets {
  readonly APP_KEY: string;
  readonly DB_PASSWORD: string;
}

/** What `php artisan key:generate --show` prints: 32 random bytes for AES-256-CBC. */
function appKey(): string {
  return `base64:${randomBytes(32).toString('base64')}`;
}

function stored(file: string): Partial<LocalSecrets> {
  if (!existsSync(file)) return {};
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const pick = (name: keyof LocalSecrets) =>
      typeof parsed[name] === 'string' && parsed[name] !== '' ? { [name]: parsed[name] } : {};
    return { ...pick('APP_KEY'), ...pick('DB_PASSWORD') };
  } catch {
    // A damaged file is replaced; the database takes the new password when it restarts.
    return {};
  }
}

export function localSecrets(root: string, environment: NodeJS.ProcessEnv): LocalSecrets {
  const file = join(root, SECRETS_FILE);
  const kept = stored(file);
  const secrets = {
    APP_KEY: kept.APP_KEY ?? appKey(),
    DB_PASSWORD: kept.DB_PASSWORD ?? randomBytes(24).toString('base64url'),
  };
  if (kept.APP_KEY === undefined || kept.DB_PASSWORD === undefined) {
    // Created 0600 before anything is written into it, then renamed into place.
    mkdirSync(dirname(file), { recursive: true });
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600, flag: 'w' });
    renameSync(temp, file);
  }
  return {
    APP_KEY: environment.APP_KEY || secrets.APP_KEY,
    DB_PASSWORD: environment.DB_PASSWORD || secrets.DB_PASSWORD,
  };
}
