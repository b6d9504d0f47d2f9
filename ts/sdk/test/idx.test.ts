import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataError, parseIdx, readIdx } from '@lite-cnn/sdk';
import { DataError as SourceDataError } from '../src/errors.js';
import { gunzipWithStream, gunzipWithZlib } from '../src/data/gzip.js';

/** An IDX file: magic 00 00 <type> <ndims>, big-endian u32 dims, then `payload`. */
function idxBytes(typeByte: number, dims: number[], payload: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + payload.length);
  const view = new DataView(out.buffer);
  out.set([0, 0, typeByte, dims.length]);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(payload, 4 + 4 * dims.length);
  return out;
}

/** Big-endian encoding of `values` with a DataView setter of `size` bytes. */
function bigEndian(values: number[], size: number, set: (v: DataView, at: number, x: number) => void): Uint8Array {
  const out = new Uint8Array(values.length * size);
  const view = new DataView(out.buffer);
  values.forEach((x, i) => set(view, i * size, x));
  return out;
}

describe('parseIdx: round trips of every dtype', () => {
  it('u8: a zero-copy Uint8Array view, row-major shape', () => {
    const bytes = idxBytes(0x08, [2, 3], [0, 1, 2, 127, 128, 255]);
    const a = parseIdx(bytes);
    expect(a.dtype).toBe('u8');
    expect(a.shape).toEqual([2, 3]);
    expect(a.data).toBeInstanceOf(Uint8Array);
    expect([...a.data]).toEqual([0, 1, 2, 127, 128, 255]);
    expect(a.data.buffer).toBe(bytes.buffer);
    expect(a.data.byteOffset).toBe(12);
  });

  it('u8 inside a larger buffer (non-zero byteOffset) and from an ArrayBuffer', () => {
    const inner = idxBytes(0x08, [3], [7, 8, 9]);
    const outer = new Uint8Array(inner.length + 5);
    outer.set(inner, 3);
    const a = parseIdx(outer.subarray(3, 3 + inner.length));
    expect([...a.data]).toEqual([7, 8, 9]);
    expect(a.data.buffer).toBe(outer.buffer);
    const b = parseIdx(inner.slice().buffer);
    expect([...b.data]).toEqual([7, 8, 9]);
  });

  it('i8: negative values', () => {
    const a = parseIdx(idxBytes(0x09, [4], [0x80, 0xff, 0x00, 0x7f]));
    expect(a.dtype).toBe('i8');
    expect(a.data).toBeInstanceOf(Int8Array);
    expect([...a.data]).toEqual([-128, -1, 0, 127]);
  });

  it('i16: big-endian, negative values', () => {
    // 01 02 is 258 big-endian (513 if read little-endian).
    expect([...parseIdx(idxBytes(0x0b, [1], [0x01, 0x02])).data]).toEqual([258]);
    const values = [-32768, -2, 0, 1, 258, 32767];
    const a = parseIdx(idxBytes(0x0b, [3, 2], bigEndian(values, 2, (v, at, x) => v.setInt16(at, x))));
    expect(a.dtype).toBe('i16');
    expect(a.shape).toEqual([3, 2]);
    expect(a.data).toBeInstanceOf(Int16Array);
    expect([...a.data]).toEqual(values);
  });

  it('i32: big-endian, negative values, unaligned input', () => {
    expect([...parseIdx(idxBytes(0x0c, [1], [0x01, 0x02, 0x03, 0x04])).data]).toEqual([0x01020304]);
    const values = [-2147483648, -1, 0, 0x01020304, 2147483647];
    const bytes = idxBytes(0x0c, [5], bigEndian(values, 4, (v, at, x) => v.setInt32(at, x)));
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const a = parseIdx(shifted.subarray(1));
    expect(a.dtype).toBe('i32');
    expect(a.data).toBeInstanceOf(Int32Array);
    expect([...a.data]).toEqual(values);
  });

  it('f32: big-endian, special values', () => {
    expect([...parseIdx(idxBytes(0x0d, [1], [0x3f, 0xc0, 0x00, 0x00])).data]).toEqual([1.5]);
    const values = [1.5, -0.25, Math.fround(0.1), 3.4028234663852886e38, -Infinity, -0];
    const a = parseIdx(idxBytes(0x0d, [2, 1, 3], bigEndian(values, 4, (v, at, x) => v.setFloat32(at, x))));
    expect(a.dtype).toBe('f32');
    expect(a.shape).toEqual([2, 1, 3]);
    expect(a.data).toBeInstanceOf(Float32Array);
    expect([...a.data]).toEqual(values);
    expect(Object.is(a.data[5], -0)).toBe(true);
    const nan = parseIdx(idxBytes(0x0d, [1], [0x7f, 0xc0, 0x00, 0x00]));
    expect(Number.isNaN(nan.data[0])).toBe(true);
  });

  it('f64: big-endian, full precision', () => {
    expect([...parseIdx(idxBytes(0x0e, [1], [0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18])).data]).toEqual([Math.PI]);
    const values = [Math.PI, -1e-300, Number.MAX_VALUE, -123456789.123456789, 5e-324];
    const a = parseIdx(idxBytes(0x0e, [5], bigEndian(values, 8, (v, at, x) => v.setFloat64(at, x))));
    expect(a.dtype).toBe('f64');
    expect(a.data).toBeInstanceOf(Float64Array);
    expect([...a.data]).toEqual(values);
  });

  it('eight dimensions, and an empty array (a zero dimension)', () => {
    const a = parseIdx(idxBytes(0x08, [1, 2, 1, 2, 1, 2, 1, 2], new Uint8Array(16).map((_, i) => i)));
    expect(a.shape).toEqual([1, 2, 1, 2, 1, 2, 1, 2]);
    expect(a.data.length).toBe(16);
    const empty = parseIdx(idxBytes(0x0c, [5, 0], []));
    expect(empty.shape).toEqual([5, 0]);
    expect(empty.data.length).toBe(0);
  });
});

describe('readIdx: raw and gzip-compressed input', () => {
  const values = [-1.5, 2.25, 1e-3, 65504];
  const raw = idxBytes(0x0d, [2, 2], bigEndian(values, 4, (v, at, x) => v.setFloat32(at, x)));
  const expected = values.map(Math.fround);

  it('reads raw bytes like parseIdx', async () => {
    const a = await readIdx(raw);
    expect(a).toEqual(parseIdx(raw));
  });

  it('decompresses gzip transparently (Uint8Array and ArrayBuffer input)', async () => {
    const gz = new Uint8Array(gzipSync(raw));
    expect([gz[0], gz[1]]).toEqual([0x1f, 0x8b]);
    for (const input of [gz, gz.slice().buffer]) {
      const a = await readIdx(input);
      expect(a.dtype).toBe('f32');
      expect(a.shape).toEqual([2, 2]);
      expect([...a.data]).toEqual(expected);
    }
  });

  it('gzip of a large u8 array', async () => {
    const payload = new Uint8Array(100_000).map((_, i) => (i * 31) & 0xff);
    const a = await readIdx(new Uint8Array(gzipSync(idxBytes(0x08, [100, 1000], payload))));
    expect(a.shape).toEqual([100, 1000]);
    expect(a.data).toEqual(payload);
  });

  it('gzip whose content is malformed IDX fails like raw input', async () => {
    const bad = new Uint8Array(gzipSync(idxBytes(0x08, [10], [1, 2, 3])));
    await expect(readIdx(bad)).rejects.toThrow(DataError);
    await expect(readIdx(bad)).rejects.toThrow(/needs 10 data bytes .*got 3 \(truncated\)/);
  });

  it('corrupt gzip is a DataError', async () => {
    const gz = new Uint8Array(gzipSync(raw));
    const truncated = gz.subarray(0, gz.length - 10);
    await expect(readIdx(truncated, { name: 'x.idx.gz' })).rejects.toThrow(DataError);
    await expect(readIdx(truncated, { name: 'x.idx.gz' })).rejects.toThrow(
      /^IDX 'x\.idx\.gz': expected a valid gzip stream, got \d+ bytes that fail to decompress/,
    );
    const garbage = new Uint8Array([0x1f, 0x8b, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await expect(readIdx(garbage)).rejects.toThrow(/expected a valid gzip stream/);
  });

  it('parseIdx rejects gzip bytes and points to readIdx', () => {
    expect(() => parseIdx(new Uint8Array(gzipSync(raw)))).toThrow(DataError);
    expect(() => parseIdx(new Uint8Array(gzipSync(raw)))).toThrow(
      /expected magic bytes 0x00 0x00, got 0x1f 0x8b \(this is gzip data: use readIdx/,
    );
  });
});

describe('gzip back ends (source modules)', () => {
  const raw = idxBytes(0x08, [4], [1, 2, 3, 4]);
  const gz = new Uint8Array(gzipSync(raw));

  it('DecompressionStream (the browser path) and node:zlib agree', async () => {
    expect(await gunzipWithStream(gz, 'x')).toEqual(raw);
    expect(await gunzipWithZlib(gz, 'x')).toEqual(raw);
  });

  it('both reject corrupt input with a DataError', async () => {
    const bad = gz.subarray(0, 12);
    await expect(gunzipWithStream(bad, 'x')).rejects.toThrow(SourceDataError);
    await expect(gunzipWithStream(bad, 'x')).rejects.toThrow(/^x: expected a valid gzip stream, got 12 bytes/);
    await expect(gunzipWithZlib(bad, 'x')).rejects.toThrow(SourceDataError);
    await expect(gunzipWithZlib(bad, 'x')).rejects.toThrow(/^x: expected a valid gzip stream, got 12 bytes/);
  });
});

describe('parseIdx: malformed input', () => {
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['empty input', new Uint8Array(0), /^IDX: truncated header: expected at least 4 bytes \(magic\), got 0$/],
    ['3 bytes', new Uint8Array([0, 0, 8]), /truncated header: expected at least 4 bytes \(magic\), got 3/],
    ['bad magic', new Uint8Array([0, 1, 8, 1, 0, 0, 0, 1, 5]), /expected magic bytes 0x00 0x00, got 0x00 0x01$/],
    ['text', new TextEncoder().encode('hello world'), /expected magic bytes 0x00 0x00, got 0x68 0x65/],
    [
      'unknown type byte',
      idxBytes(0x0a, [1], [0]),
      /unknown type byte 0x0a; expected one of 0x08 \(u8\), 0x09 \(i8\), 0x0b \(i16\), 0x0c \(i32\), 0x0d \(f32\), 0x0e \(f64\)/,
    ],
    ['type byte 0x00', idxBytes(0x00, [1], [0]), /unknown type byte 0x00/],
    ['zero dims', new Uint8Array([0, 0, 8, 0, 1, 2, 3]), /expected 1 to 8 dimensions, got 0/],
    ['nine dims', idxBytes(0x08, [1, 1, 1, 1, 1, 1, 1, 1, 1], [7]), /expected 1 to 8 dimensions, got 9/],
    ['255 dims', new Uint8Array([0, 0, 8, 255]), /expected 1 to 8 dimensions, got 255/],
    [
      'dims cut short',
      new Uint8Array([0, 0, 8, 3, 0, 0, 0, 1]),
      /truncated header: expected 16 bytes for 3 dimensions, got 8/,
    ],
    ['dims cut mid-word', new Uint8Array([0, 0, 8, 1, 0, 0]), /truncated header: expected 8 bytes for 1 dimensions, got 6/],
    [
      'data too short',
      idxBytes(0x08, [2, 3], [1, 2, 3, 4, 5]),
      /shape \[2, 3\] of u8 needs 6 data bytes after the 12-byte header, got 5 \(truncated\)/,
    ],
    ['one trailing byte', idxBytes(0x08, [2, 3], [1, 2, 3, 4, 5, 6, 7]), /needs 6 data bytes .*got 7 \(1 trailing byte\)$/],
    ['trailing bytes', idxBytes(0x08, [2], [1, 2, 3, 4, 5]), /needs 2 data bytes .*got 5 \(3 trailing bytes\)$/],
    ['i16 with an odd byte count', idxBytes(0x0b, [3], [0, 1, 0, 2, 0]), /shape \[3\] of i16 needs 6 data bytes .*got 5 \(truncated\)/],
    ['f64 with trailing bytes', idxBytes(0x0e, [1], new Uint8Array(12)), /shape \[1\] of f64 needs 8 data bytes .*got 12 \(4 trailing bytes\)/],
    ['header only', idxBytes(0x0d, [1], []), /needs 4 data bytes .*got 0 \(truncated\)/],
  ];
  for (const [name, bytes, message] of cases) {
    it(name, async () => {
      expect(() => parseIdx(bytes)).toThrow(DataError);
      expect(() => parseIdx(bytes)).toThrow(message);
      await expect(readIdx(bytes)).rejects.toThrow(message);
    });
  }

  it('names the input when given a name', () => {
    expect(() => parseIdx(new Uint8Array(2), { name: 'data/x.idx' })).toThrow(/^IDX 'data\/x\.idx': truncated header/);
  });

  it('a header claiming 2^32 elements on a 100-byte file fails fast, without allocating', () => {
    const lying = idxBytes(0x08, [0xffffffff], new Uint8Array(100 - 8));
    expect(lying.length).toBe(100);
    expect(() => parseIdx(lying)).toThrow(DataError);
    expect(() => parseIdx(lying)).toThrow(/shape \[4294967295\] of u8 needs 4294967295 data bytes .*got 92 \(truncated\)/);
    // 65536^4 = 2^64 elements of 8 bytes: 2^67 bytes, exact only in BigInt.
    const huge = idxBytes(0x0e, [65536, 65536, 65536, 65536], new Uint8Array(60));
    const start = performance.now();
    expect(() => parseIdx(huge)).toThrow(/of f64 needs 147573952589676412928 data bytes .*got 60 \(truncated\)/);
    const max = idxBytes(0x0e, new Array<number>(8).fill(0xffffffff), new Uint8Array(64));
    expect(() => parseIdx(max)).toThrow(/\(truncated\)/);
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it('a huge element count does not wrap: 2^32 * 2^32 elements vs 0 bytes', () => {
    // If the product were computed in 32-bit or mod 2^64 it could look like 0 and pass.
    const wrap = idxBytes(0x08, [65536, 65536, 65536, 65536], []);
    expect(() => parseIdx(wrap)).toThrow(/needs 18446744073709551616 data bytes .*got 0 \(truncated\)/);
  });
});
