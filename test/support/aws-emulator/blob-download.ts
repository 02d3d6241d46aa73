/**
 * Where ECR sends a blob download. ECR's registry endpoint answers `GET /v2/<name>/blobs/<digest>`
 * with a redirect to a pre-signed Amazon S3 URL (the URL GetDownloadUrlForLayer also hands out:
 * "Retrieves the pre-signed Amazon S3 download URL corresponding to an image layer",
 * https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_GetDownloadUrlForLayer.html),
 * and the OCI distribution spec allows any blob GET to be a 307 to another location
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-blobs).
 *
 * This is that other origin (its own port): it serves the blob to a request whose signature
 * (the query string) it issued, and refuses one that also sends an Authorization header, as S3
 * refuses two auth mechanisms at once ("Only one auth mechanism allowed",
 * https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html). A client that
 * carried the registry token across the redirect fails here, as it would against S3.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registryBase, registryUser, type RegistryAccess } from './registry-client.js';

export interface BlobDownload {
  /** The pre-signed URL of `repository`'s blob `digest`. */
  presign(repository: string, digest: string): string;
  stop(): Promise<void>;
}

export async function startBlobDownload(access: RegistryAccess): Promise<BlobDownload> {
  const key = randomBytes(32);
  const sign = (path: string) => createHmac('sha256', key).update(path).digest('hex');
  const authorization = `Basic ${Buffer.from(`${registryUser}:${access.password}`).toString('base64')}`;
  const s3Error = (response: ServerResponse, status: number, code: string, message: string) => {
    response
      .writeHead(status, { 'content-type': 'application/xml' })
      .end(`<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
  };

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://s3');
    if (request.headers.authorization !== undefined) {
      return s3Error(
        response,
        400,
        'InvalidArgument',
        'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
      );
    }
    if (url.searchParams.get('X-Amz-Signature') !== sign(url.pathname)) {
      return s3Error(
        response,
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided.',
      );
    }
    const blob = await fetch(`${registryBase(access)}/v2${url.pathname}`, {
      headers: { authorization },
    });
    if (!blob.ok) {
      await blob.body?.cancel();
      return s3Error(response, 404, 'NoSuchKey', 'The specified key does not exist.');
    }
    response.writeHead(200, { 'content-type': 'application/octet-stream' });
    response.end(Buffer.from(await blob.arrayBuffer()));
  }

  const server = createServer((request, response) => {
    handle(request, response).catch(() => response.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    presign(repository, digest) {
      const path = `/${repository}/blobs/${digest}`;
      return `http://127.0.0.1:${port}${path}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=${sign(path)}`;
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}
