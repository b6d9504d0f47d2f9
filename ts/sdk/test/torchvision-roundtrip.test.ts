/**
 * A round trip from torchvision (issue 12): ResNet-18 with seeded random
 * torchvision weights → lite-cnn (torchvisionKeys) → ONNX → onnxruntime-web,
 * and → a PyTorch module (model.py) → torch; both give torch's own logits.
 * Skipped, with the reason printed, where torch is not installed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applications, decodeSafetensors, encodeSafetensors, Engine, savePytorch } from '@lite-cnn/sdk';
import { expectClose, PYTHON, pythonSkipReason, runOnnx } from './export-oracles.js';
import { torchvisionReference, type TorchvisionReference } from './torchvision-reference.js';

const RUNNER = fileURLToPath(new URL('../../../tests/pytorch/run_exported.py', import.meta.url));
const SIZE = 32;
const skipReason = pythonSkipReason('torchvision-roundtrip.test.ts', ['torch', 'torchvision'], 'python3-torch / python3-torchvision');
const dir = mkdtempSync(join(tmpdir(), 'lite-cnn-roundtrip-'));
let engine: Engine;
let ref: TorchvisionReference;

describe.skipIf(skipReason !== undefined)('torchvision resnet18 → lite-cnn → ONNX / PyTorch', () => {
  beforeAll(async () => {
    engine = await Engine.create({ threads: 1 });
    ref = await torchvisionReference('resnet18', applications.resnet18, SIZE, engine, dir);
  }, 120_000);
  afterAll(async () => {
    ref?.model.dispose();
    await engine?.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  it('onnxruntime runs the exported ONNX file to torch’s logits', async () => {
    const got = await runOnnx(ref.model.toOnnx(), ref.input, [2, SIZE, SIZE, 3]);
    expectClose(got.data, ref.logits, 'resnet18 via ONNX');
  }, 120_000);

  it('the exported PyTorch module gives torch’s logits', async () => {
    const folder = join(dir, 'pytorch');
    await savePytorch(ref.model, folder);
    const inputFile = join(folder, 'input.safetensors');
    writeFileSync(inputFile, encodeSafetensors([{ name: 'input', dtype: 'F32', shape: [2, SIZE, SIZE, 3], data: ref.input }]));
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify([{ dir: folder, input: inputFile }]));
    const r = spawnSync(PYTHON, [RUNNER, join(dir, 'manifest.json')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = decodeSafetensors(readFileSync(join(folder, 'output.safetensors'))).tensors.get('output')!;
    expectClose(out.data as Float32Array, ref.logits, 'resnet18 via model.py');
  }, 120_000);
});
