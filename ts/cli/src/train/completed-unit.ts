/**
 * What makes a run that trains several models (`--cv` folds, `--ensemble`
 * members, `--threshold-cv` inner folds) resumable: each unit's folder gets `done.json` once its files are
 * final, written atomically and last. A unit without it (cut short by Ctrl-C,
 * or never started) is trained again from its start on `--resume`, as a
 * single run redoes a cut-short epoch; a unit with it is read back instead of
 * retrained. Units train independently from the run's seeds, so a resumed run
 * ends with the results of an uninterrupted one.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readSplitCsv, writeFileAtomic, type SplitAssignment } from '@lite-cnn/sdk';
import { RunError } from '../errors.js';
import { exists } from './run-dir.js';

export const DONE_FILE = 'done.json';
const FORMAT = 'lite-cnn-unit';
const VERSION = 1;

/** An --ensemble member: what `fitEnsemble` reports of it besides its model (member-k/model.safetensors). */
export interface MemberRecord {
  kind: 'member';
  seed: number;
  /** 1-based; null without a validation split. */
  bestEpoch: number | null;
  epochSeconds: number[];
}

type UnitRecord = { kind: string };

/** Marks `dir`'s unit complete with `record` (call it after every other file of the unit is written; `dir` is created if missing). */
export async function writeDone<T extends UnitRecord>(dir: string, record: T): Promise<void> {
  await writeFileAtomic(path.join(dir, DONE_FILE), `${JSON.stringify({ format: FORMAT, version: VERSION, ...record })}\n`, { makeDirs: true });
}

/**
 * The record of `dir`'s completed unit of `kind`, or null when the unit is
 * not complete (no done.json). A done.json that is not such a record is an
 * error: the folder was not written by this run.
 */
export async function readDone<T extends UnitRecord>(dir: string, kind: T['kind']): Promise<T | null> {
  const file = path.join(dir, DONE_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new RunError(`cannot read ${file}: ${(cause as Error).message}`, { cause });
  }
  let parsed: { format?: unknown; version?: unknown; kind?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch (cause) {
    throw new RunError(`${file}: not JSON (${(cause as Error).message}); delete it to train this ${kind} again`, { cause });
  }
  if (parsed?.format !== FORMAT || parsed.version !== VERSION || parsed.kind !== kind) {
    throw new RunError(`${file}: not the record of a completed ${kind} (expected format '${FORMAT}' version ${VERSION}, kind '${kind}')`);
  }
  return parsed as unknown as T;
}

/** How many of `dirs` have a done.json, for the resume message (the units' own `readDone` validates each when it is read back). */
export async function countDone(dirs: readonly string[]): Promise<number> {
  return (await Promise.all(dirs.map((dir) => exists(path.join(dir, DONE_FILE))))).filter(Boolean).length;
}

/**
 * Refuses to resume on data other than the run's: `assignments` (the split
 * re-made from the folder as it is now) must be the one recorded in `file`
 * when the run started (same images, labels and splits).
 */
export async function checkRecordedSplit(file: string, assignments: readonly SplitAssignment[], dataDir: string): Promise<void> {
  const recorded = await readSplitCsv(file, { relativeTo: dataDir }).catch((cause: Error) => {
    throw new RunError(`cannot resume: ${cause.message}`, { cause });
  });
  const key = (a: SplitAssignment) => `${a.path}\t${a.label}\t${a.split}`;
  const now = new Set(assignments.map(key));
  const differing = recorded.filter((a) => !now.delete(key(a))).length + now.size;
  if (differing) {
    throw new RunError(`cannot resume: the images in ${dataDir} no longer make the split recorded in ${file} (${differing} image assignment${differing === 1 ? '' : 's'} differ: images added, removed or relabelled); start a new run`);
  }
}
