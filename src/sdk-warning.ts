/**
 * The AWS SDK's NodeVersionSupportWarning, in our words. On Node 20 (a runtime taskgraph supports)
 * the SDK emits a nine-line process warning the first time a client is made
 * (@aws-sdk/core's emitWarningIfUnsupportedVersion), into the middle of a run's output and even
 * with -q. What it says matters, so it is not dropped: it becomes one line, once per run, on
 * stderr, and nothing with -q. The SDK's own switch, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true
 * (https://github.com/aws/aws-sdk-js-v3/issues/7983), stops the SDK emitting it, and so this line.
 */

/** The part of `process` this needs: the CLI passes the real one. */
export interface WarningTarget {
  emitWarning: NodeJS.Process['emitWarning'];
}

const SDK_WARNING = /^NodeVersionSupportWarning: .*?will require node >=(\d+)/s;

/** Replaces the SDK's warning while a command runs; returns the undo. */
export function replaceSdkNodeWarning(
  target: WarningTarget,
  options: { readonly say: (line: string) => void; readonly nodeVersion: string },
): () => void {
  const original = target.emitWarning;
  let said = false;
  const replaced = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    const sdk = SDK_WARNING.exec(text);
    if (!sdk) return (original as (...args: unknown[]) => void).call(target, warning, ...rest);
    if (said) return;
    said = true;
    options.say(
      `note: the AWS SDK's releases from January 2027 need Node ${sdk[1]} or later; this is Node ${options.nodeVersion} (README: Runtimes)`,
    );
  }) as NodeJS.Process['emitWarning'];
  target.emitWarning = replaced;
  return () => {
    if (target.emitWarning === replaced) target.emitWarning = original;
  };
}
