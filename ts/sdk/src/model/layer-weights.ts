/**
 * A model's tensors by layer name and role (`conv2d/kernel`) rather than by
 * position (`layers.3.kernel`): what survives rebuilding a graph with layers
 * added, dropped or renamed (a new classifier head, an ensemble's members).
 */
import { ConfigError } from '../errors.js';
import type { Model } from './model.js';

/** `model`'s tensors keyed `<rename(layer name)>/<role>` (the model must be built). */
export function weightsByLayer(model: Model, rename: (name: string) => string = (name) => name): Map<string, Float32Array> {
  const values = model.getWeights();
  return new Map(model.plan().tensors.map((t) => [`${rename(model.layers[t.layer]!.name)}/${t.role}`, values.get(t.name)!]));
}

/**
 * Sets every tensor of `model` (built) from `byLayer` (`<layer name>/<role>`),
 * except those of the layers `keep` names, which keep their fresh values; a
 * missing tensor is an internal error of `where`.
 */
export function setWeightsByLayer(model: Model, byLayer: ReadonlyMap<string, Float32Array>, where: string, keep: (layer: string) => boolean = () => false): void {
  const copied = new Map<string, Float32Array>();
  for (const t of model.plan().tensors) {
    const layer = model.layers[t.layer]!.name;
    if (keep(layer)) continue;
    const w = byLayer.get(`${layer}/${t.role}`);
    if (!w) throw new ConfigError(`${where}: internal: no weights for ${layer}/${t.role}`);
    copied.set(t.name, w);
  }
  model.setWeights(copied);
}
