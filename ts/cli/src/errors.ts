/**
 * How the CLI ends: exit codes and the one place that turns an error into a
 * message. Usage errors (bad arguments) exit 2 so scripts can tell "you called
 * me wrong" from "the data or the run failed" (1).
 */
import { CommanderError } from 'commander';

export const EXIT = { ok: 0, failure: 1, usage: 2, sighup: 129, sigint: 130, sigterm: 143 } as const;

/** The command line itself is wrong: an option value, a missing or conflicting option. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  return EXIT.failure;
}

/** The message a user sees: the error's own text, its causes, and the stack only with LITE_CNN_DEBUG=1. */
export function describeError(err: unknown): string {
  if (process.env.LITE_CNN_DEBUG === '1' && err instanceof Error && err.stack) return err.stack;
  if (!(err instanceof Error)) return String(err);
  const name = err.name && err.name !== 'Error' && !['UsageError', 'RunError', 'LiteCnnError'].includes(err.name) ? `${err.name}: ` : '';
  let text = `${name}${err.message}`;
  // Node's system errors (EACCES, ENOTDIR...) hide the useful part in the cause.
  let cause = err.cause;
  for (let depth = 0; cause instanceof Error && depth < 3; depth++) {
    if (!text.includes(cause.message)) text += `\n  caused by: ${cause.message}`;
    cause = cause.cause;
  }
  return text;
}

/** The run failed for a reason outside the SDK (run directory, resume state). Exit 1. */
export class RunError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RunError';
  }
}
