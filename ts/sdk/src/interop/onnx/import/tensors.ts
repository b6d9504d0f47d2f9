/**
 * ONNX TensorProtos (initializers, Constant values) as validated constants.
 * Every size is checked against the bytes the file actually holds before a
 * typed array is made, so a few bytes claiming a [1e9, 1e9] tensor cost
 * nothing; data outside the file (external data) and types other than
 * float32 weights and int64 shapes are refused by name.
 */
import { ModelFormatError } from '../../../errors.js';
import { int64, onnx, type Onnx } from '../proto.js';

export interface FloatConstant {
  readonly kind: 'float';
  readonly dims: readonly number[];
  readonly data: Float32Array;
}

export interface IntConstant {
  readonly kind: 'int';
  readonly dims: readonly number[];
  readonly data: readonly number[];
}

export type Constant = FloatConstant | IntConstant;

/** The largest tensor accepted, in elements (far beyond any wasm memory). */
const MAX_ELEMENTS = 2 ** 31;

const DataType = onnx.TensorProto.DataType;

/** Dims as safe non-negative integers and their element count, refusing absurd products. */
export function checkedDims(raw: readonly (number | Parameters<typeof int64>[0])[], where: string): { dims: number[]; count: number } {
  const dims = raw.map((d, i) => int64(d, `${where}: dim ${i}`));
  let count = 1;
  for (const [i, d] of dims.entries()) {
    if (d < 0) throw new ModelFormatError(`${where}: dim ${i} is ${d}; dims must be >= 0`);
    count *= d;
    if (count > MAX_ELEMENTS) throw new ModelFormatError(`${where}: dims [${dims.join(', ')}] hold more than ${MAX_ELEMENTS} elements`);
  }
  return { dims, count };
}

/** A TensorProto as a constant, validated before anything is allocated. */
export function readTensor(t: Onnx.ITensorProto, where: string): Constant {
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL || (t.externalData?.length ?? 0) > 0) {
    const location = t.externalData?.find((e) => e.key === 'location')?.value;
    throw new ModelFormatError(`${where}: its data is in an external file${location ? ` ('${location}')` : ''}; lite-cnn imports self-contained ONNX files only (save with all tensors inside the .onnx file)`);
  }
  if ((t.segment ?? null) !== null) throw new ModelFormatError(`${where}: segmented tensors are not supported`);
  const { dims, count } = checkedDims(t.dims ?? [], where);
  const raw = t.rawData && t.rawData.length > 0 ? t.rawData : null;
  switch (t.dataType) {
    case DataType.FLOAT: {
      const stored = raw ? raw.length / 4 : (t.floatData?.length ?? 0);
      if (stored !== count) throw sizeMismatch(where, dims, count, raw ? `${raw.length} bytes of raw data` : `${stored} float values`, 4);
      if (!raw) return { kind: 'float', dims, data: Float32Array.from(t.floatData ?? []) };
      const data = new Float32Array(count);
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      for (let i = 0; i < count; i++) data[i] = view.getFloat32(4 * i, true);
      return { kind: 'float', dims, data };
    }
    case DataType.INT64: {
      const stored = raw ? raw.length / 8 : (t.int64Data?.length ?? 0);
      if (stored !== count) throw sizeMismatch(where, dims, count, raw ? `${raw.length} bytes of raw data` : `${stored} int64 values`, 8);
      if (!raw) return { kind: 'int', dims, data: (t.int64Data ?? []).map((v, i) => int64(v, `${where}: value ${i}`)) };
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      const data: number[] = [];
      for (let i = 0; i < count; i++) {
        const v = view.getBigInt64(8 * i, true);
        if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) throw new ModelFormatError(`${where}: value ${i} (${v}) is not a safe integer`);
        data.push(Number(v));
      }
      return { kind: 'int', dims, data };
    }
    case DataType.BOOL: {
      // Flags such as Dropout's training_mode: one byte each, or int32_data.
      const stored = raw ? raw.length : (t.int32Data?.length ?? 0);
      if (stored !== count) throw sizeMismatch(where, dims, count, raw ? `${raw.length} bytes of raw data` : `${stored} values`, 1);
      return { kind: 'int', dims, data: Array.from(raw ?? t.int32Data ?? [], (v) => (v ? 1 : 0)) };
    }
    default: {
      const name = DataType[t.dataType ?? 0] ?? String(t.dataType);
      throw new ModelFormatError(`${where}: data type ${name} is not supported (float32 weights, int64 shapes and bool flags are)`);
    }
  }
}

function sizeMismatch(where: string, dims: readonly number[], count: number, got: string, bytesPer: number): ModelFormatError {
  return new ModelFormatError(`${where}: dims [${dims.join(', ')}] need ${count} values (${count * bytesPer} bytes), the file holds ${got}`);
}
