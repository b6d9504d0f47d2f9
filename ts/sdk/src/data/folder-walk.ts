/**
 * Walking an image folder's tree safely. Symbolic links are resolved with
 * realpath: a link to a folder that contains it (`loop -> .`, `up -> ..`) is
 * a loop and an error (followed, it would read every image again and again,
 * and across classes); a link whose target lies outside the root is refused
 * unless `followSymlinks` (a folder should not silently pull in, and label,
 * images from elsewhere). Every file comes back with its real path, so the
 * caller can count each image once. File-system errors are DataErrors that
 * name the path and the code (EACCES, ELOOP, ENOENT).
 */
import { DataError } from '../errors.js';
import { describeFsError, fsErrorCode } from '../io/fs-errors.js';
import { compareNames } from './samples.js';

export interface WalkedFile {
  /** '/'-joined path relative to the walked folder. */
  rel: string;
  /** The file's real path (symbolic links resolved). */
  real: string;
}

export interface WalkContext {
  /** Real path of the listed root: links may point anywhere inside it. */
  rootReal: string;
  followSymlinks: boolean;
  /** Names the caller in errors (`listImageFolder`). */
  where: string;
}

type Fs = typeof import('node:fs/promises');
type NodePath = typeof import('node:path');

function inside(root: string, p: string, sep: string): boolean {
  return p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** realpath of `full`, with a DataError naming the link and the reason when it cannot be resolved. */
export async function resolveReal(full: string, ctx: WalkContext): Promise<string> {
  const fs = await import('node:fs/promises');
  try {
    return await fs.realpath(full);
  } catch (cause) {
    const broken = fsErrorCode(cause) === 'ENOENT' ? 'a broken symbolic link (its target does not exist, ENOENT)' : describeFsError(cause);
    throw new DataError(`${ctx.where}: cannot resolve ${full}: ${broken}`, { cause });
  }
}

/**
 * What a directory entry that is a symbolic link points to: its real path and
 * whether that is a folder, after the containment check. `ancestors` are the
 * real paths of the folders the walk is inside.
 */
export async function followLink(full: string, ctx: WalkContext, ancestors: ReadonlySet<string>): Promise<{ real: string; isDir: boolean }> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  const real = await resolveReal(full, ctx);
  if (!ctx.followSymlinks && !inside(ctx.rootReal, real, path.sep)) {
    throw new DataError(`${ctx.where}: the symbolic link ${full} points outside the folder, to ${real}; expected links inside ${ctx.rootReal} (allow others with --follow-symlinks / followSymlinks: true)`);
  }
  const isDir = await fs.stat(real).then(
    (s) => s.isDirectory(),
    (cause: unknown) => {
      throw new DataError(`${ctx.where}: cannot read ${full} (-> ${real}): ${describeFsError(cause)}`, { cause });
    },
  );
  if (isDir && ancestors.has(real)) {
    throw new DataError(`${ctx.where}: the symbolic link ${full} points to ${real}, a folder that contains it: a loop (its images would be read again and again); remove the link`);
  }
  return { real, isDir };
}

/** Files under `dir` (real path `dirReal`), recursively, in byte order of their relative paths; hidden entries skipped. */
export async function walkFolder(dir: string, dirReal: string, ctx: WalkContext, ancestors: ReadonlySet<string>, prefix = ''): Promise<WalkedFile[]> {
  const fs: Fs = await import('node:fs/promises');
  const path: NodePath = await import('node:path');
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (cause) {
    throw new DataError(`${ctx.where}: cannot read the folder ${dir}: ${describeFsError(cause)}`, { cause });
  }
  entries.sort((a, b) => compareNames(a.name, b.name));
  const out: WalkedFile[] = [];
  for (const d of entries) {
    if (d.name.startsWith('.')) continue;
    const full = path.join(dir, d.name);
    const rel = prefix === '' ? d.name : `${prefix}/${d.name}`;
    let real = path.join(dirReal, d.name);
    let isDir = d.isDirectory();
    if (d.isSymbolicLink()) ({ real, isDir } = await followLink(full, ctx, ancestors));
    if (isDir) out.push(...(await walkFolder(full, real, ctx, new Set([...ancestors, real]), rel)));
    else out.push({ rel, real });
  }
  return out;
}
