/**
 * Interop: a file written by encodeSafetensors is read by an independent
 * NumPy reader (read_safetensors.py, next to this file), which must see the
 * same names, dtypes, shapes and values. Skipped, with the reason printed,
 * when Debian's python3 or NumPy is missing.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodeSafetensors, type SafetensorsEntry } from '@lite-cnn/sdk';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./read_safetensors.py', import.meta.url));

function whyNoPython(): string | undefined {
  if (!existsSync(PYTHON)) return `${PYTHON} not found`;
  const probe = spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8', timeout: 30_000 });
  if (probe.status !== 0) return `NumPy is not importable by ${PYTHON}: ${probe.stderr.trim() || probe.error?.message}`;
  return undefined;
}

const skipReason = whyNoPython();
if (skipReason !== undefined) console.warn(`safetensors-python.test.ts skipped: ${skipReason}`);

interface PythonTensor {
  name: string;
  dtype: string;
  shape: number[];
  sum: number;
  values: number[] | null;
}

/** 1.0, -2.0 and 0.5 as IEEE half and bfloat16 bit patterns. */
const F16_BITS = [0x3c00, 0xc000, 0x3800];
const BF16_BITS = [0x3f80, 0xc000, 0x3f00];

function entries(): SafetensorsEntry[] {
  const big = new Float32Array(2 * 5 * 7 * 3);
  big.forEach((_, i) => (big[i] = (i % 11) * 0.25 - 1));
  return [
    { name: 'layers.0.kernel', dtype: 'F32', shape: [2, 5, 7, 3], data: big },
    { name: 'f64', dtype: 'F64', shape: [2, 2], data: new Float64Array([0.1, -2.5, 1e10, 3]) },
    { name: 'f16', dtype: 'F16', shape: [3], data: new Uint16Array(F16_BITS) },
    { name: 'bf16', dtype: 'BF16', shape: [3, 1], data: new Uint16Array(BF16_BITS) },
    { name: 'labels', dtype: 'I32', shape: [4], data: new Int32Array([0, 1, -7, 2 ** 31 - 1]) },
    { name: 'i64', dtype: 'I64', shape: [2], data: new BigInt64Array([-5n, 2n ** 40n]) },
    { name: 'u64', dtype: 'U64', shape: [1], data: new BigUint64Array([2n ** 50n]) },
    { name: 'i16', dtype: 'I16', shape: [2], data: new Int16Array([-300, 300]) },
    { name: 'u16', dtype: 'U16', shape: [2], data: new Uint16Array([65535, 1]) },
    { name: 'u32', dtype: 'U32', shape: [1], data: new Uint32Array([4_000_000_000]) },
    { name: 'i8', dtype: 'I8', shape: [3], data: new Int8Array([-128, 0, 127]) },
    { name: 'u8', dtype: 'U8', shape: [2, 2], data: new Uint8Array([0, 1, 200, 255]) },
    { name: 'bool', dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) },
    { name: 'scalar', dtype: 'F32', shape: [], data: new Float32Array([42.5]) },
    { name: 'empty', dtype: 'F32', shape: [0, 3], data: new Float32Array(0) },
  ];
}

/** What NumPy should report as float64 values (half floats decoded by hand). */
function expectedValues(e: SafetensorsEntry): number[] {
  if (e.name === 'f16') return [1, -2, 0.5];
  if (e.name === 'bf16') return [1, -2, 0.5];
  return Array.from(e.data as ArrayLike<number | bigint>, Number);
}

describe('safetensors interop with an independent NumPy reader', () => {
  it.skipIf(skipReason !== undefined)('python reads the names, dtypes, shapes and values we wrote', () => {
    const dir = mkdtempSync(join(tmpdir(), 'lite-cnn-safetensors-'));
    try {
      const path = join(dir, 'interop.safetensors');
      const written = entries();
      writeFileSync(path, encodeSafetensors(written, { format: 'lite-cnn', note: 'ünïcode ✓' }));
      const run = spawnSync(PYTHON, [SCRIPT, path], { encoding: 'utf8', timeout: 60_000 });
      expect(run.error).toBeUndefined();
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      const report = JSON.parse(run.stdout) as { header_length: number; metadata: Record<string, string>; tensors: PythonTensor[] };
      expect(report.header_length % 8).toBe(0);
      expect(report.metadata).toEqual({ format: 'lite-cnn', note: 'ünïcode ✓' });
      // Tensors come back in data order, which is the order we gave.
      expect(report.tensors.map((t) => t.name)).toEqual(written.map((e) => e.name));
      for (const [i, e] of written.entries()) {
        const t = report.tensors[i]!;
        expect(t.dtype, e.name).toBe(e.dtype);
        expect(t.shape, e.name).toEqual(e.shape);
        const values = expectedValues(e);
        const sum = values.reduce((a, b) => a + b, 0);
        // Relative: NumPy sums pairwise, so the last bits may differ.
        expect(Math.abs(t.sum - sum), e.name).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(sum)));
        if (values.length <= 16) expect(t.values, e.name).toEqual(values);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
