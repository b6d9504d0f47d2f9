/**
 * The run's report.html and PNG charts (ts/cli/src/report), from the history
 * and the final test evaluation of the best model.
 */
import { writeReport, type ReportTable } from '../report/index.js';
import type { CalibrationConfig } from '@lite-cnn/sdk';
import { reportEvaluation, type Evaluation } from '../model/evaluation.js';
import { describeCalibration } from '../model/calibration.js';
import { patientTable, type patientSummary } from '../model/group-evaluation.js';
import { count, percent, seconds } from '../ui/format.js';
import type { HistoryRow } from './history-csv.js';
import { seedText, type TrainOptions } from './options.js';

/**
 * history.csv rows as fit's History: in each epoch the last row is the
 * end-of-epoch row, the rows before it are evaluation points (`--eval-every`).
 */
export function historyFromRows(rows: readonly HistoryRow[]) {
  const epoch: number[] = [];
  const history: Record<string, number[]> = {};
  const steps: { step: number; epoch: number; logs: Record<string, number> }[] = [];
  const logsOf = (r: HistoryRow) => Object.fromEntries(Object.entries(r).filter(([k, v]) => k !== 'step' && k !== 'epoch' && v !== undefined)) as Record<string, number>;
  rows.forEach((r, i) => {
    const e = (r.epoch ?? 1) - 1;
    const endOfEpoch = rows[i + 1]?.epoch !== r.epoch;
    if (endOfEpoch) {
      epoch.push(e);
      for (const [k, v] of Object.entries(logsOf(r))) (history[k] ??= []).push(v);
    } else steps.push({ step: r.step ?? 0, epoch: e, logs: logsOf(r) });
  });
  return { epoch, history, steps };
}

export async function writeRunReport(dir: string, opts: { title: string; runInfo: Record<string, string>; rows: readonly HistoryRow[]; stepsPerEpoch: number; test: Evaluation; testDescription: string; calibration?: CalibrationConfig | null; tables?: ReportTable[] }): Promise<string[]> {
  return writeReport(dir, {
    title: opts.title,
    runInfo: opts.runInfo,
    history: historyFromRows(opts.rows),
    stepsPerEpoch: opts.stepsPerEpoch,
    evaluation: reportEvaluation(opts.test, opts.testDescription, opts.calibration ?? null),
    ...(opts.tables?.length ? { tables: opts.tables } : {}),
  });
}

/** A training run's report.html: the run's facts, its history, the test evaluation and the patient table. */
export async function writeTrainingReport(dir: string, r: {
  o: TrainOptions;
  description: string;
  epochs: string;
  trainingSeconds: number;
  /** The stored threshold and how it was chosen, or null. */
  threshold: string | null;
  /** The stored probability calibration, or null. */
  calibration: CalibrationConfig | null;
  rows: readonly HistoryRow[];
  trainImages: number;
  classNames: readonly string[];
  test: Evaluation;
  byPatient: ReturnType<typeof patientSummary> | null;
}): Promise<string[]> {
  const { o } = r;
  return writeRunReport(dir, {
    title: `lite-cnn run ${dir}`,
    runInfo: {
      model: o.preset ? `preset ${o.preset}` : String(o.architecture),
      data: r.description,
      recipe: `${o.optimizer}, lr ${o.learningRate}, batch ${o.batchSize}, ${seedText(o)}`,
      epochs: r.epochs,
      'training time': seconds(r.trainingSeconds),
      ...(r.calibration ? { 'probability calibration': describeCalibration(r.calibration) } : {}),
      ...(r.threshold ? { 'decision threshold': r.threshold } : {}),
    },
    rows: r.rows,
    stepsPerEpoch: Math.ceil(r.trainImages / o.batchSize),
    test: r.test,
    testDescription: `test split, ${count(r.test.samples)} images`,
    calibration: r.calibration,
    ...(r.byPatient ? { tables: [patientTable(r.byPatient, r.classNames, (v) => percent(v, 1))].filter((t) => t !== null) } : {}),
  });
}
