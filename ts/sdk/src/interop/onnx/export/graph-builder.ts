/**
 * Collects the nodes and initializers of one ONNX graph: unique tensor names,
 * typed attributes and float32/int64 initializers (float data as little-endian
 * `raw_data`). Layer exporters use it and never touch protobuf messages.
 */
import { writeLittleEndian } from '../../../io/little-endian.js';
import { onnx, type Onnx } from '../proto.js';

export type AttributeValue = number | readonly number[] | { float: number };

export interface NodeArgs {
  /** Names the node (and its output) after the layer it comes from. */
  name: string;
  inputs: readonly string[];
  attributes?: Record<string, AttributeValue>;
}

export class GraphBuilder {
  readonly nodes: Onnx.INodeProto[] = [];
  readonly initializers: Onnx.ITensorProto[] = [];
  private readonly taken = new Set<string>();

  /** `base`, or `base_1`, `base_2`, ... when taken: every tensor and node name is unique. */
  unique(base: string): string {
    let name = base;
    for (let n = 1; this.taken.has(name); n++) name = `${base}_${n}`;
    this.taken.add(name);
    return name;
  }

  /** Reserves a name given from outside (the graph's input). */
  reserve(name: string): string {
    this.taken.add(name);
    return name;
  }

  /** Adds a node with one output and returns the output's name. */
  node(opType: string, args: NodeArgs): string {
    const output = this.unique(args.name);
    this.nodes.push({
      opType,
      name: output,
      input: [...args.inputs],
      output: [output],
      attribute: Object.entries(args.attributes ?? {}).map(([name, value]) => attribute(name, value)),
    });
    return output;
  }

  float32(name: string, dims: readonly number[], data: Float32Array): string {
    const unique = this.unique(name);
    const raw = new Uint8Array(data.byteLength);
    writeLittleEndian(data, 4, raw, 0);
    this.initializers.push({ name: unique, dims: [...dims], dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw });
    return unique;
  }

  int64(name: string, values: readonly number[]): string {
    const unique = this.unique(name);
    this.initializers.push({ name: unique, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, int64Data: [...values] });
    return unique;
  }

  /** A float32 scalar (Clip's bounds). */
  scalar(name: string, value: number): string {
    return this.float32(name, [], new Float32Array([value]));
  }
}

/** Integers as INT/INTS, `{ float }` as FLOAT: ONNX attributes are typed and the op's schema says which. */
function attribute(name: string, value: AttributeValue): Onnx.IAttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  if (typeof value === 'number') return { name, type: AttributeType.INT, i: value };
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  return { name, type: AttributeType.INTS, ints: [...value] };
}
