/** The training recipe as SDK objects: optimizer, loss, learning-rate schedule. */
import { Adam, AdamW, cosineDecay, exponentialDecay, LearningRateScheduler, SGD, stepDecay, type Optimizer, type Sequential } from '@lite-cnn/sdk';
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
export function lossFor(model: Sequential): 'binaryCrossentropy' | 'sparseCategoricalCrossentropy' {
  return model.outputShape[2] === 1 ? 'binaryCrossentropy' : 'sparseCategoricalCrossentropy';
}

export function compileModel(model: Sequential, o: TrainOptions): void {
  model.compile({ optimizer: makeOptimizer(o), loss: lossFor(model), metrics: ['accuracy'] });
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
