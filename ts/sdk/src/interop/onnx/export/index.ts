/**
 * `model.toOnnx()`: a lite-cnn model as an ONNX model (opset 17), for
 * onnxruntime, Triton, TensorRT and the rest of the ONNX world.
 *
 * - Input `input`: float32 `[batch, h, w, c]` (NHWC, like `model.predict`),
 *   `[batch, c, h, w]` with `{ nchw: true }`, or `[batch, n]` for a model on
 *   flat features; `batch` is dynamic.
 * - Output `output`: what the model ends with (probabilities after a softmax),
 *   `[batch, n]` for flat outputs, else NHWC.
 * - The graph computes the model only: preprocessing (pixel scaling,
 *   standardization, Caffe BGR/mean, stain normalization), class names and
 *   the decision threshold are the model's `metadata`, stored as JSON in the
 *   ONNX metadata (`lite_cnn.metadata`), so the input is exactly what
 *   `model.predict` takes. `importOnnx` reads it back.
 */
import type { Model } from '../../../model/model.js';
import { isFlatShape } from '../../layouts.js';
import { exportedModel, type ExportedLayer } from '../../exported-model.js';
import { metadataProps } from '../metadata.js';
import { onnx, type Onnx } from '../proto.js';
import { GraphBuilder } from './graph-builder.js';
import { LayerContext, type LayerExporter } from './layer-context.js';
import { ONNX_EXPORTERS } from './table.js';
import { OnnxValue, type Layout } from './values.js';

export const ONNX_OPSET = 17;
/** The IR version that goes with opset 17 (ONNX 1.12). */
const IR_VERSION = 8;
export const ONNX_INPUT_NAME = 'input';
export const ONNX_OUTPUT_NAME = 'output';

export interface OnnxExportOptions {
  /** Take PyTorch-style `[batch, c, h, w]` input instead of NHWC. Default false. */
  nchw?: boolean;
}

export function modelToOnnx(model: Model, options: OnnxExportOptions = {}): Uint8Array {
  const m = exportedModel(model, 'ONNX export');
  const b = new GraphBuilder();
  const [h, w, c] = m.inputShape;
  const inputLayout: Layout = isFlatShape(m.inputShape) ? 'flat' : options.nchw ? 'nchw' : 'nhwc';
  const inputDims = { flat: [c], nchw: [c, h, w], nhwc: [h, w, c] }[inputLayout];
  // Both names are taken first, so a layer called `input` or `output` gets `input_1`, `output_1`.
  const input = new OnnxValue(b, ONNX_INPUT_NAME, m.inputShape, inputLayout, b.reserve(ONNX_INPUT_NAME));
  b.reserve(ONNX_OUTPUT_NAME);
  const values: OnnxValue[] = [];
  for (const layer of m.layers) {
    const reads = layer.inputs.map((j) => (j < 0 ? input : values[j]!));
    values.push(exportLayer(layer, reads, b));
  }
  const last = values.at(-1)!;
  const outLayout: Layout = isFlatShape(last.shape) ? 'flat' : 'nhwc';
  const [oh, ow, oc] = last.shape;
  b.nodes.push({ opType: 'Identity', name: ONNX_OUTPUT_NAME, input: [last.as(outLayout)], output: [ONNX_OUTPUT_NAME] });
  const graph: Onnx.IGraphProto = {
    name: m.name || 'lite-cnn',
    node: b.nodes,
    initializer: b.initializers,
    input: [valueInfo(ONNX_INPUT_NAME, inputDims)],
    output: [valueInfo(ONNX_OUTPUT_NAME, outLayout === 'flat' ? [oc] : [oh, ow, oc])],
  };
  const proto: Onnx.IModelProto = {
    irVersion: IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'lite-cnn',
    graph,
    metadataProps: metadataProps(m.metadata, inputLayout),
  };
  return onnx.ModelProto.encode(proto).finish();
}

function exportLayer(layer: ExportedLayer, reads: OnnxValue[], b: GraphBuilder): OnnxValue {
  // The table's row for this kind, whose config type the lookup cannot narrow by itself.
  const exporter = ONNX_EXPORTERS[layer.config.kind] as LayerExporter<typeof layer.config>;
  return exporter(new LayerContext(layer, reads, b));
}

/** A float32 tensor `[batch, ...dims]` with a dynamic batch. */
function valueInfo(name: string, dims: readonly number[]): Onnx.IValueInfoProto {
  const dim = [{ dimParam: 'batch' }, ...dims.map((d) => ({ dimValue: d }))];
  return { name, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim } } } };
}
