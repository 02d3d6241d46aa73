/**
 * Template data that throws on a misspelt key instead of answering `undefined`.
 *
 * EJS in strict mode already turns an unknown top-level name into a ReferenceError; this proxy
 * does the same one level down and further, so `env.services.phpFpm.cpuu` fails with that whole
 * path rather than rendering `undefined` (or nothing, since EJS drops undefined output).
 * Optional keys are tested with `'key' in obj`, which the proxy answers truthfully.
 */

/** A property read that the data does not have. The renderer adds template and line. */
export class MissingVariableError extends Error {
  constructor(readonly variable: string) {
    super(`${variable} is not defined`);
    this.name = 'MissingVariableError';
  }
}

/**
 * Keys that libraries probe for on any object (JSON.stringify asks for `toJSON`, `await` for
 * `then`, Node's inspector for `inspect`). Absent ones must read as undefined, not fail the render.
 */
const PROBED = new Set(['toJSON', 'then', 'inspect', 'constructor', 'asymmetricMatch', 'nodeType']);

function childPath(path: string, key: string, isArray: boolean): string {
  if (isArray && /^\d+$/.test(key)) return `${path}[${key}]`;
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

export function strictLocals<T>(value: T, path: string): T {
  if (typeof value !== 'object' || value === null) return value;
  const isArray = Array.isArray(value);
  return new Proxy(value, {
    get(target, key, receiver) {
      if (typeof key === 'symbol') return Reflect.get(target, key, receiver) as unknown;
      if (!Reflect.has(target, key)) {
        if (PROBED.has(key)) return undefined;
        throw new MissingVariableError(childPath(path, key, isArray));
      }
      const found: unknown = Reflect.get(target, key, receiver);
      // A proxy must return a frozen property's own value unchanged (a Proxy invariant).
      const descriptor = Reflect.getOwnPropertyDescriptor(target, key);
      if (descriptor !== undefined && !descriptor.configurable && descriptor.writable === false) {
        return found;
      }
      if (typeof found === 'function') return found;
      return strictLocals(found, childPath(path, key, isArray));
    },
  });
}
