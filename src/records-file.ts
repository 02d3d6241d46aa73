/**
 * The layout of .task/state/records.json, which every run reads whole (state.ts).
 *
 * Layout 3 is a list of rows, `[key, task, fingerprint, [outputId, digest, ...], finishedAt,
 * depDigest?]`,
 * shaped for JSON.parse: it gives every object whose keys are its own (a node's key, an output's
 * path) a hidden class of its own, each added to one shared list of transitions, a cost that
 * grows with the square of the count. In layout 2, an object of records by key each with an
 * object of outputs by id, that was 60% of the 2.5 ms it took to parse 1,000 records. Layout 2
 * is still read; an older taskgraph reading layout 3 says it ignores the state and reruns.
 */
import type { TaskRecord } from './state.js';

/** The layout written; its rows are records of version 2 (state.ts's VERSION). */
export const RECORDS_LAYOUT = 3;

type Row = [
  key: string,
  task: string,
  fingerprint: string,
  outputs: string[],
  finishedAt: string,
  depDigest?: string,
];

/** The file's text for these records. */
export function recordsFileText(records: Iterable<TaskRecord>): string {
  const rows: Row[] = [];
  for (const record of records) {
    const outputs: string[] = [];
    for (const [id, digest] of Object.entries(record.outputs)) outputs.push(id, digest);
    const row: Row = [record.key, record.task, record.fingerprint, outputs, record.finishedAt];
    if (record.depDigest !== undefined) row.push(record.depDigest);
    rows.push(row);
  }
  return JSON.stringify({ version: RECORDS_LAYOUT, records: rows });
}

/** The record a row holds; undefined when it is not one (as state.ts's isRecord would say). */
export function recordOfRow(row: unknown): TaskRecord | undefined {
  if (!Array.isArray(row)) return undefined;
  // By index: destructuring goes through the iterator protocol, an allocation per element in
  // code that runs once per record, before the optimizing compiler gets to it.
  const key: unknown = row[0];
  const task: unknown = row[1];
  const fingerprint: unknown = row[2];
  const pairs: unknown = row[3];
  const finishedAt: unknown = row[4];
  const depDigest: unknown = row[5];
  if (typeof key !== 'string' || typeof fingerprint !== 'string') return undefined;
  if (!Array.isArray(pairs) || pairs.length % 2 !== 0) return undefined;
  // Without a prototype: such an object starts as a dictionary, so a thousand of them with keys
  // of their own make no hidden classes either (see above). ctx.deps hands tasks a plain copy.
  const outputs = Object.create(null) as Record<string, string>;
  for (let i = 0; i < pairs.length; i += 2) {
    const id: unknown = pairs[i];
    const digest: unknown = pairs[i + 1];
    if (typeof id !== 'string' || typeof digest !== 'string') return undefined;
    outputs[id] = digest;
  }
  const record: TaskRecord = {
    version: 2,
    key,
    task: task as string,
    fingerprint,
    outputs,
    finishedAt: finishedAt as string,
  };
  if (typeof depDigest === 'string') record.depDigest = depDigest;
  return record;
}
