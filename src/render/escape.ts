/**
 * Escaping for the places rendered values land. Each helper either returns text that the target
 * parser reads back as exactly one value, or throws: a value that cannot be made safe (a `$` in
 * nginx, a NaN in JSON) is a bug in the environment, never something to paper over.
 *
 * The renderer installs `json` or `nginx` as the template's `<%= %>` escape, so a template cannot
 * forget to escape; `shell` is handed to templates as a helper for the one place a shell string is
 * unavoidable (ECS `CMD-SHELL` health checks), and its result is then JSON-escaped like any value.
 */

/** Thrown when a value cannot be written safely; the renderer turns it into template:line. */
export class UnsafeValueError extends Error {
  constructor(
    readonly target: 'json' | 'nginx' | 'shell' | 'text',
    why: string,
  ) {
    super(why);
    this.name = 'UnsafeValueError';
  }
}

/** Names a value for a message without dumping it whole. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') {
    return String(value);
  }
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'symbol') return 'a symbol';
  return 'an object';
}

function isPlainObject(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Walks a value and rejects anything JSON.stringify would silently change: undefined and
 * functions vanish, NaN/Infinity become null, Dates and class instances lose their type.
 */
function assertJsonData(value: unknown, path: string): void {
  if (typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number' && Number.isFinite(value)) return;
  if (Array.isArray(value)) {
    value.forEach((item, index) => assertJsonData(item, `${path}[${index}]`));
    return;
  }
  if (typeof value === 'object' && value !== null && isPlainObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      assertJsonData(item, path === '' ? key : `${path}.${key}`);
    }
    return;
  }
  const at = path === '' ? '' : ` (at ${path})`;
  throw new UnsafeValueError('json', `${describeValue(value)}${at} has no JSON form`);
}

/**
 * A JSON literal for `value`. Quotes, backslashes and newlines in strings come out escaped, so
 * nothing in a value can close the string it sits in and add keys to a task definition.
 */
export function json(value: unknown): string {
  assertJsonData(value, '');
  return JSON.stringify(value);
}

/** nginx reads these unquoted as one token; anything else needs quotes or is refused. */
const NGINX_BARE = /^[A-Za-z0-9_./:@*+=,~%-]+$/;
/**
 * `$` starts a variable even inside quotes and nginx has no escape for it; control characters
 * (newline above all) end the line a directive sits on. No quoting makes these safe.
 */
// eslint-disable-next-line no-control-regex
const NGINX_REFUSED = /[$\u0000-\u001f\u007f]/;

function nginxToken(value: unknown): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) {
      throw new UnsafeValueError('nginx', `${value} is not a number nginx can read`);
    }
    return String(value);
  }
  if (typeof value !== 'string') {
    throw new UnsafeValueError('nginx', `${describeValue(value)} is not an nginx value`);
  }
  const refused = NGINX_REFUSED.exec(value);
  if (refused !== null) {
    throw new UnsafeValueError(
      'nginx',
      `${JSON.stringify(value)} contains ${JSON.stringify(refused[0])}, which no nginx quoting makes literal`,
    );
  }
  if (NGINX_BARE.test(value)) return value;
  // Inside double quotes `;`, `{`, `}`, `#` and spaces are literal; nginx's tokenizer honours
  // backslash escapes for `"` and `\` there.
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/**
 * One nginx argument per value: a string or number becomes one token (quoted when needed), an
 * array becomes space-separated tokens, e.g. `server_name <%= env.nginx.serverNames %>;`.
 */
export function nginx(value: unknown): string {
  if (Array.isArray(value)) {
    if (value.length === 0) {
      throw new UnsafeValueError(
        'nginx',
        'an empty array would leave the directive without arguments',
      );
    }
    return value.map(nginxToken).join(' ');
  }
  return nginxToken(value);
}

/** A POSIX shell word: single-quoted unless plainly safe, with `'` spelled `'\''`. */
export function shell(value: unknown): string {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') {
    throw new UnsafeValueError('shell', `${describeValue(value)} is not a shell word`);
  }
  if (value.includes('\0')) {
    throw new UnsafeValueError(
      'shell',
      `${JSON.stringify(value)} contains NUL, which no shell word holds`,
    );
  }
  if (/^[A-Za-z0-9_./:@%+=,-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * For plain-text targets: only strings and finite numbers, so `undefined`, `NaN` and
 * `[object Object]` can never be produced by a `<%= %>`.
 */
export function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw new UnsafeValueError('text', `${describeValue(value)} is not text`);
}
