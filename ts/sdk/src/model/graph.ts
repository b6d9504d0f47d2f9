/**
 * From symbolic tensors to a model graph: the layers between the model's
 * input and output in topological order, what each reads, and unique layer
 * names. Keras' functional API, limited to one input and one output.
 */
import { ConfigError } from '../errors.js';
import type { AnyLayer } from '../layers/config.js';
import { SymbolicTensor } from '../layers/symbolic.js';
import type { ModelGraph } from './plan.js';

function single(t: SymbolicTensor | readonly SymbolicTensor[], what: string, where: string): SymbolicTensor {
  const list = t instanceof SymbolicTensor ? [t] : t;
  if (!Array.isArray(list) || list.length !== 1 || !(list[0] instanceof SymbolicTensor)) {
    throw new ConfigError(`${where}: ${what} must be one symbolic tensor (lite-cnn models have one input and one output), got ${Array.isArray(list) ? `${list.length} values` : typeof t}`);
  }
  return list[0];
}

/** `conv2d`, `batch_normalization`, ...: the default name of a layer kind. */
export function defaultLayerName(kind: string): string {
  return kind.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase();
}

/** Names an unnamed layer `<kind>_<n>` (first free n), and rejects a name used twice. */
export function nameLayer(layer: AnyLayer, taken: Set<string>, where: string): void {
  const base = defaultLayerName(layer.kind);
  let n = 0;
  let name = base;
  while (layer.name === '' && taken.has(name)) name = `${base}_${++n}`;
  layer.assignName(name);
  if (taken.has(layer.name)) throw new ConfigError(`${where}: layer name '${layer.name}' is used twice`);
  taken.add(layer.name);
}

export function graphFromTensors(inputs: SymbolicTensor | readonly SymbolicTensor[], outputs: SymbolicTensor | readonly SymbolicTensor[], where: string): ModelGraph {
  const input = single(inputs, 'inputs', where);
  const output = single(outputs, 'outputs', where);
  if (input.node !== null) throw new ConfigError(`${where}: inputs must come from input({ shape }), got the output of layer '${input.node.layer.name || input.node.layer.kind}'`);
  if (output.node === null) throw new ConfigError(`${where}: outputs must be a layer's output, got an input`);
  const index = new Map<SymbolicTensor, number>();
  const nodes: { layer: AnyLayer; inputs: number[] }[] = [];
  // Depth-first from the output, inputs in order, each layer after what it reads.
  const visit = (t: SymbolicTensor, path: Set<SymbolicTensor>): number => {
    if (t === input) return -1;
    const known = index.get(t);
    if (known !== undefined) return known;
    if (t.node === null) throw new ConfigError(`${where}: the output depends on input '${t.name}', which is not the model's input`);
    if (path.has(t)) throw new ConfigError(`${where}: the graph has a cycle through layer '${t.node.layer.name}'`);
    path.add(t);
    const reads = t.node.inputs.map((x) => visit(x, path));
    path.delete(t);
    nodes.push({ layer: t.node.layer as AnyLayer, inputs: reads });
    index.set(t, nodes.length - 1);
    return nodes.length - 1;
  };
  visit(output, new Set());
  const taken = new Set<string>();
  for (const n of nodes) if (n.layer.name !== '') nameLayer(n.layer, taken, where);
  for (const n of nodes) if (n.layer.name === '') nameLayer(n.layer, taken, where);
  return { input: input.shape, nodes };
}
