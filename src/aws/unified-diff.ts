/**
 * A unified diff of two texts, line by line (longest common subsequence), as `diff -u` prints
 * it: `--- live`, `+++ rendered`, hunks with three lines of context. Coloured (red removals,
 * green additions, cyan hunk headers) only when asked, i.e. on a terminal. Pure.
 */

type Op = { kind: ' ' | '-' | '+'; line: string };

function lines(text: string): string[] {
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  return all;
}

/** The edit script from `a` to `b`: common lines kept, the rest removed or added. */
export function editScript(a: readonly string[], b: readonly string[]): Op[] {
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () =>
    new Array<number>(b.length + 1).fill(0),
  );
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      const row = lcs[i] as number[];
      row[j] =
        a[i] === b[j]
          ? (lcs[i + 1]?.[j + 1] ?? 0) + 1
          : Math.max(lcs[i + 1]?.[j] ?? 0, row[j + 1] ?? 0);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i] as string });
      i++;
      j++;
    } else if (
      i < a.length &&
      (j >= b.length || (lcs[i + 1]?.[j] ?? 0) >= (lcs[i]?.[j + 1] ?? 0))
    ) {
      // Removals before additions, as `diff -u` prints a changed line.
      ops.push({ kind: '-', line: a[i] as string });
      i++;
    } else {
      ops.push({ kind: '+', line: b[j] as string });
      j++;
    }
  }
  return ops;
}

export interface DiffOptions {
  readonly fromLabel: string;
  readonly toLabel: string;
  readonly color?: boolean;
  readonly context?: number;
}

const paint = (code: number, text: string) => `\u001b[${code}m${text}\u001b[0m`;

/** The unified diff, or '' when the texts are the same. */
export function unifiedDiff(from: string, to: string, options: DiffOptions): string {
  const a = lines(from);
  const b = lines(to);
  const ops = editScript(a, b);
  if (ops.every((op) => op.kind === ' ')) return '';
  const context = options.context ?? 3;
  const color = options.color === true;
  const out = [
    color ? paint(1, `--- ${options.fromLabel}`) : `--- ${options.fromLabel}`,
    color ? paint(1, `+++ ${options.toLabel}`) : `+++ ${options.toLabel}`,
  ];
  // Positions (in a and b) before each op, to number the hunks.
  const at: { ai: number; bi: number }[] = [];
  let ai = 0;
  let bi = 0;
  for (const op of ops) {
    at.push({ ai, bi });
    if (op.kind !== '+') ai++;
    if (op.kind !== '-') bi++;
  }
  const changed = ops.map((op, index) => (op.kind === ' ' ? -1 : index)).filter((i) => i >= 0);
  let index = 0;
  while (index < changed.length) {
    const first = changed[index] as number;
    let last = first;
    while (index + 1 < changed.length && (changed[index + 1] as number) - last <= context * 2 + 1) {
      last = changed[++index] as number;
    }
    index++;
    const start = Math.max(0, first - context);
    const end = Math.min(ops.length, last + context + 1);
    const hunk = ops.slice(start, end);
    const origin = at[start] ?? { ai: 0, bi: 0 };
    const aCount = hunk.filter((op) => op.kind !== '+').length;
    const bCount = hunk.filter((op) => op.kind !== '-').length;
    const header = `@@ -${origin.ai + (aCount > 0 ? 1 : 0)},${aCount} +${origin.bi + (bCount > 0 ? 1 : 0)},${bCount} @@`;
    out.push(color ? paint(36, header) : header);
    for (const op of hunk) {
      const text = `${op.kind}${op.line}`;
      out.push(!color || op.kind === ' ' ? text : paint(op.kind === '-' ? 31 : 32, text));
    }
  }
  return out.join('\n');
}
