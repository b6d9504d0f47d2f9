/**
 * What the torchvision-compatible applications share: their options, the
 * PyTorch BatchNorm defaults, and the classifier head. Layer names are
 * torchvision's module paths (`layer1.0.conv1`), so a torchvision
 * `state_dict` maps onto a model by name (see `torchvisionKeys`).
 */
import { BatchNormalization } from '../layers/batch-normalization.js';
import { ConfigError } from '../errors.js';
import type { Engine } from '../runtime/engine.js';
import type { Shape3 } from '../layers/shape.js';

export interface ApplicationArgs {
  /** Per-sample input `[h, w, c]`. Default `[224, 224, 3]`. */
  inputShape?: readonly [number, number, number];
  /** Output classes of the classifier head. Default 1000 (ImageNet). */
  classes?: number;
  /** Keep the classifier head (default true); false ends at the last feature map, as Keras' `include_top`. */
  includeTop?: boolean;
  /** With `includeTop: false`: 'avg' adds global average pooling (Keras' `pooling`). Default: none. */
  pooling?: 'avg' | null;
  /** Final activation of the head: 'softmax' (default) or 'linear' (logits, as torchvision). */
  classifierActivation?: 'softmax' | 'linear';
  name?: string;
  seed?: number;
  engine?: Engine;
}

export interface ResolvedApplicationArgs {
  inputShape: Shape3;
  classes: number;
  includeTop: boolean;
  pooling: 'avg' | null;
  classifierActivation: 'softmax' | 'linear';
  options: { name: string; seed?: number; engine?: Engine };
}

export function resolveApplicationArgs(args: ApplicationArgs, name: string): ResolvedApplicationArgs {
  const where = `applications.${name}`;
  const inputShape = args.inputShape ?? [224, 224, 3];
  if (inputShape.length !== 3 || inputShape.some((d) => !Number.isInteger(d) || d < 1)) throw new ConfigError(`${where}: inputShape must be 3 positive integers [h, w, c], got ${JSON.stringify(inputShape)}`);
  const classes = args.classes ?? 1000;
  if (!Number.isInteger(classes) || classes < 1) throw new ConfigError(`${where}: classes must be a positive integer, got ${classes}`);
  const includeTop = args.includeTop ?? true;
  const pooling = args.pooling ?? null;
  if (pooling !== null && pooling !== 'avg') throw new ConfigError(`${where}: pooling must be 'avg' or null, got ${JSON.stringify(pooling)}`);
  const classifierActivation = args.classifierActivation ?? 'softmax';
  if (classifierActivation !== 'softmax' && classifierActivation !== 'linear') throw new ConfigError(`${where}: classifierActivation must be 'softmax' or 'linear', got ${JSON.stringify(classifierActivation)}`);
  return {
    inputShape: [inputShape[0], inputShape[1], inputShape[2]],
    classes,
    includeTop,
    pooling,
    classifierActivation,
    options: { name: args.name ?? name, ...(args.seed !== undefined ? { seed: args.seed } : {}), ...(args.engine ? { engine: args.engine } : {}) },
  };
}

/** PyTorch's BatchNorm2d defaults: momentum 0.1 (Keras' 0.9) and epsilon 1e-5. */
export function torchBatchNorm(name: string): BatchNormalization {
  return new BatchNormalization({ name, momentum: 0.9, epsilon: 1e-5 });
}
