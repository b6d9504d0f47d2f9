/**
 * From layers to an executor description: shape inference (validating every
 * layer), the executor steps each layer becomes, and the name, shape and
 * initializer of every tensor. Pure TypeScript; no engine needed.
 */
import type { LayerDescription } from '../exec/compiled-model.js';
import type { AnyLayer } from '../layers/config.js';
import { KernelLayer } from '../layers/kernel-layer.js';
import type { ParamSpec } from '../layers/layer.js';
import type { L2Regularizer } from '../layers/regularizers.js';
import type { Shape3 } from '../layers/shape.js';
import { ConfigError, ShapeError } from '../errors.js';

export interface PlannedTensor extends ParamSpec {
  /** `layers.3.kernel`, `layers.4.moving_mean`, ... */
  name: string;
  layer: number;
  size: number;
}

export interface ModelPlan {
  input: Shape3;
  /** Output shape of each layer. */
  shapes: Shape3[];
  steps: LayerDescription[];
  /** The model layer each executor step belongs to. */
  stepOwner: number[];
  /** Index of the last executor step of each layer (its output, activation included). */
  lastStep: number[];
  tensors: PlannedTensor[];
  /** The one L2 form and lambda the model's regularized kernels share, if any. */
  regularizer: L2Regularizer | null;
}

const snake: Record<ParamSpec['role'], string> = {
  kernel: 'kernel',
  bias: 'bias',
  gamma: 'gamma',
  beta: 'beta',
  movingMean: 'moving_mean',
  movingVariance: 'moving_variance',
};

export function tensorName(layer: number, role: ParamSpec['role']): string {
  return `layers.${layer}.${snake[role]}`;
}

export function planModel(layers: readonly AnyLayer[], input: Shape3): ModelPlan {
  if (layers.length === 0) throw new ConfigError('Sequential: the model has no layers');
  const shapes: Shape3[] = [];
  const steps: LayerDescription[] = [];
  const stepOwner: number[] = [];
  const lastStep: number[] = [];
  const tensors: PlannedTensor[] = [];
  let shape = input;
  layers.forEach((layer, i) => {
    // Default kernel initializers depend on what follows (He for ReLU).
    if (layer instanceof KernelLayer) layer.resolveDefaultInitializer(reluFollows(layers, i));
    const out = layer.computeOutputShape(shape, i);
    for (const spec of layer.paramSpecs(shape)) {
      tensors.push({ ...spec, name: tensorName(i, spec.role), layer: i, size: spec.shape.reduce((a, b) => a * b, 1) });
    }
    for (const step of layer.steps(shape)) {
      steps.push(step);
      stepOwner.push(i);
    }
    lastStep.push(steps.length - 1);
    shapes.push(out);
    shape = out;
  });
  if (steps.length === 0) throw new ShapeError('Sequential: the model computes nothing (only linear activations)');
  return { input, shapes, steps, stepOwner, lastStep, tensors, regularizer: sharedRegularizer(layers) };
}

function reluFollows(layers: readonly AnyLayer[], i: number): boolean {
  for (let j = i + 1; j < layers.length; j++) {
    const next = layers[j]!;
    if (next.kind === 'BatchNormalization' || next.kind === 'Dropout') continue;
    return next.endsWithRelu && !(next instanceof KernelLayer);
  }
  return false;
}

/**
 * The executor applies one L2 coefficient to every regularized kernel, so
 * layers must agree on it (the reference nets use one value throughout).
 */
function sharedRegularizer(layers: readonly AnyLayer[]): L2Regularizer | null {
  let shared: L2Regularizer | null = null;
  layers.forEach((layer, i) => {
    if (!(layer instanceof KernelLayer)) return;
    const r = layer.regularizer;
    if (!r || r.lambda === 0) return;
    if (shared && (shared.form !== r.form || shared.lambda !== r.lambda)) {
      throw new ConfigError(
        `${layer.describe(i)}: kernelRegularizer ${r.form}(${r.lambda}) differs from another layer's ${shared.form}(${shared.lambda}); ` +
          'all regularized layers of a model must share one L2 coefficient',
      );
    }
    shared = r;
  });
  return shared;
}
