/**
 * Grad-CAM (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep
 * Networks via Gradient-based Localization", ICCV 2017): which positions of a
 * convolutional layer's output speak for a class.
 *
 *   α_k  = mean over (y, x) of ∂score / ∂A[y, x, k]
 *   map  = ReLU(Σ_k α_k · A[:, :, k])
 *
 * The gradient comes from the executor's own backward pass
 * (`CompiledModel.backwardFrom`: a one-hot `dy` on the class score, stopped at
 * the layer's output), so there is one implementation of backprop, in Rust.
 * Everything runs in inference mode (BatchNorm moving statistics, no dropout):
 * the explanation is of the prediction the model actually makes.
 */
import { StepKind } from '../exec/abi.js';
import type { StepDescription } from '../exec/compiled-model.js';
import { ConfigError, ShapeError } from '../errors.js';
import { formatShape } from '../layers/shape.js';
import type { TensorLike } from '../model/data.js';
import type { Model } from '../model/model.js';
import { checkExplainInput, forEachChunk } from './batches.js';
import { isSpatial, layerRefs, listLayers, outputStep, resolveLayer, type LayerRef } from './layer-ref.js';
import { normalizeMax, resizeBilinear } from './resize.js';

export interface GradCamOptions {
  /** The layer to explain (name or index); default the last layer with a spatial output (h·w > 1), i.e. the last convolution block. */
  layer?: string | number;
  /** The class to explain for every sample; default each sample's predicted class (`model.predictClasses`). */
  classIndex?: number;
}

/** One sample's explanation. Arrays are views into the result's shared buffers. */
export interface GradCamMap {
  classIndex: number;
  /** The model's output for this sample (as `predict` returns it). */
  probabilities: Float32Array;
  /** `[h_l, w_l]` at the layer's resolution, raw (non-negative, not normalized). */
  heatmap: Float32Array;
  /** `[H, W]`: `heatmap` resized bilinearly to the input size, raw. */
  upsampled: Float32Array;
  /** `[H, W]`: `upsampled / max(upsampled)` in [0, 1]; an all-zero map stays all zero. */
  normalized: Float32Array;
}

export interface GradCamResult {
  layer: LayerRef;
  /**
   * What was differentiated: `logit`, the pre-softmax (or pre-sigmoid) value
   * of the class, when the model ends in a softmax or sigmoid (in an
   * ensemble, the logit of the member the layer belongs to); `output`, the
   * model's output otherwise.
   */
  score: 'logit' | 'output';
  /** `[h_l, w_l]`, the layer's spatial size. */
  heatmapSize: [number, number];
  /** `[H, W]`, the input's spatial size. */
  size: [number, number];
  /** One map per input sample, in order. */
  maps: GradCamMap[];
}

/**
 * Grad-CAM heatmaps for `input` `[n, H, W, c]` (one sample or a batch; each
 * sample gets its own map, for its own class).
 *
 * The class score is the **logit**, not the probability: the gradient of a
 * softmax output is `p_c·(δ_ck − p_k)`, which vanishes as the model grows
 * confident (p_c → 1), so confident predictions — the ones a user most wants
 * explained — would get flat, noise-dominated maps; and it mixes in the
 * other classes' evidence. The paper uses the pre-softmax score for the same
 * reasons. For a single sigmoid unit the logit `z` scores class 1 and `−z`
 * class 0 (the logit of `1 − p`).
 */
export async function gradCam(model: Model, input: TensorLike, options: GradCamOptions = {}): Promise<GradCamResult> {
  const where = 'gradCam';
  const ref = options.layer === undefined ? defaultLayer(model, where) : resolveLayer(model, options.layer, where);
  if (!isSpatial(ref)) {
    throw new ShapeError(
      `${where}: ${model.layers[ref.index]!.describe(ref.index)} outputs ${formatShape(ref.shape)}; Grad-CAM needs a spatial output [batch, h, w, c] with h·w > 1 (a convolution block); spatial layers: ${listLayers(model, isSpatial)}`,
    );
  }
  const [outH, outW, outC] = model.outputShape;
  if (outH * outW !== 1) throw new ShapeError(`${where}: model '${model.name}' outputs ${formatShape(model.outputShape)}; Grad-CAM needs a classifier with output [batch, classes]`);
  const classes = model.classes;
  const forced = options.classIndex;
  if (forced !== undefined && !(Number.isInteger(forced) && forced >= 0 && forced < classes)) {
    throw new ConfigError(`${where}: classIndex must be an integer in [0, ${classes - 1}] (model '${model.name}' has ${classes} classes), got ${forced}`);
  }
  const n = checkExplainInput(model, input, where);

  const stop = outputStep(model, ref.index);
  const { from, squashed } = scoreStep(model, stop);
  if (stop < 0 || stop >= from) {
    throw new ConfigError(`${where}: ${model.layers[ref.index]!.describe(ref.index)} computes nothing between the input and the class score; choose a convolution block`);
  }

  // The class each map explains: the forced one, else the model's decision
  // rule (arg-max, or a binary model's stored threshold) on this forward's outputs.
  const chosen = new Uint32Array(n).fill(forced ?? 0);

  const [h, w, k] = ref.shape;
  const [H, W] = [model.inputShape[0], model.inputShape[1]];
  const probs = new Float32Array(n * outC);
  const heat = new Float32Array(n * h * w);
  await forEachChunk(model, input, n, (compiled, chunk) => {
    // As predict: the stored calibration, so the class explained is the one predictClasses gives.
    const chunkProbs = model.calibrateOutputs(compiled.forward(chunk.x, chunk.size, { keep: true }));
    probs.set(chunkProbs, chunk.start * outC);
    if (forced === undefined) chosen.set(model.classesFromProbabilities(chunkProbs), chunk.start);
    // dy: one-hot on each sample's own class score (±1 for a single unit).
    const dy = new Float32Array(chunk.size * outC);
    for (let s = 0; s < chunk.size; s++) {
      const c = chosen[chunk.start + s]!;
      if (outC === 1) dy[s] = c === 1 ? 1 : -1;
      else dy[s * outC + c] = 1;
    }
    const grad = compiled.backwardFrom(chunk.size, from, dy, stop);
    const act = compiled.activation(stop, chunk.size);
    for (let s = 0; s < chunk.size; s++) camOf(grad, act, s, h * w, k, heat.subarray((chunk.start + s) * h * w, (chunk.start + s + 1) * h * w));
  });

  const up = new Float32Array(n * H * W);
  const norm = new Float32Array(n * H * W);
  const maps: GradCamMap[] = [];
  for (let s = 0; s < n; s++) {
    const heatmap = heat.subarray(s * h * w, (s + 1) * h * w);
    const upsampled = up.subarray(s * H * W, (s + 1) * H * W);
    const normalized = norm.subarray(s * H * W, (s + 1) * H * W);
    upsampled.set(resizeBilinear(heatmap, h, w, H, W));
    normalized.set(normalizeMax(upsampled));
    maps.push({ classIndex: chosen[s]!, probabilities: probs.subarray(s * outC, (s + 1) * outC), heatmap, upsampled, normalized });
  }
  return { layer: ref, score: squashed ? 'logit' : 'output', heatmapSize: [h, w], size: [H, W], maps };
}

/**
 * The step whose output is differentiated, from the layer's output step
 * `stop`: the logits under a final softmax/sigmoid, else the output. In an
 * ensemble (a final Average of softmax outputs, `ensembleModels`), the
 * logits of the member that computes `stop`: its own evidence, which the
 * averaged probability's gradient would flatten as the members grow
 * confident (the same reason as a single model's logit).
 */
function scoreStep(model: Model, stop: number): { from: number; squashed: boolean } {
  const steps = model.plan().steps;
  const last = steps.length - 1;
  const kind = steps[last]!.kind;
  if (kind === StepKind.SOFTMAX || kind === StepKind.SIGMOID) return { from: last - 1, squashed: true };
  const branches = (steps[last]!.inputs ?? []).map((v) => v - 1);
  if (kind !== StepKind.AVERAGE || !branches.every((s) => s >= 0 && steps[s]!.kind === StepKind.SOFTMAX)) return { from: last, squashed: false };
  // The member's softmax whose logits depend on `stop`.
  const logits = branches.map((s) => steps[s]!.inputs![0]! - 1);
  const member = logits.find((l) => dependsOn(steps, l, stop));
  return member === undefined ? { from: last, squashed: false } : { from: member, squashed: true };
}

/** Whether step `step`'s output depends on step `on`'s (or is it). */
function dependsOn(steps: readonly StepDescription[], step: number, on: number): boolean {
  const seen = new Set<number>();
  const todo = [step];
  while (todo.length) {
    const s = todo.pop()!;
    if (s === on) return true;
    if (s < on || seen.has(s)) continue;
    seen.add(s);
    for (const v of steps[s]!.inputs ?? [s]) if (v > 0) todo.push(v - 1);
  }
  return false;
}

/** Sample `s`'s map from the gradient and activation `[batch, positions, k]` (float64 sums). */
function camOf(grad: Float32Array, act: Float32Array, s: number, positions: number, k: number, out: Float32Array): void {
  const base = s * positions * k;
  const alpha = new Float64Array(k);
  for (let p = 0; p < positions; p++) for (let c = 0; c < k; c++) alpha[c]! += grad[base + p * k + c]!;
  for (let c = 0; c < k; c++) alpha[c]! /= positions;
  for (let p = 0; p < positions; p++) {
    let sum = 0;
    for (let c = 0; c < k; c++) sum += alpha[c]! * act[base + p * k + c]!;
    out[p] = Math.max(sum, 0);
  }
}

/** The last layer with a spatial output: the last convolution block (its pooling, if any, included). */
function defaultLayer(model: Model, where: string): LayerRef {
  const ref = layerRefs(model).filter(isSpatial).at(-1);
  if (!ref) throw new ShapeError(`${where}: model '${model.name}' has no layer with a spatial output (h·w > 1) to explain; its layers: ${listLayers(model)}`);
  return ref;
}
