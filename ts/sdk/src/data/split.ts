/**
 * Train/validation/test splits and k-fold cross-validation, stratified by
 * class and GROUPED by patient whenever groups are known: images of one
 * patient are strongly correlated, so an image-level split puts the same
 * person in train and test and overstates accuracy on new patients.
 *
 * Algorithm (both `splitSamples` and `groupKFold`):
 * 1. Units: one per group (or one per image when ungrouped). A unit's stratum
 *    is its majority class (ties: the lower class index).
 * 2. Per stratum, the units (in listing order) are shuffled with the seeded
 *    Philox shuffle (stream: the stratum's class; a split/k-fold tag keeps the
 *    draws apart from epoch shuffles).
 * 3. Split: units are dealt in that order, each to the split whose image
 *    count lags its target (ratio × the stratum's images) the most; ties go
 *    to train, then val, then test; splits with ratio 0 get nothing. With one
 *    image per unit this gives the rounded targets exactly; with groups the
 *    counts follow the ratios as closely as whole patients allow.
 *    k-fold: each unit goes to the fold with the fewest units of its stratum,
 *    then the fewest images of its stratum, then the fewest images, then the
 *    lowest index — so every fold gets a near-equal share of each class's
 *    patients and of images.
 * The result depends only on the samples, their order and the seed.
 */
import { ConfigError, DataError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { csvColumn, formatCsv, parseCsv } from './csv.js';
import { requireNode, type ImageSample } from './samples.js';
import { STREAM_KFOLD, STREAM_SPLIT, shuffleInPlace } from './seeded-shuffle.js';

export type SplitName = 'train' | 'val' | 'test';
export const SPLIT_NAMES: readonly SplitName[] = ['train', 'val', 'test'];

export interface SplitRatios {
  train: number;
  val: number;
  test: number;
}

export interface SplitOptions {
  /** Fractions of the images per split; must sum to 1. Default 0.8 / 0.1 / 0.1 (the study's). */
  ratios?: SplitRatios;
  /** Default 0. */
  seed?: number;
  /** Split whole groups (patients). Default: true when every sample has a group. */
  grouped?: boolean;
}

export interface SplitAssignment extends ImageSample {
  split: SplitName;
}

interface Unit {
  indices: number[];
  stratum: number;
}

function seedOf(seed: number | undefined, where: string): number {
  const s = seed ?? 0;
  if (!Number.isSafeInteger(s) || s < 0) throw new ConfigError(`${where}: seed must be a non-negative safe integer, got ${s}`);
  return s;
}

function useGroups(samples: readonly ImageSample[], grouped: boolean | undefined, where: string): boolean {
  const missing = samples.filter((s) => s.group === undefined || s.group === '').length;
  if (grouped === true && missing > 0) {
    throw new DataError(`${where}: a grouped split needs a group (patient) for every sample, but ${missing} of ${samples.length} have none; give a manifest.csv with a group column or pass grouped: false`);
  }
  return grouped ?? missing === 0;
}

/** Units (groups or single samples) with their stratum, in first-appearance order. */
function unitsOf(samples: readonly ImageSample[], grouped: boolean): Unit[] {
  if (!grouped) return samples.map((s, i) => ({ indices: [i], stratum: s.label }));
  const byGroup = new Map<string, number[]>();
  samples.forEach((s, i) => {
    const list = byGroup.get(s.group!);
    if (list) list.push(i);
    else byGroup.set(s.group!, [i]);
  });
  return [...byGroup.values()].map((indices) => {
    const counts = new Map<number, number>();
    for (const i of indices) counts.set(samples[i]!.label, (counts.get(samples[i]!.label) ?? 0) + 1);
    let stratum = -1;
    let best = -1;
    for (const [label, n] of counts) if (n > best || (n === best && label < stratum)) [stratum, best] = [label, n];
    return { indices, stratum };
  });
}

/** Units grouped by stratum (ascending class), each list shuffled with the seed. */
function shuffledStrata(units: Unit[], seed: number, tag: number): Unit[][] {
  const strata = new Map<number, Unit[]>();
  for (const u of units) {
    const list = strata.get(u.stratum);
    if (list) list.push(u);
    else strata.set(u.stratum, [u]);
  }
  return [...strata.keys()].sort((a, b) => a - b).map((k) => {
    const list = strata.get(k)!;
    shuffleInPlace(list, seed, k, tag);
    return list;
  });
}

function checkRatios(r: SplitRatios): void {
  for (const name of SPLIT_NAMES) {
    const v = r[name];
    if (!(Number.isFinite(v) && v >= 0 && v <= 1)) throw new ConfigError(`splitSamples: ratio '${name}' must be in [0, 1], got ${v}`);
  }
  const sum = r.train + r.val + r.test;
  if (Math.abs(sum - 1) > 1e-6) throw new ConfigError(`splitSamples: ratios must sum to 1, got ${r.train} + ${r.val} + ${r.test} = ${sum}`);
  if (r.train === 0) throw new ConfigError('splitSamples: the train ratio must be > 0');
}

/** Assigns every sample to train, val or test (see the module comment); returns them in input order. */
export function splitSamples(samples: readonly ImageSample[], options: SplitOptions = {}): SplitAssignment[] {
  const ratios = options.ratios ?? { train: 0.8, val: 0.1, test: 0.1 };
  checkRatios(ratios);
  const seed = seedOf(options.seed, 'splitSamples');
  if (samples.length === 0) throw new DataError('splitSamples: expected samples to split, got none');
  const grouped = useGroups(samples, options.grouped, 'splitSamples');
  const split = new Array<SplitName>(samples.length);
  for (const stratum of shuffledStrata(unitsOf(samples, grouped), seed, STREAM_SPLIT)) {
    const total = stratum.reduce((a, u) => a + u.indices.length, 0);
    const assigned = [0, 0, 0];
    for (const unit of stratum) {
      let pick = -1;
      let lag = -Infinity;
      SPLIT_NAMES.forEach((name, k) => {
        const r = ratios[name];
        const d = r * total - assigned[k]!;
        if (r > 0 && d > lag) [pick, lag] = [k, d];
      });
      assigned[pick]! += unit.indices.length;
      for (const i of unit.indices) split[i] = SPLIT_NAMES[pick]!;
    }
  }
  for (const name of SPLIT_NAMES) {
    if (ratios[name] > 0 && !split.includes(name)) {
      const units = grouped ? `${new Set(samples.map((s) => s.group)).size} groups` : `${samples.length} samples`;
      throw new DataError(`splitSamples: the '${name}' split (ratio ${ratios[name]}) got no samples from ${units}; expected at least one: use more data, a larger ratio, or ratio 0 to have no ${name} split`);
    }
  }
  return samples.map((s, i) => ({ ...s, split: split[i]! }));
}

export interface GroupFold {
  /** Indices into the samples, ascending. */
  train: number[];
  test: number[];
}

export interface GroupKFoldOptions {
  /** Default: true when every sample has a group. */
  grouped?: boolean;
}

/** Patient-level k-fold cross-validation, stratified by each group's majority class (see the module comment). */
export function groupKFold(samples: readonly ImageSample[], k: number, seed = 0, options: GroupKFoldOptions = {}): GroupFold[] {
  if (!Number.isInteger(k) || k < 2) throw new ConfigError(`groupKFold: k must be an integer >= 2, got ${k}`);
  seedOf(seed, 'groupKFold');
  const grouped = useGroups(samples, options.grouped, 'groupKFold');
  const units = unitsOf(samples, grouped);
  if (units.length < k) throw new DataError(`groupKFold: ${k} folds need at least ${k} ${grouped ? 'groups' : 'samples'}, got ${units.length}`);
  const fold = new Int32Array(samples.length);
  const images = new Array<number>(k).fill(0);
  for (const stratum of shuffledStrata(units, seed, STREAM_KFOLD)) {
    const nUnits = new Array<number>(k).fill(0);
    const nImages = new Array<number>(k).fill(0);
    for (const unit of stratum) {
      let best = 0;
      for (let f = 1; f < k; f++) {
        const key = (g: number) => [nUnits[g]!, nImages[g]!, images[g]!];
        const [a, b] = [key(f), key(best)];
        if (a[0]! < b[0]! || (a[0] === b[0] && (a[1]! < b[1]! || (a[1] === b[1] && a[2]! < b[2]!)))) best = f;
      }
      nUnits[best]!++;
      nImages[best]! += unit.indices.length;
      images[best]! += unit.indices.length;
      for (const i of unit.indices) fold[i] = best;
    }
  }
  return Array.from({ length: k }, (_, f) => {
    const train: number[] = [];
    const test: number[] = [];
    for (let i = 0; i < samples.length; i++) (fold[i] === f ? test : train).push(i);
    return { train, test };
  });
}

const SPLIT_COLUMNS = ['path', 'label', 'class', 'group', 'split'] as const;

export interface SplitCsvOptions {
  /** Write paths relative to this folder (and resolve them against it when reading), so the file stays valid when the data moves. */
  relativeTo?: string;
}

/** Writes `split.csv` (columns path,label,class,group,split) atomically. */
export async function writeSplitCsv(path: string, assignments: readonly SplitAssignment[], options: SplitCsvOptions = {}): Promise<void> {
  requireNode('writeSplitCsv');
  const nodePath = await import('node:path');
  const rows = assignments.map((a) => {
    const p = options.relativeTo === undefined ? a.path : nodePath.relative(options.relativeTo, a.path).split(nodePath.sep).join('/');
    return [p, String(a.label), a.className, a.group ?? '', a.split];
  });
  await writeFileAtomic(path, formatCsv(SPLIT_COLUMNS, rows));
}

/** Parses split.csv text; `name` labels errors. Paths are returned as written. */
export function parseSplitCsv(text: string, name: string): SplitAssignment[] {
  const table = parseCsv(text, name);
  const cols = SPLIT_COLUMNS.map((c) => csvColumn(table, c));
  if (cols.some((c) => c < 0)) throw new DataError(`${name}: expected columns ${SPLIT_COLUMNS.join(',')}, got ${table.header.join(',')}`);
  const [pc, lc, cc, gc, sc] = cols as [number, number, number, number, number];
  const names = new Map<number, string>();
  return table.rows.map((row, r) => {
    const line = table.lines[r]!;
    const label = Number(row[lc]);
    if (row[lc]!.trim() === '' || !Number.isInteger(label) || label < 0) throw new DataError(`${name}: line ${line}: expected a class index >= 0 in 'label', got '${row[lc]}'`);
    const split = row[sc] as SplitName;
    if (!SPLIT_NAMES.includes(split)) throw new DataError(`${name}: line ${line}: expected split train, val or test, got '${row[sc]}'`);
    const className = row[cc]!;
    const known = names.get(label);
    if (known !== undefined && known !== className) throw new DataError(`${name}: line ${line}: label ${label} is class '${className}' here but '${known}' earlier`);
    names.set(label, className);
    const a: SplitAssignment = { path: row[pc]!, label, className, split };
    if (row[gc] !== '') a.group = row[gc]!;
    return a;
  });
}

/** Reads a split.csv written by writeSplitCsv. */
export async function readSplitCsv(path: string, options: SplitCsvOptions = {}): Promise<SplitAssignment[]> {
  requireNode('readSplitCsv');
  const fs = await import('node:fs/promises');
  const nodePath = await import('node:path');
  let text: string;
  try {
    text = await fs.readFile(path, 'utf8');
  } catch (cause) {
    throw new DataError(`readSplitCsv: cannot read ${path}: ${(cause as Error).message}`, { cause });
  }
  const out = parseSplitCsv(text, path);
  if (options.relativeTo !== undefined) for (const a of out) a.path = nodePath.resolve(options.relativeTo, a.path);
  return out;
}

/**
 * Copies the files into `<outDir>/<split>/<class>/<file name>`, like the
 * study's splitting script. All-or-nothing: files go to a temporary folder in
 * `outDir` that is renamed into place at the end; existing split folders are
 * never overwritten (DataError), and two files with one name in one class
 * folder are an error rather than a silent overwrite. Returns counts per split.
 */
export async function copySplit(outDir: string, assignments: readonly SplitAssignment[]): Promise<Record<SplitName, number>> {
  requireNode('copySplit');
  const fs = await import('node:fs/promises');
  const nodePath = await import('node:path');
  const counts: Record<SplitName, number> = { train: 0, val: 0, test: 0 };
  const used = new Map<string, string>();
  for (const a of assignments) {
    const key = `${a.split}/${a.className}/${nodePath.basename(a.path)}`;
    const other = used.get(key);
    if (other !== undefined) throw new DataError(`copySplit: ${other} and ${a.path} would both be copied to ${key}; expected unique file names per class`);
    used.set(key, a.path);
    counts[a.split]++;
  }
  const present = SPLIT_NAMES.filter((s) => counts[s] > 0);
  for (const s of present) {
    const target = nodePath.join(outDir, s);
    if (await fs.stat(target).then(() => true, () => false)) throw new DataError(`copySplit: ${target} already exists; expected a fresh output folder (nothing was copied)`);
  }
  await fs.mkdir(outDir, { recursive: true });
  const tmp = await fs.mkdtemp(nodePath.join(outDir, '.split-'));
  try {
    const dirs = new Set(assignments.map((a) => nodePath.join(tmp, a.split, a.className)));
    for (const d of dirs) await fs.mkdir(d, { recursive: true });
    for (const [key, src] of used) {
      try {
        await fs.copyFile(src, nodePath.join(tmp, key), fs.constants.COPYFILE_EXCL);
      } catch (cause) {
        throw new DataError(`copySplit: cannot copy ${src}: ${(cause as Error).message}`, { cause });
      }
    }
    for (const s of present) await fs.rename(nodePath.join(tmp, s), nodePath.join(outDir, s));
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
  return counts;
}
