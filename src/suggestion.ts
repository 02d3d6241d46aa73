/**
 * "Did you mean …?" for every name a user can misspell: task names, command-line options, the
 * keys of task(), file() and rule() calls, input files, environment settings. One rule for all of
 * them, so a slip is forgiven the same way wherever it is made. The edit distance itself is
 * leven's (a small, well-kept library), not ours.
 */
import leven from 'leven';

/**
 * Up to three of `candidates` close to `name`, nearest first (ties alphabetical). Close means
 * within an edit distance of a third of the name (at least 2), ignoring case, or the name with a
 * namespace left out (`deploy` for `staging:deploy`), which is as likely as a typo. Never the
 * name itself: "x does not exist (did you mean x?)" helps no one.
 */
export function suggest(name: string, candidates: readonly string[]): string[] {
  const limit = Math.max(2, Math.floor(name.length / 3));
  const wanted = name.toLowerCase();
  // leven stops counting past maxDistance: only distances within the limit matter here.
  const distance = (candidate: string): number =>
    leven(wanted, candidate.toLowerCase(), { maxDistance: limit + 1 });
  return candidates
    .map((candidate) => ({
      candidate,
      distance: Math.min(distance(candidate), distance(candidate.split(':').pop() ?? '') + 1),
    }))
    .filter(({ candidate, distance }) => distance <= limit && candidate !== name)
    .sort((a, b) => a.distance - b.distance || a.candidate.localeCompare(b.candidate))
    .slice(0, 3)
    .map(({ candidate }) => candidate);
}
