/** `lite-cnn evaluate`: a model file on labelled data — accuracy, per-class report, confusion matrix, AUC, speed. */
import { stat } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { GROUP_AGGREGATIONS, TTA_MODES, formatClassificationReport, type ClassificationReport, type GroupAggregation, type TtaMode } from '@lite-cnn/sdk';
import type { EvaluationSplitName } from '../data/folder-source.js';
import * as parse from '../args.js';
import { UsageError } from '../errors.js';
import { GROUP_BY_PATTERN_HELP, groupPatternRegExp } from '../data/options.js';
import { checkThresholdOption, loadClassifier, maxMemoryOption } from '../model/load.js';
import { startEngine } from '../engine.js';
import { evaluateModel, reportJson } from '../model/evaluation.js';
import { evaluateGroups, groupEvaluationJson, imageSubtypeRecall } from '../model/group-evaluation.js';
import { imageAnnotations } from '../data/groups.js';
import { formatSubtypes } from '../ui/subtypes.js';
import { bytes, count, fixed, percent } from '../ui/format.js';
import { makeOutput } from '../ui/output.js';
import { loadModelData } from '../data/model-data.js';
import { calibrationFigures, describeCalibration } from '../model/calibration.js';

interface EvaluateOptions {
  model: string;
  data?: string;
  mnist?: boolean;
  split: EvaluationSplitName;
  threshold?: number;
  batchSize: number;
  limit?: number;
  threads?: number;
  maxMemory?: number;
  seed?: number;
  splitCsv?: string;
  onBadImage?: 'skip' | 'fail';
  followSymlinks?: boolean;
  tta: TtaMode;
  groupBy?: string;
  groupPattern?: string;
  aggregate?: GroupAggregation;
  json?: boolean;
}

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate')
    .description('evaluate a model file on labelled data: accuracy, per-class precision/recall/F1, confusion matrix, ROC AUC, speed')
    .requiredOption('--model <file>', 'model file (.safetensors), e.g. RUN_DIR/model.safetensors')
    .option('--data <dir>', 'image folder (its test split, made as at training time)')
    .option('--mnist', 'the bundled MNIST test set')
    .addOption(new Option('--split <which>', 'the test split, the validation split (val), or all images').choices(['test', 'val', 'all']).default('test'))
    .option('--threshold <t>', 'binary models: decision threshold on the positive class (default: the stored one, else 0.5)', parse.ratio)
    .option('--batch-size <n>', 'images per inference batch', parse.positiveInt, 64)
    .option('--limit <n>', 'at most N images per split', parse.positiveInt)
    .option('--split-csv <file>', "the split to take the test images from (default: split.csv beside --model, as the training run wrote it)")
    .option('--seed <n>', 'without a split.csv: the seed to re-make the split with (default: the run\'s split seed, else 0)', parse.seed)
    .addOption(new Option('--on-bad-image <policy>', 'unreadable image: fail (default) or skip (the count is printed)').choices(['skip', 'fail']))
    .option('--follow-symlinks', 'read symbolic links that point outside the image folder (default: refused; loops are always refused)')
    .addOption(new Option('--tta <mode>', "test-time augmentation: average the probabilities over flips (4 views) or d4 (8: flips and quarter turns); the reported loss stays that of the plain images").choices(TTA_MODES).default('none'))
    .option('--group-by <column>', 'also decide per value of this manifest column (e.g. patient) by pooling its images, and report group-level metrics')
    .option('--group-pattern <regex>', GROUP_BY_PATTERN_HELP)
    .addOption(new Option('--aggregate <method>', 'how --group-by pools a group\'s images: mean or median probability, or vote (majority of image decisions); default mean').choices(GROUP_AGGREGATIONS))
    .option('--threads <n>', 'compute threads (default: all cores)', parse.positiveInt)
    .addOption(maxMemoryOption())
    .option('--json', 'print JSON')
    .action(async (opts: EvaluateOptions) => {
      if (opts.aggregate !== undefined && opts.groupBy === undefined) throw new UsageError('--aggregate needs --group-by COLUMN');
      if (opts.groupPattern !== undefined && opts.groupBy === undefined) throw new UsageError('--group-pattern cuts the --group-by column: it needs --group-by COLUMN');
      const groupPattern = opts.groupPattern === undefined ? null : groupPatternRegExp(opts.groupPattern);
      if (opts.groupBy !== undefined && opts.data === undefined) throw new UsageError('--group-by reads a manifest column: it needs --data DIR (an image folder with manifest.csv)');
      if (opts.data !== undefined && opts.mnist) throw new UsageError('give either --data DIR or --mnist, not both');
      if (opts.data === undefined && !opts.mnist) throw new UsageError('which data? give --data DIR (an image folder) or --mnist (the bundled MNIST test set)');
      if (opts.splitCsv !== undefined && opts.data === undefined) throw new UsageError('--split-csv applies to image folders (--data DIR)');
      const out = makeOutput(opts);
      const engine = await startEngine(opts.threads);
      const model = await loadClassifier(opts.model, engine, { maxMemory: opts.maxMemory, command: 'evaluate' });
      checkThresholdOption(model, opts.threshold, opts.model);
      const { data, dataset, classNames, source } = await loadModelData(model, opts, (note) => process.stderr.write(`lite-cnn evaluate: ${note}\n`));
      const ev = await evaluateModel(model, dataset, { batchSize: opts.batchSize, classNames, tta: opts.tta, ...(opts.threshold !== undefined ? { threshold: opts.threshold } : {}) });
      const annotations = await imageAnnotations(source.kind === 'folder' ? source.dir : null, data.sets, opts.groupBy ?? null, groupPattern);
      const ctx = { outputs: model.outputShape[2], classes: model.classes, classNames, positiveClass: model.metadata.threshold?.positiveClass ?? 1 };
      const subtypes = annotations.subtypes.some((s) => s !== undefined) ? imageSubtypeRecall(ev, ctx, annotations.subtypes) : [];
      const grouped = annotations.groups ? evaluateGroups(ev, ctx, { column: opts.groupBy!, method: opts.aggregate ?? 'mean', groups: annotations.groups, subtypes: annotations.subtypes }) : null;
      const size = (await stat(opts.model)).size;
      await engine.shutdown();
      if (opts.json) {
        out.result({
          model: opts.model,
          modelBytes: size,
          data: data.description,
          samples: ev.samples,
          loss: ev.loss,
          accuracy: ev.accuracy,
          auc: ev.auc,
          msPerImage: ev.msPerImage,
          // The applied decision: the stored (or --threshold) threshold when there is one, else 0.5 / argmax.
          decision: ev.report.decision,
          perClass: ev.report.perClass,
          macroAvg: ev.report.macroAvg,
          weightedAvg: ev.report.weightedAvg,
          confusionMatrix: ev.report.confusionMatrix,
          threshold: ev.operating ? { value: ev.operating.threshold, positiveClass: ev.operating.positiveClass, source: ev.operating.source } : null,
          atDefault: reportJson(ev.atDefault),
          atThreshold: ev.operating ? reportJson(ev.operating.report) : null,
          tta: opts.tta,
          // Of the probabilities reported (the stored calibration applied, if any); `uncalibrated`: the network's own.
          calibration: ev.calibration ? { stored: model.metadata.calibration ?? null, ...ev.calibration, uncalibrated: ev.uncalibrated } : null,
          subtypes,
          groups: grouped ? groupEvaluationJson(grouped) : null,
        });
        return;
      }
      out.line(`model:    ${opts.model} (${bytes(size)})`);
      out.line(`data:     ${data.description}, ${count(ev.samples)} images`);
      out.line(`accuracy: ${percent(ev.accuracy)}${ev.operating ? ` (at the ${ev.operating.source === 'stored' ? 'stored' : 'given'} threshold ${ev.operating.threshold}; ${percent(ev.atDefault.accuracy)} at 0.5)` : ''}${ev.loss !== null ? `   loss ${fixed(ev.loss)}${opts.tta !== 'none' ? ' (of the plain images)' : ''}` : ''}${ev.auc !== null ? `   ROC AUC ${fixed(ev.auc)}` : ''}`);
      out.line(`speed:    ${fixed(ev.msPerImage, 3)} ms per image${opts.tta !== 'none' ? ` (test-time augmentation: ${opts.tta})` : ''}`);
      if (ev.calibration) {
        const stored = model.metadata.calibration;
        out.line(`calibration: ${calibrationFigures(ev.calibration)}${stored && ev.uncalibrated ? ` (stored ${describeCalibration(stored)}; the network's own outputs: ${calibrationFigures(ev.uncalibrated)})` : ''}`);
      }
      const sections: [string, ClassificationReport][] = [[ev.atDefault.decision.rule === 'threshold' ? 'at threshold 0.5' : '', ev.atDefault]];
      if (ev.operating) {
        const name = ev.operating.report.perClass[ev.operating.positiveClass]?.name ?? String(ev.operating.positiveClass);
        sections.push([`at the ${ev.operating.source === 'stored' ? 'stored' : 'given'} threshold ${ev.operating.threshold} on '${name}'${ev.operating.source === 'stored' ? ' (chosen at training)' : ''}`, ev.operating.report]);
      }
      for (const [title, report] of sections) {
        out.line();
        if (title) out.line(`${title}: accuracy ${percent(report.accuracy)}`);
        out.line(formatClassificationReport(report, { digits: 4 }));
        out.line();
        out.line('confusion matrix (rows: true class, columns: predicted):');
        const names = report.perClass.map((c) => c.name);
        const w = Math.max(...names.map((n) => n.length), ...report.confusionMatrix.flat().map((v) => String(v).length)) + 1;
        out.line(`${''.padStart(w)} ${names.map((n) => n.padStart(w)).join('')}`);
        report.confusionMatrix.forEach((row, i) => out.line(`${names[i]!.padStart(w)} ${row.map((v) => String(v).padStart(w)).join('')}`));
      }
      if (subtypes.length) {
        out.line();
        out.line(`recall per subtype (images, at the applied decision):`);
        for (const line of formatSubtypes(subtypes, classNames)) out.line(line);
      }
      if (grouped) {
        const g = grouped.evaluation;
        out.line();
        out.line(`per ${grouped.column} (${grouped.groups} groups, ${grouped.method} of their images): accuracy ${percent(g.accuracy)}${g.auc !== null ? `   ROC AUC ${fixed(g.auc)}` : ''}${g.operating ? ` (at ${grouped.method === 'vote' ? 'a majority of image decisions' : `threshold ${g.operating.threshold}`})` : ''}`);
        out.line(formatClassificationReport(g.report, { digits: 4 }));
        if (grouped.subtypes.length) {
          out.line(`recall per subtype (${grouped.column}s):`);
          for (const line of formatSubtypes(grouped.subtypes, classNames)) out.line(line);
        }
      }
    });
}
