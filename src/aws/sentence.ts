/**
 * How a failure message joins a reason it did not write (ECS's rolloutStateReason, an AWS error's
 * message, another renderer's words) to its own: such a reason may or may not end with a full
 * stop ("ECS deployment circuit breaker: tasks failed to start." does, "RESOURCE:MEMORY" does
 * not), so every renderer of AWS failures ends or continues it through these two, never by
 * appending "." itself.
 */

/** `text` as a sentence: ending in exactly one full stop (a `?` or `!` is left as it is). */
export function sentence(text: string): string {
  const bare = clause(text);
  return bare === '' || /[?!]$/.test(bare) ? bare : `${bare}.`;
}

/** `text` without its closing full stops, to go on with `;`, `:` or `,` after it. */
export function clause(text: string): string {
  return text.trimEnd().replace(/\.+$/, '');
}
