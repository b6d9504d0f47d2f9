/**
 * A node's attributes, typed. Each op-table row declares the attributes it
 * understands; any other attribute is an error naming it and the supported
 * ones (silently ignoring an attribute could change the computation).
 */
import { int64, onnx, type Onnx } from '../proto.js';
import { describeNode, nodeError } from './errors.js';
import type { GraphNode } from './graph.js';

const AttributeType = onnx.AttributeProto.AttributeType;

export class Attributes {
  private readonly byName = new Map<string, Onnx.IAttributeProto>();

  constructor(
    private readonly node: GraphNode,
    supported: readonly string[],
  ) {
    for (const a of node.proto.attribute ?? []) {
      const name = a.name ?? '';
      if (!supported.includes(name)) {
        throw nodeError(node, `unsupported attribute '${name}'; ${node.opType} supports ${supported.length ? supported.join(', ') : 'no attributes'}`);
      }
      this.byName.set(name, a);
    }
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  int(name: string, fallback: number): number {
    const a = this.get(name, AttributeType.INT, 'an int');
    return a ? int64(a.i, `${this.where(name)}`) : fallback;
  }

  ints(name: string): number[] | undefined {
    const a = this.get(name, AttributeType.INTS, 'a list of ints');
    return a ? (a.ints ?? []).map((v, i) => int64(v, `${this.where(name)}[${i}]`)) : undefined;
  }

  float(name: string, fallback: number): number {
    const a = this.get(name, AttributeType.FLOAT, 'a float');
    return a ? (a.f ?? 0) : fallback;
  }

  string(name: string, fallback: string): string {
    const a = this.get(name, AttributeType.STRING, 'a string');
    return a ? new TextDecoder().decode(a.s ?? new Uint8Array()) : fallback;
  }

  tensor(name: string): Onnx.ITensorProto | undefined {
    return this.get(name, AttributeType.TENSOR, 'a tensor')?.t ?? undefined;
  }

  /** An error about attribute `name`, naming the node. */
  error(name: string, message: string): Error {
    return nodeError(this.node, `attribute '${name}' ${message}`);
  }

  private where(name: string): string {
    return `${describeNode(this.node)}: attribute '${name}'`;
  }

  private get(name: string, type: Onnx.AttributeProto.AttributeType, what: string): Onnx.IAttributeProto | undefined {
    const a = this.byName.get(name);
    if (a && a.type !== type) throw this.error(name, `must be ${what} (type ${AttributeType[a.type ?? 0] ?? a.type})`);
    return a;
  }
}
