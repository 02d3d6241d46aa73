/**
 * Words for what the CLI prints besides a run: Taskfile and plan errors, the task list, the
 * prerequisites, the plan as a graph, and --explain. Pure functions over data.
 */
import type { Registry } from '../dsl.js';
import { explainChanges } from '../fingerprint.js';
import { PACKAGE_PREFIX } from '../module-graph.js';
import type { Change } from '../fingerprint.js';
import { suggest } from '../suggestion.js';
import { inputsChanged } from '../up-to-date.js';
import { nodeKey } from '../graph.js';
import type { PlanError, PlanNode } from '../graph.js';
import type { LoadError } from '../loader.js';
import type { NodeResult } from '../scheduler.js';
import type { State } from '../state.js';

export function describeLoadError(error: LoadError): string {
  switch (error.reason) {
    case 'not-found':
      return `no Taskfile.ts in ${error.searchedFrom} or any folder above it; create one, or pass -f FILE`;
    case 'missing-file':
      return `${error.file} does not exist`;
    case 'syntax':
      return `${error.file}:${error.line}:${error.column}: ${error.message}\n    ${error.lineText}`;
    case 'evaluation':
      return `${error.file} failed to load: ${error.message}${error.where ? `\n    at ${error.where}` : ''}`;
  }
}

export function describePlanError(error: PlanError, registry: Registry): string {
  switch (error.reason) {
    case 'unknown-task': {
      const base = unknownTaskMessage(error.name, registry);
      return error.requestedBy ? `${base} (a dependency of ${error.requestedBy})` : base;
    }
    case 'cycle':
      return `Circular dependency: ${error.path.join(' => ')}`;
    case 'bad-args':
      return `task ${error.task} ${error.message}`;
    case 'taskfile':
      return error.problems.join('; ');
  }
}

export function unknownTaskMessage(name: string, registry: Registry): string {
  for (const namespace of registry.disabled.keys()) {
    if (name.startsWith(`${namespace}:`)) {
      return `no task named "${name}": namespace ${namespace} is disabled, since defining it failed (see above)`;
    }
  }
  const suggestions = suggest(name, [...registry.tasks.keys()]);
  const hint =
    suggestions.length > 0
      ? `; did you mean ${suggestions.join(', ')}?`
      : '; run `task --list --all` to see them';
  return `no task named "${name}"${hint}`;
}

export function listTasks(registry: Registry, pattern: string | undefined, all: boolean): string {
  const tasks = [...registry.tasks.values()]
    .filter((t) => all || t.desc)
    .filter((t) => !pattern || t.name.includes(pattern))
    .sort((a, b) => a.name.localeCompare(b.name));
  if (tasks.length === 0)
    return all ? 'no tasks\n' : 'no tasks with a description (use --all to list every task)\n';
  const width = Math.max(...tasks.map((t) => t.name.length + argHint(t.args).length));
  return tasks
    .map(
      (t) => `task ${(t.name + argHint(t.args)).padEnd(width)}  # ${t.desc ?? ''}`.trimEnd() + '\n',
    )
    .join('');
}

function argHint(args: readonly string[]): string {
  return args.length > 0 ? `[${args.join(',')}]` : '';
}

export function listPrereqs(registry: Registry): string {
  return [...registry.tasks.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((t) => {
      // A deps function is shown for the task asked with no args: other args may need others.
      const listed =
        typeof t.deps === 'function' ? t.deps({}) : { ok: true as const, deps: t.deps };
      const head =
        typeof t.deps === 'function'
          ? `task ${t.name}  # its deps vary with its args; these are without any`
          : `task ${t.name}`;
      const lines = listed.ok
        ? listed.deps.map((d) => `    ${typeof d === 'string' ? d : nodeKey(d.task, d.args ?? {})}`)
        : [`    (its deps function failed: ${listed.message})`];
      return [head, ...lines].join('\n') + '\n';
    })
    .join('');
}

export function renderGraph(nodes: readonly PlanNode[], format: string): string {
  const id = new Map(nodes.map((n, i) => [n, `n${i}`]));
  if (format === 'dot') {
    const lines = ['digraph tasks {', '  rankdir=LR;'];
    for (const node of nodes) lines.push(`  ${id.get(node)} [label=${JSON.stringify(node.key)}];`);
    for (const node of nodes)
      for (const dep of node.deps) lines.push(`  ${id.get(node)} -> ${id.get(dep)};`);
    return `${lines.join('\n')}\n}\n`;
  }
  const lines = ['graph LR'];
  for (const node of nodes) lines.push(`  ${id.get(node)}["${node.key.replace(/"/g, '#quot;')}"]`);
  for (const node of nodes)
    for (const dep of node.deps) lines.push(`  ${id.get(node)} --> ${id.get(dep)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The arg by which a task offers a dry run of its own (`staging:deploy -- --dry-run`): a task
 * that declares it can say what it would change outside (AWS, say), which `-n` cannot, since
 * `-n` runs nothing.
 */
export const OWN_DRY_RUN_ARG = 'dry-run';

/**
 * For `-n`: a node that would run and takes a dry run of its own, not asked for here, is named
 * with the command that asks it; undefined for any other node.
 */
export function ownDryRunNote(node: PlanNode, result: NodeResult): string | undefined {
  if (result.status !== 'would-run') return undefined;
  if (!node.task.args.includes(OWN_DRY_RUN_ARG) || OWN_DRY_RUN_ARG in node.args) return undefined;
  const args = Object.entries(node.args).map(([key, value]) => `--${key}=${value}`);
  const command = ['npx task', node.task.name, '--', ...args, `--${OWN_DRY_RUN_ARG}`].join(' ');
  return `${node.key} has a dry run of its own, which says what it would do: \`${command}\``;
}

export function explainText(node: PlanNode, result: NodeResult, state: State): string {
  const lines: string[] = [];
  const changes = result.detail ? explainChanges(state.readDetail(node.key), result.detail) : [];
  if (result.status === 'up-to-date') {
    lines.push(
      `${node.key} is up to date: its fingerprint matches the last successful run and its outputs are intact.`,
    );
  } else if (changes.length > 0 && saysChanged(node, result.reason, changes)) {
    // The verdict's own reason points at --explain, which is what is running: say what changed.
    lines.push(`${node.key} would run: since its last successful run,`);
  } else {
    lines.push(`${node.key} would run: ${result.reason ?? 'unknown'}`);
    if (changes.length > 0) lines.push('  and since its last successful run,');
  }
  for (const change of changes) lines.push(`  ${describeChange(change)}`);
  return `${lines.join('\n')}\n`;
}

/** Whether `reason` is the verdict's for a changed fingerprint, generic or naming the code. */
function saysChanged(node: PlanNode, reason: string | undefined, changes: readonly Change[]) {
  if (reason === inputsChanged(node.key)) return true;
  const code = changes.find((c) => c.what === 'module' || c.what === 'definition');
  return code !== undefined && reason?.startsWith(describeChange(code)) === true;
}

export function describeChange(change: Change): string {
  const short = (hash: string | null | undefined): string =>
    hash === undefined ? '(none)' : hash === null ? '(unset)' : hash.slice(0, 12);
  switch (change.what) {
    case 'new':
      return 'never ran successfully (no record in .task/)';
    case 'definition':
      return 'the task definition (its run function or version) changed';
    case 'module':
      return change.path.startsWith(PACKAGE_PREFIX)
        ? `package ${change.path.slice(PACKAGE_PREFIX.length)}: ${change.old ?? '(none)'} -> ${change.now ?? '(none)'}`
        : `module ${change.path}: ${change.old === undefined ? 'now imported' : change.now === undefined ? 'no longer imported' : 'modified'} (${short(change.old)} -> ${short(change.now)})`;
    case 'arg':
      return `argument ${change.name}: ${change.old ?? '(none)'} -> ${change.now ?? '(none)'}`;
    case 'var':
      return `var ${change.name}: ${short(change.old)} -> ${short(change.now)}`;
    case 'env':
      return `env ${change.name}: ${short(change.old)} -> ${short(change.now)}`;
    case 'input':
      return `input ${change.path}: ${change.old === undefined ? 'added' : change.now === undefined ? 'deleted' : 'modified'} (${short(change.old)} -> ${short(change.now)})`;
    case 'dep':
      return `dependency ${change.key} changed (${short(change.old)} -> ${short(change.now)})`;
  }
}

/** One warning per disabled namespace, with its error: said once per run, before anything. */
export function disabledNamespaces(registry: Registry): string[] {
  return [...registry.disabled].map(
    ([namespace, why]) => `warning: namespace ${namespace} is disabled: ${why}`,
  );
}
