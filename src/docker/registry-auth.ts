/**
 * A throwaway DOCKER_CONFIG holding one registry credential, written by us rather than by
 * `docker login`.
 *
 * `docker login` hands the password to a credential helper whenever one is configured or
 * detected: with no `credsStore` in config.json it looks for the platform's default helper (the
 * OS keychain on macOS and Windows, `pass` or `secretservice` on Linux) and stores the secret
 * there (https://docs.docker.com/reference/cli/docker/login/#credential-stores). Deleting the
 * folder then leaves the token behind in the keychain. A config.json that already holds an
 * `auths` entry and names no `credsStore` or `credHelpers` makes docker read the credential from
 * the file and never run a helper: "If none of these binaries are present, it stores the
 * credentials ... in base64 encoding in the config files", and it reads them back from there.
 *
 * The folder is mode 0700 (mkdtemp) and the file 0600; it is removed when `body` settles, whether
 * it succeeded, failed or was aborted (Ctrl-C aborts the docker child, which rejects `body`).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface RegistryAuth {
  /** host[:port] exactly as it appears in image references. */
  readonly registry: string;
  /** base64 of `username:password`, the form docker keeps in `auths.<host>.auth`. */
  readonly auth: string;
}

/** Pure: the config.json that authenticates to `registry` and nothing else, with no helper. */
export function registryAuthConfig(auth: RegistryAuth): string {
  return `${JSON.stringify({ auths: { [auth.registry]: { auth: auth.auth } } }, null, 2)}\n`;
}

export async function withRegistryAuth<T>(
  auth: RegistryAuth,
  options: { readonly tmpDir?: string },
  body: (configDir: string) => Promise<T>,
): Promise<T> {
  const configDir = await mkdtemp(
    path.join(options.tmpDir ?? tmpdir(), 'taskgraph-docker-config-'),
  );
  try {
    await writeFile(path.join(configDir, 'config.json'), registryAuthConfig(auth), {
      mode: 0o600,
      flag: 'wx',
    });
    return await body(configDir);
  } finally {
    await rm(configDir, { recursive: true, force: true });
  }
}
