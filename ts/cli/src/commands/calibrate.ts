/**
 * `lite-cnn calibrate`: fits a probability calibration to a trained model
 * file on labelled images it did not train on (by default its run's
 * validation split) and writes a new model file that stores it: for models
 * trained without `train --calibrate`, or imported from ONNX (`lite-cnn
 * import`; scikit-learn's calibration of a prefit classifier). A stored decision
 * threshold is carried to the calibrated scale, so every decision stays the
 * same and only the probabilities change.
 */
import path from 'node:path';
import { Command, Option } from 'commander';
import { CALIBRATION_KINDS, calibrateProbabilities, calibrationMetrics, carryThreshold, ConfigError, type CalibrationKind } from '@lite-cnn/sdk';
import * as parse from '../args.js';
import { UsageError } from '../errors.js';
import { startEngine } from '../engine.js';
import type { EvaluationSplitName } from '../data/folder-source.js';
import { loadModelData } from '../data/model-data.js';
import { calibrationFigures, calibrationSummary, checkCalibrationFits, describeCalibration, fitWhere } from '../model/calibration.js';
import { loadClassifier, maxMemoryOption } from '../model/load.js';
import { count, fixed } from '../ui/format.js';
import { makeOutput } from '../ui/output.js';

interface CalibrateOptions {
  model: string;
  method: CalibrationKind;
  out: string;
  data?: string;
  mnist?: boolean;
  split: EvaluationSplitName;
  splitCsv?: string;
  seed?: number;
  limit?: number;
  batchSize: number;
  onBadImage?: 'skip' | 'fail';
  followSymlinks?: boolean;
  threads?: number;
  maxMemory?: number;
  json?: boolean;
}

export function registerCalibrate(program: Command): void {
  program
    .command('calibrate')
    .description("fit a probability calibration to a model file on held-out labelled images (default: its run's validation split) and write a model file that stores it; a stored threshold is carried over, so decisions stay the same")
    .requiredOption('--model <file>', 'model file (.safetensors; an ONNX classifier: `lite-cnn import` it first)')
    .addOption(new Option('--method <method>', 'temperature (any classes: softmax(log p / T)) or platt (binary: sigmoid(a·logit + b))').choices(CALIBRATION_KINDS).makeOptionMandatory())
    .requiredOption('--out <file>', 'the calibrated model file to write (.safetensors; not --model itself: the original is kept)')
    .option('--data <dir>', 'image folder (its --split, as the run that trained the model made it)')
    .option('--mnist', 'the bundled MNIST data')
    .addOption(new Option('--split <which>', 'the images to fit on: the validation split (val, default), the test split, or all images (a folder held out from training)').choices(['val', 'test', 'all']).default('val'))
    .option('--split-csv <file>', 'the split to take the images from (default: split.csv beside --model)')
    .option('--seed <n>', "without a split.csv: the seed to re-make the split with (default: the run's split seed, else 0)", parse.seed)
    .option('--limit <n>', 'at most N images', parse.positiveInt)
    .option('--batch-size <n>', 'images per inference batch', parse.positiveInt, 64)
    .addOption(new Option('--on-bad-image <policy>', 'unreadable image: fail (default) or skip (the count is printed)').choices(['skip', 'fail']))
    .option('--follow-symlinks', 'read symbolic links that point outside the image folder (default: refused; loops are always refused)')
    .option('--threads <n>', 'compute threads (default: all cores)', parse.positiveInt)
    .addOption(maxMemoryOption())
    .option('--json', 'print JSON')
    .action(async (opts: CalibrateOptions) => {
      if (opts.data !== undefined && opts.mnist) throw new UsageError('give either --data DIR or --mnist, not both');
      if (opts.data === undefined && !opts.mnist) throw new UsageError('which data? give --data DIR (an image folder) or --mnist (the bundled MNIST data)');
      if (opts.splitCsv !== undefined && opts.data === undefined) throw new UsageError('--split-csv applies to image folders (--data DIR)');
      if (path.resolve(opts.out) === path.resolve(opts.model)) throw new UsageError('--out must differ from --model: the uncalibrated model file is kept');
      const out = makeOutput(opts);
      const engine = await startEngine(opts.threads);
      const model = await loadClassifier(opts.model, engine, { maxMemory: opts.maxMemory, command: 'calibrate' });
      checkCalibrationFits(opts.method, model, '--method');
      const { data, dataset } = await loadModelData(model, opts, (note) => process.stderr.write(`lite-cnn calibrate: ${note}\n`));
      const labels = dataset.labels();
      if (!labels) throw new ConfigError(`${data.description}: the images have no labels`);
      const outputs = await model.predict(dataset, { batchSize: opts.batchSize, calibrated: false });
      const k = model.outputShape[2];
      const fit = fitWhere(opts.method, outputs, labels, k, data.description, '--method');
      const previous = model.metadata.calibration ?? null;
      const stored = model.metadata.threshold;
      const threshold = stored ? { ...stored, value: carryThreshold(stored.value, stored.positiveClass, previous, fit.config) } : null;
      model.metadata = { ...model.metadata, calibration: fit.config, threshold };
      const before = calibrationMetrics(labels, previous ? calibrateProbabilities(outputs, k, previous) : outputs, { outputs: k });
      const after = calibrationMetrics(labels, calibrateProbabilities(outputs, k, fit.config), { outputs: k });
      await model.save(opts.out);
      await engine.shutdown();
      const result = {
        model: opts.model,
        out: opts.out,
        data: data.description,
        calibration: calibrationSummary(fit),
        replaced: previous,
        threshold: stored ? { positiveClass: stored.positiveClass, before: stored.value, after: threshold!.value } : null,
        metrics: { before, after },
      };
      if (opts.json) {
        out.result(result);
        return;
      }
      out.line(`data:        ${data.description}, ${count(fit.samples)} images`);
      out.line(`calibration: ${describeCalibration(fit.config)}${fit.atBound ? ' (at its bound)' : ''}${previous ? ` (replaces ${describeCalibration(previous)})` : ''}`);
      out.line(`on the images it was fitted on: ${calibrationFigures(before)} -> ${calibrationFigures(after)}`);
      if (stored) out.line(`threshold:   ${fixed(stored.value, 4)} -> ${fixed(threshold!.value, 4)} on class ${stored.positiveClass} (the same decisions on the calibrated probabilities)`);
      out.line(`saved to     ${opts.out}`);
    });
}
