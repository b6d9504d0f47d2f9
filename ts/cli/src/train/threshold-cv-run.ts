/**
 * `lite-cnn train --threshold-cv K` (one split, not --cv): the usual
 * patient-level train/val/test split; the train and val patients form the
 * pool of the inner cross-validation (./threshold-cv.ts), the stored model
 * trains on all of them, and the test split is evaluated once at the end.
 * Writes model.safetensors (with the threshold), threshold-cv.json,
 * history.csv (of the stored model), split.csv (the stored model's: pool
 * = train), config.json, report.html and summary.json. Each inner fold's
 * held-out predictions go to inner-fold-j/done.json, so --resume reads the
 * completed ones back; the final model is trained again from its start.
 */
import { basename } from 'node:path';
import { folderDatasets, split } from '../data/folder-source.js';
import { EXIT } from '../errors.js';
import { evaluateModel } from '../model/evaluation.js';
import { calibrationLine, calibrationSummary } from '../model/calibration.js';
import { count, fixed, percent } from '../ui/format.js';
import { HistoryCsv } from './history-csv.js';
import { describeSignal, Interrupt } from './interrupt.js';
import type { TrainOptions } from './options.js';
import { splitSeedOf } from '../data/options.js';
import { compileModel } from './recipe.js';
import { newRunConfig, recordResume, writeRunConfig, type RunConfig } from './run-config.js';
import { RUN_FILES } from './run-dir.js';
import { writeTrainingReport } from './run-report.js';
import { openFolderWithModel } from './run-model.js';
import { positiveIndex, testLines, testSummary } from './finish-run.js';
import type { TrainContext } from './run-training.js';
import { endInterrupted, writeRunSummary, type RunSummary } from './summary.js';
import { finalAssignment, innerFoldDir, THRESHOLD_CV_FILE, trainWithThresholdCv, writeInnerCvChoice } from './threshold-cv.js';
import { checkRecordedSplit, countDone } from './completed-unit.js';

/** `resumed`: the config.json of the interrupted run that --resume continues, else null (a new run). */
export async function runThresholdCvTraining(o: TrainOptions, ctx: TrainContext, resumed: RunConfig | null): Promise<number> {
  const { out, runDir, engine } = ctx;
  const file = (name: string) => runDir.file(name);
  const f = o.data.folder!;
  const { opened, classNames, template, dataOptions } = await openFolderWithModel(o, engine);
  // Binary and --positive checked (options require --target-recall) before anything is written.
  const pos = positiveIndex(o, template, classNames)!;
  const assignments = split(opened.listing.samples, f, splitSeedOf(f, o.seed));
  const data = await folderDatasets(opened, finalAssignment(assignments), dataOptions);
  compileModel(template, o);
  const K = o.thresholdCv!.folds;
  const innerDir = (j: number) => file(innerFoldDir(j));
  let completed = 0;
  if (resumed) {
    await checkRecordedSplit(file(RUN_FILES.split), finalAssignment(assignments), (o.data.source as { dir: string }).dir);
    completed = await countDone(Array.from({ length: K }, (_, j) => innerDir(j)));
    await recordResume(runDir.path, resumed, ctx, { completedInnerFolds: completed });
  } else {
    const config = newRunConfig({ argv: ctx.argv, engine, options: o, data: { description: data.description, source: data.source, classNames, preprocessing: data.preprocessing }, model: template });
    await writeRunConfig(file(RUN_FILES.config), config);
    await data.writeSplit!(file(RUN_FILES.split));
  }
  const parameters = template.countParams().total;
  template.dispose();
  out.line(`lite-cnn train --threshold-cv ${K}: ${o.preset ? `preset '${o.preset}'` : o.architecture} (${count(parameters)} parameters)${resumed ? `, resuming with ${completed} of ${K} inner folds completed` : ''}`);
  out.line(`data:   ${data.description}`);
  out.line(`scheme: the epoch count and the threshold (recall >= ${o.operatingPoint!.targetRecall} on '${classNames[pos]}') from a ${K}-fold CV of the ${data.train.size} training images${f.splitBy !== null ? ' by patient' : ''}; the stored model trains on all of them`);
  out.line(`run:    ${runDir.path}`);

  const interrupt = new Interrupt((sig) => out.line(`\n${describeSignal(sig)}: stopping after this step (press Ctrl-C again to quit at once)...`));
  const history = new HistoryCsv(file(RUN_FILES.history), interrupt);
  interrupt.listen();
  const t0 = performance.now();
  let trained;
  try {
    trained = await trainWithThresholdCv(assignments, data, { opened, options: o, engine, prefetch: ctx.prefetch, positiveClass: pos, classes: classNames.length, data: dataOptions, out, interrupt, innerDir, resuming: resumed !== null }, history);
  } finally {
    interrupt.dispose();
  }
  await history.flush();
  const files: Record<string, string> = { [RUN_FILES.config]: file(RUN_FILES.config), [RUN_FILES.split]: file(RUN_FILES.split), [RUN_FILES.history]: file(RUN_FILES.history) };
  const summary: RunSummary = {
    status: 'completed',
    runDir: runDir.path,
    epochs: { planned: o.epochs, completed: trained?.epochSeconds.length ?? 0, stoppedEarly: false },
    steps: trained?.model.step ?? 0,
    seconds: { training: (performance.now() - t0) / 1000, total: 0, decoding: opened.decodeSeconds, perEpoch: trained?.epochSeconds ?? [] },
    bestEpoch: trained?.choice.epochs ?? null,
    operatingPoint: null,
    validation: null,
    test: null,
    files,
  };
  if (!trained) {
    summary.seconds.total = (performance.now() - ctx.startedAt) / 1000;
    await endInterrupted(out, runDir, summary, interrupt.signal, [
      `Interrupted (${interrupt.signal}); the completed inner folds are kept (inner-fold-*/done.json), the rest will be trained again from their start.`,
    ]);
    return interrupt.exitCode;
  }
  const { model, choice } = trained;
  await model.save(file(RUN_FILES.best));
  await writeInnerCvChoice(file(THRESHOLD_CV_FILE), choice);
  files[RUN_FILES.best] = file(RUN_FILES.best);
  files[THRESHOLD_CV_FILE] = file(THRESHOLD_CV_FILE);
  if (choice.calibration) summary.calibration = calibrationSummary(choice.calibration);
  summary.operatingPoint = { positiveClass: pos, className: classNames[pos]!, targetRecall: choice.targetRecall, threshold: choice.threshold, validation: { samples: choice.images, recall: choice.recall, precision: choice.precision } };
  const test = data.test ? await evaluateModel(model, data.test, { batchSize: o.batchSize, classNames }) : null;
  const tested = test ? testSummary(test, data.test!, model, classNames, pos) : null;
  summary.test = tested?.metrics ?? null;

  out.line();
  out.line(`decision threshold   ${choice.threshold} on '${classNames[pos]}' (stored in model.safetensors): out-of-fold recall ${percent(choice.recall)} >= ${percent(choice.targetRecall)}, precision ${percent(choice.precision)} (${count(choice.images)} images)`);
  if (choice.calibration) out.line(calibrationLine(choice.calibration, 'pooled out-of-fold'));
  out.line(`epochs               ${choice.epochs} (lowest pooled out-of-fold loss, ${fixed(choice.losses[choice.epochs - 1]!, 4)})`);
  if (test) {
    testLines(out, test, pos, tested!.byPatient.patients);
    const written = await writeTrainingReport(runDir.path, {
      o,
      description: data.description,
      epochs: `${choice.epochs} (chosen by a ${K}-fold inner cross-validation)`,
      trainingSeconds: summary.seconds.training,
      calibration: model.metadata.calibration ?? null,
      threshold: `${choice.threshold} on '${classNames[pos]}' (pooled out-of-fold recall ${percent(choice.recall)} >= target ${percent(choice.targetRecall)})`,
      rows: history.rows,
      trainImages: data.train.size,
      classNames,
      test,
      byPatient: tested!.byPatient,
    });
    for (const w of written) files[basename(w)] = w;
  }
  model.dispose();
  summary.seconds.total = (performance.now() - ctx.startedAt) / 1000;
  files[RUN_FILES.summary] = file(RUN_FILES.summary);
  await writeRunSummary(file(RUN_FILES.summary), summary);
  out.line(`saved to             ${runDir.path}: ${Object.keys(files).sort().join(', ')}`);
  out.result(summary);
  return EXIT.ok;
}
