/**
 * Every way rendering can fail for a reason the user can fix, as data. `describeRenderFailure` is
 * the one place these become words; tests assert on the data and on those words.
 */

/** One wrong value in a configuration file: where it is, what was wanted, what was there. */
export interface ConfigIssue {
  /** Dotted key path with array indices, e.g. `services.phpFpm.cpu` or `network.subnets[1]`. */
  readonly path: string;
  readonly expected: string;
  readonly found: string;
  /** A likely fix, e.g. `did you mean "cpu"?` for a misspelt key. */
  readonly hint?: string;
}

/** One reason RegisterTaskDefinition would refuse a rendered task definition. */
export interface TaskDefinitionProblem {
  /** Field path in the task definition, e.g. `containerDefinitions[1].portMappings[0].hostPort`. */
  readonly path: string;
  readonly message: string;
}

/** Forbidden text in rendered output: the marks of a value that went missing or was mistyped. */
export type ForbiddenToken = 'undefined' | 'NaN' | '[object Object]';

export type RenderFailure =
  | {
      readonly reason: 'invalid-environment';
      readonly file: string;
      readonly issues: readonly ConfigIssue[];
    }
  | {
      readonly reason: 'missing-variable';
      readonly template: string;
      readonly line: number;
      readonly variable: string;
    }
  | {
      readonly reason: 'unsafe-value';
      readonly template: string;
      readonly line: number;
      readonly why: string;
    }
  | {
      readonly reason: 'template-error';
      readonly template: string;
      readonly line: number;
      readonly message: string;
    }
  | {
      readonly reason: 'template-syntax';
      readonly template: string;
      readonly line?: number;
      readonly message: string;
    }
  | {
      readonly reason: 'forbidden-output';
      readonly template: string;
      readonly token: ForbiddenToken;
      /** Where the token is: a template line when it is literal template text, else the output line. */
      readonly line: number;
      readonly in: 'template' | 'output';
    }
  | { readonly reason: 'invalid-json'; readonly template: string; readonly message: string }
  | {
      readonly reason: 'image-mismatch';
      readonly environment: string;
      /** Which image, e.g. `phpFpm`. */
      readonly image: string;
      readonly expected: string;
      readonly found: string;
    }
  | {
      readonly reason: 'invalid-task-definition';
      readonly template: string;
      readonly problems: readonly TaskDefinitionProblem[];
    }
  | { readonly reason: 'nginx-test-failed'; readonly file: string; readonly output: string };

export function formatConfigIssue(file: string, issue: ConfigIssue): string {
  const hint = issue.hint === undefined ? '' : ` (${issue.hint})`;
  return `${file}: ${issue.path}: expected ${issue.expected}, found ${issue.found}${hint}`;
}

export function describeRenderFailure(failure: RenderFailure): string {
  switch (failure.reason) {
    case 'invalid-environment':
      return [
        ...failure.issues.map((issue) => formatConfigIssue(failure.file, issue)),
        `Fix ${failure.file}; every key is checked, so a misspelt key is an error, not a default.`,
      ].join('\n');
    case 'missing-variable':
      return (
        `${failure.template}:${failure.line}: ${failure.variable} is not defined. ` +
        'Check the spelling against the environment file, or pass the variable to the template.'
      );
    case 'unsafe-value':
      return `${failure.template}:${failure.line}: ${failure.why}`;
    case 'template-error':
      return `${failure.template}:${failure.line}: ${failure.message}`;
    case 'template-syntax': {
      const where = failure.line === undefined ? '' : `:${failure.line}`;
      return `${failure.template}${where}: ${failure.message}`;
    }
    case 'forbidden-output': {
      const where =
        failure.in === 'template'
          ? `${failure.template}:${failure.line}`
          : `${failure.template} (output line ${failure.line})`;
      return `${where}: rendered text contains \`${failure.token}\`; a value is missing or has the wrong type`;
    }
    case 'invalid-json':
      return `${failure.template}: rendered output is not JSON: ${failure.message}`;
    case 'image-mismatch':
      return (
        `${failure.environment}: images.${failure.image}: expected ${failure.expected}, ` +
        `found ${JSON.stringify(failure.found)}; pass the reference the image task pushed for ${failure.environment}`
      );
    case 'invalid-task-definition':
      return [
        `${failure.template}: RegisterTaskDefinition would refuse the rendered task definition:`,
        ...failure.problems.map((problem) => `  ${problem.path}: ${problem.message}`),
      ].join('\n');
    case 'nginx-test-failed':
      return `${failure.file}: nginx -t rejected the rendered config:\n${failure.output.trimEnd()}`;
  }
}

/**
 * Carries a RenderFailure through code that can only throw (template callbacks, task bodies).
 * Callers that want the data read `.failure`; the message is the one `describeRenderFailure` gives.
 */
export class RenderError extends Error {
  constructor(readonly failure: RenderFailure) {
    super(describeRenderFailure(failure));
    this.name = 'RenderError';
  }
}
