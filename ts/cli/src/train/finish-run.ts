/**
 * The end of a training run, whatever trained its model (one fit, or an
 * --ensemble's members): the validation metrics, --calibrate's fit and
 * --target-recall's threshold on the validation split (stored in
 * model.safetensors), the test evaluation, the output lines, report.html and
 * summary.json.
 */
import { basename } from 'node:path';
import type { ClassificationReport, Dataset, Model } from '@lite-cnn/sdk';
import type { TrainingData } from '../data/training-data.js';
import { EXIT } from '../errors.js';
import { calibrateOnValidation, calibrationLine, calibrationSummary, checkCalibrationFits } from '../model/calibration.js';
import { classMetrics, evaluateModel, type Evaluation } from '../model/evaluation.js';
import { patientSummary, type GroupEvaluation } from '../model/group-evaluation.js';
import { chooseThreshold, positiveClassIndex, type ChosenThreshold } from '../model/operating-point.js';
import { count, fixed, percent, rate, seconds } from '../ui/format.js';
import type { Output } from '../ui/output.js';
import type { HistoryRow } from './history-csv.js';
import type { Interrupt } from './interrupt.js';
import type { TrainOptions } from './options.js';
import { RUN_FILES } from './run-dir.js';
import type { TrainContext } from './run-training.js';
import { writeTrainingReport } from './run-report.js';
import { writeRunSummary, type Metrics, type RunSummary } from './summary.js';

export interface FinishArgs {
  o: TrainOptions;
  data: TrainingData;
  /** The model to decide with and store: the best epoch's, or an ensemble of the members' best. */
  model: Model;
  /** Write model.safetensors even without a calibration or threshold (a model made after training, as an ensemble). */
  saveModel: boolean;
  /** Filled in here: validation, calibration, threshold, test and the total seconds. */
  summary: RunSummary;
  /** Name -> path of every file the run wrote (this adds its own). */
  files: Record<string, string>;
  /** Disposed once the evaluations are done. */
  interrupt: Interrupt;
  /** "best model" line's text, e.g. "epoch 12 (lowest val_loss)"; null: no such line. */
  bestLine: string | null;
  /** report.html's epochs, e.g. "30 of 30 (best: epoch 12)". */
  epochsText: string;
  trainSeconds: number;
  imagesTrained: number;
  historyRows: HistoryRow[];
}

function metrics(m: Record<string, number>): Metrics {
  return { loss: m.loss!, accuracy: m.accuracy! };
}

/** The positive class of a binary model: --positive (checked), else class 1; null for multi-class models. */
export function positiveIndex(o: TrainOptions, model: Model, classNames: readonly string[]): number | null {
  // Beside the positive class, the other option that needs a binary model (checked as early).
  checkCalibrationFits(o.calibration, model);
  if (o.positive) return positiveClassIndex(model, classNames, o.positive);
  return model.classes === 2 ? 1 : null;
}

/** One line of binary metrics for the positive class. */
export function binaryLine(r: ClassificationReport, pos: number): string {
  const m = classMetrics(r, pos);
  return `accuracy ${percent(r.accuracy)}, ${m.name} recall ${percent(m.recall)}, precision ${percent(m.precision)}, F1 ${percent(m.f1)}`;
}

/** summary.json's numbers of an evaluation. */
export function testMetrics(ev: Evaluation, pos: number | null): RunSummary['test'] {
  const at = (r: ClassificationReport) => (pos === null ? null : classMetrics(r, pos));
  return {
    loss: ev.loss ?? Number.NaN,
    accuracy: ev.atDefault.accuracy,
    auc: ev.auc,
    samples: ev.samples,
    positive: at(ev.atDefault),
    atThreshold: ev.operating ? { threshold: ev.operating.threshold, accuracy: ev.operating.report.accuracy, positive: at(ev.operating.report) } : null,
  };
}

/** The test evaluation's lines of a run's output: accuracy, at 0.5 and at the stored threshold, per patient. */
export function testLines(out: Output, test: Evaluation, pos: number | null, patients: GroupEvaluation | null): void {
  out.line(`test accuracy        ${percent(test.atDefault.accuracy)}   (loss ${fixed(test.loss ?? undefined)}, ${count(test.samples)} images${test.auc !== null ? `, AUC ${fixed(test.auc)}` : ''})`);
  if (pos !== null) {
    out.line(`test at 0.5          ${binaryLine(test.atDefault, pos)}`);
    // A stored threshold of 0.5 (the floor rule's usual choice) is the line above.
    if (test.operating && test.operating.threshold !== 0.5) out.line(`test at ${String(Number(test.operating.threshold.toPrecision(4))).padEnd(12)} ${binaryLine(test.operating.report, pos)}`);
  }
  if (patients) out.line(`test per patient     accuracy ${percent(patients.evaluation.accuracy)} of ${patients.groups} patients (mean probability of their images${test.operating ? ', at the stored threshold' : ''})`);
}

/** summary.json's test numbers, with the patient level and per-subtype recall when the data knows them. */
export function testSummary(test: Evaluation, testData: Dataset, model: Model, classNames: string[], pos: number | null): { metrics: NonNullable<RunSummary['test']>; byPatient: ReturnType<typeof patientSummary> } {
  const metrics = testMetrics(test, pos)!;
  const decision = { outputs: model.outputShape[2], classes: model.classes, classNames, positiveClass: pos ?? 1 };
  const byPatient = patientSummary(test, testData, decision);
  const g = byPatient.patients;
  metrics.patients = g ? { groups: g.groups, accuracy: g.evaluation.accuracy, auc: g.evaluation.auc, positiveRecall: pos === null ? null : classMetrics(g.evaluation.report, pos).recall } : null;
  metrics.subtypes = byPatient.subtypes;
  return { metrics, byPatient };
}

export async function finishRun(ctx: Pick<TrainContext, 'runDir' | 'out' | 'startedAt'>, f: FinishArgs): Promise<number> {
  const { runDir, out } = ctx;
  const { o, data, model, summary, files } = f;
  const file = (k: keyof typeof RUN_FILES) => runDir.file(RUN_FILES[k]);
  const pos = positiveIndex(o, model, data.classNames);
  const val = data.val ? metrics(await model.evaluate(data.val, { batchSize: o.batchSize })) : null;
  let chosen: ChosenThreshold | null = null;
  const calibrated = o.calibration && data.val ? await calibrateOnValidation(model, data.val, o.calibration, o.batchSize) : null;
  if (calibrated) summary.calibration = calibrationSummary(calibrated);
  if (o.operatingPoint && data.val && pos !== null) {
    chosen = await chooseThreshold(model, data.val, { positiveClass: pos, targetRecall: o.operatingPoint.targetRecall, rule: o.operatingPoint.rule, batchSize: o.batchSize });
    summary.operatingPoint = {
      positiveClass: pos,
      className: data.classNames[pos]!,
      targetRecall: chosen.targetRecall,
      threshold: chosen.threshold,
      validation: { samples: chosen.samples, recall: chosen.recall, precision: chosen.precision },
    };
  }
  if (f.saveModel || calibrated || chosen) {
    await model.save(file('best'));
    files[RUN_FILES.best] = file('best');
  }
  let test: Evaluation | null = null;
  if (data.test) test = await evaluateModel(model, data.test, { batchSize: o.batchSize, classNames: data.classNames });
  summary.validation = val;
  const tested = test && data.test ? testSummary(test, data.test, model, data.classNames, pos) : null;
  summary.test = tested?.metrics ?? null;
  const byPatient = tested?.byPatient ?? null;
  summary.seconds.total = (performance.now() - ctx.startedAt) / 1000;
  f.interrupt.dispose();

  out.line();
  if (f.bestLine !== null) out.line(`best model           ${f.bestLine}`);
  if (val) out.line(`validation accuracy  ${percent(val.accuracy)}   (loss ${fixed(val.loss)})`);
  if (calibrated) out.line(calibrationLine(calibrated, 'validation'));
  if (chosen) {
    out.line(
      `decision threshold   ${chosen.threshold} on '${data.classNames[pos!]}' (stored in model.safetensors): ` +
        `validation recall ${percent(chosen.recall)} >= ${percent(chosen.targetRecall)}, precision ${percent(chosen.precision)} (${count(chosen.samples)} images)`,
    );
  }
  if (test) testLines(out, test, pos, byPatient?.patients ?? null);
  const { trainSeconds } = f;
  out.line(`time                 ${seconds(trainSeconds)} training${trainSeconds > 0 ? ` (${rate(f.imagesTrained / trainSeconds)} images/s)` : ''}, ${seconds(summary.seconds.total)} in all`);

  if (test) {
    const written = await writeTrainingReport(runDir.path, {
      o,
      description: data.description,
      epochs: f.epochsText,
      trainingSeconds: trainSeconds,
      calibration: model.metadata.calibration ?? null,
      threshold: chosen ? `${chosen.threshold} on '${data.classNames[pos!]}' (validation recall ${percent(chosen.recall)} >= target ${percent(chosen.targetRecall)})` : null,
      rows: f.historyRows,
      trainImages: data.train.size,
      classNames: data.classNames,
      test,
      byPatient,
    });
    for (const w of written) files[basename(w)] = w;
  }
  files[RUN_FILES.summary] = file('summary');
  await writeRunSummary(file('summary'), summary);
  out.line(`saved to             ${runDir.path}: ${Object.keys(files).sort().join(', ')}`);
  out.result(summary);
  return EXIT.ok;
}
