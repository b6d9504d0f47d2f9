/**
 * Node patterns that import as one layer, replaced before conversion:
 * - MatMul followed by the Add of a constant bias (how exporters write a
 *   Linear layer on inputs of rank > 2, and how some write it always)
 *   becomes one Gemm node, so it imports as one Dense layer with a bias;
 * - Sigmoid followed by Mul(x, sigmoid(x)) (how PyTorch exports SiLU, and
 *   lite-cnn's exporter swish, before opset 22 had no Swish op) becomes one
 *   `SWISH_PATTERN` node, which imports as a swish activation.
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

/** The op type `fuseSigmoidMul` gives a fused Sigmoid → Mul pair: not an ONNX op (see op-table.ts). */
export const SWISH_PATTERN = 'Sigmoid·Mul';

/** `nodes` (topologically sorted) with each Sigmoid → Mul(x, sigmoid(x)) pair (either input order, the sigmoid read by the Mul only) replaced by one `SWISH_PATTERN` node of input x at the Mul's place. */
export function fuseSigmoidMul(nodes: readonly GraphNode[]): GraphNode[] {
  const reads = readCounts(nodes);
  const producer = new Map(nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const dropped = new Set<GraphNode>();
  const replaced = new Map<GraphNode, GraphNode>();
  for (const mul of nodes) {
    if (mul.opType !== 'Mul' || mul.inputs.length !== 2) continue;
    const k = mul.inputs.findIndex((name, i) => {
      const p = producer.get(name);
      return p !== undefined && p.opType === 'Sigmoid' && p.inputs[0] === mul.inputs[1 - i] && !dropped.has(p);
    });
    if (k < 0) continue;
    const sigmoid = producer.get(mul.inputs[k]!)!;
    if (reads.get(sigmoid.outputs[0]!) !== 1 || mul.inputs[0] === mul.inputs[1]) continue;
    const proto = { name: mul.proto.name ?? '', opType: SWISH_PATTERN, input: [sigmoid.inputs[0]!], output: [...mul.outputs], attribute: [] };
    dropped.add(sigmoid);
    replaced.set(mul, { ...mul, opType: SWISH_PATTERN, inputs: proto.input, outputs: proto.output, proto });
  }
  return nodes.flatMap((n) => (dropped.has(n) ? [] : [replaced.get(n) ?? n]));
}
