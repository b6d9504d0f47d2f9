/**
 * Which layer an explanation looks at: resolved by name or index against the
 * model's plan, with errors that list what the model has. Also where that
 * layer's output lives in the executor (its last step, activation included).
 */
import { StepKind } from '../exec/abi.js';
import { ConfigError } from '../errors.js';
import { formatShape, type Shape3 } from '../layers/shape.js';
import type { Model } from '../model/model.js';

export interface LayerRef {
  /** Position of the layer in `model.layers`. */
  index: number;
  name: string;
  kind: string;
  /** Per-sample output shape `[h, w, c]` (flat layers are `[1, 1, n]`). */
  shape: Shape3;
}

/** `conv2d (0) [batch, 3, 3, 2], flatten (1) [batch, 18]`: how errors list a model's layers. */
export function listLayers(model: Model, filter: (ref: LayerRef) => boolean = () => true): string {
  const refs = layerRefs(model).filter(filter);
  return refs.length === 0 ? '(none)' : refs.map((r) => `${r.name} (${r.index}) ${formatShape(r.shape)}`).join(', ');
}

export function layerRefs(model: Model): LayerRef[] {
  const plan = model.plan();
  return model.layers.map((l, index) => ({ index, name: l.name, kind: l.kind, shape: plan.shapes[index]! }));
}

/** The layer named `layer`, or at index `layer`; a ConfigError listing the model's layers otherwise. */
export function resolveLayer(model: Model, layer: string | number, where: string): LayerRef {
  const refs = layerRefs(model);
  const ref = typeof layer === 'number' ? (Number.isInteger(layer) ? refs[layer] : undefined) : refs.find((r) => r.name === layer);
  if (!ref) {
    const got = typeof layer === 'number' ? `index ${layer}` : `'${layer}'`;
    throw new ConfigError(`${where}: model '${model.name}' has no layer ${got}; expected a name or an index in 0..${refs.length - 1} of: ${listLayers(model)}`);
  }
  return ref;
}

/** A spatial output has more than one position (h·w > 1): what Grad-CAM can localize on. */
export function isSpatial(ref: LayerRef): boolean {
  return ref.shape[0] * ref.shape[1] > 1;
}

/**
 * The executor step whose activation buffer holds layer `index`'s output, or
 * -1 when that output is the model input itself. Flatten steps alias their
 * input's buffer (the executor does not move data for them, and NHWC order
 * already is the flattened order), so we read the buffer they alias.
 */
export function outputStep(model: Model, index: number): number {
  const plan = model.plan();
  let step = plan.lastStep[index]!;
  // A Flatten step's buffer is its input's (in a graph, not necessarily the previous step's).
  while (step >= 0 && plan.steps[step]!.kind === StepKind.FLATTEN) step = (plan.steps[step]!.inputs?.[0] ?? step) - 1;
  return step;
}
