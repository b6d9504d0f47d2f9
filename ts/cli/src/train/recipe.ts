/** The training recipe as SDK objects: optimizer, loss, learning-rate schedule. */
import { Adam, AdamW, cosineDecay, exponentialDecay, LearningRateScheduler, SGD, stepDecay, type Dataset, type FitArgs, type Optimizer, type Model } from '@lite-cnn/sdk';
import type { TrainOptions } from './options.js';

export function makeOptimizer(o: TrainOptions): Optimizer {
  switch (o.optimizer) {
    case 'adam':
      return new Adam({ learningRate: o.learningRate });
    case 'adamw':
      return new AdamW({ learningRate: o.learningRate, ...(o.weightDecay === null ? {} : { weightDecay: o.weightDecay }) });
    case 'sgd':
      return new SGD({ learningRate: o.learningRate });
  }
}

/** One sigmoid unit trains with binary cross-entropy, a softmax layer with sparse categorical cross-entropy. */
export function lossFor(model: Model): 'binaryCrossentropy' | 'sparseCategoricalCrossentropy' {
  return model.outputShape[2] === 1 ? 'binaryCrossentropy' : 'sparseCategoricalCrossentropy';
}

export function compileModel(model: Model, o: TrainOptions): void {
  model.compile({ optimizer: makeOptimizer(o), loss: { name: lossFor(model), labelSmoothing: o.labelSmoothing ?? 0 }, metrics: ['accuracy'] });
}

export function lrScheduler(o: TrainOptions): LearningRateScheduler | null {
  const s = o.lrSchedule;
  if (s === null) return null;
  const initial = o.learningRate;
  switch (s.kind) {
    case 'step':
      return new LearningRateScheduler(stepDecay({ initial, dropEvery: s.dropEvery, factor: s.factor }));
    case 'exponential':
      return new LearningRateScheduler(exponentialDecay({ initial, decayRate: s.decayRate }));
    case 'cosine':
      return new LearningRateScheduler(cosineDecay({ initial, epochs: o.epochs, warmupEpochs: s.warmupEpochs }));
  }
}

/**
 * The epoch loop's settings that a training run and every cross-validation
 * fold share; `prefetch` (--no-prefetch: false; undefined: the SDK's default) changes speed, never results.
 */
export function fitSettings(o: TrainOptions, val: Dataset | null, prefetch: boolean | undefined): FitArgs {
  return {
    ...(prefetch === undefined ? {} : { prefetch }),
    epochs: o.epochs,
    batchSize: o.batchSize,
    ...(val ? { validationData: val } : {}),
    ...(o.classWeight ? { classWeight: o.classWeight } : {}),
    ...(o.evalEvery !== null && val ? { evaluateEvery: o.evalEvery } : {}),
    ...(o.mix ? { mix: o.mix } : {}),
  };
}

/** The loss that picks the best epoch, and the first (0-based) epoch it may pick (--min-epochs, with validation only). */
export function bestEpochRule(o: TrainOptions, hasVal: boolean): { monitor: 'val_loss' | 'loss'; startFrom: number } {
  return { monitor: hasVal ? 'val_loss' : 'loss', startFrom: hasVal && o.minEpochs ? o.minEpochs - 1 : 0 };
}
