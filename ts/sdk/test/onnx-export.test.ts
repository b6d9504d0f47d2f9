/**
 * `model.toOnnx()` against onnxruntime-web (in this process) and
 * onnx.checker: every row of the exporter table (export-cases.ts), the
 * study's nets, the graph net, ResNet-18 and MobileNetV2 at 32x32, each at
 * batch 1 and 3 through one dynamic-batch file, NHWC and `nchw` inputs.
 * Outputs equal lite-cnn's to 1e-4 of their range.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, Conv2D, ONNX_METADATA_KEY, Sequential, type OnnxExportOptions } from '@lite-cnn/sdk';
import type { onnx as Onnx } from 'onnx-proto';
import { LAYER_CASES, NET_CASES, type ExportCase } from './export-cases.js';
import { expectClose, exportFixture, nhwcToNchw, onnxCheckerFailures, pythonSkipReason, randomInput, randomizeWeights, runOnnx } from './export-oracles.js';
import { mnistNet } from './nets.js';

const checkerSkip = pythonSkipReason('onnx-export.test.ts (onnx.checker)', ['onnx'], 'python3-onnx');
const { dir, engine } = exportFixture('onnx-export');
/** Every file written, for one onnx.checker run at the end. */
const written: string[] = [];

async function exportAndCompare(c: ExportCase, options: OnnxExportOptions = {}): Promise<void> {
  const model = c.build(engine());
  await model.build({ batchSize: 3 });
  randomizeWeights(model, 7);
  const bytes = model.toOnnx(options);
  const file = join(dir, `${c.name}${options.nchw ? '-nchw' : ''}.onnx`);
  writeFileSync(file, bytes);
  written.push(file);
  const [h, w, ch] = model.inputShape;
  const flat = h === 1 && w === 1;
  for (const n of [1, 3]) {
    const x = randomInput(n * h * w * ch, n);
    const want = await model.predict({ data: x, shape: [n, h, w, ch] });
    const dims = flat ? [n, ch] : options.nchw ? [n, ch, h, w] : [n, h, w, ch];
    const got = await runOnnx(bytes, options.nchw && !flat ? nhwcToNchw(x, n, h, w, ch) : x, dims);
    expect(got.dims[0], 'dynamic batch').toBe(n);
    expectClose(got.data, want, `${c.name}${options.nchw ? ' (nchw)' : ''} batch ${n}`);
  }
  model.dispose();
}

describe('ONNX export: each row of the table against onnxruntime', () => {
  for (const c of LAYER_CASES) it(c.name, () => exportAndCompare(c));
});

describe('ONNX export: networks against onnxruntime', () => {
  for (const c of NET_CASES) it(c.name, () => exportAndCompare(c), 120_000);
  for (const name of ['mnist', 'graph-net', 'resnet18']) {
    it(`${name} with nchw input`, () => exportAndCompare(NET_CASES.find((c) => c.name === name)!, { nchw: true }), 120_000);
  }
});

describe('ONNX export: the file', () => {
  it('names its input and output, with a dynamic batch, and carries the metadata', async () => {
    const model = mnistNet({ seed: 1, engine: engine() });
    await model.build();
    model.metadata = { classNames: [...'0123456789'], preprocessing: { kind: 'minmax' }, threshold: null };
    const { onnx } = await import('onnx-proto');
    const decoded = onnx.ModelProto.decode(model.toOnnx());
    // int64 fields decode as Long objects or numbers: compare their decimal text.
    expect(decoded.opsetImport.map((o) => [o.domain, String(o.version)])).toEqual([['', '17']]);
    // Decoded messages are class instances: their repeated fields are arrays.
    const graph = decoded.graph as InstanceType<typeof onnx.GraphProto>;
    const dims = (v: Onnx.IValueInfoProto) => v.type!.tensorType!.shape!.dim!.map((d) => d.dimParam || String(d.dimValue));
    expect(graph.input.map((v) => [v.name, dims(v)])).toEqual([['input', ['batch', '28', '28', '1']]]);
    expect(graph.output.map((v) => [v.name, dims(v)])).toEqual([['output', ['batch', '10']]]);
    const props = Object.fromEntries(decoded.metadataProps.map((p) => [p.key, p.value]));
    expect(JSON.parse(props[ONNX_METADATA_KEY]!)).toEqual(model.metadata);
    // Convolutions run in NCHW: one Transpose in, one back before Flatten (NHWC order).
    expect(graph.node.map((n) => n.opType)).toEqual(['Transpose', 'Conv', 'Relu', 'Conv', 'Relu', 'Transpose', 'Flatten', 'Gemm', 'Softmax', 'Identity']);
    model.dispose();
  });

  it('refuses a model that was never built, naming what to do', () => {
    const model = new Sequential([new Conv2D({ filters: 2, kernelSize: 1, inputShape: [2, 2, 1] })], { engine: engine() });
    expect(() => model.toOnnx()).toThrow(ConfigError);
    expect(() => model.toOnnx()).toThrow(/not built yet.*model\.build\(\)/);
  });
});

describe.skipIf(checkerSkip !== undefined)('ONNX export: onnx.checker', () => {
  it('every exported file passes check_model (full_check)', () => {
    expect(written.length).toBeGreaterThan(LAYER_CASES.length);
    expect(onnxCheckerFailures(written)).toEqual({});
  }, 120_000);
});
