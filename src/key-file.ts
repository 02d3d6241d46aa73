/** A task key as a file name under .task/ (its log, its detail, its lock). */
import { createHash } from 'node:crypto';

/** Readable and collision-free: `vendor_archive-1a2b3c4d5e6f`. */
export function keyFileName(key: string): string {
  const readable = key.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80);
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 12);
  return `${readable}-${hash}`;
}
