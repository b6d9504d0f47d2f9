/**
 * Small ONNX models written with the same `onnx-proto` schema the importer
 * reads, for the op-table and hostile-file tests, and the layout helpers to
 * compare an NCHW oracle (onnxruntime-web) with lite-cnn's NHWC outputs.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export type Attr = { i: number } | { f: number } | { ints: number[] } | { s: string } | { t: InitSpec };

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs?: string[];
  name?: string;
  attrs?: Record<string, Attr>;
  domain?: string;
}

export interface InitSpec {
  dims: number[];
  data: ArrayLike<number>;
  type?: 'float' | 'int64';
  /** Raw bytes to store instead of `data` (hostile-file tests). */
  raw?: Uint8Array;
  external?: string;
}

export interface GraphSpec {
  input: { name: string; dims: (number | string)[] };
  output: string;
  nodes: NodeSpec[];
  initializers?: Record<string, InitSpec>;
  opset?: number;
}

function tensor(name: string, t: InitSpec): onnxProto.onnx.ITensorProto {
  const int64 = t.type === 'int64';
  let raw = t.raw;
  if (!raw) {
    const bytes = new Uint8Array(t.data.length * (int64 ? 8 : 4));
    const view = new DataView(bytes.buffer);
    Array.from(t.data).forEach((v, i) => (int64 ? view.setBigInt64(8 * i, BigInt(v), true) : view.setFloat32(4 * i, v, true)));
    raw = bytes;
  }
  return {
    name,
    dims: t.dims,
    dataType: int64 ? onnx.TensorProto.DataType.INT64 : onnx.TensorProto.DataType.FLOAT,
    ...(t.external ? { dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData: [{ key: 'location', value: t.external }] } : { rawData: raw }),
  };
}

function attribute(name: string, a: Attr): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('i' in a) return { name, type: T.INT, i: a.i };
  if ('f' in a) return { name, type: T.FLOAT, f: a.f };
  if ('ints' in a) return { name, type: T.INTS, ints: a.ints };
  if ('s' in a) return { name, type: T.STRING, s: new TextEncoder().encode(a.s) };
  return { name, type: T.TENSOR, t: tensor('', a.t) };
}

export function buildOnnx(g: GraphSpec): Uint8Array {
  const valueInfo = (name: string, dims: (number | string)[]) => ({
    name,
    type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
  return onnx.ModelProto.encode({
    irVersion: 8,
    producerName: 'lite-cnn tests',
    opsetImport: [{ domain: '', version: g.opset ?? 13 }],
    graph: {
      name: 'test',
      node: g.nodes.map((n, k) => ({
        name: n.name ?? `${n.op.toLowerCase()}_${k}`,
        opType: n.op,
        input: n.inputs,
        output: n.outputs ?? [`${n.name ?? `${n.op.toLowerCase()}_${k}`}_out`],
        attribute: Object.entries(n.attrs ?? {}).map(([k2, a]) => attribute(k2, a)),
        ...(n.domain ? { domain: n.domain } : {}),
      })),
      initializer: Object.entries(g.initializers ?? {}).map(([name, t]) => tensor(name, t)),
      input: [valueInfo(g.input.name, g.input.dims)],
      // The output's shape is left to the runtimes' inference.
      output: [{ name: g.output, type: { tensorType: { elemType: onnx.TensorProto.DataType.FLOAT } } }],
    },
  }).finish();
}

/** `[n, c, h, w]` ↔ `[n, h, w, c]`. */
export function nchwToNhwc(x: Float32Array, n: number, c: number, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) for (let ch = 0; ch < c; ch++) for (let i = 0; i < h * w; i++) out[(b * h * w + i) * c + ch] = x[(b * c + ch) * h * w + i]!;
  return out;
}

/** A chain of nodes from input `x` to output `y`: each node reads the previous output first, then its own `extra` inputs. */
export function chain(steps: (Omit<NodeSpec, 'inputs'> & { extra?: string[] })[]): { nodes: NodeSpec[]; output: string } {
  let prev = 'x';
  const nodes = steps.map((s, k) => {
    const out = k === steps.length - 1 ? 'y' : `v${k}`;
    const node: NodeSpec = { ...s, inputs: [prev, ...(s.extra ?? [])], outputs: [out, ...(s.outputs ?? [])] };
    prev = out;
    return node;
  });
  return { nodes, output: 'y' };
}
