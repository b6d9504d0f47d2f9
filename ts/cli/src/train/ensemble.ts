/**
 * Fitting the model of a run, a fold or an --ensemble member: a fresh model
 * trained on a split whose validation part picks the best epoch (from
 * --min-epochs on), and `--ensemble N`: N such fits with seeds `seed`,
 * `seed + 1`, ... on the same split, combined into one model averaging their
 * softmax probabilities (the SDK's `ensembleModels`).
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ensembleModels, Model, type Engine, type SplitAssignment } from '@lite-cnn/sdk';
import { folderDatasets, type OpenedFolder } from '../data/folder-source.js';
import type { DataOptions } from '../data/options.js';
import type { TrainingData } from '../data/training-data.js';
import { RunError } from '../errors.js';
import { LARGE_MODEL_LIMITS } from '../model/load.js';
import type { Output } from '../ui/output.js';
import { bestCheckpoint } from './checkpoints.js';
import { readDone, writeDone, type MemberRecord } from './completed-unit.js';
import { ResumableEarlyStopping } from './early-stopping.js';
import { fitWithProgress } from './fit-progress.js';
import { HistoryCsv } from './history-csv.js';
import type { Interrupt } from './interrupt.js';
import { memberSeed, type TrainOptions } from './options.js';
import { bestEpochRule, compileModel, fitSettings, lrScheduler } from './recipe.js';
import { RUN_FILES } from './run-dir.js';
import { modelForClasses } from './run-model.js';

/** What a fit needs besides its options and data. */
export interface FitContext {
  o: TrainOptions;
  engine: Engine;
  prefetch: boolean | undefined;
  interrupt: Interrupt;
  out: Output;
  classNames: string[];
}

/** The best model of one fit (or of an ensemble's members), read back from its checkpoint. */
export interface FitResult {
  model: Model;
  epochSeconds: number[];
  /** 1-based. */
  bestEpoch: number | null;
}

/**
 * Trains a fresh model with `o`'s recipe and seed on `data`; the best epoch
 * on its validation split is saved to `bestFile` and returned. Null when
 * interrupted.
 */
export async function fitBest(c: FitContext, o: TrainOptions, data: TrainingData, bestFile: string, history: HistoryCsv): Promise<FitResult | null> {
  const { interrupt } = c;
  const model = await modelForClasses(o, c.engine, c.classNames.length);
  model.metadata = { classNames: c.classNames, preprocessing: data.preprocessing, threshold: null, stainNormalization: data.stainNormalization ?? null };
  compileModel(model, o);
  let bestEpoch: number | null = null;
  const { monitor, startFrom } = bestEpochRule(o, data.val !== null);
  const best = bestCheckpoint(bestFile, monitor, interrupt, undefined, startFrom, (e) => (bestEpoch = e));
  const early = o.patience === null || !data.val ? null : new ResumableEarlyStopping(o.patience, null, startFrom);
  const schedule = lrScheduler(o);
  const epochSeconds = await fitWithProgress(model, data.train, fitSettings(o, data.val, c.prefetch), c.out, [...(schedule ? [schedule] : []), interrupt, history, best, ...(early ? [early] : [])]);
  if (interrupt.signal !== undefined) {
    model.dispose();
    return null;
  }
  const bestModel = await Model.load(bestFile, { engine: c.engine, limits: LARGE_MODEL_LIMITS }).catch(() => model);
  if (bestModel !== model) model.dispose();
  return { model: bestModel, epochSeconds, bestEpoch: bestEpoch === null ? null : bestEpoch + 1 };
}

/** Trains member `m` into `dir` and marks it complete; null when interrupted. */
async function fitMember(c: EnsembleContext, dir: string, seed: number, m: number, members: number): Promise<FitResult | null> {
  await mkdir(dir, { recursive: true }).catch((cause) => {
    throw new RunError(`cannot create ${dir}: ${(cause as Error).message}`, { cause });
  });
  c.out.line(`  member ${m + 1}/${members} (seed ${seed})`);
  const history = new HistoryCsv(path.join(dir, RUN_FILES.history), c.interrupt);
  const r = await fitBest(c, { ...c.o, seed }, await c.memberData(m), path.join(dir, RUN_FILES.best), history);
  await history.flush();
  if (r !== null) await writeDone<MemberRecord>(dir, { kind: 'member', seed, bestEpoch: r.bestEpoch, epochSeconds: r.epochSeconds });
  return r;
}

/** A member completed before an interruption, read back from `dir`; null when it is not complete. */
async function completedMember(c: EnsembleContext, dir: string, seed: number): Promise<FitResult | null> {
  const done = await readDone<MemberRecord>(dir, 'member');
  if (done === null) return null;
  if (done.seed !== seed) throw new RunError(`${dir}: this member was trained with seed ${done.seed}, but the run's member here has seed ${seed}`);
  const model = await Model.load(path.join(dir, RUN_FILES.best), { engine: c.engine, limits: LARGE_MODEL_LIMITS });
  c.out.line(`  member ${path.basename(dir)} (seed ${seed}): completed before the interruption, read back`);
  return { model, epochSeconds: done.epochSeconds, bestEpoch: done.bestEpoch };
}

/**
 * Member m's datasets on one split of an image folder (decoded once): the
 * run's own for the first member, the same split augmented with the member's
 * seed for the others.
 */
export function folderMemberData(o: TrainOptions, opened: OpenedFolder, assignments: readonly SplitAssignment[], dataOptions: DataOptions, first: TrainingData): (m: number) => Promise<TrainingData> {
  return async (m) => (m === 0 ? first : folderDatasets(opened, assignments, { ...dataOptions, seed: memberSeed(o, m) }));
}

/** An ensemble's fits: each member's data (the same split, augmented with its seed) and folder. */
export interface EnsembleContext extends FitContext {
  memberData: (m: number) => Promise<TrainingData>;
  /** Member `m`'s folder (from 0): its best model, history.csv and, once complete, done.json. */
  dirOf: (m: number) => string;
  /** --resume: members whose folder is complete (done.json) are read back instead of trained again. */
  resuming: boolean;
}

/**
 * `--ensemble N`: member m (from 0) trains with seed `seed + m` into
 * `dirOf(m)`, and the result averages the members' probabilities (their
 * thresholds and calibrations are not kept: the caller chooses the
 * ensemble's). Epoch seconds are every member's epochs; the best epoch is
 * the first member's. Each member's folder is marked complete (done.json)
 * once its files are final. Null when interrupted.
 */
export async function fitEnsemble(c: EnsembleContext, members: number): Promise<FitResult | null> {
  const fitted: Model[] = [];
  const epochSeconds: number[] = [];
  let bestEpoch: number | null = null;
  try {
    for (let m = 0; m < members; m++) {
      const dir = c.dirOf(m);
      const seed = memberSeed(c.o, m);
      const r = (c.resuming ? await completedMember(c, dir, seed) : null) ?? (await fitMember(c, dir, seed, m, members));
      if (r === null) return null;
      fitted.push(r.model);
      epochSeconds.push(...r.epochSeconds);
      if (m === 0) bestEpoch = r.bestEpoch;
    }
    return { model: await ensembleModels(fitted, { name: `ensemble of ${members}` }), epochSeconds, bestEpoch };
  } finally {
    for (const m of fitted) m.dispose();
  }
}
