import { describe, expect, it } from 'vitest';
import { installRegistry, namespace, Registry, rule, task } from '../src/dsl.js';
import { parseTarget, Planner } from '../src/graph.js';
import type { PlanError } from '../src/graph.js';

function registryOf(define: () => void): Registry {
  const registry = new Registry();
  installRegistry(registry);
  define();
  return registry;
}

function planOf(registry: Registry, ...targets: string[]) {
  const planner = new Planner(registry);
  const expansion = planner.expand(targets.map(parseTarget));
  return { planner, expansion };
}

function errorOf(registry: Registry, ...targets: string[]): PlanError {
  const { expansion } = planOf(registry, ...targets);
  if (expansion.ok) throw new Error('expected a plan error');
  return expansion.error;
}

describe('planner', () => {
  it('reports a self-cycle and a long cycle with their paths', () => {
    const self = registryOf(() => task('a', { deps: ['a'] }));
    expect(errorOf(self, 'a')).toEqual({ reason: 'cycle', path: ['a', 'a'] });

    const long = registryOf(() => {
      task('top', { deps: ['a'] });
      task('a', { deps: ['b'] });
      task('b', { deps: ['c'] });
      task('c', { deps: ['a'] });
    });
    expect(errorOf(long, 'top')).toEqual({ reason: 'cycle', path: ['a', 'b', 'c', 'a'] });
  });

  it('plans a diamond with the shared dependency once, dependencies first', () => {
    const registry = registryOf(() => {
      task('base');
      task('left', { deps: ['base'] });
      task('right', { deps: ['base'] });
      task('top', { deps: ['left', 'right'] });
    });
    const { planner, expansion } = planOf(registry, 'top');
    expect(expansion.ok).toBe(true);
    expect(planner.order.map((n) => n.key)).toEqual(['base', 'left', 'right', 'top']);
    const [left, right] = planner.order.slice(1, 3);
    expect(left?.deps[0]).toBe(right?.deps[0]);
  });

  it('resolves names relative to the namespace first, then from the top', () => {
    const registry = registryOf(() => {
      task('render');
      task('lint');
      namespace('staging', () => {
        task('render');
        task('deploy', { deps: ['render', 'lint', ':render'] });
      });
    });
    const { planner } = planOf(registry, 'staging:deploy');
    const deploy = planner.nodes.get('staging:deploy');
    expect(deploy?.deps.map((d) => d.key)).toEqual(['staging:render', 'lint', 'render']);
  });

  it('suggests close names for an unknown task, and names who asked for it', () => {
    const registry = registryOf(() => {
      namespace('staging', () => task('deploy', { deps: ['rendr'] }));
      task('render');
    });
    expect(errorOf(registry, 'staging:deploy')).toEqual({
      reason: 'unknown-task',
      name: 'rendr',
      requestedBy: 'staging:deploy',
      suggestions: ['render'],
    });
  });

  it('binds positional and named args and rejects unknown ones', () => {
    const registry = registryOf(() => task('greet', { args: ['name', 'greeting'] }));
    const { planner } = planOf(registry, 'greet[alice,hi]', 'greet[bob]');
    expect([...planner.nodes.keys()]).toEqual(['greet[greeting=hi,name=alice]', 'greet[name=bob]']);
    expect(errorOf(registry, 'greet[a,b,c]')).toMatchObject({ reason: 'bad-args', task: 'greet' });
    const named = new Planner(registry).expand([{ name: 'greet', named: { colour: 'red' } }]);
    expect(named.ok ? undefined : named.error).toMatchObject({ reason: 'bad-args' });
  });

  it('synthesizes file tasks from rules', () => {
    const registry = registryOf(() => rule('.min.css', { source: '.css', run: () => {} }));
    const { planner } = planOf(registry, 'site/app.min.css');
    const node = planner.nodes.get('site/app.min.css');
    expect(node?.task.inputs).toEqual(['site/app.css']);
    expect(node?.task.outputs).toEqual(['site/app.min.css']);
  });

  it('reports duplicate definitions as a Taskfile error', () => {
    const registry = registryOf(() => {
      task('a');
      task('a');
    });
    expect(errorOf(registry, 'a')).toEqual({
      reason: 'taskfile',
      problems: ['task a is defined twice'],
    });
  });
});
