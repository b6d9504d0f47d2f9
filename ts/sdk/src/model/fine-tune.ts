/**
 * Fine-tuning a pretrained network (an imported ONNX file, a torchvision
 * application with loaded weights, any saved model): a new classifier head
 * for the task's classes, and Keras-style freezing of all but the last N
 * layers (the BreakHis study fine-tuned the last 20 of ResNet50 and VGG16).
 */
import { ConfigError } from '../errors.js';
import type { LayerConfig } from '../layers/config.js';
import type { Engine } from '../runtime/engine.js';
import { setWeightsByLayer, weightsByLayer } from './layer-weights.js';
import { Model } from './model.js';

/** Layers that may follow the classifier head: they carry no weights and are replaced by the new head's softmax. */
const HEAD_TAIL_KINDS: ReadonlySet<LayerConfig['kind']> = new Set(['Softmax', 'Activation', 'Dropout']);

export interface NewHeadOptions {
  /** Classes of the new task. */
  classes: number;
  /** Initializes the new head (default: the model's seed). */
  seed?: number;
  /** Default: the engine `model` runs on. */
  engine?: Engine;
  /**
   * Dispose `model` once its weights are read, before the new model is
   * built, so the engine never holds both (VGG16's 528 MB of weights, with
   * gradients and optimizer slots, would not fit twice in wasm's 4 GiB).
   */
  disposeSource?: boolean;
}

/**
 * A copy of `model` (which must be built, e.g. imported or loaded) whose last
 * Dense layer — the classifier — is replaced by a freshly initialized
 * `Dense(classes, softmax)` reading the same features; weight-free layers
 * after it (a softmax, a dropout) are dropped. Every other weight is copied;
 * trainable flags and metadata are kept (class names are cleared).
 */
export async function withNewHead(model: Model, options: NewHeadOptions): Promise<Model> {
  const where = `withNewHead(${model.name})`;
  if (!Number.isInteger(options.classes) || options.classes < 2) throw new ConfigError(`${where}: classes must be an integer >= 2, got ${options.classes}`);
  const config = model.getConfig();
  const head = config.layers.map((l) => l.kind).lastIndexOf('Dense');
  if (head < 0) throw new ConfigError(`${where}: the model has no Dense classifier layer to replace`);
  const tail = config.layers.slice(head + 1);
  const blocking = tail.find((l) => !HEAD_TAIL_KINDS.has(l.kind));
  if (blocking) throw new ConfigError(`${where}: the classifier '${config.layers[head]!.name}' is followed by ${blocking.kind} '${blocking.name}'; only ${[...HEAD_TAIL_KINDS].join(', ')} may follow the head`);
  const old = config.layers[head]!;
  if (old.kind !== 'Dense') throw new ConfigError(`${where}: internal: layer ${head} is not Dense`);
  const layers = config.layers.slice(0, head + 1);
  layers[head] = { ...old, units: options.classes, activation: 'softmax', useBias: true, kernelInitializer: null, biasInitializer: { kind: 'zeros' } };
  // Weights by layer name and role, so nothing depends on the layers keeping their positions.
  const byLayer = weightsByLayer(model);
  const metadata = model.metadata;
  const engine = options.engine ?? model.executor.engine;
  const seed = options.seed ?? model.seed;
  if (options.disposeSource) model.dispose();
  const next = Model.fromConfig(
    { ...config, layers, ...(config.inbound ? { inbound: config.inbound.slice(0, head + 1) } : {}), ...(config.trainable ? { trainable: config.trainable.slice(0, head + 1) } : {}) },
    { seed, engine },
  );
  await next.build({ batchSize: 1 });
  // The new head keeps its fresh initialization.
  setWeightsByLayer(next, byLayer, where, (layer) => layer === old.name);
  next.metadata = { ...metadata, classNames: null, calibration: null, threshold: null };
  return next;
}

/**
 * Keras' fine-tuning idiom `for layer in model.layers[:-n]: layer.trainable = False`:
 * the last `n` layers (in topological order, weight-free ones counted) stay
 * trainable, all others are frozen (frozen BatchNormalization runs in
 * inference mode). Takes effect at the next `compile()`. Returns the number
 * of trainable parameters left.
 */
export function freezeAllButLast(model: Model, n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`freezeAllButLast(${model.name}): n must be a positive integer (layers left trainable), got ${n}`);
  const layers = model.layers;
  layers.forEach((l, i) => (l.trainable = i >= layers.length - n));
  return model.countParams().trainable;
}
