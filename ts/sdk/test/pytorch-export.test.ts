/**
 * The PyTorch export (model.py + model.safetensors) against torch itself:
 * every row of the table and the nets (export-cases.ts) give lite-cnn's
 * outputs, and the nets take a training step in torch. The generated files'
 * structure is checked without torch; the torch parts skip, with the reason
 * printed, where /usr/bin/python3 lacks torch.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, decodeSafetensors, encodeSafetensors, MaxPooling2D, modelToPytorch, savePytorch, Sequential } from '@lite-cnn/sdk';
import { LAYER_CASES, NET_CASES } from './export-cases.js';
import { expectClose, exportFixture, PYTHON, pythonSkipReason, randomInput, randomizeWeights } from './export-oracles.js';
import { mnistNet } from './nets.js';

const RUNNER = fileURLToPath(new URL('../../../tests/pytorch/run_exported.py', import.meta.url));
const torchSkip = pythonSkipReason('pytorch-export.test.ts (torch)', ['torch', 'numpy'], 'python3-torch');
const { dir, engine } = exportFixture('pytorch-export');

describe('PyTorch export: the files', () => {
  it('model.py names a submodule after each layer with weights; the state dict has PyTorch names and layouts', async () => {
    const model = mnistNet({ seed: 1, engine: engine() });
    await model.build();
    const { source, weights } = modelToPytorch(model);
    expect(source).toContain('self.conv2d = nn.Conv2d(1, 8, kernel_size=(3, 3), stride=(2, 2), padding=(0, 0), bias=True)');
    expect(source).toContain('self.dense = nn.Linear(288, 10, bias=True)');
    // PyTorch's flatten (CHW order) feeds the Linear layer, whose weight is permuted to match.
    expect(source).toContain('flatten = torch.flatten(conv2d_1, 1)');
    expect(source).toContain('dense = torch.softmax(self.dense(flatten), dim=1)');
    const file = decodeSafetensors(weights);
    expect([...file.tensors].map(([k, t]) => [k, t.shape])).toEqual([
      ['conv2d.weight', [8, 1, 3, 3]],
      ['conv2d.bias', [8]],
      ['conv2d_1.weight', [8, 8, 3, 3]],
      ['conv2d_1.bias', [8]],
      ['dense.weight', [10, 288]],
      ['dense.bias', [10]],
    ]);
    // OIHW: weight[o][i][y][x] is lite-cnn's kernel[y][x][i][o].
    const kernel = model.getWeights().get('layers.1.kernel')!;
    const oihw = file.tensors.get('conv2d_1.weight')!.data as Float32Array;
    expect(oihw[((5 * 8 + 2) * 3 + 1) * 3 + 0]).toBe(kernel[((1 * 3 + 0) * 8 + 2) * 8 + 5]);
    // Linear column (c, y, x) in CHW order is lite-cnn's row (y, x, c): 6x6x8 features.
    const dense = model.getWeights().get('layers.3.kernel')!;
    const linear = file.tensors.get('dense.weight')!.data as Float32Array;
    const [c, y, x, o] = [3, 4, 1, 7];
    expect(linear[o * 288 + (c * 6 + y) * 6 + x]).toBe(dense[((y * 6 + x) * 8 + c) * 10 + o]);
    model.dispose();
  });

  it('savePytorch writes both files into a new folder', async () => {
    const model = mnistNet({ seed: 1, engine: engine() });
    await model.build();
    const out = join(dir, 'nested', 'mnist');
    await savePytorch(model, out);
    expect(readFileSync(join(out, 'model.py'), 'utf8')).toMatch(/^"""mnist: a lite-cnn model exported as a PyTorch module/);
    expect(decodeSafetensors(readFileSync(join(out, 'model.safetensors'))).metadata).toEqual({ format: 'pt' });
    model.dispose();
  });
});

describe('PyTorch export: what PyTorch cannot express', () => {
  it('ceil-mode pooling whose last window PyTorch would keep: a ConfigError naming the layer and both sizes', async () => {
    // lite-cnn drops the third window (it starts in the bottom pad); PyTorch, padded with F.pad, would keep it.
    const model = new Sequential([new MaxPooling2D({ name: 'pool', poolSize: 2, strides: 2, padding: [[0, 1], [0, 1]], ceilMode: true, inputShape: [4, 4, 1] })], { engine: engine() });
    await model.build();
    expect(() => modelToPytorch(model)).toThrow(ConfigError);
    expect(() => modelToPytorch(model)).toThrow(/MaxPooling2D 'pool': PyTorch's pooling would give 3x3 here, lite-cnn's gives 2x2/);
    model.dispose();
  });
});

describe.skipIf(torchSkip !== undefined)('PyTorch export: against torch', () => {
  const cases = [...LAYER_CASES, ...NET_CASES];
  const want = new Map<string, Float32Array>();
  let report: Record<string, { loss0?: number; loss1?: number; grads_finite?: boolean }> = {};

  beforeAll(async () => {
    const manifest = [];
    for (const c of cases) {
      const model = c.build(engine());
      await model.build({ batchSize: 3 });
      randomizeWeights(model, 7);
      const folder = join(dir, c.name);
      await savePytorch(model, folder);
      const [h, w, ch] = model.inputShape;
      const x = randomInput(3 * h * w * ch, 3);
      want.set(c.name, await model.predict({ data: x, shape: [3, h, w, ch] }));
      const inputFile = join(folder, 'input.safetensors');
      writeFileSync(inputFile, encodeSafetensors([{ name: 'input', dtype: 'F32', shape: [3, h, w, ch], data: x }]));
      manifest.push({ dir: folder, input: inputFile, train: c.train === true });
      model.dispose();
    }
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const r = spawnSync(PYTHON, [RUNNER, join(dir, 'manifest.json')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    report = JSON.parse(r.stdout);
  }, 240_000);

  for (const c of cases) {
    it(`${c.name}: torch's output is lite-cnn's${c.train ? '; a training step lowers the loss' : ''}`, () => {
      const out = decodeSafetensors(readFileSync(join(dir, c.name, 'output.safetensors'))).tensors.get('output')!;
      expectClose(out.data as Float32Array, want.get(c.name)!, `${c.name} (torch)`);
      if (c.train) {
        const r = report[join(dir, c.name)]!;
        expect(r.grads_finite).toBe(true);
        expect(r.loss1!).toBeLessThan(r.loss0!);
      }
    });
  }
});
