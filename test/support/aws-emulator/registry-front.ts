/**
 * ECR's registry endpoint: the emulator answers `/v2/...` itself and forwards to the real
 * registry behind it, so `docker push` meets ECR's rules on the real push path:
 *
 * - a manifest PUT to a tag that exists in an IMMUTABLE repository is refused, as ECR refuses it
 *   ("tag invalid: The image tag '...' already exists in the '...' repository and cannot be
 *   overwritten because the repository is immutable",
 *   https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-tag-mutability.html); the API
 *   twin is PutImage's ImageTagAlreadyExistsException (ecr.ts);
 * - a push to a repository ECR does not have fails with NAME_UNKNOWN: ECR never creates one on
 *   push.
 *
 * - a blob GET the registry would answer is a 307 to a pre-signed S3 URL on another origin
 *   (blob-download.ts), as ECR answers it.
 *
 * Everything else (blob uploads, auth challenges, Location headers built from Host) passes through
 * unchanged: the Host header is kept, so the registry's redirects point back here.
 */
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { BlobDownload } from './blob-download.js';
import type { EcrState } from './ecr.js';
import { registryBase, registryClient, type RegistryAccess } from './registry-client.js';

export function registryFront(access: RegistryAccess, state: EcrState, downloads?: BlobDownload) {
  const base = new URL(registryBase(access));
  const client = registryClient(access);
  const refuse = (response: ServerResponse, status: number, code: string, message: string) => {
    response
      .writeHead(status, { 'content-type': 'application/json' })
      .end(JSON.stringify({ errors: [{ code, message, detail: null }] }));
  };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = new URL(request.url ?? '/', 'http://front').pathname;
    const named = /^\/v2\/(.+)\/(manifests|blobs)\/(.+)$/.exec(path);
    const writes = request.method === 'PUT' || request.method === 'POST';
    if (named && writes) {
      const [, repository = '', kind, reference = ''] = named;
      const record = state.repositories.get(repository);
      if (!record) {
        return refuse(
          response,
          404,
          'NAME_UNKNOWN',
          `The repository with name '${repository}' does not exist in the registry with id '${state.account.accountId}'`,
        );
      }
      const tagPut = kind === 'manifests' && !reference.startsWith('sha256:');
      if (
        tagPut &&
        record.sent['imageTagMutability'] === 'IMMUTABLE' &&
        (await client.manifest(repository, reference)) !== undefined
      ) {
        return refuse(
          response,
          400,
          'TAG_INVALID',
          `The image tag '${reference}' already exists in the '${repository}' repository and cannot be overwritten because the repository is immutable.`,
        );
      }
    }
    // A blob download the registry would serve goes to S3 instead (blob-download.ts).
    const blob = /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(path);
    if (downloads && blob && request.method === 'GET') {
      const [, repository = '', digest = ''] = blob;
      const allowed = await fetch(`${base.origin}${path}`, {
        method: 'HEAD',
        headers: request.headers.authorization
          ? { authorization: request.headers.authorization }
          : {},
      });
      if (allowed.ok) {
        response.writeHead(307, { location: downloads.presign(repository, digest) }).end();
        return;
      }
    }
    await new Promise<void>((resolve) => {
      const upstream = httpRequest(
        {
          hostname: base.hostname,
          port: base.port,
          method: request.method,
          path: request.url,
          headers: request.headers,
        },
        (answer) => {
          response.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(response);
          answer.on('end', resolve);
        },
      );
      upstream.on('error', () => {
        response.destroy();
        resolve();
      });
      request.pipe(upstream);
    });
  }

  return (request: IncomingMessage, response: ServerResponse): void => {
    handle(request, response).catch(() => response.destroy());
  };
}
