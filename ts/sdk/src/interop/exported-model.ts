/**
 * What an exporter (ONNX, PyTorch) reads of a model: its layers in
 * topological order with the layers they read, their input and output shapes
 * and their weights by role. Weights need a built model (they live in the
 * engine), so a model that has never been built or run is refused here.
 */
import { ConfigError } from '../errors.js';
import type { LayerConfig } from '../layers/config.js';
import type { ParamSpec } from '../layers/layer.js';
import type { Shape3 } from '../layers/shape.js';
import type { ModelMetadata } from '../model/metadata.js';
import type { Model } from '../model/model.js';

export type WeightRole = ParamSpec['role'];

export interface ExportedLayer<C extends LayerConfig = LayerConfig> {
  /** Position in topological order. */
  index: number;
  config: C;
  /** The layers read (-1: the model input). */
  inputs: readonly number[];
  inputShapes: readonly Shape3[];
  outputShape: Shape3;
  /** The layer's tensor of `role` (a copy of the model's values). */
  weight(role: WeightRole): Float32Array;
  /** Whether the layer has a tensor of `role` (a bias is optional). */
  hasWeight(role: WeightRole): boolean;
}

export interface ExportedModel {
  name: string;
  inputShape: Shape3;
  layers: ExportedLayer[];
  metadata: ModelMetadata;
}

export function exportedModel(model: Model, where: string): ExportedModel {
  if (!model.built) throw new ConfigError(`${where}: the model is not built yet (await model.build() or load it first): its weights live in the engine`);
  const plan = model.plan();
  const weights = model.getWeights();
  const config = model.getConfig();
  const layers = config.layers.map((layerConfig, index): ExportedLayer => {
    const inputs = config.inbound![index]!;
    const roles = new Map(plan.tensors.filter((t) => t.layer === index).map((t) => [t.role, weights.get(t.name)!]));
    return {
      index,
      config: layerConfig,
      inputs,
      inputShapes: inputs.map((j) => (j < 0 ? plan.input : plan.shapes[j]!)),
      outputShape: plan.shapes[index]!,
      weight(role) {
        const w = roles.get(role);
        if (!w) throw new ConfigError(`${where}: layer '${layerConfig.name}' (${layerConfig.kind}) has no ${role}`);
        return w;
      },
      hasWeight: (role) => roles.has(role),
    };
  });
  return { name: model.name, inputShape: plan.input, layers, metadata: model.metadata };
}
