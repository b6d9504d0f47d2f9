/**
 * The node list of an ONNX graph in an order where every value is produced
 * before it is read. ONNX requires files to be sorted already; a hostile or
 * broken file may not be, may read values nothing produces, produce one value
 * twice, or contain a cycle: each is a typed error naming the node.
 */
import { ModelFormatError } from '../../../errors.js';
import type { Onnx } from '../proto.js';
import { describeNode, type NodeRef } from './errors.js';

export interface GraphNode extends NodeRef {
  readonly index: number;
  /** Input value names; '' is an omitted optional input. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly proto: Onnx.INodeProto;
}

/** Nodes in topological order; `available` are the values defined before any node (graph inputs, initializers). */
export function sortNodes(protos: readonly Onnx.INodeProto[], available: ReadonlySet<string>, where: string): GraphNode[] {
  const nodes = protos.map((proto, index): GraphNode => ({
    index,
    name: proto.name || `#${index}`,
    opType: proto.opType ?? '',
    inputs: proto.input ?? [],
    outputs: proto.output ?? [],
    proto,
  }));
  const producer = new Map<string, GraphNode>();
  for (const node of nodes) {
    for (const out of node.outputs) {
      if (out === '') continue;
      if (available.has(out) || producer.has(out)) throw new ModelFormatError(`${where}: ${describeNode(node)} writes '${out}', which is already defined`);
      producer.set(out, node);
    }
  }
  const waiting = new Map<GraphNode, number>();
  const readers = new Map<GraphNode, GraphNode[]>();
  const ready: GraphNode[] = [];
  for (const node of nodes) {
    let pending = 0;
    for (const name of new Set(node.inputs)) {
      if (name === '' || available.has(name)) continue;
      const from = producer.get(name);
      if (!from) throw new ModelFormatError(`${where}: ${describeNode(node)} reads '${name}', which no node, input or initializer defines`);
      pending++;
      readers.set(from, [...(readers.get(from) ?? []), node]);
    }
    waiting.set(node, pending);
    if (pending === 0) ready.push(node);
  }
  const order: GraphNode[] = [];
  while (ready.length > 0) {
    const node = ready.shift()!;
    order.push(node);
    for (const reader of readers.get(node) ?? []) {
      const left = waiting.get(reader)! - 1;
      waiting.set(reader, left);
      if (left === 0) ready.push(reader);
    }
  }
  if (order.length < nodes.length) {
    const stuck = nodes.find((n) => waiting.get(n)! > 0)!;
    throw new ModelFormatError(`${where}: the graph has a cycle (${nodes.length - order.length} nodes, e.g. ${describeNode(stuck)}, wait on each other)`);
  }
  return order;
}

/** How many nodes read each value (a value read twice by one node counts twice). */
export function readCounts(nodes: readonly GraphNode[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const node of nodes) for (const name of node.inputs) if (name !== '') counts.set(name, (counts.get(name) ?? 0) + 1);
  return counts;
}
