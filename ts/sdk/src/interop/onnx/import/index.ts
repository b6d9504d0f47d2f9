/**
 * `importOnnx`: an ONNX file (opsets 11-17; what torch.onnx.export writes for
 * torchvision-style CNNs, BatchNorm folded or kept) as a lite-cnn `Model`
 * taking NHWC input. The file is decoded and every part checked (opset,
 * graph order, tensor sizes, external data, the input size and the memory
 * the model would plan) before the engine allocates anything; each node then
 * becomes layers through the op table, and the weights, moved from
 * NCHW/OIHW to NHWC/HWIO, are set once the model is built. A file exported
 * by lite-cnn also gives back the model's metadata (preprocessing, class
 * names, threshold).
 */
import { ModelFormatError } from '../../../errors.js';
import { input } from '../../../layers/symbolic.js';
import { checkPlanBudget, resolveLoadLimits, type LoadLimits } from '../../../io/load-limits.js';
import { checkMetadataForClasses } from '../../../model/metadata.js';
import { Model } from '../../../model/model.js';
import { readInputLayout, readMetadataProps, type OnnxInputLayout } from '../metadata.js';
import type { Engine } from '../../../runtime/engine.js';
import { int64, onnx, type Onnx } from '../proto.js';
import { NodeContext, type ImportState } from './context.js';
import { decodeOnnx } from './decode.js';
import { describeNode } from './errors.js';
import { fuseMatMulAdd, fuseSigmoidMul } from './fuse.js';
import { sortNodes, type GraphNode } from './graph.js';
import { OP_TABLE, SUPPORTED_OPS } from './op-table.js';
import { readTensor } from './tensors.js';
import type { TensorValue, Value } from './values.js';

export { SUPPORTED_OPS } from './op-table.js';
export { SUPPORTED_OPSETS } from './decode.js';

export interface ImportOnnxOptions {
  /** Names the file in errors (e.g. its path). Default 'ONNX model'. */
  name?: string;
  /** Per-sample input `[h, w, c]` (NHWC): required when the file leaves height, width or channels symbolic. */
  inputShape?: readonly [number, number, number];
  engine?: Engine;
  seed?: number;
  /**
   * Bounds checked before anything is allocated: `maxTensors` (initializers),
   * `maxInputValues` and `maxPlannedBytes` (at batch 1). Default: the load
   * limits, with `maxPlannedBytes` at 4 GiB (wasm's whole memory), since an
   * imported ImageNet network is far larger than lite-cnn's own models.
   */
  limits?: Partial<LoadLimits>;
}

/** The model and what the file held: its opset and how many nodes of each op it has. */
export interface OnnxImport {
  model: Model;
  opset: number;
  producer: string;
  ops: Map<string, number>;
}

const IMPORT_PLANNED_BYTES = 4 * 2 ** 30;

/** An ONNX model's bytes as a lite-cnn `Model` (NHWC input), built with its weights. */
export async function importOnnx(bytes: Uint8Array, options: ImportOnnxOptions = {}): Promise<Model> {
  return (await readOnnx(bytes, options)).model;
}

/** `importOnnx`, also reporting the opset, the producer and the ops found (what `lite-cnn import` prints). */
export async function readOnnx(bytes: Uint8Array, options: ImportOnnxOptions = {}): Promise<OnnxImport> {
  const where = options.name ?? 'ONNX model';
  const limits = resolveLoadLimits({ maxPlannedBytes: IMPORT_PLANNED_BYTES, ...options.limits });
  const { graph, opset, producer, metadataProps } = decodeOnnx(bytes, where);
  const metadata = readMetadataProps(metadataProps, where);
  const inits = graph.initializer ?? [];
  if (inits.length > limits.maxTensors) throw new ModelFormatError(`${where}: ${inits.length} initializers, above the limit of ${limits.maxTensors} (limit maxTensors)`);

  const values = new Map<string, Value>();
  for (const [i, t] of inits.entries()) {
    const name = t.name || `#${i}`;
    if (values.has(name)) throw new ModelFormatError(`${where}: initializer '${name}' is defined twice`);
    values.set(name, { kind: 'constant', constant: readTensor(t, `${where}: initializer '${name}'`) });
  }
  const graphInput = theInput(graph, values, where);
  const available = new Set([...values.keys(), graphInput.name ?? '']);
  const sorted = sortNodes(graph.node ?? [], available, where);
  const constants = new Set([...values.keys(), ...sorted.filter((n) => n.opType === 'Constant').flatMap((n) => n.outputs)]);
  const nodes = fuseSigmoidMul(fuseMatMulAdd(sorted, (name) => constants.has(name)));

  const x = inputValue(graphInput, nodes, readInputLayout(metadataProps, where), options.inputShape, where);
  values.set(graphInput.name ?? '', x.value);
  const state: ImportState = { values, weights: new Map(), usedNames: new Set(), opset, batch: x.batch };
  for (const node of nodes) convertNode(node, state, where);

  const output = theOutput(graph, values, where);
  const model = new Model({
    inputs: x.value.tensor,
    outputs: output.tensor,
    name: options.name ?? 'onnx',
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.engine ? { engine: options.engine } : {}),
  });
  if (metadata) {
    checkMetadataForClasses(metadata, model.classes, where);
    model.metadata = metadata;
  }
  const plan = model.plan();
  checkPlanBudget(plan, 1, limits, where);
  await model.build({ batchSize: 1 });
  const weights = new Map<string, Float32Array>();
  for (const t of plan.tensors) {
    const w = state.weights.get(model.layers[t.layer]!)?.[t.role];
    if (!w) throw new ModelFormatError(`${where}: no ${t.role} for layer '${model.layers[t.layer]!.name}'`);
    weights.set(t.name, w);
  }
  model.setWeights(weights);
  const ops = new Map<string, number>();
  for (const n of sorted) ops.set(n.opType, (ops.get(n.opType) ?? 0) + 1);
  return { model, opset, producer, ops };
}

function convertNode(node: GraphNode, state: ImportState, where: string): void {
  const row = Object.hasOwn(OP_TABLE, node.opType) ? OP_TABLE[node.opType] : undefined;
  const domain = node.proto.domain ?? '';
  if (!row || (domain !== '' && domain !== 'ai.onnx')) {
    throw new ModelFormatError(`${where}: ${describeNode(node)}: unsupported op${domain && domain !== 'ai.onnx' ? ` (domain '${domain}')` : ''}; supported ops: ${SUPPORTED_OPS.join(', ')}`);
  }
  const outs = row.convert(new NodeContext(node, row.attributes, state));
  node.outputs.forEach((name, i) => {
    if (name === '') return;
    state.values.set(name, outs[i] ?? { kind: 'unavailable', reason: `output ${i} of ${describeNode(node)}` });
  });
}

/** The one graph input that is not an initializer (IR < 4 files list initializers as inputs too). */
function theInput(graph: Onnx.IGraphProto, values: ReadonlyMap<string, Value>, where: string): Onnx.IValueInfoProto {
  const inputs = (graph.input ?? []).filter((i) => !values.has(i.name ?? ''));
  if (inputs.length !== 1) throw new ModelFormatError(`${where}: the graph has ${inputs.length} inputs (${inputs.map((i) => `'${i.name}'`).join(', ')}); lite-cnn models take exactly one`);
  return inputs[0]!;
}

/**
 * The graph input as lite-cnn's NHWC input: `[n, c, h, w]`, `[n, h, w, c]`
 * (a lite-cnn export says so in its metadata_props; otherwise when every
 * reader transposes it from NHWC to NCHW, as tf2onnx writes Keras models) or `[n,
 * features]`. Symbolic dims other than the batch come from `given`.
 */
function inputValue(info: Onnx.IValueInfoProto, nodes: readonly GraphNode[], declared: OnnxInputLayout | null, given: readonly number[] | undefined, where: string): { value: TensorValue; batch: number | null } {
  const name = info.name ?? '';
  const what = `${where}: input '${name}'`;
  const tensorType = info.type?.tensorType;
  if (!tensorType) throw new ModelFormatError(`${what}: not a tensor`);
  if (tensorType.elemType !== onnx.TensorProto.DataType.FLOAT) throw new ModelFormatError(`${what}: element type ${onnx.TensorProto.DataType[tensorType.elemType ?? 0]} is not supported (float32 is)`);
  const dims = (tensorType.shape?.dim ?? []).map((d, i) => (d.dimParam || d.dimValue === null || d.dimValue === undefined ? null : int64(d.dimValue, `${what}: dim ${i}`)));
  const shown = `[${dims.map((d) => d ?? '?').join(', ')}]`;
  if (dims.length !== 4 && dims.length !== 2) throw new ModelFormatError(`${what}: dims ${shown} are not supported; expected [n, c, h, w] or [n, features]`);
  if (declared !== null && (declared === 'flat') !== (dims.length === 2)) throw new ModelFormatError(`${what}: dims ${shown} disagree with the input layout '${declared}' in metadata_props`);
  const readers = nodes.filter((n) => n.inputs.includes(name));
  const nhwc = declared !== null ? declared === 'nhwc' : dims.length === 4 && readers.length > 0 && readers.every(isNhwcToNchw);
  // The file's axis for each of lite-cnn's [h, w, c] (null: a flat input's 1).
  const axes = dims.length === 2 ? [null, null, 1] : nhwc ? [1, 2, 3] : [2, 3, 1];
  const shape = axes.map((axis, k) => {
    const fromFile = axis === null ? 1 : dims[axis]!;
    const want = given?.[k];
    if (fromFile !== null && want !== undefined && want !== fromFile) throw new ModelFormatError(`${what}: inputShape [${given!.join(', ')}] disagrees with the file's dims ${shown}`);
    const d = fromFile ?? want;
    if (d === undefined) throw new ModelFormatError(`${what}: dims ${shown} are symbolic beyond the batch; pass inputShape [h, w, c]`);
    if (!Number.isSafeInteger(d) || d < 1) throw new ModelFormatError(`${what}: dims must be positive, got ${shown}`);
    return d;
  }) as [number, number, number];
  const tensor = input({ shape: dims.length === 2 ? [shape[2]] : shape, name });
  return { value: { kind: 'tensor', tensor, rank: dims.length === 2 ? 2 : 4, layout: nhwc ? 'nhwc' : 'nchw', flatOrder: null }, batch: dims[0] ?? null };
}

/** A Transpose(perm = [0, 3, 1, 2]): how a graph that takes NHWC input starts (tf2onnx's Keras exports). */
function isNhwcToNchw(node: GraphNode): boolean {
  if (node.opType !== 'Transpose') return false;
  const perm = node.proto.attribute?.find((a) => a.name === 'perm')?.ints ?? [];
  return perm.map(Number).join(',') === '0,3,1,2';
}

function theOutput(graph: Onnx.IGraphProto, values: ReadonlyMap<string, Value>, where: string): TensorValue {
  const outputs = graph.output ?? [];
  if (outputs.length !== 1) throw new ModelFormatError(`${where}: the graph has ${outputs.length} outputs; lite-cnn models have exactly one`);
  const name = outputs[0]!.name ?? '';
  const v = values.get(name);
  if (!v || v.kind !== 'tensor') throw new ModelFormatError(`${where}: output '${name}' is ${v ? (v.kind === 'constant' ? 'a constant' : v.reason) : 'not produced by any node'}`);
  if (v.flatOrder) throw new ModelFormatError(`${where}: output '${name}' is a flattened [c, h, w] tensor in NCHW order, which lite-cnn (NHWC) cannot give as is; end the model with a Gemm, a pool or the feature map itself`);
  return v;
}
