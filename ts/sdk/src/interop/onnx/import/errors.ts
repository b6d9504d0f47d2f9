/**
 * How importer errors name their place in an ONNX file: the node (its name,
 * or its position when unnamed) and its op.
 */
import { ModelFormatError } from '../../../errors.js';

export interface NodeRef {
  /** The node's name, or `#<index>` when the file leaves it empty. */
  readonly name: string;
  readonly opType: string;
}

export function describeNode(node: NodeRef): string {
  return `ONNX node '${node.name}' (${node.opType})`;
}

export function nodeError(node: NodeRef, message: string): ModelFormatError {
  return new ModelFormatError(`${describeNode(node)}: ${message}`);
}
