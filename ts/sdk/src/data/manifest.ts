/**
 * `manifest.csv` beside an image folder: one row per image file with extra
 * facts the folder layout cannot carry — above all the group (patient) for a
 * patient-level split, and the subtype. The format is the one of the shared
 * BreakHis tiles: a `file` (or `path`) column relative to the folder, an
 * optional `label` (checked against the class folder), `subtype`, and a
 * group column (`group`, else `patient`, or one named by the caller),
 * optionally cut down to the part a pattern matches: BreakHis slide ids such as
 * `14-23060AB` and `14-23060CD` may be one person, and a split that keeps
 * people apart groups by the numeric part (`/^\d+-\d+/`).
 */
import { DataError } from '../errors.js';
import { csvColumn, parseCsv } from './csv.js';
import { requireNode } from './samples.js';

export interface ManifestEntry {
  group?: string;
  subtype?: string;
  /** The class named in the manifest, to check against the folder. */
  label?: string;
  /** 1-based line in the manifest. */
  line: number;
}

export interface Manifest {
  path: string;
  /** Entries by file path relative to the folder, '/'-separated. */
  entries: Map<string, ManifestEntry>;
  /** The group column used, or null when the manifest has none (or it is empty in every row). */
  groupColumn: string | null;
}

export interface ManifestOptions {
  /** Column holding the group. Default: 'group' when present, else 'patient'. */
  groupColumn?: string;
  /**
   * The group is the part of the column's value this pattern matches (its first
   * capture group when it has one): `/^\d+-\d+/` puts BreakHis slides
   * `14-23060AB` and `14-23060CD` in one group. A value it does not match is a
   * DataError: a group silently left whole could split one person.
   */
  groupPattern?: RegExp;
}

/** Normalizes a relative path for matching: '/' separators, no leading './'. */
export function manifestKey(rel: string): string {
  return rel.replaceAll('\\', '/').replace(/^(\.\/)+/, '');
}

/** Parses manifest text; `path` names it in errors. */
export function parseManifest(text: string, path: string, options: ManifestOptions = {}): Manifest {
  const table = parseCsv(text, path);
  const fileCol = ['file', 'path'].map((c) => csvColumn(table, c)).find((i) => i >= 0);
  if (fileCol === undefined) {
    throw new DataError(`${path}: expected a 'file' (or 'path') column with each image's path relative to the folder, got columns ${table.header.join(', ')}`);
  }
  let groupCol: number;
  if (options.groupColumn !== undefined) {
    groupCol = csvColumn(table, options.groupColumn);
    if (groupCol < 0) throw new DataError(`${path}: expected the group column '${options.groupColumn}', got columns ${table.header.join(', ')}`);
  } else {
    groupCol = ['group', 'patient'].map((c) => csvColumn(table, c)).find((i) => i >= 0) ?? -1;
  }
  const cut = options.groupPattern === undefined ? null : groupCutter(options.groupPattern);
  const labelCol = csvColumn(table, 'label');
  const subtypeCol = csvColumn(table, 'subtype');
  const entries = new Map<string, ManifestEntry>();
  let anyGroup = false;
  table.rows.forEach((row, r) => {
    const line = table.lines[r]!;
    const key = manifestKey(row[fileCol]!.trim());
    if (key === '') throw new DataError(`${path}: line ${line}: empty file name`);
    if (entries.has(key)) throw new DataError(`${path}: line ${line}: '${key}' is listed twice (first on line ${entries.get(key)!.line})`);
    const entry: ManifestEntry = { line };
    const group = groupCol >= 0 ? row[groupCol]!.trim() : '';
    if (group !== '') {
      entry.group = cut === null ? group : cut(group, `${path}: line ${line}: the ${table.header[groupCol]!}`);
      anyGroup = true;
    }
    const subtype = subtypeCol >= 0 ? row[subtypeCol]!.trim() : '';
    if (subtype !== '') entry.subtype = subtype;
    const label = labelCol >= 0 ? row[labelCol]!.trim() : '';
    if (label !== '') entry.label = label;
    entries.set(key, entry);
  });
  // A group column that is empty everywhere (LC25000 publishes no patient ids) means "groups unknown".
  return { path, entries, groupColumn: groupCol >= 0 && anyGroup ? table.header[groupCol]! : null };
}

/**
 * The group value cut down to what `pattern` matches (its first capture group
 * when it has one); a DataError naming `where` when it does not match or the
 * part is empty.
 */
function groupCutter(pattern: RegExp): (value: string, where: string) => string {
  // A global or sticky pattern keeps lastIndex from one exec to the next; one copy without those flags does not.
  const stateless = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
  return (value, where) => {
    const match = stateless.exec(value);
    const key = match === null ? undefined : match.length > 1 ? match[1] : match[0];
    if (key === undefined || key === '') throw new DataError(`${where} '${value}' does not match the group pattern ${pattern}; expected every group value to match (or its capture group to be non-empty)`);
    return key;
  };
}

/** Reads and parses a manifest file (Node only). */
export async function readManifest(path: string, options: ManifestOptions = {}): Promise<Manifest> {
  requireNode('readManifest');
  const fs = await import('node:fs/promises');
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (cause) {
    throw new DataError(`readManifest: cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  return parseManifest(text, path, options);
}
