/**
 * `lite-cnn train --cv K`: K-fold cross-validation, by patient when the
 * folder knows patients (the SDK's `groupKFold`, stratified by class).
 *
 * Scheme, fold k of K:
 * - test: fold k (its patients are in no other split of this fold);
 * - the other K-1 folds are split again by patient (`splitSamples`, test
 *   ratio 0) into train and a validation split of `--val-ratio` of their
 *   images (default 0.2: with 8 benign patients in the training folds, one or
 *   two of them land in validation);
 * - a fresh model (same seed, same recipe) trains on train; the validation
 *   split picks the best epoch (lowest val_loss, from `--min-epochs` on),
 *   drives `--patience`, and chooses the `--target-recall` threshold;
 * - the best model is evaluated once on the test fold, at 0.5 and at its
 *   threshold. The test fold is never looked at before that.
 * Images are decoded once for all folds. Outputs: RUN_DIR/fold-k/ (model,
 * history.csv, split.csv), cv.csv (a row per fold, rewritten after each
 * fold), cv.json (folds + mean ± sample std), report.html (the fold table
 * and the pooled out-of-fold predictions at 0.5), summary.json.
 * Ctrl-C keeps the completed folds: each is marked by fold-k/done.json (its
 * cv.csv row and test predictions), and --resume reads them back and trains
 * the others, a cut-short fold from its start.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Model, subtypeRecall, writeFileAtomic, type CalibrationConfig, type SplitAssignment, type StainDistribution, type SubtypeRecall } from '@lite-cnn/sdk';
import { fixedPreprocessing, foldAssignments, folderDatasets } from '../data/folder-source.js';
import { splitNote, splitSeedOf } from '../data/options.js';
import type { TrainingData } from '../data/training-data.js';
import { RunError, EXIT } from '../errors.js';
import { classMetrics, evaluateModel, evaluateOutputs, reportEvaluation } from '../model/evaluation.js';
import { evaluateGroups, groupSubtypeRecall, imagePredictions, sampleAnnotations, type DecisionContext } from '../model/group-evaluation.js';
import { chooseThreshold } from '../model/operating-point.js';
import { calibrateOnValidation, describeCalibration } from '../model/calibration.js';
import { writeReport } from '../report/index.js';
import { count, fixed, percent, seconds } from '../ui/format.js';
import { fitBest, fitEnsemble, folderMemberData, type FitContext } from './ensemble.js';
import { HistoryCsv } from './history-csv.js';
import { describeSignal, Interrupt } from './interrupt.js';
import { describeModelSource, recipeText, type TrainOptions } from './options.js';
import { openFolderWithModel } from './run-model.js';
import { compileModel } from './recipe.js';
import { checkRecordedSplit, DONE_FILE, readDone, writeDone } from './completed-unit.js';
import { newRunConfig, recordResume, writeRunConfig, type RunConfig } from './run-config.js';
import { RUN_FILES } from './run-dir.js';
import { positiveIndex } from './finish-run.js';
import type { TrainContext } from './run-training.js';
import { endInterrupted, writeRunSummary, type RunSummary } from './summary.js';
import { patientLines, patientReportTable, testPatients, type RecordedPatient } from './cv-patients.js';
import { finalAssignment, innerFoldDir, THRESHOLD_CV_FILE, trainWithThresholdCv, writeInnerCvChoice, type ThresholdCvContext } from './threshold-cv.js';

/** One fold's outcome: cv.csv's row. */
export interface FoldResult {
  fold: number;
  trainImages: number;
  valImages: number;
  testImages: number;
  testPatients: number | null;
  /** At threshold 0.5 (binary) / argmax. */
  accuracy: number;
  recall: number | null;
  precision: number | null;
  f1: number | null;
  macroF1: number;
  auc: number | null;
  /** --target-recall: the fold's threshold (chosen on its validation split) and the test metrics there. */
  threshold: number | null;
  accuracyAtThreshold: number | null;
  recallAtThreshold: number | null;
  precisionAtThreshold: number | null;
  f1AtThreshold: number | null;
  /** Patient level (mean probability of each test patient's images), at the fold's decision (its threshold, else 0.5); null when patients are unknown. */
  patientAccuracy: number | null;
  patientRecall: number | null;
  /** Calibration of the test images' probabilities (with --calibrate: calibrated by the fold's own fit): expected calibration error and Brier score. */
  ece: number | null;
  brier: number | null;
  epochs: number;
  bestEpoch: number | null;
  secondsPerEpoch: number;
  firstEpochSeconds: number;
  /** --stain-randomize: the distribution fitted on this fold's training images (cv.json only: each fold fits its own); null without it. */
  stainRandomization: StainDistribution | null;
  /** --calibrate: the fold's calibration, fitted on its validation split (cv.json only); null without it. */
  calibration: CalibrationConfig | null;
}

const COLUMNS: (keyof FoldResult)[] = [
  'fold', 'trainImages', 'valImages', 'testImages', 'testPatients', 'accuracy', 'recall', 'precision', 'f1', 'macroF1', 'auc',
  'threshold', 'accuracyAtThreshold', 'recallAtThreshold', 'precisionAtThreshold', 'f1AtThreshold', 'patientAccuracy', 'patientRecall', 'ece', 'brier', 'epochs', 'bestEpoch', 'secondsPerEpoch', 'firstEpochSeconds',
];
const SNAKE = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** Metrics summarized over folds: mean and sample standard deviation (n - 1). */
const SUMMARIZED: (keyof FoldResult)[] = ['accuracy', 'recall', 'precision', 'f1', 'macroF1', 'auc', 'accuracyAtThreshold', 'recallAtThreshold', 'precisionAtThreshold', 'f1AtThreshold', 'patientAccuracy', 'patientRecall', 'ece', 'brier', 'threshold', 'epochs', 'bestEpoch', 'secondsPerEpoch'];

export interface MeanStd {
  mean: number;
  std: number;
  n: number;
}

/** Display statistics of a column of fold results (the SDK has no summary statistics helper yet). */
function meanStd(values: readonly (number | null)[]): MeanStd | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  if (v.length === 0) return null;
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, std, n: v.length };
}

function cvCsv(rows: readonly FoldResult[]): string {
  const cell = (v: unknown) => (v === null || v === undefined ? '' : String(v));
  return [COLUMNS.map(SNAKE).join(','), ...rows.map((r) => COLUMNS.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}

export function summarize(rows: readonly FoldResult[]): Partial<Record<keyof FoldResult, MeanStd>> {
  const out: Partial<Record<keyof FoldResult, MeanStd>> = {};
  for (const k of SUMMARIZED) {
    const s = meanStd(rows.map((r) => r[k] as number | null));
    if (s) out[k] = s;
  }
  return out;
}

const pct = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : percent(v, 1));
const pm = (s: MeanStd | undefined, asPercent = true) => (s === undefined ? 'n/a' : asPercent ? `${percent(s.mean, 1)} ± ${(s.std * 100).toFixed(1)}` : `${fixed(s.mean, 3)} ± ${fixed(s.std, 3)}`);

/** The fold table as text cells: one row per fold and a mean ± std row. */
function tableCells(rows: readonly FoldResult[], posName: string | null, withThreshold: boolean): { columns: string[]; cells: string[][] } {
  const p = posName ?? 'positive';
  const columns = ['fold', 'test images', 'accuracy', `${p} recall`, `${p} precision`, `${p} F1`, 'AUC', 'ECE'];
  if (withThreshold) columns.push('threshold', 'accuracy @t', `${p} recall @t`, `${p} precision @t`);
  columns.push('patient accuracy', `patient ${p} recall`, 'epochs (best)', 's/epoch');
  const cells = rows.map((r) => {
    const c = [String(r.fold), `${r.testImages}${r.testPatients !== null ? ` (${r.testPatients} pat.)` : ''}`, pct(r.accuracy), pct(r.recall), pct(r.precision), pct(r.f1), r.auc === null ? 'n/a' : fixed(r.auc, 3), r.ece === null ? 'n/a' : fixed(r.ece, 3)];
    if (withThreshold) c.push(r.threshold === null ? 'n/a' : fixed(r.threshold, 3), pct(r.accuracyAtThreshold), pct(r.recallAtThreshold), pct(r.precisionAtThreshold));
    c.push(pct(r.patientAccuracy), pct(r.patientRecall), `${r.epochs} (${r.bestEpoch ?? '-'})`, fixed(r.secondsPerEpoch, 2));
    return c;
  });
  const s = summarize(rows);
  const mean = ['mean ± std', String(rows.reduce((a, r) => a + r.testImages, 0)), pm(s.accuracy), pm(s.recall), pm(s.precision), pm(s.f1), pm(s.auc, false), pm(s.ece, false)];
  if (withThreshold) mean.push(pm(s.threshold, false), pm(s.accuracyAtThreshold), pm(s.recallAtThreshold), pm(s.precisionAtThreshold));
  mean.push(pm(s.patientAccuracy), pm(s.patientRecall), s.epochs ? `${fixed(s.epochs.mean, 1)} (${s.bestEpoch ? fixed(s.bestEpoch.mean, 1) : '-'})` : 'n/a', s.secondsPerEpoch ? fixed(s.secondsPerEpoch.mean, 2) : 'n/a');
  cells.push(mean);
  return { columns, cells };
}

function textTable(columns: readonly string[], cells: readonly (readonly string[])[]): string {
  const w = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: readonly string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [line(columns), w.map((n) => '-'.repeat(n)).join('  '), ...cells.map(line)].join('\n');
}

/** `resumed`: the config.json of the interrupted run that --resume continues, else null (a new run). */
export async function runCrossValidation(o: TrainOptions, ctx: TrainContext, resumed: RunConfig | null): Promise<number> {
  const { out, runDir, engine } = ctx;
  const K = o.cv!.folds;
  const f = o.data.folder!;
  const dir = (o.data.source as { dir: string }).dir;
  const { opened, classNames, template, dataOptions } = await openFolderWithModel(o, engine);
  const pos = positiveIndex(o, template, classNames);
  const posName = pos === null ? null : classNames[pos]!;
  const folds = foldAssignments(opened, f, K, splitSeedOf(f, o.seed));
  // --threshold-cv: the stored model trains on all non-test images; its inner CV splits them itself.
  const foldSplit = (k: number) => (o.thresholdCv ? finalAssignment(folds[k]!) : folds[k]!);
  const foldDir = (k: number) => path.join(runDir.path, `fold-${k + 1}`);
  const grouped = f.splitBy !== null && opened.listing.groupsKnown;
  compileModel(template, o);
  const completed = resumed ? await Promise.all(folds.map((_, k) => readDone<FoldRecord>(foldDir(k), 'fold'))) : [];
  const completedFolds = completed.filter((c) => c !== null).length;
  let config: RunConfig;
  if (resumed) {
    config = resumed;
    await recordResume(runDir.path, config, ctx, { completedFolds });
  } else {
    config = newRunConfig({
      argv: ctx.argv,
      engine,
      options: o,
      data: {
        description: `${dir}: ${classNames.join(' / ')}, ${opened.all.size} images, ${K}-fold cross-validation, ${splitNote(grouped, f)}`,
        source: { kind: 'folder', dir, manifest: opened.listing.manifest, classNames, images: opened.listing.samples.length, skipped: opened.all.skipped, ignored: opened.listing.ignored, grouped, folds: K },
        classNames,
        // Each fold's model file holds its own; fitted statistics ('standardize') differ between folds.
        preprocessing: fixedPreprocessing(dataOptions.preprocess),
      },
      model: template,
    });
    await writeRunConfig(runDir.file(RUN_FILES.config), config);
  }

  const skipped = opened.all.skipped.length;
  const resumeNote = resumed ? `, resuming with ${completedFolds} of ${K} folds completed` : '';
  out.line(`lite-cnn train --cv ${K}: ${describeModelSource(o)} (${count(template.countParams().total)} parameters)${resumeNote}`);
  out.line(`data:   ${config.data.description}, decoded in ${seconds(opened.decodeSeconds)}; ${skipped} image${skipped === 1 ? '' : 's'} skipped${opened.listing.ignored.length ? `, ${opened.listing.ignored.length} non-image files ignored` : ''}`);
  out.line(`scheme: test = fold k; ${selection(o, grouped)}${o.operatingPoint ? ` (threshold: recall >= ${o.operatingPoint.targetRecall} on '${o.operatingPoint.positive}', --threshold-rule ${o.operatingPoint.rule})` : ''}`);
  out.line(`recipe: ${recipeText(o, config.model.regularizer)}${f.augment ? ', augmented' : ''}`);
  out.line(`run:    ${runDir.path}`);

  const records: FoldRecord[] = [];
  const rows: FoldResult[] = [];
  const interrupt = new Interrupt((sig) => out.line(`\n${describeSignal(sig)}: stopping after this step; completed folds are kept (press Ctrl-C again to quit at once)...`));
  interrupt.listen();

  /** Trains and tests fold `k` and marks it complete (done.json); null when interrupted. */
  const trainFold = async (k: number): Promise<FoldRecord | null> => {
    const fileOf = (name: string) => path.join(foldDir(k), name);
    await mkdir(foldDir(k), { recursive: true }).catch((cause) => {
      throw new RunError(`cannot create ${foldDir(k)}: ${(cause as Error).message}`, { cause });
    });
    const data = await folderDatasets(opened, foldSplit(k), dataOptions);
    await data.writeSplit!(fileOf(RUN_FILES.split));
    const splits = (data.source.splits as { split: string; images: number; patients: number | null }[]);
    const test = splits.find((s) => s.split === 'test')!;
    out.line();
    out.line(`Fold ${k + 1}/${K}: ${splits.map((s) => `${s.split} ${s.images}${s.patients !== null ? ` (${s.patients} patients)` : ''}`).join(', ')}`);
    // An ensemble's members keep their own histories (member-m/history.csv).
    const history = o.ensemble ? null : new HistoryCsv(fileOf(RUN_FILES.history), interrupt);
    const assignment = folds[k]!;
    const memberData = folderMemberData(o, opened, assignment, dataOptions, data);
    const fold: FoldContext = { o, engine, prefetch: ctx.prefetch, data, memberData, history, interrupt, out, fileOf, pos, posName, classNames, resuming: resumed !== null };
    const trained = o.thresholdCv
      ? await thresholdCvFold(assignment, fold, { opened, options: o, engine, prefetch: ctx.prefetch, positiveClass: pos!, classes: classNames.length, data: dataOptions, out, interrupt, innerDir: (j) => fileOf(innerFoldDir(j)), resuming: resumed !== null })
      : await validationFold(fold);
    await history?.flush();
    if (trained === null) return null;
    const record = await testFold(k, trained, data, test.patients, { o, pos, classNames, grouped });
    trained.model.dispose();
    // Last: the fold's files are final, so --resume may read it back instead of training it again.
    await writeDone(foldDir(k), record);
    return record;
  };

  const t0 = performance.now();
  try {
    for (let k = 0; k < K && interrupt.signal === undefined; k++) {
      const fileOf = (name: string) => path.join(foldDir(k), name);
      let record = completed[k] ?? null;
      if (record) {
        // The folder must still make this fold's split: its record describes models trained and tested on it.
        await checkRecordedSplit(fileOf(RUN_FILES.split), foldSplit(k), dir);
        out.line();
        out.line(`Fold ${k + 1}/${K}: completed before the interruption (${path.relative(runDir.path, fileOf(DONE_FILE))})`);
      } else {
        record = await trainFold(k);
        if (record === null) break;
      }
      records.push(record);
      rows.push(record.row);
      await writeFileAtomic(runDir.file('cv.csv'), cvCsv(rows));
      out.line(foldLine(record.row, posName));
    }
  } finally {
    interrupt.dispose();
  }
  const pooled = poolPredictions(records);

  const summaryStats = summarize(rows);
  const complete = rows.length === K;
  const subtypes = pooledSubtypes(pooled);
  const patients = testPatients(pooled.patients, classNames);
  const cvJson = { subtypes, patients, folds: K, completed: rows.length, scheme: { split: grouped ? 'patient' : 'image', validationRatio: o.thresholdCv ? null : f.valRatio, thresholdCv: o.thresholdCv?.folds ?? null, thresholdRule: o.operatingPoint?.rule ?? null, minEpochs: o.minEpochs ?? null, targetRecall: o.operatingPoint?.targetRecall ?? null }, positiveClass: posName, std: 'sample (n - 1)', rows, summary: summaryStats };
  if (rows.length) await writeFileAtomic(runDir.file('cv.json'), `${JSON.stringify(cvJson, null, 2)}\n`);
  const { columns, cells } = tableCells(rows, posName, o.operatingPoint !== null && o.operatingPoint !== undefined);
  const totalSeconds = (performance.now() - ctx.startedAt) / 1000;
  const summary: RunSummary = {
    status: complete ? 'completed' : 'interrupted',
    runDir: runDir.path,
    epochs: { planned: o.epochs, completed: rows.reduce((a, r) => a + r.epochs, 0), stoppedEarly: rows.some((r) => r.epochs < o.epochs) },
    steps: 0,
    seconds: { training: (performance.now() - t0) / 1000, total: totalSeconds, decoding: opened.decodeSeconds },
    validation: null,
    test: null,
    files: {},
  };
  if (!complete) {
    await endInterrupted(out, runDir, summary, interrupt.signal, [`Interrupted after ${rows.length} of ${K} folds; cv.csv holds the completed folds, a cut-short fold will be trained again from its start.`], { cv: cvJson });
    return interrupt.signal !== undefined ? interrupt.exitCode : EXIT.failure;
  }

  out.line();
  out.line(`${K}-fold cross-validation (${grouped ? 'by patient' : 'by image'}), best model of each fold on its test fold; mean ± sample std over folds:`);
  out.line(textTable(columns, cells));
  if (subtypes.images.length) {
    out.line(`recall per subtype over the folds (each fold's decision): ${subtypes.images.map((s) => `${s.subtype} ${pct(s.recall)} (${s.images} images${subtypeByPatient(subtypes.patients, s.subtype)})`).join(', ')}`);
  }
  for (const line of patientLines(patients, posName)) out.line(line);
  out.line(`time: ${seconds(summary.seconds.training)} for ${K} folds (+ ${seconds(opened.decodeSeconds)} decoding once)`);

  // The report: the fold table, and the pooled out-of-fold predictions at 0.5.
  const ev = evaluateOutputs(Uint32Array.from(pooled.labels), Float32Array.from(pooled.probs), {
    outputs: template.outputShape[2],
    classes: template.classes,
    classNames,
    positiveClass: pos ?? 1,
  });
  const written = await writeReport(runDir.path, {
    title: `lite-cnn ${K}-fold cross-validation ${runDir.path}`,
    runInfo: {
      model: describeModelSource(o),
      data: config.data.description,
      recipe: `${recipeText(o, config.model.regularizer)}${f.augment ? ', augmented' : ''}`,
      scheme: `test = fold k; ${selection(o, grouped)}`,
      'training time': seconds(summary.seconds.training),
    },
    evaluation: reportEvaluation(ev, `out-of-fold predictions of the ${K} folds' best models, ${count(ev.samples)} images, at threshold 0.5`),
    tables: [
      { id: 'cv', title: 'Cross-validation folds', note: `Each fold's best model on its test fold; last row: mean ± sample standard deviation over the ${K} folds.`, columns, rows: cells },
      ...[patientReportTable(patients, posName)].filter((t) => t !== null),
    ],
  });
  const files: Record<string, string> = { [RUN_FILES.config]: runDir.file(RUN_FILES.config), 'cv.csv': runDir.file('cv.csv'), 'cv.json': runDir.file('cv.json') };
  for (const w of written) files[path.basename(w)] = w;
  for (let k = 1; k <= K; k++) files[`fold-${k}/`] = path.join(runDir.path, `fold-${k}`);
  files[RUN_FILES.summary] = runDir.file(RUN_FILES.summary);
  summary.files = files;
  await writeRunSummary(runDir.file(RUN_FILES.summary), summary);
  out.line(`saved to ${runDir.path}: ${Object.keys(files).sort().join(', ')}`);
  out.result({ ...summary, cv: cvJson });
  return EXIT.ok;
}

/** A fold's test predictions, pooled over the folds for the report and the subtype recall. */
interface FoldPredictions {
  labels: number[];
  probs: number[];
  /** Per image at the fold's decision, with its subtype (null: none); empty when the samples carry no annotations. */
  predicted: number[];
  subtypes: (string | null)[];
  /** Per test patient at the fold's decision (records of an earlier release hold only label, predicted and subtype). */
  patients: RecordedPatient[];
}

/** A completed fold (fold-k/done.json): its cv.csv row and test predictions. */
interface FoldRecord {
  kind: 'fold';
  row: FoldResult;
  predictions: FoldPredictions;
}

/** Fold `k`'s trained model evaluated once on its test split: its row and predictions. */
async function testFold(k: number, trained: TrainedFold, data: TrainingData, testPatients: number | null, c: { o: TrainOptions; pos: number | null; classNames: string[]; grouped: boolean }): Promise<FoldRecord> {
  const { model: bestModel, threshold, epochSeconds, bestEpoch, valImages } = trained;
  const { pos, classNames } = c;
  const ev = await evaluateModel(bestModel, data.test!, { batchSize: c.o.batchSize, classNames });
  const predictions: FoldPredictions = { labels: [...ev.labels], probs: [...ev.probs], predicted: [], subtypes: [], patients: [] };
  // Patient level and subtypes at the fold's decision (its threshold, else 0.5 / arg-max).
  const decision: DecisionContext = { outputs: bestModel.outputShape[2], classes: bestModel.classes, classNames, positiveClass: pos ?? 1 };
  const notes = sampleAnnotations(data.test!);
  const patients = notes && c.grouped ? evaluateGroups(ev, decision, { column: 'patient', method: 'mean', groups: notes.groups, subtypes: notes.subtypes }) : null;
  if (notes) {
    predictions.subtypes = notes.subtypes.map((s) => s ?? null);
    predictions.predicted = [...imagePredictions(ev, decision)];
  }
  if (patients) predictions.patients = patients.perGroup.map((g) => ({ ...g, fold: k + 1 }));
  const patientPos = patients && pos !== null ? classMetrics(patients.evaluation.report, pos) : null;
  const at = (r: typeof ev.atDefault) => (pos === null ? null : classMetrics(r, pos));
  const d = at(ev.atDefault);
  const t = ev.operating ? at(ev.operating.report) : null;
  const row: FoldResult = {
    fold: k + 1,
    trainImages: data.train.size,
    valImages,
    testImages: ev.samples,
    testPatients,
    accuracy: ev.atDefault.accuracy,
    recall: d?.recall ?? null,
    precision: d?.precision ?? null,
    f1: d?.f1 ?? null,
    macroF1: ev.atDefault.macroAvg.f1,
    auc: ev.auc,
    threshold,
    accuracyAtThreshold: ev.operating?.report.accuracy ?? null,
    recallAtThreshold: t?.recall ?? null,
    precisionAtThreshold: t?.precision ?? null,
    f1AtThreshold: t?.f1 ?? null,
    patientAccuracy: patients?.evaluation.accuracy ?? null,
    patientRecall: patientPos?.recall ?? null,
    ece: ev.calibration?.ece ?? null,
    brier: ev.calibration?.brier ?? null,
    epochs: epochSeconds.length,
    bestEpoch,
    secondsPerEpoch: epochSeconds.length ? epochSeconds.reduce((a, b) => a + b, 0) / epochSeconds.length : Number.NaN,
    firstEpochSeconds: epochSeconds[0] ?? Number.NaN,
    stainRandomization: data.stainDistribution ?? null,
    calibration: bestModel.metadata.calibration ?? null,
  };
  return { kind: 'fold', row, predictions };
}

/** The folds' predictions end to end, in fold order. */
function poolPredictions(records: readonly FoldRecord[]): FoldPredictions {
  const all: FoldPredictions = { labels: [], probs: [], predicted: [], subtypes: [], patients: [] };
  for (const { predictions: p } of records) {
    all.labels.push(...p.labels);
    all.probs.push(...p.probs);
    all.predicted.push(...p.predicted);
    all.subtypes.push(...p.subtypes);
    all.patients.push(...p.patients);
  }
  return all;
}

/** A fold's test result, as printed after it. */
function foldLine(row: FoldResult, posName: string | null): string {
  return (
    `  test: accuracy ${pct(row.accuracy)}${posName ? `, ${posName} recall ${pct(row.recall)}, precision ${pct(row.precision)}, F1 ${pct(row.f1)}` : ''}, AUC ${row.auc === null ? 'n/a' : fixed(row.auc, 3)}` +
    (row.threshold !== null ? `; at ${fixed(row.threshold, 3)}: accuracy ${pct(row.accuracyAtThreshold)}, recall ${pct(row.recallAtThreshold)}, precision ${pct(row.precisionAtThreshold)}` : '') +
    (row.patientAccuracy !== null ? `; ${row.testPatients} patients: accuracy ${pct(row.patientAccuracy)}${posName ? `, ${posName} recall ${pct(row.patientRecall)}` : ''}` : '')
  );
}

/** How each fold chooses its epoch and threshold, for the header and the report. */
function selection(o: TrainOptions, grouped: boolean): string {
  const from = o.minEpochs ? ` from epoch ${o.minEpochs}` : '';
  if (o.thresholdCv) return `epoch count${from} and threshold from a ${o.thresholdCv.folds}-fold CV of the other folds' ${grouped ? 'patients' : 'images'} (pooled out-of-fold predictions), the stored model trained on all of them`;
  return `validation = ${o.data.folder!.valRatio} of the other folds' ${grouped ? 'patients' : 'images'} (best epoch${from}${o.operatingPoint ? ', threshold' : ''})`;
}

/** What training one fold needs of the cross-validation. */
interface FoldContext extends FitContext {
  data: TrainingData;
  /** The data of --ensemble member `m` (from 0): the fold's split, augmented with the member's seed. */
  memberData: (m: number) => Promise<TrainingData>;
  /** The fold's history.csv; null for an --ensemble (each member writes its own). */
  history: HistoryCsv | null;
  fileOf: (name: string) => string;
  pos: number | null;
  posName: string | null;
  /** --resume: an --ensemble fold reads back its members completed before the interruption. */
  resuming: boolean;
}

/** A fold's stored model (saved in the fold's folder), its threshold and how it was trained; null when interrupted. */
interface TrainedFold {
  model: Model;
  threshold: number | null;
  epochSeconds: number[];
  /** 1-based. */
  bestEpoch: number | null;
  /** Images the epoch and the threshold were chosen on. */
  valImages: number;
}

/** The validation split picks the best epoch (of each --ensemble member), the calibration and --target-recall's threshold. */
async function validationFold(c: FoldContext): Promise<TrainedFold | null> {
  const { o, data, fileOf } = c;
  const fitted = o.ensemble
    ? await fitEnsemble({ ...c, dirOf: (m) => fileOf(`member-${m + 1}`) }, o.ensemble.members)
    : await fitBest(c, o, data, fileOf(RUN_FILES.best), c.history!);
  if (fitted === null) return null;
  const { model: bestModel, epochSeconds, bestEpoch } = fitted;
  let threshold: number | null = null;
  if (o.calibration && data.val) {
    const fit = await calibrateOnValidation(bestModel, data.val, o.calibration, o.batchSize);
    c.out.line(`  calibration ${describeCalibration(fit.config)} (validation NLL ${fixed(fit.nll.before, 4)} -> ${fixed(fit.nll.after, 4)})`);
  }
  if (o.operatingPoint && data.val && c.pos !== null) {
    const chosen = await chooseThreshold(bestModel, data.val, { positiveClass: c.pos, targetRecall: o.operatingPoint.targetRecall, rule: o.operatingPoint.rule, batchSize: o.batchSize });
    threshold = chosen.threshold;
    c.out.line(`  threshold ${fixed(chosen.threshold, 4)} (validation ${c.posName} recall ${percent(chosen.recall, 1)}, precision ${percent(chosen.precision, 1)})`);
  }
  await bestModel.save(fileOf(RUN_FILES.best));
  return { model: bestModel, threshold, epochSeconds, bestEpoch, valImages: data.val?.size ?? 0 };
}

/** --threshold-cv: an inner CV of the fold's training patients picks the epoch count and the threshold (threshold-cv.json). */
async function thresholdCvFold(assignment: readonly SplitAssignment[], c: FoldContext, t: ThresholdCvContext): Promise<TrainedFold | null> {
  const trained = await trainWithThresholdCv(assignment, c.data, t, c.history!);
  if (trained === null) return null;
  await trained.model.save(c.fileOf(RUN_FILES.best));
  await writeInnerCvChoice(c.fileOf(THRESHOLD_CV_FILE), trained.choice);
  return { model: trained.model, threshold: trained.choice.threshold, epochSeconds: trained.epochSeconds, bestEpoch: trained.choice.epochs, valImages: trained.choice.images };
}

/** Recall per subtype over every fold's test images and patients, each at its fold's decision. */
function pooledSubtypes(p: FoldPredictions): { images: SubtypeRecall[]; patients: SubtypeRecall[] } {
  if (!p.subtypes.some((s) => s !== null)) return { images: [], patients: [] };
  const subtype = (s: string | null) => s ?? undefined;
  return {
    images: subtypeRecall(p.labels, p.predicted, p.subtypes.map(subtype)),
    // A person counts once for each subtype of its images (records of an earlier release know one).
    patients: groupSubtypeRecall(p.patients.map((x) => x.label), p.patients.map((x) => x.predicted), p.patients.map((x) => x.subtypes ?? (typeof x.subtype === 'string' ? [x.subtype] : []))),
  };
}

function subtypeByPatient(rows: readonly SubtypeRecall[], subtype: string): string {
  const r = rows.find((x) => x.subtype === subtype);
  return r ? `; ${r.correct}/${r.images} patients` : '';
}
