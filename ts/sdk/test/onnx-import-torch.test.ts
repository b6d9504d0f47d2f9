/**
 * importOnnx on what torch.onnx.export (torch 1.13) writes for torchvision's
 * resnet18, mobilenet_v2, mobilenet_v3_small and efficientnet_b0 with seeded
 * random weights: BatchNorm folded
 * (eval export) and preserved (TrainingMode.PRESERVE), dynamic and fixed
 * batch, opsets 11 and 17; lite-cnn's output on torch's input equals
 * torch's. The files are made at test time by tests/onnx/make_fixtures.py
 * (nothing is downloaded); skipped, with the reason printed, without
 * /usr/bin/python3 and its torch, torchvision and onnx.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, Engine, readOnnx } from '@lite-cnn/sdk';
import { nchwToNhwc } from './onnx-builder.js';

const PYTHON = '/usr/bin/python3';
const script = fileURLToPath(new URL('../../../tests/onnx/make_fixtures.py', import.meta.url));
const probe = spawnSync(PYTHON, ['-c', 'import torch, torchvision, onnx'], { encoding: 'utf8' });
const skipReason = probe.error ? `${PYTHON} not found` : probe.status !== 0 ? 'python3-torch / python3-torchvision / python3-onnx are not installed' : undefined;
if (skipReason !== undefined) console.warn(`onnx-import-torch.test.ts skipped: ${skipReason}`);

const dir = mkdtempSync(join(tmpdir(), 'lite-cnn-onnx-import-'));
let engine: Engine | undefined;
afterAll(async () => {
  await engine?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

interface Export {
  arch: 'resnet18' | 'mobilenet_v2' | 'mobilenet_v3_small' | 'efficientnet_b0' | 'tiny' | 'activations';
  size: number;
  bn: 'folded' | 'preserved';
  batch: 'dynamic' | 'fixed';
  opset: number;
}

async function crossCheck(e: Export) {
  const out = join(dir, `${e.arch}-${e.bn}-${e.batch}-${e.opset}`);
  const r = spawnSync(PYTHON, [script, e.arch, String(e.size), out, '--bn', e.bn, '--batch', e.batch, '--opset', String(e.opset)], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const ref = decodeSafetensors(readFileSync(join(out, `${e.arch}-reference.safetensors`)));
  engine ??= await Engine.create({ threads: 2 });
  const { model, ops, opset } = await readOnnx(readFileSync(join(out, `${e.arch}.onnx`)), { engine });
  expect(opset).toBe(e.opset);
  expect(ops.has('BatchNormalization')).toBe(e.bn === 'preserved');
  const x = ref.tensors.get('input')!;
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const got = await model.predict({ data: nchwToNhwc(x.data as Float32Array, n, c, h, w), shape: [n, h, w, c] });
  const want = ref.tensors.get('output')!.data as Float32Array;
  expect(got.length).toBe(want.length);
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  // float32 on both sides, summed in different orders through 20-50 layers: 1e-4 of the output range.
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `${e.arch} output ${i}: ${got[i]} vs torch ${want[i]}`).toBeLessThanOrEqual(1e-4 * scale);
  model.dispose();
  return ops;
}

describe.skipIf(skipReason !== undefined)('importOnnx vs torch (torch.onnx.export of seeded torchvision networks)', () => {
  it('resnet18, BN folded, dynamic batch, opset 13', async () => crossCheck({ arch: 'resnet18', size: 64, bn: 'folded', batch: 'dynamic', opset: 13 }), 180_000);
  it('resnet18, BN preserved, fixed batch, opset 17', async () => crossCheck({ arch: 'resnet18', size: 64, bn: 'preserved', batch: 'fixed', opset: 17 }), 180_000);
  it('mobilenet_v2, BN folded, fixed batch, opset 11', async () => crossCheck({ arch: 'mobilenet_v2', size: 64, bn: 'folded', batch: 'fixed', opset: 11 }), 180_000);
  it('mobilenet_v2, BN preserved, dynamic batch, opset 13', async () => crossCheck({ arch: 'mobilenet_v2', size: 64, bn: 'preserved', batch: 'dynamic', opset: 13 }), 180_000);
  // Squeeze-and-excitation gates (Mul of a [n, c, 1, 1] gate and the map), hardswish/hardsigmoid, SiLU.
  it('mobilenet_v3_small, BN folded, fixed batch, opset 17', async () => {
    const ops = await crossCheck({ arch: 'mobilenet_v3_small', size: 64, bn: 'folded', batch: 'fixed', opset: 17 });
    for (const op of ['HardSwish', 'HardSigmoid', 'Mul', 'GlobalAveragePool']) expect(ops.has(op), op).toBe(true);
  }, 180_000);
  it('efficientnet_b0, BN preserved, dynamic batch, opset 13', async () => {
    const ops = await crossCheck({ arch: 'efficientnet_b0', size: 64, bn: 'preserved', batch: 'dynamic', opset: 13 });
    for (const op of ['Sigmoid', 'Mul', 'GlobalAveragePool']) expect(ops.has(op), op).toBe(true);
  }, 180_000);
  it('tanh, SiLU (Sigmoid and Mul), hardswish and hardsigmoid, with inputs beyond the hard ones’ kinks, opsets 14 and 17', async () => {
    for (const opset of [14, 17]) {
      const ops = await crossCheck({ arch: 'activations', size: 12, bn: 'folded', batch: 'fixed', opset });
      for (const op of ['Tanh', 'Sigmoid', 'Mul', 'HardSwish', 'HardSigmoid']) expect(ops.has(op), op).toBe(true);
    }
  }, 180_000);
  it('adaptive average pool to 7x7 and the NCHW flatten before Linear (VGG’s head), opsets 11 and 17', async () => {
    await crossCheck({ arch: 'tiny', size: 28, bn: 'folded', batch: 'fixed', opset: 11 });
    await crossCheck({ arch: 'tiny', size: 28, bn: 'preserved', batch: 'dynamic', opset: 17 });
    // At 14x14 the map is already 7x7: torch writes a 1x1 AveragePool (VGG16's case at 224x224), imported as no layer.
    await crossCheck({ arch: 'tiny', size: 14, bn: 'folded', batch: 'dynamic', opset: 13 });
  }, 180_000);
});
