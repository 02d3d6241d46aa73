/** Every ECR/ECS command and its description, in one module for the Taskfile's lazy import. */
export { checkAccount } from './account.js';
export { createAwsClients, destroyAwsClients, systemClock } from './clients.js';
export type { AwsClients, AwsContext, Clock } from './clients.js';
export { create, describeCreate } from './create.js';
export { deploy, describeDeploy } from './deploy.js';
export { describePush, push } from './ecr.js';
export { describeAwsFailure } from './errors.js';
export type { AwsFailureData, Result } from './errors.js';
export { deregister, describeDeregister } from './revisions.js';
export { describeRollback, rollback } from './rollback.js';
export { describeScale, scale } from './scale.js';
export { describeDiff, describeStatus, diff, status } from './status.js';
export { readRenderedTaskDefinitions } from './task-definitions.js';
export { describeVerify, verify } from './verify.js';
export { followLogs, logs, logTargets, parseSince } from './logs.js';
export { describeRun, runOneOff } from './one-off.js';
export { describeUnifiedDiff, unifiedServiceDiff } from './service-diff.js';
export { describeDryRun, dryRun } from './dry-run.js';
