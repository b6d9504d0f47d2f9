/**
 * The outside judges of the exporters: onnxruntime-web (in this Node
 * process), onnx.checker and torch (Debian's /usr/bin/python3, when it has
 * them), and the comparison the export tests share.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, expect } from 'vitest';
import { Engine, type Model } from '@lite-cnn/sdk';
import { mulberry32 } from './seeded-random.js';

export const PYTHON = '/usr/bin/python3';

/** Why the tests that need these Python modules cannot run here (printed), or undefined when they can. */
export function pythonSkipReason(test: string, modules: string[], what: string): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' });
  const reason = probe.error ? `${PYTHON} not found` : probe.status !== 0 ? `${what} not installed for ${PYTHON}` : undefined;
  if (reason !== undefined) console.warn(`${test} skipped: ${reason}`);
  return reason;
}

/** A temporary folder and a 1-thread engine for a test file; both go when its tests are done. */
export function exportFixture(name: string): { dir: string; engine(): Engine } {
  const dir = mkdtempSync(join(tmpdir(), `lite-cnn-${name}-`));
  let engine: Engine | undefined;
  beforeAll(async () => {
    engine = await Engine.create({ threads: 1 });
  });
  afterAll(async () => {
    await engine?.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });
  return { dir, engine: () => engine! };
}

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

/** Runs an ONNX model on one float32 input; returns the first output. */
export async function runOnnx(bytes: Uint8Array, input: Float32Array, dims: readonly number[]): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  try {
    const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, dims) });
    const t = out[session.outputNames[0]!]!;
    return { data: t.data as Float32Array, dims: t.dims };
  } finally {
    await session.release();
  }
}

const CHECKER = fileURLToPath(new URL('../../../tests/onnx/check_models.py', import.meta.url));

/** `onnx.checker.check_model(full_check=True)` on each file; returns the failures by path (empty: all pass). */
export function onnxCheckerFailures(paths: readonly string[]): Record<string, string> {
  const r = spawnSync(PYTHON, [CHECKER, ...paths], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record<string, string>;
}

/** `got` equals `want` to `rel` of want's largest magnitude (float32 sums in other orders). */
export function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, what: string, rel = 1e-4): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  let scale = 0;
  for (let i = 0; i < want.length; i++) scale = Math.max(scale, Math.abs(want[i]!));
  for (let i = 0; i < want.length; i++) {
    expect(Math.abs(got[i]! - want[i]!), `${what} [${i}]: ${got[i]} vs ${want[i]}`).toBeLessThanOrEqual(rel * scale);
  }
}

/**
 * Non-trivial weights for every tensor (seeded): a fresh model's BatchNorm
 * has mean 0, variance 1, gamma 1 and beta 0 and its biases are 0, which
 * would hide layout mistakes in exported statistics and biases. Kernels are
 * uniform with variance 1/fanIn, the rest near their neutral values (like
 * tests/torchvision/export_reference.py), so deep nets stay well conditioned:
 * with larger weights MobileNetV2's logits move by 0.1 when one input moves
 * by 1e-6, and no two float32 implementations agree.
 */
export function randomizeWeights(model: Model, seed: number): void {
  const next = mulberry32(seed);
  const weights = new Map<string, Float32Array>();
  for (const t of model.plan().tensors) {
    const draw: () => number =
      t.role === 'kernel'
        ? () => (next() * 2 - 1) * Math.sqrt(3 / t.fanIn)
        : t.role === 'gamma' || t.role === 'movingVariance'
          ? () => 0.75 + next() * 0.5
          : () => (next() - 0.5) * 0.2;
    weights.set(t.name, Float32Array.from({ length: t.size }, draw));
  }
  model.setWeights(weights);
}

/** Seeded inputs in [-1, 1). */
export function randomInput(length: number, seed: number): Float32Array {
  const next = mulberry32(seed);
  return Float32Array.from({ length }, () => next() * 2 - 1);
}

/** NHWC `[n, h, w, c]` data as NCHW. */
export function nhwcToNchw(x: Float32Array, n: number, h: number, w: number, c: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let i = 0; i < w; i++) for (let ch = 0; ch < c; ch++) out[((b * c + ch) * h + y) * w + i] = x[((b * h + y) * w + i) * c + ch]!;
  return out;
}
