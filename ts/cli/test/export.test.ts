/**
 * `lite-cnn export` end to end (built CLI, spawned): ONNX that onnxruntime
 * runs to the model's own outputs (NHWC and --nchw) and `lite-cnn import`
 * reads back to the same predictions, a PyTorch folder that
 * the docs' DDP example trains with torchrun (skipped, with the reason
 * printed, without torch), and usage errors that exit 2.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Conv2D, Dense, Engine, Flatten, MaxPooling2D, Model, Sequential } from '@lite-cnn/sdk';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const TRAIN_DDP = fileURLToPath(new URL('../../../docs/examples/train_ddp.py', import.meta.url));
const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(join(tmpdir(), 'lite-cnn-cli-export-'));
const modelFile = join(dir, 'model.safetensors');
const torchProbe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const torchSkip = torchProbe.error ? `${PYTHON} not found` : torchProbe.status !== 0 ? 'python3-torch is not installed' : undefined;
if (torchSkip !== undefined) console.warn(`export.test.ts (torchrun) skipped: ${torchSkip}`);

function run(args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', cwd: dir, env: { ...process.env, LITE_CNN_DEBUG: '' } });
}

const x = Float32Array.from({ length: 2 * 10 * 10 * 2 }, (_, i) => Math.sin(i * 0.37));
let want: Float32Array;

beforeAll(async () => {
  const engine = await Engine.create({ threads: 1 });
  const model = new Sequential(
    [new Conv2D({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [10, 10, 2] }), new MaxPooling2D({ poolSize: 2 }), new Flatten(), new Dense({ units: 3, activation: 'softmax' })],
    { seed: 5, engine },
  );
  want = await model.predict({ data: x, shape: [2, 10, 10, 2] });
  await model.save(modelFile);
  await engine.shutdown();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function runOnnxFile(path: string, data: Float32Array, dims: number[]): Promise<Float32Array> {
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(readFileSync(path));
  const out = await session.run({ input: new ort.Tensor('float32', data, dims) });
  await session.release();
  return out.output!.data as Float32Array;
}

const expectNear = (got: Float32Array, ref: Float32Array) => ref.forEach((v, i) => expect(Math.abs(got[i]! - v)).toBeLessThanOrEqual(1e-4));

describe('lite-cnn export', () => {
  it('--format onnx writes a file onnxruntime runs to the model’s outputs', async () => {
    const r = run(['export', '--model', modelFile, '--format', 'onnx', '--out', 'm.onnx', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ format: 'onnx', files: ['m.onnx'], input: "'input' [batch, 10, 10, 2]", output: "'output' [batch, 3] (opset 17)" });
    expectNear(await runOnnxFile(join(dir, 'm.onnx'), x, [2, 10, 10, 2]), want);
  });

  it('--nchw takes PyTorch-style input', async () => {
    const r = run(['export', '--model', modelFile, '--format', 'onnx', '--out', 'nchw.onnx', '--nchw']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("input 'input' [batch, 2, 10, 10]");
    const nchw = new Float32Array(x.length);
    for (let b = 0; b < 2; b++) for (let y = 0; y < 10; y++) for (let i = 0; i < 10; i++) for (let c = 0; c < 2; c++) nchw[((b * 2 + c) * 10 + y) * 10 + i] = x[((b * 10 + y) * 10 + i) * 2 + c]!;
    expectNear(await runOnnxFile(join(dir, 'nchw.onnx'), nchw, [2, 2, 10, 10]), want);
  });

  it('an exported file imports back (lite-cnn import) and predicts what the model did', async () => {
    for (const onnxFile of ['m.onnx', 'nchw.onnx']) {
      const r = run(['import', onnxFile, '--out', `${onnxFile}.safetensors`]);
      expect(r.status, r.stderr).toBe(0);
      const engine = await Engine.create({ threads: 1 });
      const back = await Model.load(join(dir, `${onnxFile}.safetensors`), { engine });
      expectNear(await back.predict({ data: x, shape: [2, 10, 10, 2] }), want);
      await engine.shutdown();
    }
  });

  it('--format pytorch writes model.py and model.safetensors into the folder', () => {
    const r = run(['export', '--model', modelFile, '--format', 'pytorch', '--out', 'torch-model']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('input [batch, 2, 10, 10], output [batch, 3]');
    for (const f of ['model.py', 'model.safetensors']) expect(existsSync(join(dir, 'torch-model', f)), f).toBe(true);
  });

  it.skipIf(torchSkip !== undefined)('docs/examples/train_ddp.py trains the exported module under torchrun (1 process, gloo)', () => {
    const out = join(dir, 'trained.pt');
    // --redirects/--tee 1: Debian's torch 1.13 on Python >= 3.11 parses their default "0" to None and fails (docs/scaling.md).
    const launcher = ['-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=1', '--redirects', '1', '--tee', '1'];
    const r = spawnSync(PYTHON, [...launcher, TRAIN_DDP, '--model-dir', join(dir, 'torch-model'), '--synthetic', '16', '--batch-size', '8', '--max-steps', '2', '--out', out], {
      encoding: 'utf8',
      cwd: dir,
    });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const losses = [...r.stdout.matchAll(/step (\d+) loss (\d+\.\d+)/g)].map((m) => Number(m[2]));
    expect(losses.length).toBe(2);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(existsSync(out)).toBe(true);
  }, 120_000);

  it.each([
    [['export', '--model', 'm.safetensors', '--out', 'x'], /--format/],
    [['export', '--model', 'm.safetensors', '--format', 'tflite', '--out', 'x'], /Allowed choices are onnx, pytorch/],
    [['export', '--model', 'm.safetensors', '--format', 'pytorch', '--out', 'x', '--nchw'], /--nchw applies to --format onnx/],
  ])('usage error %j exits 2', (args, message) => {
    const r = run(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('a missing model file exits 1 naming it', () => {
    const r = run(['export', '--model', 'absent.safetensors', '--format', 'onnx', '--out', 'x.onnx']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/absent\.safetensors/);
    expect(existsSync(join(dir, 'x.onnx'))).toBe(false);
  });
});
