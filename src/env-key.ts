/**
 * How a declared env var's value enters the fingerprint: an HMAC-SHA256 under a random key kept
 * per checkout in .task/env-key (mode 0600), never a plain sha256. Records and --explain's
 * detail hold these digests; a plain sha256 of a short secret is brute-forced in seconds from
 * them (or from the fingerprint, whose other parts the detail lists), a keyed one is not without
 * the key file.
 *
 * The price: a task that declares env has a fingerprint particular to this checkout (and so do
 * its dependents), so a content-addressed tag shared between machines should not derive from it.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const KEY_FILE = 'env-key';

/** The digest function for env values under `taskDir` (the project's .task/); reads the key once. */
export function envValueDigest(taskDir: string): (value: string) => string {
  let key: Buffer | undefined;
  return (value) => {
    key ??= loadKey(join(taskDir, KEY_FILE));
    return `hmac:${createHmac('sha256', key).update(value).digest('hex')}`;
  };
}

/**
 * The checkout's key, made on first use. A checkout that cannot be written (a dry run on a
 * read-only mount) gets a key for this run only: nothing recorded can match it, so its tasks
 * read as changed, which is the safe answer.
 */
function loadKey(path: string): Buffer {
  try {
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
    if (key.length === 32) return key;
  } catch {
    // Not made yet.
  }
  const key = randomBytes(32);
  try {
    mkdirSync(join(path, '..'), { recursive: true });
    // `wx`: two runs making it at once keep the first one's, read back below.
    writeFileSync(path, key.toString('hex'), { mode: 0o600, flag: 'wx' });
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      const theirs = Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
      if (theirs.length === 32) return theirs;
    }
    return key;
  }
}
