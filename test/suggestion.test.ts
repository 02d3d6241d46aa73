import { describe, expect, it } from 'vitest';
import { suggest } from '../src/suggestion.js';

describe('suggest', () => {
  it('offers names with the namespace left out, nearest first, then alphabetical', () => {
    expect(suggest('deploy', ['staging:deploy', 'prod:deploy', 'render'])).toEqual([
      'prod:deploy',
      'staging:deploy',
    ]);
    expect(suggest('rendr', ['render', 'vendor', 'rende'])).toEqual(['rende', 'render', 'vendor']);
  });

  it('ignores case, and allows a third of a long name to differ', () => {
    expect(suggest('BUILD', ['build', 'lint'])).toEqual(['build']);
    expect(suggest('--jbos', ['--jobs', '--json'])).toEqual(['--jobs', '--json']);
    expect(suggest('healthCheckGracePeriod', ['healthCheckGracePeriodSeconds', 'cpu'])).toEqual([
      'healthCheckGracePeriodSeconds',
    ]);
  });

  it('offers nothing far from the name, and at most three', () => {
    expect(suggest('deploy', ['render', 'lint'])).toEqual([]);
    expect(suggest('a', ['b', 'c', 'd', 'e'])).toEqual(['b', 'c', 'd']);
    expect(suggest('x', [])).toEqual([]);
  });

  it('never offers the name itself', () => {
    expect(suggest('.dockerignore', ['.dockerignore', '.dockerignored'])).toEqual([
      '.dockerignored',
    ]);
    expect(suggest('a', ['a'])).toEqual([]);
  });
});
