/**
 * Deep ensembles (Lakshminarayanan et al. 2017): classifiers trained
 * independently (other seeds, the same data) combined into one model whose
 * output is the mean of their softmax probabilities. One graph, so it
 * predicts, evaluates, explains, saves, loads and exports (ONNX `Mean`,
 * PyTorch) as any other model. Its loss is the cross-entropy of the averaged
 * probabilities (the executor's probability cross-entropy), so it can also be
 * compiled and fine-tuned jointly.
 */
import { ConfigError } from '../errors.js';
import type { LayerConfig } from '../layers/config.js';
import type { Engine } from '../runtime/engine.js';
import type { ModelMetadata } from './metadata.js';
import { setWeightsByLayer, weightsByLayer } from './layer-weights.js';
import { Model } from './model.js';

export interface EnsembleOptions {
  /** Default 'ensemble'. */
  name?: string;
  /** Default: the engine the first member runs on. */
  engine?: Engine;
  /** Prefix of member k's layer names (default `m`): `m1.conv2d`, `m2.conv2d`, ... */
  prefix?: string;
}

/** The name of the Average layer that merges the members. */
export const ENSEMBLE_OUTPUT_LAYER = 'ensemble_mean';

/** Whether a layer's output is a softmax distribution. */
function outputsSoftmax(c: LayerConfig): boolean {
  return c.kind === 'Softmax' || ('activation' in c && c.activation === 'softmax');
}

/**
 * Why `model` cannot be an ensemble member, or null if it can: its output
 * must be softmax probabilities (checked by a trainer before it trains
 * members that could not be combined).
 */
export function ensembleMemberIssue(model: Model): string | null {
  const last = model.layers.at(-1)!.getConfig();
  return outputsSoftmax(last) ? null : `it ends in ${last.kind} '${last.name}', which does not output softmax probabilities: an ensemble averages probabilities`;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** The metadata the members share (inference must prepare every input the same way for all of them). */
function sharedMetadata(members: readonly Model[], where: string): ModelMetadata {
  const first = members[0]!.metadata;
  const fields = ['classNames', 'preprocessing', 'stainNormalization'] as const;
  members.forEach((m, k) => {
    for (const f of fields) {
      if (!same(m.metadata[f], first[f])) {
        throw new ConfigError(`${where}: member ${k + 1} ('${m.name}') has ${f} ${JSON.stringify(m.metadata[f] ?? null)}, member 1 ('${members[0]!.name}') ${JSON.stringify(first[f] ?? null)}: the members must prepare their inputs alike`);
      }
    }
  });
  // Each member's threshold and calibration were chosen for its own outputs, not for their mean.
  return { ...first, threshold: null, calibration: null };
}

/**
 * One model averaging the softmax outputs of `members` (2 or more built
 * models with the same input shape, classes and metadata): member k's layers
 * are copied under the names `<prefix>k.<name>` with their weights, moving
 * statistics and trainable flags, and an `Average` layer
 * (`ENSEMBLE_OUTPUT_LAYER`) reads every member's output. The members' stored
 * decision thresholds and calibrations are dropped: choose them again on
 * held-out predictions of the ensemble. The members are left as they are.
 */
export async function ensembleModels(members: readonly Model[], options: EnsembleOptions = {}): Promise<Model> {
  const where = 'ensembleModels';
  if (members.length < 2) throw new ConfigError(`${where}: needs at least 2 models, got ${members.length}`);
  const first = members[0]!;
  const prefix = options.prefix ?? 'm';
  members.forEach((m, k) => {
    if (!m.built) throw new ConfigError(`${where}: member ${k + 1} ('${m.name}') has no weights yet: fit, load or build it first`);
    if (!same(m.inputShape, first.inputShape)) throw new ConfigError(`${where}: member ${k + 1} ('${m.name}') takes input [${m.inputShape.join(', ')}], member 1 [${first.inputShape.join(', ')}]`);
    if (!same(m.outputShape, first.outputShape)) throw new ConfigError(`${where}: member ${k + 1} ('${m.name}') outputs [${m.outputShape.join(', ')}], member 1 [${first.outputShape.join(', ')}]`);
    const issue = ensembleMemberIssue(m);
    if (issue) throw new ConfigError(`${where}: member ${k + 1} ('${m.name}'): ${issue}`);
  });
  const metadata = sharedMetadata(members, where);

  const layers: LayerConfig[] = [];
  const inbound: number[][] = [];
  const trainable: boolean[] = [];
  const outputs: number[] = [];
  // Weights by new layer name and role, so nothing depends on positions.
  const weights = new Map<string, Float32Array>();
  members.forEach((m, k) => {
    const rename = (name: string) => `${prefix}${k + 1}.${name}`;
    const config = m.getConfig();
    const offset = layers.length;
    config.layers.forEach((c, i) => {
      layers.push({ ...c, name: rename(c.name), inputShape: null });
      inbound.push((config.inbound?.[i] ?? [i - 1]).map((j) => (j < 0 ? -1 : j + offset)));
      trainable.push(config.trainable?.[i] ?? true);
    });
    outputs.push(layers.length - 1);
    for (const [key, w] of weightsByLayer(m, rename)) weights.set(key, w);
  });
  layers.push({ kind: 'Average', name: ENSEMBLE_OUTPUT_LAYER, inputShape: null });
  inbound.push(outputs);
  trainable.push(true);

  const model = Model.fromConfig(
    { name: options.name ?? 'ensemble', seed: first.seed, layers, inbound, inputShape: [...first.inputShape], trainable },
    { engine: options.engine ?? first.executor.engine },
  );
  await model.build({ batchSize: 1 });
  setWeightsByLayer(model, weights, where);
  model.metadata = metadata;
  return model;
}
