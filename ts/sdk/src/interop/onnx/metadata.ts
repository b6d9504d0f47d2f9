/**
 * What lite-cnn keeps in an ONNX file's `metadata_props`: the model's
 * metadata (class names, preprocessing, stain normalization, decision
 * threshold) as JSON, and the layout of the graph input.
 * The exporter writes it so onnxruntime users can read how to feed the
 * model; the importer reads it back, so a lite-cnn model survives the round
 * trip through ONNX with the same predictions (an ONNX file from elsewhere
 * has no such key and gets the default metadata).
 */
import { ModelFormatError } from '../../errors.js';
import { parseJsonWithoutDuplicates } from '../../io/json-duplicates.js';
import { checkMetadata, type ModelMetadata } from '../../model/metadata.js';
import type { Onnx } from './proto.js';

/** The key of the model's metadata (JSON) in the ONNX file's `metadata_props`. */
export const ONNX_METADATA_KEY = 'lite_cnn.metadata';

/**
 * The layout of the graph input: `[n, h, w, c]`, `[n, c, h, w]` or `[n,
 * features]`. A rank-4 input's dims alone cannot say whether it is NHWC or
 * NCHW, and a model that starts with an elementwise layer reads it directly,
 * so the importer takes the layout from here when the file has it.
 */
export const ONNX_INPUT_LAYOUT_KEY = 'lite_cnn.input_layout';
export type OnnxInputLayout = 'nhwc' | 'nchw' | 'flat';
const INPUT_LAYOUTS: readonly OnnxInputLayout[] = ['nhwc', 'nchw', 'flat'];

/** Far above any real metadata (a few class names and statistics), so a hostile file cannot make the parser chew megabytes. */
const MAX_METADATA_CHARS = 1 << 20;

export function metadataProps(metadata: ModelMetadata, inputLayout: OnnxInputLayout): Onnx.IStringStringEntryProto[] {
  return [
    { key: ONNX_METADATA_KEY, value: JSON.stringify(metadata) },
    { key: ONNX_INPUT_LAYOUT_KEY, value: inputLayout },
  ];
}

/** The value of `key`, or undefined; a key given twice is an error (readers could disagree on which counts). */
function prop(props: readonly Onnx.IStringStringEntryProto[], key: string, where: string): string | undefined {
  const entries = props.filter((p) => p.key === key);
  if (entries.length > 1) throw new ModelFormatError(`${where}: metadata_props has ${entries.length} '${key}' entries; expected one`);
  return entries[0] ? (entries[0].value ?? '') : undefined;
}

/** The graph input's layout as a lite-cnn export recorded it, or null (a file from elsewhere). */
export function readInputLayout(props: readonly Onnx.IStringStringEntryProto[], where: string): OnnxInputLayout | null {
  const value = prop(props, ONNX_INPUT_LAYOUT_KEY, where);
  if (value === undefined) return null;
  const layout = INPUT_LAYOUTS.find((l) => l === value);
  if (!layout) throw new ModelFormatError(`${where}: metadata_props '${ONNX_INPUT_LAYOUT_KEY}' is ${JSON.stringify(value.slice(0, 40))}; expected one of ${INPUT_LAYOUTS.join(', ')}`);
  return layout;
}

/** The lite-cnn metadata stored in `props`, checked, or null when the file has none. */
export function readMetadataProps(props: readonly Onnx.IStringStringEntryProto[], where: string): ModelMetadata | null {
  const text = prop(props, ONNX_METADATA_KEY, where);
  if (text === undefined) return null;
  if (text.length > MAX_METADATA_CHARS) throw new ModelFormatError(`${where}: metadata_props '${ONNX_METADATA_KEY}' is ${text.length} characters, above the limit of ${MAX_METADATA_CHARS}`);
  const entry = `metadata_props '${ONNX_METADATA_KEY}'`;
  return checkMetadata(parseJsonWithoutDuplicates(text, where, entry), `${where}: ${entry}`);
}
