/**
 * The IDX file format (the one MNIST ships in): magic `00 00 <type> <ndims>`,
 * `ndims` big-endian u32 dimensions, then the elements in big-endian, row-major.
 * The header is checked against the input's length before anything is
 * allocated, so a lying header fails fast instead of allocating gigabytes.
 */
import { DataError } from '../errors.js';
import { gunzip, isGzip } from './gzip.js';

/** Element type of an IDX array. */
export type IdxDtype = 'u8' | 'i8' | 'i16' | 'i32' | 'f32' | 'f64';

interface IdxDataTypes {
  u8: Uint8Array;
  i8: Int8Array;
  i16: Int16Array;
  i32: Int32Array;
  f32: Float32Array;
  f64: Float64Array;
}

/**
 * A parsed IDX array: `dtype` discriminates the kind of `data`. u8 and i8 data
 * are views over the input bytes (no copy: they share memory with it); wider
 * types are converted from big-endian into a new array.
 */
export type IdxArray<D extends IdxDtype = IdxDtype> = D extends IdxDtype
  ? { dtype: D; shape: number[]; data: IdxDataTypes[D] }
  : never;

export interface IdxOptions {
  /** Names the input (e.g. a file name) in error messages. */
  name?: string;
}

const TYPE_BYTES: ReadonlyMap<number, { dtype: IdxDtype; size: number }> = new Map([
  [0x08, { dtype: 'u8', size: 1 }],
  [0x09, { dtype: 'i8', size: 1 }],
  [0x0b, { dtype: 'i16', size: 2 }],
  [0x0c, { dtype: 'i32', size: 4 }],
  [0x0d, { dtype: 'f32', size: 4 }],
  [0x0e, { dtype: 'f64', size: 8 }],
]);

const MAX_DIMS = 8;

const hex = (b: number): string => `0x${b.toString(16).padStart(2, '0')}`;

function label(options: IdxOptions | undefined): string {
  return options?.name === undefined ? 'IDX' : `IDX '${options.name}'`;
}

function asBytes(input: Uint8Array | ArrayBuffer): Uint8Array {
  return input instanceof Uint8Array ? input : new Uint8Array(input);
}

/**
 * Reads an IDX array, gzip-compressed (`.gz`, detected by its magic) or raw.
 * Throws DataError when the bytes are not a well-formed IDX array.
 */
export async function readIdx(input: Uint8Array | ArrayBuffer, options?: IdxOptions): Promise<IdxArray> {
  let bytes = asBytes(input);
  if (isGzip(bytes)) bytes = await gunzip(bytes, label(options));
  return parseIdx(bytes, options);
}

/** Parses raw (uncompressed) IDX bytes; see readIdx for gzip input. */
export function parseIdx(input: Uint8Array | ArrayBuffer, options?: IdxOptions): IdxArray {
  const bytes = asBytes(input);
  const what = label(options);
  if (bytes.length < 4) {
    throw new DataError(`${what}: truncated header: expected at least 4 bytes (magic), got ${bytes.length}`);
  }
  const [z0, z1, typeByte, ndims] = [bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!];
  if (z0 !== 0 || z1 !== 0) {
    const hint = isGzip(bytes) ? ' (this is gzip data: use readIdx, which decompresses it)' : '';
    throw new DataError(`${what}: expected magic bytes 0x00 0x00, got ${hex(z0)} ${hex(z1)}${hint}`);
  }
  const type = TYPE_BYTES.get(typeByte);
  if (type === undefined) {
    const known = [...TYPE_BYTES].map(([b, t]) => `${hex(b)} (${t.dtype})`).join(', ');
    throw new DataError(`${what}: unknown type byte ${hex(typeByte)}; expected one of ${known}`);
  }
  if (ndims === 0 || ndims > MAX_DIMS) {
    throw new DataError(`${what}: expected 1 to ${MAX_DIMS} dimensions, got ${ndims}`);
  }
  const headerLength = 4 + 4 * ndims;
  if (bytes.length < headerLength) {
    throw new DataError(
      `${what}: truncated header: expected ${headerLength} bytes for ${ndims} dimensions, got ${bytes.length}`,
    );
  }
  const header = new DataView(bytes.buffer, bytes.byteOffset, headerLength);
  const shape: number[] = [];
  for (let i = 0; i < ndims; i++) shape.push(header.getUint32(4 + 4 * i));

  // Exact arithmetic: 8 dims of up to 2^32 - 1 overflow a double's integers.
  const needed = shape.reduce((acc, d) => acc * BigInt(d), BigInt(type.size));
  const got = BigInt(bytes.length - headerLength);
  if (needed !== got) {
    const extra = got - needed;
    const problem = extra < 0n ? 'truncated' : `${extra} trailing byte${extra === 1n ? '' : 's'}`;
    throw new DataError(
      `${what}: shape [${shape.join(', ')}] of ${type.dtype} needs ${needed} data bytes after the ` +
        `${headerLength}-byte header, got ${got} (${problem})`,
    );
  }
  const count = Number(got) / type.size;
  const offset = bytes.byteOffset + headerLength;
  return decode(type.dtype, shape, bytes.buffer, offset, count);
}

function decode(dtype: IdxDtype, shape: number[], buffer: ArrayBufferLike, offset: number, count: number): IdxArray {
  switch (dtype) {
    case 'u8':
      return { dtype, shape, data: new Uint8Array(buffer, offset, count) };
    case 'i8':
      return { dtype, shape, data: new Int8Array(buffer, offset, count) };
    case 'i16': {
      const view = new DataView(buffer, offset, count * 2);
      const out = new Int16Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2);
      return { dtype, shape, data: out };
    }
    case 'i32': {
      const view = new DataView(buffer, offset, count * 4);
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4);
      return { dtype, shape, data: out };
    }
    case 'f32': {
      const view = new DataView(buffer, offset, count * 4);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4);
      return { dtype, shape, data: out };
    }
    case 'f64': {
      const view = new DataView(buffer, offset, count * 8);
      const out = new Float64Array(count);
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8);
      return { dtype, shape, data: out };
    }
    default: {
      const unreachable: never = dtype;
      throw new DataError(`IDX: unhandled dtype ${String(unreachable)}`);
    }
  }
}
