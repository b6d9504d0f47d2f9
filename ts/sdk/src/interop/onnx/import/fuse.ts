/**
 * MatMul followed by the Add of a constant bias (how exporters write a
 * Linear layer on inputs of rank > 2, and how some write it always) becomes
 * one Gemm node, so it imports as one Dense layer with a bias.
 */
import type { GraphNode } from './graph.js';
import { readCounts } from './graph.js';

/** `nodes` (topologically sorted) with each MatMul → Add(constant) pair replaced by a Gemm at the Add's place. */
export function fuseMatMulAdd(nodes: readonly GraphNode[], isConstant: (name: string) => boolean): GraphNode[] {
  const reads = readCounts(nodes);
  const producer = new Map(nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const dropped = new Set<GraphNode>();
  const replaced = new Map<GraphNode, GraphNode>();
  for (const add of nodes) {
    if (add.opType !== 'Add' || add.inputs.length !== 2) continue;
    const k = add.inputs.findIndex((name) => isConstant(name));
    if (k < 0) continue;
    const matmul = producer.get(add.inputs[1 - k]!);
    if (!matmul || matmul.opType !== 'MatMul' || dropped.has(matmul) || reads.get(matmul.outputs[0]!) !== 1 || !isConstant(matmul.inputs[1] ?? '')) continue;
    const proto = { name: matmul.proto.name ?? '', opType: 'Gemm', input: [matmul.inputs[0]!, matmul.inputs[1]!, add.inputs[k]!], output: [...add.outputs], attribute: [] };
    dropped.add(matmul);
    replaced.set(add, { ...add, name: matmul.name, opType: 'Gemm', inputs: proto.input, outputs: proto.output, proto });
  }
  return nodes.flatMap((n) => (dropped.has(n) ? [] : [replaced.get(n) ?? n]));
}
