/**
 * `--group-by COLUMN`: each evaluated image's value of a manifest column (e.g.
 * its patient), read from the folder's manifest.csv, and each image's subtype
 * when the manifest has a subtype column. With a group pattern, the group is
 * the part of the value it matches (`--group-pattern`).
 */
import path from 'node:path';
import { DataError, manifestKey, readManifest, type ImageDataset } from '@lite-cnn/sdk';

export interface ImageAnnotations {
  /** Per image, in dataset order (concatenated sets). */
  groups: (string | undefined)[] | null;
  subtypes: (string | undefined)[];
}

export async function imageAnnotations(dir: string | null, sets: readonly { data: unknown }[], groupBy: string | null, groupPattern: RegExp | null = null): Promise<ImageAnnotations> {
  const samples = sets.flatMap((s) => (s.data as Partial<ImageDataset>).samples ?? []);
  const subtypes = samples.map((s) => s.subtype);
  if (groupBy === null) return { groups: null, subtypes };
  if (dir === null) throw new DataError(`--group-by ${groupBy}: needs an image folder with a manifest.csv`);
  const groups = await fileGroups(path.join(dir, 'manifest.csv'), samples.map((s) => s.path), groupBy, groupPattern);
  return { groups, subtypes };
}

/**
 * Each file's `column` value in `manifestFile` (paths relative to the
 * manifest's folder), cut by `pattern` when given: `--group-by` for evaluated
 * images and for `predict`'s files. A file the manifest does not list, or lists
 * without a value, is a DataError naming both.
 */
export async function fileGroups(manifestFile: string, files: readonly string[], column: string, pattern: RegExp | null = null): Promise<string[]> {
  const manifest = await readManifest(manifestFile, { groupColumn: column, ...(pattern ? { groupPattern: pattern } : {}) });
  const base = path.dirname(path.resolve(manifestFile));
  return files.map((f) => {
    const key = manifestKey(path.relative(base, path.resolve(f)));
    const value = manifest.entries.get(key)?.group;
    if (value === undefined) throw new DataError(`${manifestFile}: no '${column}' value for ${key}; --group-by needs one for every image`);
    return value;
  });
}
