/** Constant: a tensor value other nodes read as weights, bounds or shapes. */
import type { NodeContext } from '../context.js';
import type { OpTable } from '../op-row.js';
import { readTensor } from '../tensors.js';
import type { Value } from '../values.js';

function convert(ctx: NodeContext): Value[] {
  const t = ctx.attrs.tensor('value');
  if (!t) throw ctx.error(`attribute 'value' is required`);
  return [{ kind: 'constant', constant: readTensor(t, `ONNX node '${ctx.node.name}' (Constant): value`) }];
}

export const constantOps: OpTable = {
  Constant: { attributes: ['value'], convert },
};
