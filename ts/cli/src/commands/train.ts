/** `lite-cnn train`: options -> TrainOptions -> run directory -> training. No numerics here. */
import path from 'node:path';
import { Command, Option } from 'commander';
import { CALIBRATION_KINDS, MAX_BATCH_SIZE } from '@lite-cnn/sdk';
import * as parse from '../args.js';
import { UsageError } from '../errors.js';
import { startEngine } from '../engine.js';
import { PRESET_NAMES } from '../model/presets.js';
import { GROUP_PATTERN_HELP, PREPROCESS_NAMES } from '../data/options.js';
import { resolveTrainOptions, type RawTrainOptions } from '../train/options.js';
import { createRunDir, defaultRunDir, openRunDir } from '../train/run-dir.js';
import { prepareNewRun, prepareResume, runTraining, type TrainContext } from '../train/run-training.js';
import { readResumableConfig } from '../train/run-config.js';
import { flag } from '../ui/format.js';
import { makeOutput } from '../ui/output.js';
import { runCrossValidation } from '../train/cross-validation.js';
import { THRESHOLD_RULES } from '../train/threshold-rule.js';
import { runThresholdCvTraining } from '../train/threshold-cv-run.js';
import { runEnsembleTraining } from '../train/ensemble-run.js';

/** What may accompany --resume: everything else comes from the run's config.json. */
const RESUME_COMPATIBLE = new Set(['resume', 'threads', 'prefetch', 'json']);

export function registerTrain(program: Command, setExitCode: (code: number) => void): void {
  program
    .command('train')
    .description("train a model; with no options, the study's MNIST net for one epoch on the bundled MNIST")
    .addOption(new Option('--preset <name>', "network and recipe: mnist (default), breakhis (the study's recipe), histology (the recommended H&E recipe for new patients: 30 epochs, best epoch from 10 on, --threshold-rule floor: docs/results.md), resnet18 or mobilenetv2 (torchvision's, from scratch, with a head for the data's classes); all but mnist need --data").choices(PRESET_NAMES))
    .option('--model <arch.json>', "train the network of an architecture file (a list of layer configs, or { inputShape, layers }); with --preset, that preset's recipe (optimizer, epochs, L2, class weights, augmentation, threshold rule) instead of the mnist defaults")
    .option('--from <model>', 'fine-tune a pretrained model (.onnx, imported; or .safetensors) on --data: a new classifier head for its classes, the last --trainable-last layers trainable, the fine-tuning recipe (Adam 1e-4, 2 epochs; preprocessing: torchvision\'s for ONNX, the file\'s own for .safetensors)')
    .option('--trainable-last <n>', 'freeze all but the last N layers (Keras sense: every layer counts, ReLU and Add included); default with --from: 20, as the study', parse.positiveInt)
    .option('--data <dir>', 'image folder: <dir>/<class>/*.{png,jpg,...} with optional manifest.csv (default: bundled MNIST)')
    .option('--epochs <n>', 'epochs (preset default: mnist 1, breakhis 2)', parse.positiveInt)
    .option('--batch-size <n>', `samples per step (default 32, at most ${MAX_BATCH_SIZE})`, parse.batchSize)
    .option('--lr <rate>', 'learning rate, > 0 (preset default: mnist 0.01, breakhis 0.001)', parse.learningRate)
    .addOption(new Option('--optimizer <name>', 'optimizer (default adam)').choices(['adam', 'sgd', 'adamw']))
    .option('--l2 <lambda>', 'L2 penalty on Conv2D/Dense kernels (breakhis default 0.1; 0 turns it off)', parse.nonNegativeNumber)
    .addOption(new Option('--l2-form <form>', "which L2: keras = lambda·ΣW² (default), study = lambda/(2·batch)·ΣW² as the study's NumPy code").choices(['keras', 'study']))
    .option('--label-smoothing <s>', "label smoothing of the cross-entropy, as Keras' label_smoothing: targets become y·(1 - s) + s/classes (default 0: off)", parse.ratio)
    .option('--mixup <alpha>', "MixUp every training batch: each image blended with the one before it in the shuffled batch, labels alike, by a weight drawn from Beta(alpha, alpha) per image (torchvision's and Keras' MixUp; 0.2-0.4 is common; default off)", parse.positiveNumber)
    .option('--cutmix <alpha>', "CutMix every training batch: a box of the image before it pasted in, labels weighted by area, box share drawn from Beta(alpha, alpha) per image (torchvision's and Keras' CutMix; 1 is usual; default off)", parse.positiveNumber)
    .option('--weight-decay <wd>', 'AdamW decoupled weight decay (default 0.004; needs --optimizer adamw)', parse.nonNegativeNumber)
    .addOption(new Option('--class-weight <mode>', 'weight the loss by class (breakhis default: balanced)').choices(['balanced', 'none']))
    .option('--patience <epochs>', 'stop after this many epochs without a lower val_loss, keeping the best weights', parse.nonNegativeInt)
    .addOption(new Option('--lr-schedule <kind>', 'learning-rate schedule per epoch').choices(['step', 'exponential', 'cosine', 'none']))
    .option('--lr-decay <factor>', 'step: multiplier per drop (0.5); exponential: per epoch (0.9)', parse.factor)
    .option('--lr-step <epochs>', 'step: epochs between drops (1)', parse.positiveInt)
    .option('--lr-warmup <epochs>', 'cosine: epochs of linear warm-up (0)', parse.nonNegativeInt)
    .option('--min-epochs <n>', 'choose the best model (and let --patience stop) only from this epoch on: a few validation patients are noisy early', parse.positiveInt)
    .option('--target-recall <r>', 'choose the decision threshold on the validation split (with --threshold-cv: on pooled out-of-fold predictions) so that the --positive class reaches this recall there; stored in the model file', parse.factor)
    .option('--positive <class>', "the positive class of a binary model (a class folder name, e.g. malignant): for --target-recall and the reported recall/precision")
    .addOption(new Option('--threshold-rule <rule>', "how --target-recall reads the threshold off the held-out scores: recall (the largest threshold reaching R: the breakhis default) or floor (0.5 unless the recall there is below R, then that rule's threshold: the histology default)").choices(THRESHOLD_RULES))
    .addOption(new Option('--calibrate <method>', "calibrate the probabilities on the held-out predictions (the validation split; with --threshold-cv, the pooled out-of-fold ones) and store the map in the model file: temperature (any classes) or platt (binary); a --target-recall threshold is then chosen on the calibrated probabilities").choices(CALIBRATION_KINDS))
    .option('--threshold-cv <k>', 'choose the --target-recall threshold and the epoch count on pooled out-of-fold predictions of a k-fold patient-level CV of the training patients, then train the stored model on all of them (0: off, the default)', parse.nonNegativeInt)
    .option('--ensemble <n>', 'train N models alike on the same split (seeds --seed, --seed + 1, ...: their initialization, shuffling, dropout and augmentation) and store one model averaging their softmax probabilities (a deep ensemble); the threshold and calibration are chosen on its validation predictions (default 1: one model)', parse.positiveInt)
    .option('--cv <k>', 'k-fold cross-validation by patient (when known) instead of one split: a fresh model per fold; writes cv.csv, cv.json and the fold table', parse.positiveInt)
    .option('--eval-every <steps>', 'also evaluate on the validation split every this many steps', parse.positiveInt)
    .option('--threads <n>', 'compute threads (default: all cores; results are identical for any count)', parse.positiveInt)
    .option('--no-prefetch', 'augment each batch before its step instead of during the previous step (slower on 2+ threads; results are identical)')
    .option('--seed <n>', 'seed of initialization, shuffling, dropout, augmentation and splits (default 0)', parse.seed)
    .option('--split-seed <n>', "seed of the split, --cv's folds and --threshold-cv's inner folds (default: --seed): runs with other --seed values then test on the same patients", parse.seed)
    .option('--out <run_dir>', 'run directory (default runs/<timestamp>)')
    .option('--resume <run_dir>', 'continue an interrupted run from its last epoch boundary (options come from its config.json)')
    .option('--limit <n>', 'use only the first N training samples (and at most N validation/test samples): quick smoke runs', parse.positiveInt)
    .option('--json', 'print a JSON summary on stdout (progress goes to stderr)')
    // Image folders (--data).
    .option('--image-size <size>', 'resize images to N or HxW (default: the network input, 224 for breakhis)', parse.imageSize)
    .addOption(new Option('--aspect <policy>', 'squash (default, as the study) or center-crop').choices(['squash', 'center-crop']))
    .addOption(new Option('--preprocess <kind>', 'pixel preprocessing, stored in the model file (default minmax: [0, 1]; with --from, see there)').choices(PREPROCESS_NAMES))
    .option('--split-by <column>', "keep each value of this manifest column in one split (default: patient when known; 'none' splits by image)")
    .option('--group-pattern <regex>', GROUP_PATTERN_HELP)
    .option('--val-ratio <r>', 'validation fraction (default 0.1)', parse.ratio)
    .option('--test-ratio <r>', 'test fraction (default 0.1)', parse.ratio)
    .option('--augment', "augment training images (breakhis default: the study's augmentation)")
    .option('--no-augment', 'no augmentation')
    .option('--rotation-range <deg>', 'random rotation, degrees (Keras rotation_range)', parse.nonNegativeNumber)
    .option('--width-shift-range <f>', 'random horizontal shift, fraction of the width', parse.nonNegativeNumber)
    .option('--height-shift-range <f>', 'random vertical shift, fraction of the height', parse.nonNegativeNumber)
    .option('--shear-range <deg>', 'random shear, DEGREES as Keras (0.2 means 0.2 degrees)', parse.nonNegativeNumber)
    .option('--zoom-range <f>', 'random zoom in [1 - f, 1 + f]', parse.nonNegativeNumber)
    .option('--horizontal-flip', 'random horizontal flips')
    .option('--vertical-flip', 'random vertical flips')
    .addOption(new Option('--fill-mode <mode>', 'pixels outside the image after a warp').choices(['nearest', 'reflect', 'constant']))
    .option('--brightness <f>', 'colour jitter: brightness', parse.nonNegativeNumber)
    .option('--contrast <f>', 'colour jitter: contrast', parse.nonNegativeNumber)
    .option('--saturation <f>', 'colour jitter: saturation', parse.nonNegativeNumber)
    .option('--hue <f>', 'colour jitter: hue', parse.nonNegativeNumber)
    .option('--stain-scale <f>', 'HED stain jitter (H&E): each stain concentration scaled by a factor in [1 - f, 1 + f], f <= 1 (default 0: off)', parse.nonNegativeNumber)
    .option('--stain-shift <f>', 'HED stain jitter (H&E): each stain concentration shifted by up to ±f (optical density), f <= 1 (default 0: off)', parse.nonNegativeNumber)
    .option('--stain-randomize <spread>', 'stain randomization (H&E, RandStainNA): each training image recoloured to L*a*b* statistics drawn from those of the training split, their spread times this factor (1: as fitted; default 0: off)', parse.nonNegativeNumber)
    .option('--stain-randomize-probability <p>', 'stain randomization: the chance per image and epoch (default 1)', parse.factor)
    .addOption(new Option('--stain-normalize <method>', 'normalize H&E stains to a target fitted on the training split, stored in the model file and applied by evaluate/predict/explain').choices(['reinhard', 'macenko', 'none']))
    .option('--oversample', 'oversample minority classes in each training epoch')
    .addOption(new Option('--on-bad-image <policy>', 'unreadable image: fail (default) or skip (the count is printed)').choices(['skip', 'fail']))
    .option('--follow-symlinks', 'read symbolic links that point outside the image folder (default: refused; loops are always refused)')
    .addHelpText(
      'after',
      `
Outputs in the run directory:
  model.safetensors  best model by val_loss (class names and preprocessing included)
  last.safetensors   state at the last epoch boundary with optimizer state (for --resume)
  history.csv        step, epoch, loss, accuracy, lr, val_loss, val_accuracy (per epoch and evaluation point)
  config.json        resolved options, versions, seed, data source, model topology
  summary.json       final metrics; report.html and PNG charts
  with --cv K:       fold-k/ (model.safetensors, history.csv, split.csv), cv.csv, cv.json, report.html
  with --ensemble N: member-k/ (model.safetensors, history.csv); with --threshold-cv K: threshold-cv.json, inner-fold-j/
  done.json          in each fold-k/, member-k/ and inner-fold-j/ once it is complete: what --resume reads back

--target-recall R --positive CLASS chooses the threshold on the validation split (of the best model) so that
CLASS's recall there is >= R, stores it in model.safetensors (predict and evaluate use it; --threshold
overrides) and reports test metrics at 0.5 and at that threshold. --threshold-rule recall (default) stores
the largest threshold reaching R; floor (the histology preset's) stores 0.5 unless the recall there is
below R, and then that threshold: never above 0.5.

--threshold-cv K: the training and validation patients are split into K folds by patient; a model per fold trains on the others, its predictions on
its fold are recorded after every epoch, the epoch count with the lowest pooled out-of-fold loss (from
--min-epochs on) and the threshold reaching R on the pooled predictions at that epoch are chosen, and
the stored model trains on all those patients for that many epochs. Costs K + 1 trainings.

--ensemble N: N models trained alike on the same split (seeds --seed .. --seed + N - 1) into member-k/, and
model.safetensors averaging their softmax probabilities (a deep ensemble), its threshold and calibration chosen
on the ensemble's validation predictions; with --cv, each fold trains its N members.

--cv K: fold k is the test split; the other folds are split again by patient into train and validation
(--val-ratio of their images, default 0.2), which picks each fold's best epoch and threshold.

Ctrl-C stops after the current step (exit 130; SIGTERM: 143; SIGHUP, a closed terminal: 129). --resume RUN_DIR continues from the
last completed epoch (a cut-short epoch is redone from its start) and ends bit-identical to an
uninterrupted run. A --cv, --ensemble or --threshold-cv run resumes after its completed folds, members or
inner folds (done.json in their folders); a cut-short one, and --threshold-cv's final model, are trained
again from their start.

Examples:
  lite-cnn train
  lite-cnn train --epochs 3 --eval-every 500 --out runs/mnist3
  lite-cnn train --preset breakhis --data ../shared/data/breakhis-200x-tiles --epochs 10 --patience 3
  lite-cnn train --preset breakhis --data ../shared/data/breakhis-200x-tiles --target-recall 0.9 --positive malignant
  lite-cnn train --preset breakhis --data ../shared/data/breakhis-200x-tiles --cv 5 --epochs 30 --min-epochs 10
  lite-cnn train --from resnet50.onnx --trainable-last 20 --data ../shared/data/breakhis-200x-tiles`,
    )
    .action(async (raw: RawTrainOptions, command: Command) => {
      const startedAt = performance.now();
      const out = makeOutput({ json: raw.json });
      const argv = process.argv.slice(2);
      const engineThreads = raw.threads ?? null;
      if (raw.resume !== undefined) {
        const extra = Object.keys(raw).filter((k) => !RESUME_COMPATIBLE.has(k) && command.getOptionValueSource(k) === 'cli');
        if (extra.length) throw new UsageError(`--resume takes the run's options from its config.json; ${extra.map(flag).join(', ')} cannot be changed (only --threads, --no-prefetch and --json may be given)`);
        const runDir = await openRunDir(path.resolve(raw.resume));
        try {
          const config = await readResumableConfig(runDir.path);
          const engine = await startEngine(engineThreads);
          const ctx: TrainContext = { out, argv, startedAt, runDir, engine, prefetch: raw.prefetch === false ? false : undefined };
          const o = config.options;
          if (o.cv) setExitCode(await runCrossValidation(o, ctx, config));
          else if (o.thresholdCv) setExitCode(await runThresholdCvTraining(o, ctx, config));
          else if (o.ensemble) setExitCode(await runEnsembleTraining(o, ctx, config));
          else setExitCode(await runTraining(await prepareResume(config, ctx), ctx));
        } finally {
          runDir.release();
        }
        return;
      }
      const options = resolveTrainOptions(raw, (p) => path.resolve(p));
      const runDir = await createRunDir(raw.out !== undefined ? path.resolve(raw.out) : defaultRunDir(process.cwd()), { unique: raw.out === undefined });
      try {
        const engine = await startEngine(engineThreads);
        const ctx: TrainContext = { out, argv, startedAt, runDir, engine, prefetch: raw.prefetch === false ? false : undefined };
        if (options.cv) {
          setExitCode(await runCrossValidation(options, ctx, null));
          return;
        }
        if (options.thresholdCv) {
          setExitCode(await runThresholdCvTraining(options, ctx, null));
          return;
        }
        if (options.ensemble) {
          setExitCode(await runEnsembleTraining(options, ctx, null));
          return;
        }
        const prepared = await prepareNewRun(options, ctx);
        setExitCode(await runTraining(prepared, ctx));
      } catch (err) {
        await runDir.discardIfEmpty();
        throw err;
      } finally {
        runDir.release();
      }
    });
}
