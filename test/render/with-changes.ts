/**
 * A deep copy of `value` with some paths set (or deleted, for undefined), so tests can break one
 * field of a real environment or task definition without `any` or hand-copied fixtures.
 * Paths read like the ones in messages: `services.phpFpm.cpu`, `containerDefinitions[1].name`.
 */
export function withChanges(value: unknown, changes: Record<string, unknown>): unknown {
  const copy = structuredClone(value);
  for (const [path, next] of Object.entries(changes)) {
    const keys = path
      .split(/\.|(?=\[)/)
      .map((key) => (/^\[\d+\]$/.test(key) ? Number(key.slice(1, -1)) : key));
    const last = keys.pop();
    let target: unknown = copy;
    for (const key of keys) target = (target as Record<string | number, unknown>)[key];
    if (typeof target !== 'object' || target === null || last === undefined) {
      throw new Error(`withChanges: ${path} does not exist`);
    }
    const record = target as Record<string | number, unknown>;
    if (next === undefined) delete record[last];
    else record[last] = next;
  }
  return copy;
}
