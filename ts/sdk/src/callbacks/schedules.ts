/**
 * Ready-made schedules for LearningRateScheduler, counted in epochs (the
 * scheduler runs once per epoch). Each returns `(epoch) => lr`, epoch 0-based.
 */
import { positive, positiveInt } from '../checks.js';
import { ConfigError } from '../errors.js';

export interface StepDecayArgs {
  initial: number;
  /** Epochs between drops. */
  dropEvery: number;
  /** Multiplier at each drop, in (0, 1]. */
  factor: number;
}

/** `initial · factor^floor(epoch / dropEvery)`. */
export function stepDecay(args: StepDecayArgs): (epoch: number) => number {
  const where = 'stepDecay';
  const initial = positive(args.initial, 'initial', where, true);
  const dropEvery = positiveInt(args.dropEvery, 'dropEvery', where);
  const factor = args.factor;
  if (!(factor > 0 && factor <= 1)) throw new ConfigError(`${where}: factor must be in (0, 1], got ${factor}`);
  return (epoch) => initial * factor ** Math.floor(epoch / dropEvery);
}

export interface ExponentialDecayArgs {
  initial: number;
  /** Multiplier per `decaySteps` epochs, > 0. */
  decayRate: number;
  /** Epochs per factor of `decayRate`. Default 1. */
  decaySteps?: number;
  /** Decay in whole steps (`floor(epoch / decaySteps)`), as Keras' staircase. Default false. */
  staircase?: boolean;
}

/** Keras' ExponentialDecay in epochs: `initial · decayRate^(epoch / decaySteps)`. */
export function exponentialDecay(args: ExponentialDecayArgs): (epoch: number) => number {
  const where = 'exponentialDecay';
  const initial = positive(args.initial, 'initial', where, true);
  const rate = positive(args.decayRate, 'decayRate', where);
  const steps = positive(args.decaySteps ?? 1, 'decaySteps', where);
  const stair = args.staircase ?? false;
  return (epoch) => initial * rate ** (stair ? Math.floor(epoch / steps) : epoch / steps);
}

export interface CosineDecayArgs {
  /** The peak learning rate: reached after warm-up, then decayed. */
  initial: number;
  /** Total epochs of the run, warm-up included. */
  epochs: number;
  /** The floor the cosine decays to. Default 0. */
  minLr?: number;
  /** Epochs of linear warm-up before the decay. Default 0. */
  warmupEpochs?: number;
}

/**
 * Linear warm-up then half a cosine, per epoch:
 * - warm-up epoch `e < W`: `initial · (e + 1) / (W + 1)` — it starts above 0
 *   (a whole epoch at lr 0 would be wasted) and climbs towards `initial`;
 * - then, with `t = e − W` and `T = epochs − W`:
 *   `minLr + (initial − minLr) · (1 + cos(π·t/T)) / 2`, so epoch `W` runs at
 *   `initial` and the curve would reach `minLr` at `epoch = epochs` (one past the
 *   last epoch, as Keras' CosineDecay reaches alpha at decay_steps); later
 *   epochs stay at `minLr`.
 */
export function cosineDecay(args: CosineDecayArgs): (epoch: number) => number {
  const where = 'cosineDecay';
  const initial = positive(args.initial, 'initial', where, true);
  const epochs = positiveInt(args.epochs, 'epochs', where);
  const minLr = positive(args.minLr ?? 0, 'minLr', where, true);
  if (minLr > initial) throw new ConfigError(`${where}: minLr must be <= initial (${initial}), got ${minLr}`);
  const warmup = args.warmupEpochs ?? 0;
  if (!Number.isInteger(warmup) || warmup < 0 || warmup >= epochs) throw new ConfigError(`${where}: warmupEpochs must be an integer in [0, epochs) = [0, ${epochs}), got ${warmup}`);
  const decayEpochs = epochs - warmup;
  return (epoch) => {
    if (epoch < warmup) return (initial * (epoch + 1)) / (warmup + 1);
    const t = Math.min(epoch - warmup, decayEpochs);
    return minLr + ((initial - minLr) * (1 + Math.cos((Math.PI * t) / decayEpochs))) / 2;
  };
}
