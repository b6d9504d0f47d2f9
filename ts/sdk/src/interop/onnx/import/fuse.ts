/**
 * Node patterns that import as one layer, replaced before conversion:
 * - MatMul followed by the Add of a constant bias (how exporters write a
 *   Linear layer on inputs of rank > 2, and how some write it always)
 *   becomes one Gemm node, so it imports as one Dense layer with a bias;
 * - Sigmoid followed by Mul(x, sigmoid(x)) (how PyTorch exports SiLU and
 *   lite-cnn exports swish: the opsets imported here have no Swish op)
 *   becomes one `SWISH_PATTERN` node, which imports as a swish activation.
 */
import type { GraphNode } from './graph.js';
import { readCounts } from './graph.js';

/** A producer → consumer pair to fuse: the producer is dropped, the consumer replaced by `node`. */
interface Fusion {
  producer: GraphNode;
  node: GraphNode;
}

/**
 * `nodes` (topologically sorted) with every pair `match` finds fused at the
 * consumer's place. `match` sees each node as a candidate consumer, with the
 * producer of a value (undefined for inputs, constants and producers already
 * fused) and whether a value is read by exactly one node.
 */
function fusePairs(nodes: readonly GraphNode[], match: (consumer: GraphNode, producerOf: (value: string) => GraphNode | undefined, readOnce: (value: string) => boolean) => Fusion | undefined): GraphNode[] {
  const reads = readCounts(nodes);
  const producer = new Map(nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
  const dropped = new Set<GraphNode>();
  const replaced = new Map<GraphNode, GraphNode>();
  const producerOf = (value: string) => {
    const p = producer.get(value);
    return p && !dropped.has(p) ? p : undefined;
  };
  for (const consumer of nodes) {
    const fusion = match(consumer, producerOf, (value) => reads.get(value) === 1);
    if (!fusion) continue;
    dropped.add(fusion.producer);
    replaced.set(consumer, fusion.node);
  }
  return nodes.flatMap((n) => (dropped.has(n) ? [] : [replaced.get(n) ?? n]));
}

/** A node standing for `consumer` with another op type and inputs (its outputs kept). */
function rewritten(consumer: GraphNode, name: string, opType: string, inputs: string[]): GraphNode {
  const proto = { name: consumer.proto.name ?? '', opType, input: inputs, output: [...consumer.outputs], attribute: [] };
  return { ...consumer, name, opType, inputs, outputs: proto.output, proto };
}

/** `nodes` (topologically sorted) with each MatMul → Add(constant) pair replaced by a Gemm at the Add's place. */
export function fuseMatMulAdd(nodes: readonly GraphNode[], isConstant: (name: string) => boolean): GraphNode[] {
  return fusePairs(nodes, (add, producerOf, readOnce) => {
    if (add.opType !== 'Add' || add.inputs.length !== 2) return undefined;
    const k = add.inputs.findIndex((name) => isConstant(name));
    if (k < 0) return undefined;
    const matmul = producerOf(add.inputs[1 - k]!);
    if (!matmul || matmul.opType !== 'MatMul' || !readOnce(matmul.outputs[0]!) || !isConstant(matmul.inputs[1] ?? '')) return undefined;
    return { producer: matmul, node: rewritten(add, matmul.name, 'Gemm', [matmul.inputs[0]!, matmul.inputs[1]!, add.inputs[k]!]) };
  });
}

/** The op type `fuseSigmoidMul` gives a fused Sigmoid → Mul pair: not an ONNX op (see op-table.ts). */
export const SWISH_PATTERN = 'Sigmoid·Mul';

/** `nodes` (topologically sorted) with each Sigmoid → Mul(x, sigmoid(x)) pair (either input order, the sigmoid read by the Mul only) replaced by one `SWISH_PATTERN` node of input x at the Mul's place. */
export function fuseSigmoidMul(nodes: readonly GraphNode[]): GraphNode[] {
  return fusePairs(nodes, (mul, producerOf, readOnce) => {
    if (mul.opType !== 'Mul' || mul.inputs.length !== 2 || mul.inputs[0] === mul.inputs[1]) return undefined;
    for (const k of [0, 1]) {
      const sigmoid = producerOf(mul.inputs[k]!);
      if (sigmoid?.opType === 'Sigmoid' && sigmoid.inputs[0] === mul.inputs[1 - k] && readOnce(sigmoid.outputs[0]!)) {
        return { producer: sigmoid, node: rewritten(mul, mul.name, SWISH_PATTERN, [sigmoid.inputs[0]!]) };
      }
    }
    return undefined;
  });
}
