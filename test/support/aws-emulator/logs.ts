/**
 * CloudWatch Logs (JSON 1.1, target `Logs_20140328`): log groups and their retention, streams,
 * PutLogEvents (what the awslogs driver calls, and what tests call to play a container), and the
 * reads a follower makes: FilterLogEvents and GetLogEvents.
 *
 * Documented behaviour modelled here, worst case where the docs allow several:
 * - https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_FilterLogEvents.html
 *   events are sorted by timestamp; a page holds at most `limit` events and a nextToken says
 *   there are more. Events become searchable only once ingested, which is later than their
 *   timestamp: a follower that asks only for timestamps after the last one it saw loses events
 *   that arrive late (see `ingestionDelayMs`).
 * - https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
 *   retention is one of a fixed list of day counts.
 * - https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html
 *   an existing group is ResourceAlreadyExistsException.
 */
import { z } from 'zod';
import { hexId, type Account } from './arn.js';
import { fail, parseInput, type Handlers } from './protocol.js';

export interface LogEvent {
  timestamp: number;
  ingestionTime: number;
  message: string;
  eventId: string;
}

export interface LogGroupRecord {
  name: string;
  createdAt: number;
  retentionInDays: number | undefined;
  /** Stream name -> events in the order they were put. */
  streams: Map<string, LogEvent[]>;
}

export interface LogsState {
  readonly account: Account;
  groups: Map<string, LogGroupRecord>;
  /** How long after its timestamp an event written by an emulated task becomes searchable. */
  ingestionDelayMs: number;
  serial: number;
}

export function emptyLogsState(account: Account): LogsState {
  return { account, groups: new Map(), ingestionDelayMs: 1500, serial: 0 };
}

/** https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html */
export const RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288,
  3653,
];

export function putLogGroup(
  state: LogsState,
  name: string,
  retentionInDays?: number,
  at = Date.UTC(2025, 0, 1),
): LogGroupRecord {
  const group: LogGroupRecord = { name, createdAt: at, retentionInDays, streams: new Map() };
  state.groups.set(name, group);
  return group;
}

/** Appends events to a stream (created if missing); false when the group does not exist. */
export function writeEvents(
  state: LogsState,
  group: string,
  stream: string,
  events: readonly { timestamp: number; message: string; ingestionTime: number }[],
): boolean {
  const record = state.groups.get(group);
  if (!record) return false;
  const list = record.streams.get(stream) ?? [];
  for (const event of events) {
    list.push({ ...event, eventId: eventId(state) });
  }
  record.streams.set(stream, list);
  return true;
}

function eventId(state: LogsState): string {
  // Real event ids are 56-digit decimal strings; any unique string serves a follower.
  const n = state.serial++;
  return `${BigInt(`0x${hexId(`event#${n}`, 24)}`)
    .toString()
    .padStart(56, '0')
    .slice(0, 50)}${String(n).padStart(6, '0')}`;
}

const groupName = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[\w\-/.#]+$/, 'invalid log group name');

const createLogGroupInput = z
  .object({ logGroupName: groupName, tags: z.record(z.string()).optional() })
  .passthrough();
const describeLogGroupsInput = z
  .object({
    logGroupNamePrefix: z.string().optional(),
    limit: z.number().int().min(1).max(50).optional(),
    nextToken: z.string().optional(),
  })
  .passthrough();
const putRetentionInput = z
  .object({ logGroupName: groupName, retentionInDays: z.number().int() })
  .strict();
const createStreamInput = z.object({ logGroupName: groupName, logStreamName: z.string().min(1) });
const putLogEventsInput = z
  .object({
    logGroupName: groupName,
    logStreamName: z.string().min(1),
    logEvents: z.array(z.object({ timestamp: z.number(), message: z.string() })).min(1),
    sequenceToken: z.string().optional(),
  })
  .strict();
const filterInput = z
  .object({
    logGroupName: groupName,
    logStreamNames: z.array(z.string()).min(1).max(100).optional(),
    logStreamNamePrefix: z.string().optional(),
    startTime: z.number().optional(),
    endTime: z.number().optional(),
    filterPattern: z.string().optional(),
    nextToken: z.string().optional(),
    limit: z.number().int().min(1).max(10000).optional(),
    interleaved: z.boolean().optional(),
    unmask: z.boolean().optional(),
  })
  .strict();
const getLogEventsInput = z
  .object({
    logGroupName: groupName,
    logStreamName: z.string(),
    startTime: z.number().optional(),
    endTime: z.number().optional(),
    limit: z.number().int().min(1).max(10000).optional(),
    startFromHead: z.boolean().optional(),
    nextToken: z.string().optional(),
    unmask: z.boolean().optional(),
  })
  .strict();

function requireGroup(state: LogsState, name: string): LogGroupRecord {
  return (
    state.groups.get(name) ??
    fail('ResourceNotFoundException', 'The specified log group does not exist.')
  );
}

/**
 * The plain-text part of the filter pattern syntax: every term must appear (case-sensitive),
 * a quoted term as a phrase. https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html
 */
export function matchesPattern(pattern: string | undefined, message: string): boolean {
  if (pattern === undefined || pattern.trim() === '') return true;
  const terms = [...pattern.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
  return terms.every((term) => message.includes(term));
}

export function logsHandlers(state: LogsState, now: () => number): Handlers {
  const visible = (event: LogEvent) => event.ingestionTime <= now();
  return {
    CreateLogGroup(raw) {
      const input = parseInput(createLogGroupInput, raw);
      if (state.groups.has(input.logGroupName)) {
        fail('ResourceAlreadyExistsException', 'The specified log group already exists');
      }
      putLogGroup(state, input.logGroupName, undefined, now());
      return {};
    },

    DescribeLogGroups(raw) {
      const input = parseInput(describeLogGroupsInput, raw);
      const all = [...state.groups.values()]
        .filter((g) => g.name.startsWith(input.logGroupNamePrefix ?? ''))
        .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      const start = Number(input.nextToken ?? 0);
      const page = all.slice(start, start + (input.limit ?? 50));
      const { region, accountId } = state.account;
      return {
        logGroups: page.map((g) => ({
          logGroupName: g.name,
          creationTime: g.createdAt,
          ...(g.retentionInDays === undefined ? {} : { retentionInDays: g.retentionInDays }),
          metricFilterCount: 0,
          arn: `arn:aws:logs:${region}:${accountId}:log-group:${g.name}:*`,
          logGroupArn: `arn:aws:logs:${region}:${accountId}:log-group:${g.name}`,
          storedBytes: 0,
          logGroupClass: 'STANDARD',
        })),
        ...(start + page.length < all.length ? { nextToken: String(start + page.length) } : {}),
      };
    },

    PutRetentionPolicy(raw) {
      const input = parseInput(putRetentionInput, raw);
      if (!RETENTION_DAYS.includes(input.retentionInDays)) {
        fail(
          'InvalidParameterException',
          `1 validation error detected: Value '${input.retentionInDays}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [${RETENTION_DAYS.join(', ')}]`,
        );
      }
      requireGroup(state, input.logGroupName).retentionInDays = input.retentionInDays;
      return {};
    },

    CreateLogStream(raw) {
      const input = parseInput(createStreamInput, raw);
      const group = requireGroup(state, input.logGroupName);
      if (group.streams.has(input.logStreamName)) {
        fail('ResourceAlreadyExistsException', 'The specified log stream already exists');
      }
      group.streams.set(input.logStreamName, []);
      return {};
    },

    PutLogEvents(raw) {
      const input = parseInput(putLogEventsInput, raw);
      const group = requireGroup(state, input.logGroupName);
      if (!group.streams.has(input.logStreamName)) {
        fail('ResourceNotFoundException', 'The specified log stream does not exist.');
      }
      const at = now();
      writeEvents(
        state,
        input.logGroupName,
        input.logStreamName,
        input.logEvents.map((e) => ({ ...e, ingestionTime: at })),
      );
      return {};
    },

    FilterLogEvents(raw) {
      const input = parseInput(filterInput, raw);
      if (input.logStreamNames && input.logStreamNamePrefix !== undefined) {
        fail(
          'InvalidParameterException',
          'Cannot specify both logStreamNames and logStreamNamePrefix',
        );
      }
      const group = requireGroup(state, input.logGroupName);
      const streams = [...group.streams].filter(([name]) =>
        input.logStreamNames
          ? input.logStreamNames.includes(name)
          : name.startsWith(input.logStreamNamePrefix ?? ''),
      );
      const events = streams
        .flatMap(([logStreamName, list]) => list.map((e) => ({ ...e, logStreamName })))
        .filter(
          (e) =>
            visible(e) &&
            e.timestamp >= (input.startTime ?? 0) &&
            e.timestamp <= (input.endTime ?? Number.MAX_SAFE_INTEGER) &&
            matchesPattern(input.filterPattern, e.message),
        )
        .sort((a, b) => a.timestamp - b.timestamp || a.ingestionTime - b.ingestionTime);
      const start = Number(input.nextToken ?? 0);
      const page = events.slice(start, start + (input.limit ?? 10000));
      return {
        events: page,
        searchedLogStreams: streams.map(([logStreamName]) => ({
          logStreamName,
          searchedCompletely: true,
        })),
        ...(start + page.length < events.length ? { nextToken: String(start + page.length) } : {}),
      };
    },

    GetLogEvents(raw) {
      const input = parseInput(getLogEventsInput, raw);
      const group = requireGroup(state, input.logGroupName);
      const list = group.streams.get(input.logStreamName);
      if (!list) fail('ResourceNotFoundException', 'The specified log stream does not exist.');
      const events = list.filter(
        (e) =>
          visible(e) &&
          e.timestamp >= (input.startTime ?? 0) &&
          e.timestamp <= (input.endTime ?? Number.MAX_SAFE_INTEGER),
      );
      const limit = input.limit ?? 10000;
      const page = input.startFromHead === true ? events.slice(0, limit) : events.slice(-limit);
      return {
        events: page.map(({ timestamp, message, ingestionTime }) => ({
          timestamp,
          message,
          ingestionTime,
        })),
        nextForwardToken: `f/${events.length}`,
        nextBackwardToken: `b/0`,
      };
    },
  };
}
