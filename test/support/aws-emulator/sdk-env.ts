/**
 * Points the real AWS SDK clients at an emulator the way a user points them at any endpoint:
 * through the SDK's standard environment variables, not an `endpoint` option. Undo with
 * `vi.unstubAllEnvs()`.
 */
import { vi } from 'vitest';
import type { AwsEmulator } from './server.js';

export function pointSdkAt(emulator: Pick<AwsEmulator, 'endpoint' | 'account'>): void {
  vi.stubEnv('AWS_ENDPOINT_URL_ECS', emulator.endpoint);
  vi.stubEnv('AWS_ENDPOINT_URL_ECR', emulator.endpoint);
  vi.stubEnv('AWS_ENDPOINT_URL_STS', emulator.endpoint);
  for (const service of [
    'CLOUDWATCH_LOGS',
    'SSM',
    'SECRETS_MANAGER',
    'IAM',
    'ELASTIC_LOAD_BALANCING_V2',
  ]) {
    vi.stubEnv(`AWS_ENDPOINT_URL_${service}`, emulator.endpoint);
  }
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEMULATOR');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'emulator-secret');
  vi.stubEnv('AWS_REGION', emulator.account.region);
}

/** The error a call fails with; fails the test if the call succeeds. */
export async function errorOf(
  promise: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof Error) return e;
    throw e;
  }
  throw new Error('expected the call to fail');
}
