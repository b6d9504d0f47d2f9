/**
 * File-system errors in words a user can act on, with the code kept
 * (`permission denied (EACCES)`): "unsupported image format" for an
 * unreadable file, or "missing" for a symbolic-link loop, sends people
 * looking in the wrong place.
 */

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: 'does not exist',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'too many levels of symbolic links (a link loop)',
  ENOTDIR: 'a path component is not a directory',
  EISDIR: 'is a directory',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

/** The Node error code of `err` (`'EACCES'`...), if it has one. */
export function fsErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** `permission denied (EACCES)`; the error's own message for codes without a wording. */
export function describeFsError(err: unknown): string {
  const code = fsErrorCode(err);
  const reason = code === undefined ? undefined : REASONS[code];
  if (reason !== undefined) return `${reason} (${code})`;
  return err instanceof Error ? err.message : String(err);
}
