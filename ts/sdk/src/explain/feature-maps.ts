/**
 * A layer's activations for some inputs, read from the executor's activation
 * buffers after an inference-mode forward pass (BatchNorm moving statistics,
 * no dropout) — the same numbers `predict` computes on the way.
 */
import type { TensorLike } from '../model/data.js';
import type { Model } from '../model/model.js';
import { checkExplainInput, forEachChunk } from './batches.js';
import { outputStep, resolveLayer, type LayerRef } from './layer-ref.js';

export interface FeatureMaps {
  layer: LayerRef;
  /** `[n, h, w, c]` (NHWC); a flat layer is `[n, 1, 1, units]`. */
  shape: [number, number, number, number];
  data: Float32Array;
}

/**
 * Activations of `layer` (a name or an index into `model.layers`) for
 * `input` `[n, h, w, c]`. A layer's output includes its fused activation
 * (`Conv2D({ activation: 'relu' })` gives the values after the ReLU).
 */
export async function featureMaps(model: Model, input: TensorLike, layer: string | number): Promise<FeatureMaps> {
  const where = 'featureMaps';
  const ref = resolveLayer(model, layer, where);
  const n = checkExplainInput(model, input, where);
  const [h, w, c] = ref.shape;
  const per = h * w * c;
  const data = new Float32Array(n * per);
  const step = outputStep(model, ref.index);
  await forEachChunk(model, input, n, (compiled, chunk) => {
    if (step < 0) {
      // The layer computes nothing of its own (e.g. a Flatten first): its output is the input.
      data.set(chunk.x, chunk.start * per);
      return;
    }
    compiled.forward(chunk.x, chunk.size, { keep: true });
    data.set(compiled.activation(step, chunk.size), chunk.start * per);
  });
  return { layer: ref, shape: [n, h, w, c], data };
}
