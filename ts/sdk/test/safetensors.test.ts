import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  ModelFormatError,
  ShapeError,
  decodeSafetensors,
  encodeSafetensors,
  withSafetensorsMetadata,
  readSafetensorsMetadata,
  type SafetensorsEntry,
  type SafetensorsFile,
  type SafetensorsTensor,
} from '@lite-cnn/sdk';
import { findDuplicateKey } from '../src/io/json-duplicates.js';
import { readLittleEndian, writeLittleEndian } from '../src/io/little-endian.js';
import { mulberry32 as prng } from './seeded-random.js';

const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** A file from a raw header text (not padded) and data bytes, with a correct length field unless `claimed`. */
function rawFile(header: string | object, data: ArrayLike<number> | number = 0, claimed?: bigint): Uint8Array {
  const json = typeof header === 'string' ? utf8(header) : utf8(JSON.stringify(header));
  const payload = typeof data === 'number' ? new Uint8Array(data) : Uint8Array.from(data);
  const out = new Uint8Array(8 + json.length + payload.length);
  new DataView(out.buffer).setBigUint64(0, claimed ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(payload, 8 + json.length);
  return out;
}

/** One tensor entry of a header. */
const entry = (dtype: string, shape: unknown, offsets: unknown): object => ({ dtype, shape, data_offsets: offsets });

/** The bytes of a typed array, for comparisons that must also hold for NaN payloads and -0. */
const bytesOf = (a: ArrayBufferView): number[] => [...new Uint8Array(a.buffer, a.byteOffset, a.byteLength)];

/** Asserts decoding throws a ModelFormatError whose message matches; returns the message. */
function expectFormatError(bytes: Uint8Array, message: RegExp, options?: { maxHeaderBytes?: number }): string {
  let caught: unknown;
  try {
    decodeSafetensors(bytes, options);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ModelFormatError);
  expect((caught as Error).message).toMatch(message);
  return (caught as Error).message;
}

const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Every dtype with awkward values: extremes, -0, NaN/Infinity, raw half-float bits. */
const EVERY_DTYPE: SafetensorsEntry[] = [
  { name: 'f64', dtype: 'F64', shape: [2, 3], data: new Float64Array([0, -0, 1.5, -1e308, Infinity, NaN]) },
  { name: 'f32', dtype: 'F32', shape: [5], data: new Float32Array([3.25, -0, NaN, -Infinity, 1e-45]) },
  { name: 'f16', dtype: 'F16', shape: [3], data: new Uint16Array([0x3c00, 0xc000, 0x7e00]) },
  { name: 'bf16', dtype: 'BF16', shape: [1, 2], data: new Uint16Array([0x3f80, 0xbf80]) },
  { name: 'i64', dtype: 'I64', shape: [3], data: new BigInt64Array([-(2n ** 63n), -1n, 2n ** 63n - 1n]) },
  { name: 'i32', dtype: 'I32', shape: [2, 2], data: new Int32Array([-(2 ** 31), -1, 0, 2 ** 31 - 1]) },
  { name: 'i16', dtype: 'I16', shape: [3], data: new Int16Array([-32768, -2, 32767]) },
  { name: 'i8', dtype: 'I8', shape: [3], data: new Int8Array([-128, -1, 127]) },
  { name: 'u64', dtype: 'U64', shape: [2], data: new BigUint64Array([0n, 2n ** 64n - 1n]) },
  { name: 'u32', dtype: 'U32', shape: [2], data: new Uint32Array([0, 2 ** 32 - 1]) },
  { name: 'u16', dtype: 'U16', shape: [2], data: new Uint16Array([0x0102, 0xffff]) },
  { name: 'u8', dtype: 'U8', shape: [3], data: new Uint8Array([0, 128, 255]) },
  { name: 'bool', dtype: 'BOOL', shape: [4], data: new Uint8Array([1, 0, 0, 1]) },
];

const ARRAY_CLASS: Record<string, string> = {
  F64: 'Float64Array', F32: 'Float32Array', F16: 'Uint16Array', BF16: 'Uint16Array', I64: 'BigInt64Array',
  I32: 'Int32Array', I16: 'Int16Array', I8: 'Int8Array', U64: 'BigUint64Array', U32: 'Uint32Array',
  U16: 'Uint16Array', U8: 'Uint8Array', BOOL: 'Uint8Array',
};

function expectSameTensors(file: SafetensorsFile, entries: readonly SafetensorsEntry[]): void {
  expect([...file.tensors.keys()]).toEqual(entries.map((e) => e.name));
  for (const e of entries) {
    const t = file.tensors.get(e.name)!;
    expect(t.dtype).toBe(e.dtype);
    expect(t.shape).toEqual(e.shape);
    expect(t.data.constructor.name).toBe(ARRAY_CLASS[e.dtype]);
    expect(t.data.length).toBe(product(e.shape));
    expect(bytesOf(t.data)).toEqual(bytesOf(e.data));
  }
}

describe('encodeSafetensors / decodeSafetensors: round trips', () => {
  it('every dtype, values and array classes preserved', () => {
    const file = decodeSafetensors(encodeSafetensors(EVERY_DTYPE, { format: 'lite-cnn', version: '1' }));
    expectSameTensors(file, EVERY_DTYPE);
    expect(file.metadata).toEqual({ format: 'lite-cnn', version: '1' });
    const i64 = file.tensors.get('i64')!;
    expect(i64.dtype === 'I64' && [...i64.data]).toEqual([-(2n ** 63n), -1n, 2n ** 63n - 1n]);
    const f32 = file.tensors.get('f32')!;
    expect(Object.is(f32.data[1], -0)).toBe(true);
    expect(f32.data[2]).toBeNaN();
  });

  it('empty tensors ([0], [2, 0, 3]) and scalars (shape [])', () => {
    const entries: SafetensorsEntry[] = [
      { name: 'empty', dtype: 'F32', shape: [0], data: new Float32Array(0) },
      { name: 'scalar', dtype: 'F64', shape: [], data: new Float64Array([2.5]) },
      { name: 'empty3d', dtype: 'I64', shape: [2, 0, 3], data: new BigInt64Array(0) },
      { name: 'scalar_bool', dtype: 'BOOL', shape: [], data: new Uint8Array([1]) },
    ];
    const bytes = encodeSafetensors(entries);
    expectSameTensors(decodeSafetensors(bytes), entries);
    // Two zero-byte tensors may share an offset; neither covers anything.
    const twoEmpty = rawFile({ a: entry('U8', [0], [0, 0]), b: entry('F32', [0, 5], [0, 0]) });
    expect([...decodeSafetensors(twoEmpty).tensors.keys()]).toEqual(['a', 'b']);
    // A file with no tensors at all.
    const none = decodeSafetensors(encodeSafetensors([]));
    expect(none.tensors.size).toBe(0);
    expect(none.metadata).toEqual({});
  });

  it('input at an unaligned byteOffset (3), from an ArrayBuffer and from shared memory', () => {
    const bytes = encodeSafetensors(EVERY_DTYPE);
    const outer = new Uint8Array(bytes.length + 7);
    outer.set(bytes, 3);
    const unaligned = outer.subarray(3, 3 + bytes.length);
    expect(unaligned.byteOffset % 8).toBe(3);
    expectSameTensors(decodeSafetensors(unaligned), EVERY_DTYPE);
    expectSameTensors(decodeSafetensors(bytes.slice().buffer), EVERY_DTYPE);
    const shared = new Uint8Array(new SharedArrayBuffer(bytes.length));
    shared.set(bytes);
    expectSameTensors(decodeSafetensors(shared), EVERY_DTYPE);
  });

  it('decoded arrays are aligned copies that share no memory with the file', () => {
    const bytes = encodeSafetensors(EVERY_DTYPE);
    const file = decodeSafetensors(bytes);
    for (const t of file.tensors.values()) {
      expect(t.data.byteOffset).toBe(0);
      expect(t.data.buffer).not.toBe(bytes.buffer);
    }
    bytes.fill(0xee, 8);
    expectSameTensors(file, EVERY_DTYPE);
  });

  it('encodes views with a byteOffset (a subarray of a larger array) and from shared memory', () => {
    const big = new Float32Array([9, 9, 1, 2, 3, 9]);
    const shared = new Int32Array(new SharedArrayBuffer(12));
    shared.set([7, -8, 9]);
    const file = decodeSafetensors(
      encodeSafetensors([
        { name: 'sub', dtype: 'F32', shape: [3], data: big.subarray(2, 5) },
        { name: 'shared', dtype: 'I32', shape: [3], data: shared },
      ]),
    );
    expect([...file.tensors.get('sub')!.data]).toEqual([1, 2, 3]);
    expect([...file.tensors.get('shared')!.data]).toEqual([7, -8, 9]);
  });

  it('is deterministic: tensors in the given order, metadata keys sorted, 8-byte space padding', () => {
    const a = encodeSafetensors(EVERY_DTYPE, { b: '2', a: '1', __proto__x: '' });
    const b = encodeSafetensors(EVERY_DTYPE, { __proto__x: '', a: '1', b: '2' });
    expect(b).toEqual(a);
    const headerLength = Number(new DataView(a.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const header = new TextDecoder().decode(a.subarray(8, 8 + headerLength));
    expect(header).toMatch(/^\{"__metadata__":\{"__proto__x":"","a":"1","b":"2"\},"f64":\{/);
    expect(header.trimEnd().endsWith('}')).toBe(true);
    expect(header.length - header.trimEnd().length).toBeLessThan(8);
    // Data follow in the given order, densely: each tensor begins where the previous ended.
    const parsed = JSON.parse(header) as Record<string, { data_offsets: [number, number] }>;
    let at = 0;
    for (const e of EVERY_DTYPE) {
      expect(parsed[e.name]!.data_offsets).toEqual([at, at + e.data.byteLength]);
      at += e.data.byteLength;
    }
    expect(a.length).toBe(8 + headerLength + at);
  });

  it('metadata keys such as "__proto__" stay plain data; names may be any non-empty Unicode', () => {
    const metadata = Object.fromEntries([['__proto__', 'x'], ['ключ', 'значение ✓']]) as Record<string, string>;
    const names = ['__proto__', '0', 'layers.0.kernel', 'ветка/😀', ' '];
    const entries: SafetensorsEntry[] = names.map((name, i) => ({ name, dtype: 'U8', shape: [1], data: new Uint8Array([i]) }));
    const file = decodeSafetensors(encodeSafetensors(entries, metadata));
    expect(Object.getPrototypeOf(file.metadata)).toBe(Object.prototype);
    expect(Object.entries(file.metadata)).toEqual(Object.entries(metadata));
    expectSameTensors(file, entries);
  });
});

describe('withSafetensorsMetadata', () => {
  it('adds and replaces metadata entries and leaves the tensors as they were', () => {
    const tensors: SafetensorsEntry[] = [{ name: 'w', dtype: 'F32', shape: [2, 2], data: Float32Array.of(1, -2, 3.5, 1e-30) }, { name: 'n', dtype: 'I32', shape: [1], data: Int32Array.of(7) }];
    const file = withSafetensorsMetadata(encodeSafetensors(tensors, { kept: 'a', replaced: 'old' }), { replaced: 'new', added: '{"epoch":3}' });
    expect(file).toEqual(encodeSafetensors(tensors, { kept: 'a', replaced: 'new', added: '{"epoch":3}' }));
    expect(decodeSafetensors(file).metadata).toEqual({ added: '{"epoch":3}', kept: 'a', replaced: 'new' });
  });

  it('rewrites only the header: a file without metadata, a header that changes length, and a defective file refused', () => {
    const tensors: SafetensorsEntry[] = [{ name: 'a', dtype: 'F32', shape: [3], data: Float32Array.of(1, 2, 3) }, { name: 'b', dtype: 'U8', shape: [5], data: Uint8Array.of(1, 2, 3, 4, 5) }];
    for (const added of [{ s: 'x' }, { long: 'y'.repeat(1001) }]) {
      const file = withSafetensorsMetadata(encodeSafetensors(tensors), added);
      expect(file).toEqual(encodeSafetensors(tensors, added));
    }
    const bytes = encodeSafetensors(tensors, { k: 'v' });
    expect(() => withSafetensorsMetadata(bytes.subarray(0, bytes.length - 1), { s: 'x' })).toThrow(ModelFormatError);
  });
});

describe('readSafetensorsMetadata', () => {
  it("reads the metadata without the tensors, validating the header as decodeSafetensors does", () => {
    const tensors: SafetensorsEntry[] = [{ name: 'w', dtype: 'F32', shape: [2], data: Float32Array.of(1, 2) }];
    expect(readSafetensorsMetadata(encodeSafetensors(tensors, { state: '{"epoch":2}' }))).toEqual({ state: '{"epoch":2}' });
    expect(readSafetensorsMetadata(encodeSafetensors(tensors))).toEqual({});
    const bytes = encodeSafetensors(tensors, { state: 's' });
    const truncated = bytes.subarray(0, bytes.length - 4);
    expect(() => readSafetensorsMetadata(truncated, { name: 'cut.safetensors' })).toThrow(ModelFormatError);
    expect(() => readSafetensorsMetadata(truncated, { name: 'cut.safetensors' })).toThrow(/safetensors 'cut.safetensors'/);
    expect(() => decodeSafetensors(truncated)).toThrow(ModelFormatError);
  });
});

describe('encodeSafetensors: exact bytes', () => {
  it('a hand-computed file: one F32 tensor and one metadata entry', () => {
    const bytes = encodeSafetensors([{ name: 'w', dtype: 'F32', shape: [2], data: new Float32Array([1, -2]) }], { v: '1' });
    // 79 bytes of JSON, padded with one space to 80 = 0x50.
    const header = '{"__metadata__":{"v":"1"},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} ';
    expect(header.length).toBe(80);
    const expected = [
      ...[0x50, 0, 0, 0, 0, 0, 0, 0],
      ...utf8(header),
      ...[0x00, 0x00, 0x80, 0x3f], // 1.0f little-endian
      ...[0x00, 0x00, 0x00, 0xc0], // -2.0f
    ];
    expect([...bytes]).toEqual(expected);
  });

  it('no metadata: no __metadata__ key; a U8 scalar', () => {
    const bytes = encodeSafetensors([{ name: 'a', dtype: 'U8', shape: [], data: new Uint8Array([7]) }]);
    // 52 bytes of JSON + 4 spaces = 56 = 0x38.
    const header = '{"a":{"dtype":"U8","shape":[],"data_offsets":[0,1]}}    ';
    expect([...bytes]).toEqual([0x38, 0, 0, 0, 0, 0, 0, 0, ...utf8(header), 7]);
  });
});

describe('decodeSafetensors: malformed files', () => {
  const good = { a: entry('F32', [2], [0, 8]) };

  it('shorter than 8 bytes', () => {
    expectFormatError(new Uint8Array(0), /expected at least 8 bytes \(the header length\), got 0/);
    expectFormatError(new Uint8Array(5), /expected at least 8 bytes \(the header length\), got 5/);
  });

  it('a header length of 2^60 (or 2^64 - 1) on a 100-byte file fails fast, before any allocation', () => {
    const file = new Uint8Array(100);
    new DataView(file.buffer).setBigUint64(0, 2n ** 60n, true);
    const t0 = performance.now();
    expectFormatError(
      file,
      /header length 1152921504606846976 bytes is larger than the 92 bytes after the length field/,
    );
    new DataView(file.buffer).setBigUint64(0, 2n ** 64n - 1n, true);
    expectFormatError(file, /header length 18446744073709551615 bytes is larger than the 92 bytes/, {
      maxHeaderBytes: Number.MAX_SAFE_INTEGER,
    });
    expect(performance.now() - t0).toBeLessThan(100);
  });

  it('header longer than the file by one byte, or than maxHeaderBytes', () => {
    const file = rawFile(good, 8);
    const length = file.length - 8 - 8;
    expectFormatError(
      rawFile(good, 8, BigInt(file.length - 8 + 1)),
      /is larger than the \d+ bytes after the length field/,
    );
    expectFormatError(file, new RegExp(`header length ${length} bytes exceeds the limit of 16 \\(maxHeaderBytes\\)`), {
      maxHeaderBytes: 16,
    });
    expect(decodeSafetensors(file, { maxHeaderBytes: length }).tensors.size).toBe(1);
  });

  it('invalid maxHeaderBytes is a ConfigError', () => {
    expect(() => decodeSafetensors(rawFile(good, 8), { maxHeaderBytes: -1 })).toThrow(ConfigError);
    expect(() => decodeSafetensors(rawFile(good, 8), { maxHeaderBytes: 1.5 })).toThrow(
      /maxHeaderBytes.*non-negative integer/,
    );
  });

  it('header not UTF-8, with a byte-order mark, not JSON, empty', () => {
    const bad = rawFile('{"a":1}');
    bad[10] = 0xff;
    expectFormatError(bad, /expected the 7-byte header to be UTF-8, got invalid bytes/);
    expectFormatError(rawFile('\ufeff{}'), /expected the header to be JSON, got a parse error/);
    expectFormatError(rawFile('{"a":'), /expected the header to be JSON, got a parse error/);
    expectFormatError(rawFile(''), /expected the header to be JSON/);
    expectFormatError(rawFile('{}\0'), /expected the header to be JSON/);
  });

  it('header not an object', () => {
    expectFormatError(rawFile('[]'), /expected the header to be a JSON object, got the array \[\]/);
    expectFormatError(rawFile('null'), /expected the header to be a JSON object, got null/);
    expectFormatError(rawFile('"x"'), /expected the header to be a JSON object, got the string 'x'/);
    expectFormatError(rawFile('12'), /expected the header to be a JSON object, got number 12/);
  });

  it('entries that are not objects, missing or unexpected keys', () => {
    expectFormatError(rawFile({ a: 1 }), /tensor 'a': expected an object \{dtype, shape, data_offsets\}, got number 1/);
    expectFormatError(rawFile({ a: [1] }), /tensor 'a': expected an object .*got the array \[1\]/);
    expectFormatError(rawFile({ a: null }), /tensor 'a': expected an object .*got null/);
    expectFormatError(rawFile({ a: { dtype: 'U8', shape: [1] } }, 1), /tensor 'a': missing key 'data_offsets'/);
    expectFormatError(
      rawFile({ a: { ...entry('U8', [1], [0, 1]), offsets: [0, 1] } }, 1),
      /tensor 'a': unexpected key 'offsets'/,
    );
  });

  it('empty or lone-surrogate tensor names', () => {
    expectFormatError(
      rawFile({ '': entry('U8', [1], [0, 1]) }, 1),
      /expected non-empty tensor names, got an empty one/,
    );
    expectFormatError(rawFile('{"\\ud800":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1), /lone surrogate/);
  });

  it('unknown dtypes', () => {
    for (const dtype of ['F8_E4M3', 'f32', 'float32', '']) {
      expectFormatError(
        rawFile({ a: entry(dtype, [1], [0, 1]) }, 1),
        /tensor 'a': unknown dtype the string '.*'; expected one of F64, F32/,
      );
    }
    expectFormatError(rawFile({ a: { dtype: 4, shape: [1], data_offsets: [0, 1] } }, 1), /unknown dtype number 4/);
    // A key that exists on every object's prototype is not a dtype either.
    expectFormatError(rawFile({ a: entry('constructor', [1], [0, 1]) }, 1), /unknown dtype the string 'constructor'/);
  });

  it('shapes that are not arrays of non-negative safe integers', () => {
    const cases: unknown[] = [3, '3', null, [-1], [1.5], ['2'], [null], [2 ** 53], [[2]], {}];
    for (const shape of cases) {
      expectFormatError(
        rawFile({ a: entry('U8', shape, [0, 1]) }, 1),
        /tensor 'a': expected shape to be an array of non-negative integers, got /,
      );
    }
  });

  it('data_offsets not two non-negative integers, or begin > end', () => {
    const cases: unknown[] = [null, 0, [0], [0, 1, 2], [-1, 0], [0, 1.5], ['0', '1'], [0, 2 ** 53]];
    for (const offsets of cases) {
      expectFormatError(
        rawFile({ a: entry('U8', [1], offsets) }, 1),
        /tensor 'a': expected data_offsets to be two non-negative integers \[begin, end\], got /,
      );
    }
    expectFormatError(
      rawFile({ a: entry('U8', [1], [1, 0]) }, 1),
      /tensor 'a': expected data_offsets begin <= end, got \[1, 0\]/,
    );
  });

  it('end beyond the data buffer', () => {
    expectFormatError(
      rawFile(good, 4),
      /tensor 'a': data_offsets \[0, 8\] end beyond the data buffer: expected end <= 4, got 8/,
    );
  });

  it('byte length differs from product(shape) * dtype size', () => {
    expectFormatError(
      rawFile({ a: entry('F32', [3], [0, 8]) }, 8),
      /tensor 'a': shape \[3\] of F32 needs 12 bytes, got data_offsets \[0, 8\] \(8 bytes\)/,
    );
    expectFormatError(
      rawFile({ a: entry('F64', [], [0, 4]) }, 4),
      /shape \[\] of F64 needs 8 bytes, got data_offsets \[0, 4\]/,
    );
    expectFormatError(
      rawFile({ a: entry('U8', [0], [0, 1]) }, 1),
      /shape \[0\] of U8 needs 0 bytes, got data_offsets \[0, 1\] \(1 bytes\)/,
    );
  });

  it('huge shapes cannot overflow into a match (exact arithmetic)', () => {
    // 2^32 * 2^30 * 4 bytes = 2^64: zero in wrapping u64 arithmetic, and 2^62 * 4 wraps to 0 likewise.
    expectFormatError(
      rawFile({ a: entry('F32', [2 ** 32, 2 ** 30], [0, 0]) }),
      /shape \[4294967296, 1073741824\] of F32 needs at least 2\^64 bytes, got data_offsets \[0, 0\]/,
    );
    expectFormatError(
      rawFile({ a: entry('U8', [2 ** 52, 2 ** 52, 2 ** 52, 2 ** 52], [0, 0]) }),
      /needs at least 2\^64 bytes/,
    );
    // 3 * (2^53 - 1) is not a safe integer: a double product would be rounded.
    expectFormatError(rawFile({ a: entry('U8', [3, 2 ** 53 - 1], [0, 4]) }, 4), /needs 27021597764222973 bytes/);
    // A zero dimension makes any shape empty, however large the others.
    const zero = decodeSafetensors(rawFile({ a: entry('F64', [2 ** 52, 0, 2 ** 52], [0, 0]) }));
    expect(zero.tensors.get('a')!.data.length).toBe(0);
  });

  it('overlapping tensors, aliases, gaps and trailing bytes (the data buffer must be covered exactly)', () => {
    expectFormatError(
      rawFile({ a: entry('U8', [4], [0, 4]), b: entry('U8', [4], [2, 6]), c: entry('U8', [2], [6, 8]) }, 8),
      /tensor 'b' data_offsets \[2, 6\] overlaps tensor 'a' \[0, 4\]; expected it to begin at 4/,
    );
    expectFormatError(
      rawFile({ a: entry('F32', [1], [0, 4]), b: entry('I32', [1], [0, 4]) }, 4),
      /tensor 'b' data_offsets \[0, 4\] overlaps tensor 'a' \[0, 4\]/,
    );
    expectFormatError(
      rawFile({ a: entry('U8', [4], [0, 4]), e: entry('U8', [0], [2, 2]) }, 4),
      /tensor 'e' data_offsets \[2, 2\] overlaps tensor 'a'/,
    );
    expectFormatError(
      rawFile({ a: entry('U8', [4], [0, 4]), b: entry('U8', [4], [6, 10]) }, 10),
      /gap of 2 bytes after tensor 'a': expected tensor 'b' data_offsets \[6, 10\] to begin at 4/,
    );
    expectFormatError(rawFile({ a: entry('U8', [4], [2, 6]) }, 6), /gap of 2 bytes at the start of the data buffer/);
    expectFormatError(
      rawFile({ a: entry('U8', [4], [0, 4]) }, 6),
      /2 trailing bytes: expected the data buffer to end at byte 4 .*got 6 bytes/,
    );
    expectFormatError(rawFile({}, 3), /3 trailing bytes/);
    // The same tensors out of header order are fine: coverage is by offset.
    const file = decodeSafetensors(rawFile({ b: entry('U8', [2], [2, 4]), a: entry('U8', [2], [0, 2]) }, [1, 2, 3, 4]));
    expect([...file.tensors.keys()]).toEqual(['a', 'b']);
  });

  it('__metadata__ that is not an object of strings', () => {
    expectFormatError(rawFile({ __metadata__: { k: 1 } }), /__metadata__ 'k': expected a string value, got number 1/);
    expectFormatError(rawFile({ __metadata__: { k: null } }), /__metadata__ 'k': expected a string value, got null/);
    expectFormatError(
      rawFile({ __metadata__: { k: { v: 'x' } } }),
      /__metadata__ 'k': expected a string value, got an object/,
    );
    expectFormatError(
      rawFile({ __metadata__: ['x'] }),
      /expected __metadata__ to be an object of strings, got the array/,
    );
    expectFormatError(rawFile({ __metadata__: null }), /expected __metadata__ to be an object of strings, got null/);
    expectFormatError(
      rawFile({ __metadata__: 'x' }),
      /expected __metadata__ to be an object of strings, got the string 'x'/,
    );
  });

  it('duplicate keys, which JSON.parse would silently merge', () => {
    const u8 = '{"dtype":"U8","shape":[1],"data_offsets":[0,1]}';
    const u8b = '{"dtype":"U8","shape":[1],"data_offsets":[1,2]}';
    expectFormatError(
      rawFile(`{"a":${u8},"a":${u8b}}`, 2),
      /duplicate tensor name 'a' in the header; expected each key once/,
    );
    // The second "a" is escaped; JSON.parse still sees one key.
    expectFormatError(rawFile(`{"a":${u8}, "\\u0061" : ${u8b}}`, 2), /duplicate tensor name 'a'/);
    expectFormatError(
      rawFile(`{"__metadata__":{},"a":${u8},"__metadata__":{}}`, 1),
      /duplicate tensor name '__metadata__'/,
    );
    expectFormatError(
      rawFile('{"a":{"dtype":"F32","dtype":"U8","shape":[1],"data_offsets":[0,1]}}', 1),
      /duplicate key 'dtype' in header object 'a'/,
    );
    expectFormatError(
      rawFile(`{"__metadata__":{"k":"1","k":"2"},"a":${u8}}`, 1),
      /duplicate key 'k' in header object '__metadata__'/,
    );
  });

  it('hostile headers: deep nesting and huge arrays give short messages, never a stack overflow', () => {
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    expectFormatError(
      rawFile(`{"__metadata__":${deep}}`),
      /expected __metadata__ to be an object of strings, got the array \[\[\.\.\.\]\]/,
    );
    expectFormatError(
      rawFile(`{"a":{"dtype":"U8","shape":${deep},"data_offsets":[0,0]}}`),
      /expected shape to be an array of non-negative integers, got the array \[\[\.\.\.\]\]/,
    );
    expectFormatError(rawFile(`{"a":${deep}}`), /tensor 'a': expected an object .*got the array \[\[\.\.\.\]\]/);
    const long = JSON.stringify(new Array(100_000).fill(2 ** 40));
    const message = expectFormatError(
      rawFile(`{"a":{"dtype":"U8","shape":${long},"data_offsets":[0,0]}}`),
      /shape \[1099511627776, .*\.\.\. \(100000 items\)\] of U8 needs at least 2\^64 bytes/,
    );
    expect(message.length).toBeLessThan(400);
    const longName = expectFormatError(rawFile({ ['n'.repeat(10_000)]: 1 }), /tensor 'n+\.\.\.': expected an object/);
    expect(longName.length).toBeLessThan(300);
  });

  it('BOOL bytes other than 0 and 1', () => {
    expectFormatError(
      rawFile({ b: entry('BOOL', [3], [0, 3]) }, [1, 0, 2]),
      /tensor 'b' \(BOOL\): element 2 is 2; expected 0 or 1/,
    );
  });

  it('names the input in messages when given a name', () => {
    expect(() => decodeSafetensors(new Uint8Array(2), { name: 'model.safetensors' })).toThrow(
      /^safetensors 'model\.safetensors': truncated/,
    );
  });
});

describe('encodeSafetensors: invalid input', () => {
  const f32 = (name: string, shape: number[], n: number): SafetensorsEntry => ({
    name,
    dtype: 'F32',
    shape,
    data: new Float32Array(n),
  });

  it('names: empty, duplicate, reserved, lone surrogate', () => {
    expect(() => encodeSafetensors([f32('', [1], 1)])).toThrow(ConfigError);
    expect(() => encodeSafetensors([f32('', [1], 1)])).toThrow(
      /tensor 0: expected a non-empty string name, got the string ''/,
    );
    expect(() => encodeSafetensors([f32('a', [1], 1), f32('b', [1], 1), f32('a', [1], 1)])).toThrow(
      /tensor 2 'a': duplicate name; expected each tensor name once/,
    );
    expect(() => encodeSafetensors([f32('__metadata__', [1], 1)])).toThrow(/reserved for the file's metadata/);
    expect(() => encodeSafetensors([f32('x\ud800', [1], 1)])).toThrow(/lone surrogate/);
    expect(() => encodeSafetensors([{ ...f32('a', [1], 1), name: 7 } as unknown as SafetensorsEntry])).toThrow(
      /expected a non-empty string name, got number 7/,
    );
  });

  it('dtypes and data arrays that do not match', () => {
    const wrongArray = { name: 'w', dtype: 'F32', shape: [2], data: new Float64Array(2) } as unknown as SafetensorsEntry;
    expect(() => encodeSafetensors([wrongArray])).toThrow(ConfigError);
    expect(() => encodeSafetensors([wrongArray])).toThrow(
      /tensor 0 'w': dtype F32 expects data of type Float32Array, got Float64Array/,
    );
    const plain = { name: 'p', dtype: 'I32', shape: [2], data: [1, 2] } as unknown as SafetensorsEntry;
    expect(() => encodeSafetensors([plain])).toThrow(/expects data of type Int32Array, got the array \[1, 2\]/);
    const unknown = { name: 'u', dtype: 'F8', shape: [1], data: new Uint8Array(1) } as unknown as SafetensorsEntry;
    expect(() => encodeSafetensors([unknown])).toThrow(/unknown dtype the string 'F8'; expected one of/);
    const bool = { name: 'b', dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 3]) } as SafetensorsEntry;
    expect(() => encodeSafetensors([bool])).toThrow(/BOOL element 1 is 3; expected 0 or 1/);
  });

  it('shapes: not non-negative integers, or not matching the data length (ShapeError)', () => {
    expect(() => encodeSafetensors([f32('a', [2, 2], 3)])).toThrow(ShapeError);
    expect(() => encodeSafetensors([f32('a', [2, 2], 3)])).toThrow(
      /tensor 0 'a': shape \[2, 2\] needs 4 elements, got 3 in the data/,
    );
    expect(() => encodeSafetensors([f32('a', [], 0)])).toThrow(/shape \[\] needs 1 elements, got 0/);
    expect(() => encodeSafetensors([f32('a', [2 ** 32, 2 ** 32], 0)])).toThrow(/needs at least 2\^64 elements/);
    for (const shape of [[-1], [1.5], [NaN]]) {
      expect(() => encodeSafetensors([f32('a', shape, 1)])).toThrow(
        /expected the shape to be an array of non-negative integers/,
      );
    }
  });

  it('metadata: values must be strings', () => {
    const tensors = [f32('a', [1], 1)];
    expect(() => encodeSafetensors(tensors, { k: 1 } as unknown as Record<string, string>)).toThrow(ConfigError);
    expect(() => encodeSafetensors(tensors, { k: 1 } as unknown as Record<string, string>)).toThrow(
      /metadata 'k': expected a string value, got number 1/,
    );
    expect(() => encodeSafetensors(tensors, { k: '\udc00' })).toThrow(/lone surrogate/);
    expect(() => encodeSafetensors(tensors, null as unknown as Record<string, string>)).toThrow(
      /expected metadata to be an object/,
    );
  });

  it('not an array', () => {
    expect(() => encodeSafetensors({} as unknown as SafetensorsEntry[])).toThrow(
      /expected an array of tensors, got an object/,
    );
  });
});


describe('decodeSafetensors: fuzzing', () => {
  it('truncated or corrupted files decode consistently or throw ModelFormatError, never anything else', () => {
    const valid = encodeSafetensors(EVERY_DTYPE, { format: 'lite-cnn', topology: '{"layers":[]}' });
    const headerEnd = 8 + Number(new DataView(valid.buffer).getBigUint64(0, true));
    const random = prng(2024);
    const int = (n: number): number => Math.floor(random() * n);
    let decoded = 0;
    let rejected = 0;
    const t0 = performance.now();
    for (let iteration = 0; iteration < 800; iteration++) {
      let bytes = valid.slice();
      const op = int(5);
      if (op === 0) {
        bytes = bytes.slice(0, int(bytes.length));
      } else if (op === 4) {
        // Structure-changing edits: JSON punctuation and digits dropped into the header.
        const chars = '{}[],:"0123456789-. \\eE';
        for (let k = 0; k < 1 + int(3); k++) bytes[8 + int(headerEnd - 8)] = chars.charCodeAt(int(chars.length));
      } else {
        // Mostly the header (where structure lives); sometimes the length field or the data.
        const flips = 1 + int(4);
        for (let f = 0; f < flips; f++) {
          const at = op === 1 ? int(headerEnd) : op === 2 ? int(8) : int(bytes.length);
          bytes[at]! ^= 1 << int(8);
        }
      }
      let file: SafetensorsFile;
      try {
        file = decodeSafetensors(bytes);
      } catch (e) {
        if (!(e instanceof ModelFormatError)) throw new Error(`iteration ${iteration}: not a ModelFormatError: ${String(e)}`);
        rejected++;
        continue;
      }
      decoded++;
      // Consistent: sizes agree with shapes, the tensors fill the data buffer, and re-encoding round-trips.
      let total = 0;
      for (const t of file.tensors.values()) {
        expect(t.data.length).toBe(product(t.shape));
        total += t.data.byteLength;
      }
      const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
      expect(total).toBe(bytes.length - 8 - n);
      const entries = [...file.tensors].map(([name, t]: [string, SafetensorsTensor]) => ({ name, ...t }) as SafetensorsEntry);
      const again = decodeSafetensors(encodeSafetensors(entries, file.metadata));
      expectSameTensors(again, entries);
      expect(again.metadata).toEqual(file.metadata);
    }
    expect(decoded).toBeGreaterThan(10);
    expect(rejected).toBeGreaterThan(100);
    expect(performance.now() - t0).toBeLessThan(20_000);
  });
});

describe('decodeSafetensors: the committed PyTorch fixture', () => {
  it('reads tests/fixtures/torch/breakhis_fixture.safetensors', () => {
    const bytes = readFileSync(new URL('../../../tests/fixtures/torch/breakhis_fixture.safetensors', import.meta.url));
    const file = decodeSafetensors(bytes, { name: 'breakhis_fixture.safetensors' });
    expect(file.tensors.size).toBe(76);
    const names = [...file.tensors.keys()];
    expect(names.slice(0, 3)).toEqual(['input', 'labels', 'layers.0.kernel']);
    expect(names[names.length - 1]).toBe('eval.logits');
    const input = file.tensors.get('input')!;
    expect(input.dtype).toBe('F32');
    expect(input.shape).toEqual([4, 224, 224, 3]);
    const labels = file.tensors.get('labels')!;
    expect(labels.dtype).toBe('I32');
    expect(labels.shape).toEqual([4]);
    expect([...labels.data]).toEqual([0, 1, 1, 0]);
    const kernel = file.tensors.get('layers.0.kernel')!;
    expect(kernel.dtype).toBe('F32');
    expect(kernel.shape).toEqual([3, 3, 3, 16]);
    expect(file.tensors.get('layers.11.kernel')!.shape).toEqual([2304, 128]);
    // input is uniform [0, 1)
    const values = input.data as Float32Array;
    expect(values.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(file.metadata.seed).toBe('25');
    expect(file.metadata.trainable_params).toBe('319106');
  });
});

describe('internals', () => {
  it('findDuplicateKey: nested, escaped, and keys inside string values', () => {
    expect(findDuplicateKey('{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4}]}')).toBeUndefined();
    expect(findDuplicateKey('{"a":"{\\"b\\":1,\\"b\\":2}","b":[",\\"a\\":"]}')).toBeUndefined();
    expect(findDuplicateKey('{"x":{"y":[{"k":1,"k":2}]}}')).toEqual({ key: 'k', path: ['x', 'y', '[]'] });
    expect(findDuplicateKey('{"\\\\":1,"\\u005c":2}')).toEqual({ key: '\\', path: [] });
    expect(findDuplicateKey('[{"a":1},{"a":1}]')).toBeUndefined();
  });

  it('little-endian copies swap bytes on a big-endian host', () => {
    const src = new Uint32Array([0x01020304, 0x0a0b0c0d]);
    const out = new Uint8Array(10);
    writeLittleEndian(src, 4, out, 1, true);
    expect([...out]).toEqual([0, 4, 3, 2, 1, 0x0d, 0x0c, 0x0b, 0x0a, 0]);
    writeLittleEndian(src, 4, out, 1, false); // a big-endian host holds 01 02 03 04 in memory...
    expect([...out]).toEqual([0, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d, 0]); // ...so reversing gives little-endian.
    expect([...new Uint8Array(readLittleEndian(out.subarray(1, 9), 4, false))]).toEqual([4, 3, 2, 1, 0x0d, 0x0c, 0x0b, 0x0a]);
    expect([...new Uint8Array(readLittleEndian(out.subarray(1, 9), 2, false))]).toEqual([2, 1, 4, 3, 0x0b, 0x0a, 0x0d, 0x0c]);
  });
});
