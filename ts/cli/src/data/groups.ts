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
  const file = path.join(dir, 'manifest.csv');
  const manifest = await readManifest(file, { groupColumn: groupBy, ...(groupPattern ? { groupPattern } : {}) });
  const groups = samples.map((s) => {
    const key = manifestKey(path.relative(dir, s.path));
    const value = manifest.entries.get(key)?.group;
    if (value === undefined) throw new DataError(`${file}: no '${groupBy}' value for ${key}; --group-by needs one for every evaluated image`);
    return value;
  });
  return { groups, subtypes };
}
