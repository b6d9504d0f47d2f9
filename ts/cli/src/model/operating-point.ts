/**
 * `--target-recall R --positive CLASS`: the decision threshold chosen on the
 * validation split (`recallThreshold` with --threshold-rule, on the best
 * model's positive-class probabilities) so that the positive class's recall
 * there reaches R. It is stored in the model file (`metadata.threshold`), which
 * `predict`, `evaluate` and the SDK's `predictClasses` then use.
 */
import { ConfigError, type Dataset, type RecallThreshold, type Model } from '@lite-cnn/sdk';
import { recallThreshold, type ThresholdRule } from '../train/threshold-rule.js';
import { positiveScores } from './evaluation.js';

export interface OperatingPointOptions {
  targetRecall: number;
  /** The positive class by name (a class folder). */
  positive: string;
}

/** The positive class's index; checks it exists and the model is binary. */
export function positiveClassIndex(model: Model, classNames: readonly string[], positive: string): number {
  if (model.classes !== 2) {
    throw new ConfigError(`--target-recall needs a binary model (2 classes), but this one has ${model.classes} classes (${classNames.join(', ')})`);
  }
  const index = classNames.indexOf(positive);
  if (index < 0) throw new ConfigError(`--positive '${positive}' is not one of the classes: ${classNames.join(', ')}`);
  if (model.outputShape[2] === 1 && index !== 1) {
    throw new ConfigError(`--positive '${positive}': a one-unit sigmoid model outputs the probability of class '${classNames[1]}' (class 1); choose it as the positive class`);
  }
  return index;
}

export interface ChosenThreshold extends RecallThreshold {
  positiveClass: number;
  targetRecall: number;
  /** Validation images it was chosen on. */
  samples: number;
}

/** Chooses the threshold on `val` and stores it in `model.metadata` (the caller saves the file). */
export async function chooseThreshold(model: Model, val: Dataset, opts: { positiveClass: number; targetRecall: number; rule: ThresholdRule; batchSize: number }): Promise<ChosenThreshold> {
  const labels = val.labels();
  if (!labels) throw new ConfigError('--target-recall: the validation data has no labels');
  const probs = await model.predict(val, { batchSize: opts.batchSize });
  const scores = positiveScores(probs, model.outputShape[2], opts.positiveClass);
  const binary = Uint32Array.from(labels, (l) => (l === opts.positiveClass ? 1 : 0));
  let chosen: RecallThreshold;
  try {
    chosen = recallThreshold(binary, scores, opts.targetRecall, opts.rule);
  } catch (cause) {
    throw new ConfigError(`--target-recall: cannot choose a threshold on the validation split (${val.size} images): ${(cause as Error).message}`, { cause });
  }
  model.metadata = { ...model.metadata, threshold: { positiveClass: opts.positiveClass, value: chosen.threshold } };
  return { ...chosen, positiveClass: opts.positiveClass, targetRecall: opts.targetRecall, samples: val.size };
}
