/**
 * The command line's contract: its options and how argv parses into them (usage errors as data,
 * which cli.ts prints), the help text, the version and the exit codes.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { COMMAND_ARG, encodeCommand } from './command-args.js';
import { suggest } from './suggestion.js';

/**
 * brokenPipe: what a shell reports for a command killed by SIGPIPE (128 + 13), as `yes | head -1`
 * gives: the reader stopped reading, so the run was cut short and 0 would claim it finished.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130, brokenPipe: 141 } as const;

export const HELP = `Usage: task [options] [targets...] [-- --arg=value ...]

Runs each target and its prerequisites, in parallel where it can, skipping every task whose
inputs have not changed since it last succeeded and whose outputs are still there.

Targets:
  name                 a task (no target: the \`default\` task)
  'name[a,b]'          with positional arguments, as Rake does
  name -- --key=value  with named arguments
  name -- CMD ARGS...  with a command (from the first word not --key=value, or after a second --)

Options:
  -T, --list [pattern] list tasks with a description (--all: every task)
      --all            with --list: include tasks without a description
  -P, --prereqs        list tasks with their prerequisites
  -n, --dry-run        say what would run and why; run and record nothing
      --explain TASK   why TASK is or is not up to date
  -B, --force          run the targets and their prerequisites even if up to date
  -j, --jobs N         run at most N tasks at once (default: number of CPUs)
  -k, --keep-going     after a failure, run everything that does not depend on it
  -C, --directory DIR  change to DIR first
  -f, --file FILE      use FILE instead of the nearest Taskfile.ts
      --graph [format] print the plan as dot or mermaid (default) on stdout
      --json           one JSON event per line on stdout
      --forget [TASK]  drop recorded state (of TASK, or of every task)
      --no-wait        fail at once if another task run holds the lock
  -w, --watch          run, then rerun what changes make out of date
      --debounce MS    with --watch: coalesce changes within MS (default 100)
      --check          typecheck the Taskfile with the project's tsc (loading does not)
  -q, --quiet          only the tasks' own output: no prefixes, progress or summary
      --trace          with a failure: the whole stack, mapped to your sources
  -v, --version        print the version
  -h, --help           print this help

Exit codes: 0 success, 1 a task failed, 2 usage or Taskfile error, 130 interrupted.
`;

/** The process's argv, cwd, environment and streams, as cli.ts's main() hands them over. */
export interface Io {
  argv: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export type Values = {
  help?: boolean;
  version?: boolean;
  list?: string | true;
  all?: boolean;
  prereqs?: boolean;
  'dry-run'?: boolean;
  explain?: string;
  force?: boolean;
  jobs?: string;
  'keep-going'?: boolean;
  directory?: string;
  file?: string;
  graph?: string;
  json?: boolean;
  forget?: boolean;
  'no-wait'?: boolean;
  watch?: boolean;
  debounce?: string;
  trace?: boolean;
  quiet?: boolean;
  check?: boolean;
};

export type Parsed =
  | {
      values: Values;
      targets: string[];
      named: Record<string, string>;
      /** A word after a bare --graph, taken as a target: a typo'd format if no task has its name. */
      graphFollower?: string;
    }
  | { error: string };

export const GRAPH_FORMATS = ['mermaid', 'dot'] as const;

const OPTIONS = {
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  all: { type: 'boolean' },
  prereqs: { type: 'boolean', short: 'P' },
  'dry-run': { type: 'boolean', short: 'n' },
  explain: { type: 'string' },
  force: { type: 'boolean', short: 'B' },
  jobs: { type: 'string', short: 'j' },
  'keep-going': { type: 'boolean', short: 'k' },
  directory: { type: 'string', short: 'C' },
  file: { type: 'string', short: 'f' },
  json: { type: 'boolean' },
  forget: { type: 'boolean' },
  'no-wait': { type: 'boolean' },
  watch: { type: 'boolean', short: 'w' },
  debounce: { type: 'string' },
  trace: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  check: { type: 'boolean' },
} as const;

/** Options handled before parseArgs (their value is optional), for suggestions. */
const OWN_OPTIONS = ['list', 'graph'];

export function parseCommandLine(argv: readonly string[]): Parsed {
  const dashdash = argv.indexOf('--');
  const own = dashdash === -1 ? [...argv] : argv.slice(0, dashdash);
  const rest = dashdash === -1 ? [] : argv.slice(dashdash + 1);

  // Options whose value is optional: take the next word only when it is not a target.
  let list: string | true | undefined;
  let graph: string | undefined;
  let graphFollower: string | undefined;
  const words: string[] = [];
  for (let i = 0; i < own.length; i++) {
    const word = own[i] as string;
    if (word === '-T' || word === '--list') {
      const next = own[i + 1];
      if (next !== undefined && !next.startsWith('-')) {
        list = next;
        i++;
      } else list = true;
    } else if (word.startsWith('--list=')) list = word.slice('--list='.length);
    else if (word === '--graph') {
      const next = own[i + 1];
      if (next === 'dot' || next === 'mermaid') {
        graph = next;
        i++;
      } else {
        graph = 'mermaid';
        if (next !== undefined && !next.startsWith('-')) graphFollower = next;
      }
    } else if (word.startsWith('--graph=')) graph = word.slice('--graph='.length);
    else words.push(word);
  }
  if (graph !== undefined && !(GRAPH_FORMATS as readonly string[]).includes(graph)) {
    return {
      error: `--graph: unknown format "${graph}"; the formats are ${GRAPH_FORMATS.join(', ')}`,
    };
  }

  let parsed: { values: object; positionals: string[] };
  if (words.every(isPositional)) {
    // Targets alone (`task`, `task build`), the common command line, leave parseArgs nothing to
    // do, and its first call costs ~0.4 ms of a run's start-up (Node compiles it then).
    parsed = { values: {}, positionals: words };
  } else {
    try {
      parsed = parseArgs({ args: words, allowPositionals: true, strict: true, options: OPTIONS });
    } catch (error) {
      return { error: describeArgsError(error as Error & { code?: string }) };
    }
  }
  const named: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const word = rest[i] as string;
    const match = /^--([^=]+)(?:=(.*))?$/s.exec(word);
    if (!match || word === '--') {
      // The rest is a command for the task (ENV:run, ENV:artisan), kept word for word.
      named[COMMAND_ARG] = encodeCommand(rest.slice(word === '--' ? i + 1 : i));
      break;
    }
    named[match[1] as string] = match[2] ?? 'true';
  }
  const values: Values = { ...(parsed.values as Values) };
  if (list !== undefined) values.list = list;
  if (graph !== undefined) values.graph = graph;
  return {
    values,
    targets: parsed.positionals,
    named,
    ...(graphFollower === undefined ? {} : { graphFollower }),
  };
}

/** What parseArgs takes for a positional rather than an option: `-` alone, or no leading dash. */
function isPositional(word: string): boolean {
  return !word.startsWith('-') || word === '-';
}

/**
 * parseArgs' message for an unknown option ends with a half-quoted hint about `--`; ours names
 * the nearest option instead.
 */
function describeArgsError(error: Error & { code?: string }): string {
  const unknown = /^Unknown option '([^']+)'/.exec(error.message)?.[1];
  if (error.code !== 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || unknown === undefined) {
    return error.message.split('\n')[0] ?? 'bad arguments';
  }
  const long = [...Object.keys(OPTIONS), ...OWN_OPTIONS].map((name) => `--${name}`);
  const [nearest] = unknown.startsWith('--') ? suggest(unknown, long) : [];
  return nearest
    ? `unknown option ${unknown}; did you mean ${nearest}?`
    : `unknown option ${unknown}; to pass it to a task, put it after --`;
}

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
