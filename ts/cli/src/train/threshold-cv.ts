/**
 * `--threshold-cv K`: the decision threshold and the epoch count from an inner
 * patient-level cross-validation of the training patients, instead of from
 * one validation split of a few patients (issue 14, item 5; docs/histology.md).
 *
 * Of one assignment (train / val / test), the train and val images form the
 * pool and the test images stay unseen:
 * - the pool is split into K folds by patient (the SDK's `groupKFold`,
 *   stratified by class); a fresh model per fold trains on the other folds
 *   (stain normalization and preprocessing fitted on them) and its
 *   probabilities on its own fold are recorded after every epoch;
 * - the epoch count is the one with the lowest pooled out-of-fold
 *   cross-entropy (from --min-epochs on): every pool image is scored once,
 *   by a model that never saw its patient;
 * - the threshold reaches --target-recall on the pooled out-of-fold scores at
 *   that epoch: chosen on all pool patients (about 32 in a 5-fold CV of the
 *   shared tiles), not on the 7-8 of a validation split;
 * - with --calibrate, the calibration is fitted on the same pooled
 *   out-of-fold probabilities at that epoch, and the threshold is chosen on
 *   them calibrated;
 * - the stored model trains on the whole pool for that many epochs (the
 *   same learning-rate schedule, cut there) and carries that threshold (and
 *   calibration).
 */
import { calibrateProbabilities, Callback, ConfigError, groupKFold, MetricAccumulator, writeFileAtomic, type CalibrationFit, type CalibrationKind, type Dataset, type Engine, type Model, type SplitAssignment } from '@lite-cnn/sdk';
import { describeCalibration, fitWhere } from '../model/calibration.js';
import { recallThreshold, type ThresholdRule } from './threshold-rule.js';
import { folderDatasets, groupedOption, type OpenedFolder } from '../data/folder-source.js';
import { splitSeedOf, type DataOptions } from '../data/options.js';
import type { TrainingData } from '../data/training-data.js';
import { positiveScores } from '../model/evaluation.js';
import { fixed, percent } from '../ui/format.js';
import type { Output } from '../ui/output.js';
import { fitWithProgress } from './fit-progress.js';
import type { HistoryCsv } from './history-csv.js';
import type { Interrupt } from './interrupt.js';
import type { TrainOptions } from './options.js';
import { readDone, writeDone } from './completed-unit.js';
import { bestEpochRule, compileModel, fitSettings, lrScheduler } from './recipe.js';
import { modelForClasses } from './run-model.js';

/** Where a run (or a CV fold) keeps what its inner cross-validation chose. */
export const THRESHOLD_CV_FILE = 'threshold-cv.json';

/** Inner fold `j`'s folder (from 0) in the run's (or the CV fold's) folder: its done.json. */
export function innerFoldDir(j: number): string {
  return `inner-fold-${j + 1}`;
}

/** What the inner cross-validation chose (threshold-cv.json). */
export interface InnerCvChoice {
  folds: number;
  /** Pool images and patients (null when patients are unknown), each scored once out of fold. */
  images: number;
  patients: number | null;
  /** Pooled out-of-fold cross-entropy after each epoch (index 0: epoch 1). */
  losses: number[];
  /** Epochs the stored model trains for (1-based): the lowest pooled loss from --min-epochs on. */
  epochs: number;
  positiveClass: number;
  targetRecall: number;
  /** --calibrate: fitted on the pooled out-of-fold probabilities at `epochs` (null: none). */
  calibration: CalibrationFit | null;
  /** The stored threshold and the pooled out-of-fold recall and precision there (of the calibrated probabilities with --calibrate). */
  threshold: number;
  recall: number;
  precision: number;
  /** Images and patients of each inner fold's held-out part. */
  innerFolds: { images: number; patients: number | null }[];
}

/** Records a model's probabilities on held-out data after every epoch. */
class HeldOutProbabilities extends Callback {
  readonly perEpoch: Float32Array[] = [];
  constructor(
    private readonly net: Model,
    private readonly data: Dataset,
    private readonly batchSize: number,
  ) {
    super();
  }
  override async onEpochEnd(): Promise<void> {
    this.perEpoch.push(await this.net.predict(this.data, { batchSize: this.batchSize, calibrated: false }));
  }
}

export interface ThresholdCvContext {
  opened: OpenedFolder;
  options: TrainOptions;
  engine: Engine;
  /** fit's prefetch (TrainContext.prefetch). */
  prefetch: boolean | undefined;
  /** The positive class (index into the class names); the model is binary. */
  positiveClass: number;
  /** Classes of the data (the model's head is fitted to them: --from, torchvision presets). */
  classes: number;
  /** The run's data options for its network (every model of the inner CV is the same network: run-model.ts, dataOptionsFor). */
  data: DataOptions;
  out: Output;
  interrupt: Interrupt;
  /** Inner fold `j`'s folder (from 0): done.json once it is complete, so --resume reads it back. */
  innerDir: (j: number) => string;
  /** --resume: inner folds completed before the interruption are read back instead of trained again. */
  resuming: boolean;
}

/** A completed inner fold (done.json): its held-out probabilities after every epoch, their labels and counts. */
interface InnerFoldRecord {
  kind: 'inner fold';
  perEpoch: number[][];
  labels: number[];
  outputs: number;
  images: number;
  patients: number | null;
}

/** Images and patients of a split, as folderDatasets counts them (patients null when unknown). */
function splitCount(data: TrainingData, split: 'train' | 'val' | 'test'): { images: number; patients: number | null } {
  const s = (data.source.splits as { split: string; images: number; patients: number | null }[]).find((x) => x.split === split)!;
  return { images: s.images, patients: s.patients };
}

/** The pool's images (split train or val) as an inner fold's train/val assignment. */
function innerAssignment(pool: readonly SplitAssignment[], heldOut: ReadonlySet<number>): SplitAssignment[] {
  return pool.map((s, i) => ({ ...s, split: heldOut.has(i) ? 'val' : 'train' }));
}

/** The stored model's assignment: every pool image trains, the test images stay the test split. */
export function finalAssignment(assignments: readonly SplitAssignment[]): SplitAssignment[] {
  return assignments.map((s) => (s.split === 'test' ? s : { ...s, split: 'train' }));
}

/** Fits with the recipe's schedule, the interrupt and `extra` for `epochs` epochs (no validation data); each epoch's seconds. */
function fit(model: Model, train: Dataset, epochs: number, c: ThresholdCvContext, extra: Callback[]): Promise<number[]> {
  const schedule = lrScheduler(c.options);
  return fitWithProgress(model, train, { ...fitSettings(c.options, null, c.prefetch), epochs }, c.out, [...(schedule ? [schedule] : []), c.interrupt, ...extra]);
}

/** A binary model's outputs as two columns (a one-unit sigmoid gives class 1's probability). */
function twoColumns(probs: Float32Array, outputs: number): Float32Array {
  if (outputs === 2) return probs;
  const out = new Float32Array(probs.length * 2);
  probs.forEach((p, i) => {
    out[2 * i] = 1 - p;
    out[2 * i + 1] = p;
  });
  return out;
}

/**
 * Chooses the epoch count (lowest pooled loss from `startFrom`, 0-based; the
 * earliest on ties) and the threshold on the pooled out-of-fold scores there.
 * `perFold[j][e]`: fold j's probabilities after epoch e; `labels[j]`: its labels.
 */
export function chooseFromPooled(
  perFold: readonly (readonly Float32Array[])[],
  labels: readonly Uint32Array[],
  opts: { outputs: number; positiveClass: number; targetRecall: number; rule: ThresholdRule; startFrom: number; calibration?: CalibrationKind | null },
): Pick<InnerCvChoice, 'losses' | 'epochs' | 'calibration' | 'threshold' | 'recall' | 'precision' | 'images'> {
  const epochs = Math.min(...perFold.map((f) => f.length));
  if (epochs <= opts.startFrom) throw new ConfigError(`--threshold-cv: ${epochs} epochs recorded, but the epoch count is chosen from epoch ${opts.startFrom + 1} on (--min-epochs)`);
  const losses: number[] = [];
  for (let e = 0; e < epochs; e++) {
    const acc = new MetricAccumulator({ classes: 2 });
    perFold.forEach((f, j) => acc.update({ probs: twoColumns(f[e]!, opts.outputs), labels: labels[j]! }));
    losses.push(acc.result().loss);
  }
  let best = opts.startFrom;
  for (let e = opts.startFrom + 1; e < epochs; e++) if (losses[e]! < losses[best]!) best = e;
  // The chosen epoch's out-of-fold outputs and labels, pooled in fold order.
  const pooled = Float32Array.from(perFold.flatMap((f) => Array.from(f[best]!)));
  const pooledLabels = labels.flatMap((l) => Array.from(l));
  const calibration = opts.calibration ? fitWhere(opts.calibration, pooled, pooledLabels, opts.outputs, `the ${pooledLabels.length} pooled out-of-fold images`) : null;
  const probs = calibration ? calibrateProbabilities(pooled, opts.outputs, calibration.config) : pooled;
  const scores = positiveScores(probs, opts.outputs, opts.positiveClass);
  const binary = pooledLabels.map((x) => (x === opts.positiveClass ? 1 : 0));
  let chosen;
  try {
    chosen = recallThreshold(binary, scores, opts.targetRecall, opts.rule);
  } catch (cause) {
    throw new ConfigError(`--threshold-cv: cannot choose a threshold on the ${scores.length} pooled out-of-fold images: ${(cause as Error).message}`, { cause });
  }
  return { losses, epochs: best + 1, calibration, threshold: chosen.threshold, recall: chosen.recall, precision: chosen.precision, images: scores.length };
}

/** The inner cross-validation of the pool of `assignments`; null when interrupted. */
export async function innerCrossValidation(assignments: readonly SplitAssignment[], c: ThresholdCvContext): Promise<InnerCvChoice | null> {
  const o = c.options;
  const K = o.thresholdCv!.folds;
  const targetRecall = o.operatingPoint!.targetRecall;
  const pool = assignments.filter((s) => s.split !== 'test');
  const folds = groupKFold(pool, K, splitSeedOf(o.data.folder!, o.seed), groupedOption(o.data.folder!.splitBy));
  const perFold: Float32Array[][] = [];
  const labels: Uint32Array[] = [];
  const innerFolds: InnerCvChoice['innerFolds'] = [];
  let outputs = 2;
  for (let j = 0; j < K; j++) {
    const done = c.resuming ? await readDone<InnerFoldRecord>(c.innerDir(j), 'inner fold') : null;
    if (done) {
      c.out.line(`  inner fold ${j + 1}/${K}: completed before the interruption, read back`);
      perFold.push(done.perEpoch.map((p) => Float32Array.from(p)));
      labels.push(Uint32Array.from(done.labels));
      innerFolds.push({ images: done.images, patients: done.patients });
      outputs = done.outputs;
      continue;
    }
    const data = await folderDatasets(c.opened, innerAssignment(pool, new Set(folds[j]!.test)), c.data);
    const val = data.val!;
    const model = await modelForClasses(o, c.engine, c.classes);
    compileModel(model, o);
    outputs = model.outputShape[2];
    const heldOut = new HeldOutProbabilities(model, val, o.batchSize);
    const { patients } = splitCount(data, 'val');
    c.out.line(`  inner fold ${j + 1}/${K}: train ${data.train.size} images, out of fold ${val.size} images${patients !== null ? ` (${patients} patients)` : ''}`);
    try {
      await fit(model, data.train, o.epochs, c, [heldOut]);
    } finally {
      model.dispose();
    }
    if (c.interrupt.signal !== undefined) return null;
    perFold.push(heldOut.perEpoch);
    labels.push(Uint32Array.from(val.labels()!));
    innerFolds.push({ images: val.size, patients });
    await writeDone<InnerFoldRecord>(c.innerDir(j), { kind: 'inner fold', perEpoch: heldOut.perEpoch.map((p) => Array.from(p)), labels: Array.from(labels.at(-1)!), outputs, images: val.size, patients });
  }
  const pooled = chooseFromPooled(perFold, labels, { outputs, positiveClass: c.positiveClass, targetRecall, rule: o.operatingPoint!.rule, startFrom: bestEpochRule(o, true).startFrom, calibration: o.calibration ?? null });
  const knownPatients = innerFolds.every((f) => f.patients !== null);
  return { folds: K, patients: knownPatients ? innerFolds.reduce((a, f) => a + f.patients!, 0) : null, positiveClass: c.positiveClass, targetRecall, innerFolds, ...pooled };
}

export interface ThresholdCvModel {
  /** Trained on the whole pool, with the threshold in its metadata (the caller saves it). */
  model: Model;
  choice: InnerCvChoice;
  epochSeconds: number[];
}

/**
 * The inner cross-validation of `assignments`' pool, then the stored model on
 * `final` (folderDatasets of `finalAssignment(assignments)`); null when interrupted.
 */
export async function trainWithThresholdCv(assignments: readonly SplitAssignment[], final: TrainingData, c: ThresholdCvContext, history?: HistoryCsv): Promise<ThresholdCvModel | null> {
  const choice = await innerCrossValidation(assignments, c);
  if (choice === null) return null;
  c.out.line(
    `  inner CV (${choice.folds} folds, ${choice.images} out-of-fold images${choice.patients !== null ? `, ${choice.patients} patients` : ''}): ` +
      `${choice.epochs} epochs (pooled loss ${fixed(choice.losses[choice.epochs - 1]!, 4)}), ` +
      (choice.calibration ? `calibration ${describeCalibration(choice.calibration.config)} (pooled NLL ${fixed(choice.calibration.nll.before, 4)} -> ${fixed(choice.calibration.nll.after, 4)}), ` : '') +
      `threshold ${fixed(choice.threshold, 4)} ` +
      `(out-of-fold recall ${percent(choice.recall, 1)}, precision ${percent(choice.precision, 1)})`,
  );
  const model = await modelForClasses(c.options, c.engine, c.classes);
  model.metadata = { classNames: final.classNames, preprocessing: final.preprocessing, stainNormalization: final.stainNormalization ?? null, calibration: choice.calibration?.config ?? null, threshold: { positiveClass: c.positiveClass, value: choice.threshold } };
  compileModel(model, c.options);
  c.out.line(`  final model: ${final.train.size} images, ${choice.epochs} epochs`);
  const epochSeconds = await fit(model, final.train, choice.epochs, c, history ? [history] : []);
  if (c.interrupt.signal !== undefined) {
    model.dispose();
    return null;
  }
  return { model, choice, epochSeconds };
}

export async function writeInnerCvChoice(path: string, choice: InnerCvChoice): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(choice, null, 2)}\n`);
}
