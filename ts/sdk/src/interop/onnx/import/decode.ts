/**
 * Bytes to a validated ONNX ModelProto: decoded by the `onnx-proto` schema
 * (protobufjs checks every length against the buffer, so a truncated or
 * hostile file fails here without large allocations), then the parts the
 * importer relies on are checked: one graph, the default-domain opset in the
 * supported range, no sparse initializers, one input and one output.
 */
import { ModelFormatError } from '../../../errors.js';
import { int64, onnx, type Onnx } from '../proto.js';

/** The ONNX opsets (default domain) whose semantics the op table follows. */
export const SUPPORTED_OPSETS = { min: 11, max: 17 } as const;

export interface DecodedModel {
  graph: Onnx.IGraphProto;
  opset: number;
  /** `producer_name producer_version`, e.g. 'pytorch 1.13.1' ('' when unset). */
  producer: string;
  /** The file's `metadata_props` (lite-cnn's exports keep the model's metadata there). */
  metadataProps: Onnx.IStringStringEntryProto[];
}

export function decodeOnnx(bytes: Uint8Array, where: string): DecodedModel {
  if (!(bytes instanceof Uint8Array)) throw new ModelFormatError(`${where}: expected the file's bytes as a Uint8Array`);
  if (bytes.length === 0) throw new ModelFormatError(`${where}: the file is empty`);
  let model: Onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (cause) {
    throw new ModelFormatError(`${where}: not a valid ONNX model (truncated or corrupt protobuf: ${(cause as Error).message})`, { cause });
  }
  const graph = model.graph;
  if (!graph || (graph.node?.length ?? 0) === 0) throw new ModelFormatError(`${where}: no graph with nodes (is this an ONNX model file?)`);
  const opset = defaultOpset(model.opsetImport ?? [], where);
  if ((graph.sparseInitializer?.length ?? 0) > 0) throw new ModelFormatError(`${where}: sparse initializers are not supported`);
  return { graph, opset, producer: [model.producerName, model.producerVersion].filter(Boolean).join(' '), metadataProps: model.metadataProps ?? [] };
}

function defaultOpset(imports: readonly Onnx.IOperatorSetIdProto[], where: string): number {
  const found = imports.find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!found) throw new ModelFormatError(`${where}: no opset import for the default ONNX domain`);
  const version = int64(found.version, `${where}: opset version`);
  if (version < SUPPORTED_OPSETS.min || version > SUPPORTED_OPSETS.max) {
    throw new ModelFormatError(`${where}: opset ${version} is not supported; lite-cnn imports opsets ${SUPPORTED_OPSETS.min} to ${SUPPORTED_OPSETS.max} (re-export with opset_version in that range)`);
  }
  return version;
}
