/**
 * Optimizers (Keras names, defaults and formulas). The update itself runs in
 * the executor as one pass over the flat parameter buffer; these classes hold
 * the hyperparameters, and the learning rate that callbacks may change.
 */
import type { OptimizerDescription } from '../exec/compiled-model.js';
import { positive } from '../checks.js';
import { ConfigError } from '../errors.js';

export interface OptimizerArgs {
  learningRate?: number;
  /** Clip gradients to this global norm before the update (Keras `global_clipnorm`). */
  globalClipnorm?: number;
}

export type OptimizerConfig =
  | { kind: 'SGD'; learningRate: number; globalClipnorm: number | null; momentum: number; nesterov: boolean }
  | { kind: 'Adam'; learningRate: number; globalClipnorm: number | null; beta1: number; beta2: number; epsilon: number }
  | { kind: 'AdamW'; learningRate: number; globalClipnorm: number | null; beta1: number; beta2: number; epsilon: number; weightDecay: number };

function inUnit(value: number, what: string, where: string): number {
  if (!(value >= 0 && value < 1)) throw new ConfigError(`${where}: ${what} must be in [0, 1), got ${value}`);
  return value;
}

export abstract class Optimizer {
  private lr: number;
  readonly globalClipnorm: number | null;

  protected constructor(args: OptimizerArgs, defaultLr: number, where: string) {
    this.lr = positive(args.learningRate ?? defaultLr, 'learningRate', where, true);
    this.globalClipnorm = args.globalClipnorm === undefined ? null : positive(args.globalClipnorm, 'globalClipnorm', where);
  }

  /** The learning rate of the next step (callbacks such as ReduceLROnPlateau change it). */
  get learningRate(): number {
    return this.lr;
  }

  set learningRate(value: number) {
    this.lr = positive(value, 'learningRate', this.constructor.name, true);
  }

  abstract getConfig(): OptimizerConfig;

  /** @internal what the executor needs. */
  abstract describe(): OptimizerDescription;
}

export interface SGDArgs extends OptimizerArgs {
  /** Default 0 (plain SGD). */
  momentum?: number;
  nesterov?: boolean;
}

/** Keras SGD: `v = momentum·v - lr·g; w += v` (Nesterov: `w += momentum·v - lr·g`). Default lr 0.01. */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly nesterov: boolean;
  constructor(args: SGDArgs = {}) {
    super(args, 0.01, 'SGD');
    this.momentum = args.momentum === undefined ? 0 : momentumIn(args.momentum);
    this.nesterov = args.nesterov ?? false;
  }
  getConfig(): OptimizerConfig {
    return { kind: 'SGD', learningRate: this.learningRate, globalClipnorm: this.globalClipnorm, momentum: this.momentum, nesterov: this.nesterov };
  }
  describe(): OptimizerDescription {
    return { kind: 'sgd', momentum: this.momentum, nesterov: this.nesterov };
  }
}

function momentumIn(m: number): number {
  if (!(m >= 0 && m <= 1)) throw new ConfigError(`SGD: momentum must be in [0, 1], got ${m}`);
  return m;
}

export interface AdamArgs extends OptimizerArgs {
  beta1?: number;
  beta2?: number;
  /** Added to sqrt(v̂). Default 1e-7 (Keras). */
  epsilon?: number;
}

/** Adam with bias correction. Defaults (Keras): lr 0.001, beta1 0.9, beta2 0.999, epsilon 1e-7. */
export class Adam extends Optimizer {
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  constructor(args: AdamArgs = {}, where = 'Adam') {
    super(args, 0.001, where);
    this.beta1 = inUnit(args.beta1 ?? 0.9, 'beta1', where);
    this.beta2 = inUnit(args.beta2 ?? 0.999, 'beta2', where);
    this.epsilon = positive(args.epsilon ?? 1e-7, 'epsilon', where);
  }
  getConfig(): OptimizerConfig {
    return { kind: 'Adam', learningRate: this.learningRate, globalClipnorm: this.globalClipnorm, beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }
  describe(): OptimizerDescription {
    return { kind: 'adam', beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon };
  }
}

export interface AdamWArgs extends AdamArgs {
  /** Decoupled weight decay on kernels (not biases or BatchNorm). Default 0.004 (Keras). */
  weightDecay?: number;
}

/** Adam with decoupled weight decay `w -= lr·weightDecay·w` on kernels. */
export class AdamW extends Adam {
  readonly weightDecay: number;
  constructor(args: AdamWArgs = {}) {
    super(args, 'AdamW');
    this.weightDecay = positive(args.weightDecay ?? 0.004, 'weightDecay', 'AdamW', true);
  }
  override getConfig(): OptimizerConfig {
    return { ...(super.getConfig() as Extract<OptimizerConfig, { kind: 'Adam' }>), kind: 'AdamW', weightDecay: this.weightDecay };
  }
  override describe(): OptimizerDescription {
    return { kind: 'adamw', beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, weightDecay: this.weightDecay };
  }
}

export type OptimizerName = 'sgd' | 'adam' | 'adamw';

export function resolveOptimizer(arg: OptimizerName | Optimizer): Optimizer {
  if (arg instanceof Optimizer) return arg;
  switch (arg) {
    case 'sgd':
      return new SGD();
    case 'adam':
      return new Adam();
    case 'adamw':
      return new AdamW();
    default:
      throw new ConfigError(`compile: unknown optimizer '${String(arg)}', expected 'sgd', 'adam', 'adamw' or an Optimizer object`);
  }
}

export function optimizerFromConfig(c: OptimizerConfig): Optimizer {
  const common = { learningRate: c.learningRate, ...(c.globalClipnorm === null ? {} : { globalClipnorm: c.globalClipnorm }) };
  switch (c.kind) {
    case 'SGD':
      return new SGD({ ...common, momentum: c.momentum, nesterov: c.nesterov });
    case 'Adam':
      return new Adam({ ...common, beta1: c.beta1, beta2: c.beta2, epsilon: c.epsilon });
    case 'AdamW':
      return new AdamW({ ...common, beta1: c.beta1, beta2: c.beta2, epsilon: c.epsilon, weightDecay: c.weightDecay });
    default: {
      const unknown: never = c;
      throw new ConfigError(`unknown optimizer kind '${(unknown as { kind: string }).kind}'`);
    }
  }
}
