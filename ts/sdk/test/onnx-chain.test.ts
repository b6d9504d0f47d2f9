/**
 * The whole interop chain of issue 12 on a network made here, never
 * downloaded: torchvision resnet18 with seeded random weights →
 * torch.onnx.export (tests/onnx/make_fixtures.py) → importOnnx → lite-cnn →
 * toOnnx → onnxruntime-web, and → savePytorch → torch; each leg ends at
 * torch's own output for the same input. Skipped, with the reason printed,
 * without /usr/bin/python3 and its torch, torchvision and onnx.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, importOnnx, savePytorch } from '@lite-cnn/sdk';
import { expectClose, exportFixture, PYTHON, pythonSkipReason, runOnnx } from './export-oracles.js';
import { nchwToNhwc } from './onnx-builder.js';

const MAKE = fileURLToPath(new URL('../../../tests/onnx/make_fixtures.py', import.meta.url));
const RUNNER = fileURLToPath(new URL('../../../tests/pytorch/run_exported.py', import.meta.url));
const SIZE = 32;
const skipReason = pythonSkipReason('onnx-chain.test.ts', ['torch', 'torchvision', 'onnx'], 'python3-torch / python3-torchvision / python3-onnx');
const fx = exportFixture('onnx-chain');

describe.skipIf(skipReason !== undefined)('torch resnet18 → ONNX → lite-cnn → ONNX / PyTorch', () => {
  it('each leg gives torch’s output', async () => {
    const out = join(fx.dir, 'torch');
    const made = spawnSync(PYTHON, [MAKE, 'resnet18', String(SIZE), out, '--bn', 'preserved', '--batch', 'dynamic', '--opset', '17'], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    const ref = decodeSafetensors(readFileSync(join(out, 'resnet18-reference.safetensors')));
    const x = ref.tensors.get('input')!;
    const [n, c, h, w] = x.shape as [number, number, number, number];
    const input = nchwToNhwc(x.data as Float32Array, n, c, h, w);
    const want = ref.tensors.get('output')!.data as Float32Array;

    const model = await importOnnx(readFileSync(join(out, 'resnet18.onnx')), { engine: fx.engine() });
    try {
      expectClose(await model.predict({ data: input, shape: [n, h, w, c] }), want, 'imported resnet18');

      const viaOrt = await runOnnx(model.toOnnx(), input, [n, h, w, c]);
      expectClose(viaOrt.data, want, 'imported resnet18 → toOnnx → onnxruntime');

      const folder = join(fx.dir, 'pytorch');
      await savePytorch(model, folder);
      const inputFile = join(folder, 'input.safetensors');
      writeFileSync(inputFile, encodeSafetensors([{ name: 'input', dtype: 'F32', shape: [n, h, w, c], data: input }]));
      writeFileSync(join(fx.dir, 'manifest.json'), JSON.stringify([{ dir: folder, input: inputFile }]));
      const ran = spawnSync(PYTHON, [RUNNER, join(fx.dir, 'manifest.json')], { encoding: 'utf8' });
      expect(ran.status, ran.stderr).toBe(0);
      const viaTorch = decodeSafetensors(readFileSync(join(folder, 'output.safetensors'))).tensors.get('output')!;
      expectClose(viaTorch.data as Float32Array, want, 'imported resnet18 → savePytorch → torch');
    } finally {
      model.dispose();
    }
  }, 240_000);
});
