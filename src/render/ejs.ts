/**
 * EJS with strict variables: any name or key a template reads that the data lacks fails the render
 * with template:line, and every `<%= %>` goes through the escape for the file's target syntax.
 *
 * How line numbers are kept: EJS compiled with `compileDebug` updates `__line` before each
 * template chunk and hands any exception to the `rethrow` callback with that line. Compiling with
 * `client: true` lets us pass our own `rethrow`, which turns the exception into a RenderFailure
 * instead of EJS's pre-formatted message (which also runs the file name through the escape).
 *
 * `<%- %>` (unescaped output) is refused outright: with it, a value could inject JSON keys or
 * nginx directives, and nothing downstream could tell.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import ejs from 'ejs';
import { UnsafeValueError, describeValue, json, nginx, text } from './escape.js';
import { RenderError, type ForbiddenToken, type RenderFailure } from './failure.js';
import { MissingVariableError, strictLocals } from './strict-locals.js';

/** The syntax a template writes; picks the escape applied to every `<%= %>`. */
export type EscapeTarget = 'json' | 'nginx' | 'text';

const ESCAPES: Record<EscapeTarget, (value: unknown) => string> = { json, nginx, text };

/** The marks of a value gone missing or stringified by accident. */
const FORBIDDEN = /\bundefined\b|\bNaN\b|\[object Object\]/;

/**
 * The target's escape, plus a check of what it wrote: a string that already says `undefined` or
 * `[object Object]` (built with String() or a template literal) fails here, where the line is known.
 */
function checkedEscape(target: EscapeTarget): (value: unknown) => string {
  return (value) => {
    const written = ESCAPES[target](value);
    const hit = FORBIDDEN.exec(written);
    if (hit !== null) {
      throw new UnsafeValueError(target, `${describeValue(value)} would write \`${hit[0]}\``);
    }
    return written;
  };
}

/** Names the compiled function already uses; a local with one of these would shadow it. */
const RESERVED = new Set([
  'locals',
  'escapeFn',
  'include',
  'rethrow',
  '__output',
  '__append',
  '__line',
  '__lines',
  '__filename',
  '__locals',
]);

export interface RenderTextOptions {
  /** Template source. */
  readonly source: string;
  /** The template's name in messages: its path relative to the project, e.g. `config-templates/ecs/nginx.json.ejs`. */
  readonly template: string;
  /** Top-level template variables. Objects are wrapped so that unknown keys throw. */
  readonly locals: Readonly<Record<string, unknown>>;
  readonly escape: EscapeTarget;
}

export interface RenderFileOptions extends Omit<RenderTextOptions, 'source'> {
  /** Project root; `template` is resolved against it and named relative to it in messages. */
  readonly cwd: string;
}

function lineOf(source: string, index: number): number {
  return source.slice(0, index).split('\n').length;
}

function failureFromThrown(thrown: unknown, template: string, line: number): RenderFailure {
  if (thrown instanceof MissingVariableError) {
    return { reason: 'missing-variable', template, line, variable: thrown.variable };
  }
  if (thrown instanceof UnsafeValueError) {
    return { reason: 'unsafe-value', template, line, why: thrown.message };
  }
  // Strict mode without `with`: a top-level name the caller did not pass is a ReferenceError.
  if (thrown instanceof ReferenceError) {
    const match = /^(\S+) is not defined$/.exec(thrown.message);
    if (match?.[1] !== undefined) {
      return { reason: 'missing-variable', template, line, variable: match[1] };
    }
  }
  const message = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown);
  return { reason: 'template-error', template, line, message };
}

/**
 * A last check on the finished text. The escapes already refuse undefined/NaN/objects, so a hit
 * here is almost always literal template text; name that template line when we can find it.
 */
function findForbidden(
  output: string,
  source: string,
  template: string,
): RenderFailure | undefined {
  const hit = FORBIDDEN.exec(output);
  if (hit === null) return undefined;
  const token = hit[0] as ForbiddenToken;
  const inSource = source.indexOf(token);
  if (inSource >= 0) {
    return {
      reason: 'forbidden-output',
      template,
      token,
      line: lineOf(source, inSource),
      in: 'template',
    };
  }
  return {
    reason: 'forbidden-output',
    template,
    token,
    line: lineOf(output, hit.index),
    in: 'output',
  };
}

/** Renders template source in memory. Throws RenderError for anything the user can fix. */
export function renderTemplateText(options: RenderTextOptions): string {
  const { source, template, locals } = options;

  const unescaped = source.indexOf('<%-');
  if (unescaped >= 0) {
    throw new RenderError({
      reason: 'template-syntax',
      template,
      line: lineOf(source, unescaped),
      message: `\`<%-\` writes a value unescaped; use \`<%=\`, which escapes for ${options.escape}`,
    });
  }

  const names = Object.keys(locals);
  for (const name of names) {
    if (!/^[A-Za-z_$][\w$]*$/.test(name) || RESERVED.has(name)) {
      throw new Error(`template local ${JSON.stringify(name)} is not usable as a variable name`);
    }
  }

  let compiled: ejs.ClientFunction;
  try {
    compiled = ejs.compile(source, {
      client: true,
      strict: true,
      compileDebug: true,
      filename: template,
      destructuredLocals: names,
    });
  } catch (thrown) {
    // new Function() reports no position for syntax errors, so only the first line is useful.
    const first = thrown instanceof Error ? (thrown.message.split('\n')[0] ?? '') : String(thrown);
    const message = first.replace(/ in \S+ while compiling ejs$/, '');
    throw new RenderError({ reason: 'template-syntax', template, message });
  }

  const data: Record<string, unknown> = {};
  for (const name of names) data[name] = strictLocals(locals[name], name);

  const output = compiled(
    data,
    checkedEscape(options.escape),
    () => {
      throw new Error('include() is not supported: pass the data to one template instead');
    },
    (thrown: unknown, _lines: string, _file: unknown, line: number): never => {
      if (thrown instanceof RenderError) throw thrown;
      throw new RenderError(failureFromThrown(thrown, template, line));
    },
  );

  const forbidden = findForbidden(output, source, template);
  if (forbidden !== undefined) throw new RenderError(forbidden);
  return output;
}

/** Reads `template` under `cwd` and renders it; see renderTemplateText. */
export async function renderTemplateFile(options: RenderFileOptions): Promise<string> {
  const source = await readFile(path.resolve(options.cwd, options.template), 'utf8');
  return renderTemplateText({
    source,
    template: options.template,
    locals: options.locals,
    escape: options.escape,
  });
}
