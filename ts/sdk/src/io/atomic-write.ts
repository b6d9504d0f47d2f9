/**
 * Crash-safe file replacement for checkpoints: the bytes go to a temporary
 * file in the target's directory, are fsynced, and the temporary file is then
 * renamed over the target. A reader (or a crash at any point) sees the old
 * file or the new one, never a torn mix. Node only; `node:` modules are
 * imported dynamically so the SDK bundle still loads in browsers.
 */
import { ConfigError, LiteCnnError } from '../errors.js';
import { hostKind } from '../runtime/platform.js';

export interface WriteFileAtomicOptions {
  /** Create the target's directory (and parents) when missing, as Keras' ModelCheckpoint does. Default false. */
  makeDirs?: boolean;
}

export async function writeFileAtomic(path: string, bytes: Uint8Array | string, options: WriteFileAtomicOptions = {}): Promise<void> {
  if (hostKind() !== 'node') {
    throw new ConfigError(`writeFileAtomic: writing '${path}' needs Node.js (node:fs); in a browser, hand the bytes to your own storage instead (ModelCheckpoint: the onSave hook)`);
  }
  const fs = await import('node:fs/promises');
  const nodePath = await import('node:path');
  const dir = nodePath.dirname(path);
  if (options.makeDirs) await fs.mkdir(dir, { recursive: true });
  // Same directory, so the rename never crosses file systems (which would not be atomic).
  // Hidden and unique per attempt, so concurrent writers cannot collide.
  const tmp = nodePath.join(dir, `.${nodePath.basename(path)}.${process.pid}.${globalThis.crypto.randomUUID().slice(0, 8)}.tmp`);
  let handle: Awaited<ReturnType<typeof fs.open>> | undefined;
  try {
    handle = await fs.open(tmp, 'wx');
    await handle.writeFile(bytes);
    // Data on disk before the rename: otherwise a crash could leave the new name pointing at empty blocks.
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(tmp, path);
  } catch (err) {
    await handle?.close().catch(() => {});
    await fs.rm(tmp, { force: true }).catch(() => {});
    const reason = err instanceof Error ? err.message : String(err);
    throw new LiteCnnError(`writeFileAtomic: could not write '${path}' (${reason}); the previous file, if any, is unchanged`, { cause: err });
  }
  // Persist the rename itself. Best effort: some platforms (Windows) cannot open a directory for fsync.
  try {
    const d = await fs.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    /* the file is in place; only its durability across a power cut is weaker here */
  }
}
