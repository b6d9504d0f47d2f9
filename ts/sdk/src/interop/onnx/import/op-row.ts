/** One row of the importer's op table: the attributes an ONNX op may carry and how its node becomes layers. */
import type { NodeContext } from './context.js';
import type { Value } from './values.js';

export interface OpRow {
  /** Attributes this row understands; any other is refused by name. */
  readonly attributes: readonly string[];
  /** The values of the node's first outputs (later outputs are left unavailable). */
  convert(ctx: NodeContext): Value[];
}

export type OpTable = Readonly<Record<string, OpRow>>;
