/**
 * An image folder, `<root>/<class>/…/<name>.{png,jpg,jpeg,tif,tiff,bmp}`, as Keras'
 * `image_dataset_from_directory` reads it: one sub-folder per class, classes
 * sorted alphabetically (label = position), sub-folders inside a class
 * followed, extensions matched case-insensitively. Non-image files inside
 * class folders are skipped but listed in `ignored`. Symbolic links are
 * resolved safely (folder-walk.ts): loops are errors, links out of the root
 * are refused unless `followSymlinks`, and an image reached twice is counted
 * once (listed in `duplicates`). An optional
 * `<root>/manifest.csv` adds groups (patients) and subtypes (manifest.ts).
 */
import { DataError } from '../errors.js';
import { describeFsError, fsErrorCode } from '../io/fs-errors.js';
import { followLink, resolveReal, walkFolder, type WalkContext } from './folder-walk.js';
import { readManifest, manifestKey, type Manifest, type ManifestOptions } from './manifest.js';
import { compareNames, isImageFile, requireNode, type ImageListing, type ImageSample } from './samples.js';

export interface ImageFolderOptions extends ManifestOptions {
  /**
   * The manifest: true (default) reads `<root>/manifest.csv` when it exists;
   * a path reads that file (it must exist); false ignores any manifest.
   */
  manifest?: boolean | string;
  /** Read symbolic links whose target lies outside `root` (default false: such a link is an error). */
  followSymlinks?: boolean;
}

export interface ImageFolderListing extends ImageListing {
  /** The manifest read, or null. */
  manifest: string | null;
  /** Files the manifest lists that are not in the folder (reported, not fatal: images may have been removed on purpose). */
  missing: string[];
  /** Files reached a second time through a symbolic link (same real file, same class): counted once, at `sameAs`. */
  duplicates: { path: string; sameAs: string }[];
}

/** Lists an image folder; throws DataError for a missing root, no class folders or a class folder with no images. */
export async function listImageFolder(root: string, options: ImageFolderOptions = {}): Promise<ImageFolderListing> {
  requireNode('listImageFolder');
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  let top: import('node:fs').Dirent[];
  try {
    top = await fs.readdir(root, { withFileTypes: true });
  } catch (cause) {
    const code = fsErrorCode(cause);
    const what = code === 'ENOENT' ? 'does not exist (ENOENT)' : code === 'ENOTDIR' ? 'is not a directory (ENOTDIR)' : `cannot be read: ${describeFsError(cause)}`;
    throw new DataError(`listImageFolder: expected a folder with one sub-folder per class, but ${root} ${what}`, { cause });
  }
  const ctx: WalkContext = { rootReal: '', followSymlinks: options.followSymlinks ?? false, where: 'listImageFolder' };
  ctx.rootReal = await resolveReal(root, ctx);
  const classNames: string[] = [];
  const classReal = new Map<string, string>();
  for (const d of top) {
    if (d.name.startsWith('.')) continue;
    const full = path.join(root, d.name);
    const target = d.isSymbolicLink() ? await followLink(full, ctx, new Set([ctx.rootReal])) : { real: path.join(ctx.rootReal, d.name), isDir: d.isDirectory() };
    if (!target.isDir) continue;
    classNames.push(d.name);
    classReal.set(d.name, target.real);
  }
  classNames.sort(compareNames);
  if (classNames.length === 0) {
    const images = top.filter((d) => d.isFile() && isImageFile(d.name)).length;
    const hint = images > 0 ? ` (it holds ${images} image files directly: put them in one sub-folder per class)` : '';
    throw new DataError(`listImageFolder: expected class sub-folders in ${root}, found none${hint}`);
  }

  const samples: ImageSample[] = [];
  const ignored: string[] = [];
  const rels: string[] = [];
  const duplicates: ImageFolderListing['duplicates'] = [];
  const seen = new Map<string, ImageSample>();
  for (const [label, className] of classNames.entries()) {
    const real = classReal.get(className)!;
    const files = await walkFolder(path.join(root, className), real, ctx, new Set([ctx.rootReal, real]));
    const before = samples.length;
    let other = 0;
    for (const { rel, real: fileReal } of files) {
      const full = path.join(root, className, rel);
      if (isImageFile(rel)) {
        const first = seen.get(fileReal);
        if (first !== undefined && first.className !== className) {
          throw new DataError(`listImageFolder: ${full} and ${first.path} are the same file (${fileReal}) in classes '${className}' and '${first.className}'; an image has one label`);
        }
        if (first !== undefined) {
          duplicates.push({ path: full, sameAs: first.path });
          continue;
        }
        const sample: ImageSample = { path: full, label, className };
        seen.set(fileReal, sample);
        samples.push(sample);
        rels.push(manifestKey(`${className}/${rel}`));
      } else {
        ignored.push(full);
        other++;
      }
    }
    if (samples.length === before) {
      const also = other > 0 ? ` (${other} other file${other === 1 ? '' : 's'} ignored)` : '';
      throw new DataError(
        `listImageFolder: class folder '${className}' (${path.join(root, className)}) has no images; expected files ending in .png, .jpg, .jpeg, .tif, .tiff or .bmp${also}`,
      );
    }
  }

  let manifest: Manifest | null = null;
  if (options.manifest !== false) {
    const mPath = typeof options.manifest === 'string' ? options.manifest : path.join(root, 'manifest.csv');
    const exists = await fs.stat(mPath).then((s) => s.isFile(), () => false);
    if (exists || typeof options.manifest === 'string') {
      manifest = await readManifest(mPath, {
        ...(options.groupColumn !== undefined ? { groupColumn: options.groupColumn } : {}),
        ...(options.groupPattern !== undefined ? { groupPattern: options.groupPattern } : {}),
      });
    }
  }
  const missing: string[] = [];
  if (manifest) {
    const unlisted: string[] = [];
    samples.forEach((s, i) => {
      const e = manifest.entries.get(rels[i]!);
      if (!e) {
        unlisted.push(s.path);
        return;
      }
      if (e.label !== undefined && e.label !== s.className) {
        throw new DataError(`${manifest.path}: line ${e.line}: '${rels[i]}' has label '${e.label}' but lies in class folder '${s.className}'; expected them to agree`);
      }
      if (e.group !== undefined) s.group = e.group;
      if (e.subtype !== undefined) s.subtype = e.subtype;
    });
    // A grouped split needs every image's group: a partial manifest would let unlisted images leak across splits.
    if (manifest.groupColumn !== null && unlisted.length > 0) {
      throw new DataError(
        `${manifest.path}: expected a row for every image (its '${manifest.groupColumn}' is needed for a grouped split), ` +
          `but ${unlisted.length} image${unlisted.length === 1 ? ' is' : 's are'} not listed, e.g. ${unlisted.slice(0, 3).join(', ')}`,
      );
    }
    const onDisk = new Set(rels);
    for (const key of manifest.entries.keys()) if (!onDisk.has(key)) missing.push(path.join(root, key));
  }
  const groupsKnown = samples.every((s) => s.group !== undefined);
  if (!groupsKnown) for (const s of samples) delete s.group;
  return { root, classNames, samples, ignored, groupsKnown, manifest: manifest?.path ?? null, missing, duplicates };
}
