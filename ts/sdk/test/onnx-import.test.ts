/**
 * importOnnx, op table row by row: small ONNX graphs (written with the same
 * onnx-proto schema) run in onnxruntime-web (the oracle, NCHW) and in
 * lite-cnn after import (NHWC), on the same seeded inputs and weights; the
 * committed fixture (tests/onnx/fixtures, made by tests/onnx/make_fixtures.py)
 * against torch's stored output; and hostile or unsupported files, each a
 * typed error naming what is wrong.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine, importOnnx, ModelFormatError, readOnnx, ONNX_IMPORT_OPS } from '@lite-cnn/sdk';
import { buildOnnx, chain, nchwToNhwc, type GraphSpec, type InitSpec, type NodeSpec } from './onnx-builder.js';
import { mulberry32 } from './seeded-random.js';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create({ threads: 2 });
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
});
afterAll(async () => engine?.shutdown());

const random = mulberry32(7);
function weights(dims: number[], scale = 0.5): InitSpec {
  const n = dims.reduce((a, b) => a * b, 1);
  return { dims, data: Float32Array.from({ length: n }, () => (random() * 2 - 1) * scale) };
}
const positive = (n: number): InitSpec => ({ dims: [n], data: Float32Array.from({ length: n }, () => 0.5 + random()) });
const ints = (values: number[]): InitSpec => ({ dims: [values.length], data: values, type: 'int64' });

/**
 * A spatial output read through Flatten and a Gemm with an identity weight:
 * lite-cnn's predict gives flat outputs, and the identity rows, reordered by
 * the importer's flatten fold, must give the features back in ONNX's NCHW order.
 */
function flatReadout(g: GraphSpec, features: number): GraphSpec {
  const eye = new Float32Array(features * features);
  for (let i = 0; i < features; i++) eye[i * features + i] = 1;
  return {
    ...g,
    nodes: [...g.nodes, { op: 'Flatten', inputs: [g.output], outputs: ['flat'] }, { op: 'Gemm', inputs: ['flat', 'eye'], outputs: ['readout'] }],
    output: 'readout',
    initializers: { ...g.initializers, eye: { dims: [features, features], data: eye } },
  };
}

/** Runs `g` in onnxruntime-web and in lite-cnn on the same batch; outputs compared as ONNX lays them out. */
async function compareWithOrt(g: GraphSpec, batch = 2) {
  const bytes = buildOnnx(g);
  const dims = g.input.dims.map((d) => (typeof d === 'number' ? d : batch));
  const x = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => random() * 2 - 1);
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  const result = (await session.run({ [g.input.name]: new ort.Tensor('float32', x, dims) }))[g.output]!;
  await session.release();
  const want = result.data as Float32Array;
  const od = result.dims as number[];
  const model = await importOnnx(od.length === 4 ? buildOnnx(flatReadout(g, od[1]! * od[2]! * od[3]!)) : bytes, { engine });
  const perm = (n: NodeSpec) => {
    const p = n.attrs?.['perm'];
    return p && 'ints' in p ? p.ints.join(',') : '';
  };
  const nhwcInput = g.nodes.some((n) => n.op === 'Transpose' && perm(n) === '0,3,1,2');
  const input = dims.length === 4 && !nhwcInput ? nchwToNhwc(x, dims[0]!, dims[1]!, dims[2]!, dims[3]!) : x;
  const got = await model.predict({ data: input, shape: [batch, ...model.inputShape] });
  model.dispose();
  expect(got.length).toBe(want.length);
  const scale = Math.max(1, ...Array.from(want, Math.abs));
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!), `value ${i}: ${got[i]} vs onnxruntime ${want[i]}`).toBeLessThanOrEqual(2e-5 * scale);
}

const image = (c: number, h: number, w: number) => ({ name: 'x', dims: ['batch', c, h, w] as (number | string)[] });

const CASES: Record<string, () => GraphSpec> = {
  'Conv (stride 2, asymmetric pads, bias)': () => ({
    input: image(3, 9, 8),
    ...chain([{ op: 'Conv', extra: ['w', 'b'], attrs: { kernel_shape: { ints: [3, 2] }, strides: { ints: [2, 2] }, pads: { ints: [1, 0, 2, 1] } } }]),
    initializers: { w: weights([5, 3, 3, 2]), b: weights([5]) },
  }),
  'Conv depthwise (group = channels, multiplier 2, SAME_UPPER)': () => ({
    input: image(4, 7, 6),
    ...chain([{ op: 'Conv', extra: ['w'], attrs: { group: { i: 4 }, auto_pad: { s: 'SAME_UPPER' }, strides: { ints: [2, 2] } } }]),
    initializers: { w: weights([8, 1, 3, 3]) },
  }),
  'BatchNormalization, Relu': () => ({
    input: image(3, 4, 5),
    ...chain([{ op: 'BatchNormalization', extra: ['s', 'b', 'm', 'v'], attrs: { epsilon: { f: 1e-3 } } }, { op: 'Relu' }]),
    initializers: { s: positive(3), b: weights([3]), m: weights([3]), v: positive(3) },
  }),
  'Clip (ReLU6), LeakyRelu, Sigmoid': () => ({
    input: image(2, 3, 3),
    ...chain([{ op: 'LeakyRelu', attrs: { alpha: { f: 0.2 } } }, { op: 'Conv', extra: ['w'] }, { op: 'Clip', extra: ['lo', 'hi'] }, { op: 'Sigmoid' }]),
    initializers: { w: weights([3, 2, 1, 1], 8), lo: { dims: [], data: [0] }, hi: { dims: [], data: [6] } },
  }),
  'HardSwish, HardSigmoid (PyTorch\'s alpha 1/6), Tanh, Sigmoid → Mul (swish; opset 14)': () => ({
    input: image(2, 4, 4),
    nodes: [
      // Weights of scale 8 put the convolutions' outputs beyond the hard activations' kinks at ±3.
      { op: 'Conv', inputs: ['x', 'w'], outputs: ['c1'], name: 'conv1' },
      { op: 'HardSwish', inputs: ['c1'], outputs: ['h1'], name: 'hswish' },
      { op: 'Conv', inputs: ['h1', 'w2'], outputs: ['c2'], name: 'conv2' },
      { op: 'HardSigmoid', inputs: ['c2'], outputs: ['h2'], name: 'hsig', attrs: { alpha: { f: 1 / 6 } } },
      { op: 'Tanh', inputs: ['c2'], outputs: ['t'], name: 'tanh' },
      { op: 'Sigmoid', inputs: ['t'], outputs: ['s'], name: 'sig' },
      { op: 'Mul', inputs: ['s', 't'], outputs: ['sw'], name: 'swish' },
      { op: 'Add', inputs: ['h2', 'sw'], outputs: ['y'], name: 'add' },
    ],
    output: 'y',
    opset: 14,
    initializers: { w: weights([3, 2, 1, 1], 8), w2: weights([3, 3, 1, 1], 8) },
  }),
  'Mul: a [n, c, 1, 1] gate times a map (either order), and of one shape': () => ({
    input: image(3, 5, 4),
    nodes: [
      { op: 'Conv', inputs: ['x', 'w'], outputs: ['m'], name: 'conv' },
      { op: 'GlobalAveragePool', inputs: ['m'], outputs: ['g'], name: 'pool' },
      { op: 'Sigmoid', inputs: ['g'], outputs: ['s'], name: 'gate' },
      { op: 'Mul', inputs: ['s', 'm'], outputs: ['a'], name: 'scale' },
      { op: 'Mul', inputs: ['a', 'm'], outputs: ['y'], name: 'square' },
    ],
    output: 'y',
    initializers: { w: weights([4, 3, 3, 3]) },
  }),
  'MaxPool (pads, ceil_mode), AveragePool (count_include_pad)': () => ({
    input: image(3, 8, 7),
    ...chain([
      { op: 'MaxPool', attrs: { kernel_shape: { ints: [3, 3] }, strides: { ints: [2, 2] }, pads: { ints: [1, 1, 1, 1] }, ceil_mode: { i: 1 } } },
      { op: 'AveragePool', attrs: { kernel_shape: { ints: [2, 2] }, pads: { ints: [1, 0, 0, 1] }, count_include_pad: { i: 1 } } },
    ]),
  }),
  'GlobalAveragePool, Flatten, Gemm (transB, alpha, beta), Softmax': () => ({
    input: image(6, 5, 5),
    ...chain([{ op: 'GlobalAveragePool' }, { op: 'Flatten' }, { op: 'Gemm', extra: ['w', 'b'], attrs: { transB: { i: 1 }, alpha: { f: 0.5 }, beta: { f: 2 } } }, { op: 'Softmax', attrs: { axis: { i: 1 } } }]),
    initializers: { w: weights([4, 6]), b: weights([4]) },
  }),
  'Flatten of an NCHW map, then Gemm: the feature order is folded into the weights': () => ({
    input: image(3, 4, 5),
    ...chain([{ op: 'Flatten' }, { op: 'Gemm', extra: ['w', 'b'] }]),
    initializers: { w: weights([60, 7]), b: weights([7]) },
  }),
  'Reshape to [-1, features], MatMul + Add (fused into one Dense), Dropout, Identity': () => ({
    input: image(2, 3, 3),
    ...chain([{ op: 'Reshape', extra: ['shape'] }, { op: 'MatMul', extra: ['w'] }, { op: 'Add', extra: ['b'] }, { op: 'Dropout', extra: ['ratio'] }, { op: 'Identity' }]),
    initializers: { shape: ints([-1, 18]), w: weights([18, 5]), b: weights([5]), ratio: { dims: [], data: [0.3] } },
  }),
  'Pad (zeros on height and width), Add and Concat of branches': () => {
    const nodes: NodeSpec[] = [
      { op: 'Pad', inputs: ['x', 'pads'], outputs: ['p'] },
      { op: 'Conv', inputs: ['p', 'w1'], outputs: ['a'] },
      { op: 'Conv', inputs: ['x', 'w2'], outputs: ['b'], attrs: { pads: { ints: [0, 1, 1, 0] } } },
      { op: 'Add', inputs: ['a', 'b'], outputs: ['s'] },
      { op: 'Concat', inputs: ['s', 'a'], outputs: ['y'], attrs: { axis: { i: 1 } } },
    ];
    return { input: image(3, 5, 5), nodes, output: 'y', initializers: { pads: ints([0, 0, 1, 0, 0, 0, 0, 1]), w1: weights([4, 3, 2, 2]), w2: weights([4, 3, 2, 2]) } };
  },
  'Mean of three branches (an ensemble\'s averaged softmax outputs)': () => {
    const nodes: NodeSpec[] = [
      { op: 'Flatten', inputs: ['x'], outputs: ['f'] },
      ...['1', '2', '3'].flatMap((k): NodeSpec[] => [
        { op: 'Gemm', inputs: ['f', `w${k}`, `b${k}`], outputs: [`z${k}`] },
        { op: 'Softmax', inputs: [`z${k}`], outputs: [`p${k}`] },
      ]),
      { op: 'Mean', inputs: ['p1', 'p2', 'p3'], outputs: ['y'] },
    ];
    const init = Object.fromEntries(['1', '2', '3'].flatMap((k) => [[`w${k}`, weights([12, 4])], [`b${k}`, weights([4])]]));
    return { input: image(3, 2, 2), nodes, output: 'y', initializers: init };
  },
  'NHWC input read through Transpose(0, 3, 1, 2)': () => ({
    input: { name: 'x', dims: ['batch', 6, 5, 3] },
    ...chain([{ op: 'Transpose', attrs: { perm: { ints: [0, 3, 1, 2] } } }, { op: 'Conv', extra: ['w'] }]),
    initializers: { w: weights([2, 3, 3, 3]) },
  }),
  'Transpose(0, 2, 3, 1) then Flatten (NHWC feature order, as lite-cnn exports), Gemm, Unsqueeze to a 1x1 map, Conv': () => ({
    input: image(3, 2, 4),
    ...chain([
      { op: 'Transpose', attrs: { perm: { ints: [0, 2, 3, 1] } } },
      { op: 'Flatten' },
      { op: 'Gemm', extra: ['w', 'b'] },
      { op: 'Unsqueeze', extra: ['axes'] },
      { op: 'Conv', extra: ['k'] },
    ]),
    initializers: { w: weights([24, 6]), b: weights([6]), axes: ints([2, 3]), k: weights([4, 6, 1, 1]) },
  }),
};

describe('importOnnx: each op-table row against onnxruntime-web', () => {
  for (const [name, make] of Object.entries(CASES)) it(name, async () => void (await compareWithOrt(make())));

  it('every supported op is covered by a case above', () => {
    const covered = new Set(Object.values(CASES).flatMap((make) => make().nodes.map((n) => n.op)));
    covered.add('Constant'); // written by torch for Clip's bounds: the committed fixture has it
    expect(ONNX_IMPORT_OPS.filter((op) => !covered.has(op))).toEqual([]);
  });

  it('opsets 11 and 17 (Softmax and Dropout read their axis and ratio per opset)', async () => {
    for (const opset of [11, 17]) {
      const g = CASES['GlobalAveragePool, Flatten, Gemm (transB, alpha, beta), Softmax']!();
      await compareWithOrt({ ...g, opset });
    }
  });
});

const fixtureDir = fileURLToPath(new URL('../../../tests/onnx/fixtures/', import.meta.url));

describe('the committed fixture (tests/onnx/make_fixtures.py tiny 28 tests/onnx/fixtures --bn preserved --committed)', () => {
  it('gives torch’s output and reports its ops', async () => {
    const expected = JSON.parse(readFileSync(`${fixtureDir}tiny-expected.json`, 'utf8')) as { input: { shape: number[] }; output: number[]; outputShape: number[] };
    const [n, c, h, w] = expected.input.shape as [number, number, number, number];
    const x = Float32Array.from({ length: n * c * h * w }, (_, i) => Math.sin(0.37 * i));
    const { model, opset, ops, producer } = await readOnnx(readFileSync(`${fixtureDir}tiny.onnx`), { engine });
    expect(opset).toBe(13);
    expect(producer).toMatch(/^pytorch/);
    expect(Object.fromEntries(ops)).toMatchObject({ Conv: 3, BatchNormalization: 1, MaxPool: 1, Clip: 1, Add: 1, AveragePool: 1, Flatten: 1, Gemm: 1, Softmax: 1 });
    expect(model.inputShape).toEqual([h, w, c]);
    const got = await model.predict({ data: nchwToNhwc(x, n, c, h, w), shape: [n, h, w, c] });
    expect(got.length).toBe(expected.output.length);
    for (let i = 0; i < got.length; i++) expect(Math.abs(got[i]! - expected.output[i]!), `output ${i}`).toBeLessThanOrEqual(1e-5);
    // Fine-tunable like any model: BN is a layer with its statistics.
    expect(model.layers.filter((l) => l.kind === 'BatchNormalization')).toHaveLength(1);
    model.dispose();
  });
});

describe('importOnnx: unsupported and hostile files are typed errors', () => {
  const conv = (extra: Partial<NodeSpec> = {}): GraphSpec => ({
    input: image(3, 8, 8),
    nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], name: 'conv', ...extra }],
    output: 'y',
    initializers: { w: weights([4, 3, 3, 3]) },
  });
  const rejects = async (bytes: Uint8Array, message: RegExp, options = {}) => {
    const error = await importOnnx(bytes, { engine, ...options }).then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(ModelFormatError);
    expect((error as Error).message).toMatch(message);
  };

  it('an unsupported op names the node and lists the supported ops', async () => {
    const g = conv();
    g.nodes.push({ op: 'Resize', inputs: ['y'], outputs: ['z'], name: 'up' });
    await rejects(buildOnnx({ ...g, output: 'z' }), /ONNX node 'up' \(Resize\): unsupported op; supported ops: Add, AveragePool, BatchNormalization, .*Transpose/);
  });
  it('an unsupported attribute or value names the node and the attribute', async () => {
    await rejects(buildOnnx(conv({ attrs: { dilations: { ints: [2, 2] } } })), /ONNX node 'conv' \(Conv\): attribute 'dilations' is \[2, 2\]; only dilation 1/);
    await rejects(buildOnnx(conv({ attrs: { foo: { i: 1 } } })), /ONNX node 'conv' \(Conv\): unsupported attribute 'foo'; Conv supports auto_pad, dilations, kernel_shape, pads, strides, group/);
    const grouped = { ...conv({ attrs: { group: { i: 2 } } }), input: image(4, 8, 8), initializers: { w: weights([4, 2, 3, 3]) } };
    await rejects(buildOnnx(grouped), /attribute 'group' is 2 with 4 input channels .*supported: group 1, or group = input channels/);
  });
  it('a HardSigmoid other than PyTorch\'s, and a Mul by a constant or of mismatched shapes', async () => {
    const hard = conv();
    hard.nodes.push({ op: 'HardSigmoid', inputs: ['y'], outputs: ['z'], name: 'hs', attrs: { alpha: { f: 0.2 } } });
    await rejects(buildOnnx({ ...hard, output: 'z' }), /ONNX node 'hs' \(HardSigmoid\): HardSigmoid\(alpha 0\.2\d*, beta 0\.5\) is not supported; supported: alpha 1\/6 and beta 0\.5/);
    // A Mul by a constant, and of shapes that neither match nor scale one another.
    const byConstant = conv();
    byConstant.nodes.push({ op: 'Mul', inputs: ['y', 'k'], outputs: ['z'], name: 'mul' });
    await rejects(buildOnnx({ ...byConstant, output: 'z', initializers: { ...byConstant.initializers, k: weights([1]) } }), /ONNX node 'mul' \(Mul\): multiplying by a constant \(input 1\) is not supported/);
    const mismatched = conv();
    mismatched.nodes.push({ op: 'MaxPool', inputs: ['y'], outputs: ['p'], name: 'pool', attrs: { kernel_shape: { ints: [2, 2] } } }, { op: 'Mul', inputs: ['y', 'p'], outputs: ['z'], name: 'mul' });
    const error = await importOnnx(buildOnnx({ ...mismatched, output: 'z' }), { engine }).then(() => null, (e: unknown) => e);
    expect((error as Error).message).toMatch(/Multiply.*expected inputs of one shape, or one of \[1, 1, c\] and one of \[h, w, c\]/);
  });
  it('an opset outside 11-17', async () => {
    await rejects(buildOnnx({ ...conv(), opset: 9 }), /opset 9 is not supported; lite-cnn imports opsets 11 to 17/);
  });
  it('a truncated file, or bytes that are not ONNX', async () => {
    const bytes = buildOnnx(conv());
    await rejects(bytes.subarray(0, bytes.length - 50), /not a valid ONNX model \(truncated or corrupt/);
    await rejects(new TextEncoder().encode('{"not": "onnx"}'), /not a valid ONNX model|no graph with nodes/);
    await rejects(new Uint8Array(0), /the file is empty/);
  });
  it('absurd dims are refused before anything is allocated', async () => {
    const huge = { ...conv(), initializers: { w: { dims: [1e9, 1e9, 3, 3], data: [], raw: new Uint8Array(16) } } };
    await rejects(buildOnnx(huge), /initializer 'w': dims \[1000000000, 1000000000, 3, 3\] hold more than 2147483648 elements/);
    await rejects(buildOnnx({ ...conv(), input: image(3, 100000, 100000) }), /input shape \[100000, 100000, 3\] has 30000000000 values per sample, above the limit/);
  });
  it('an initializer whose data does not match its dims', async () => {
    await rejects(buildOnnx({ ...conv(), initializers: { w: { dims: [4, 3, 3, 3], data: [], raw: new Uint8Array(400) } } }), /initializer 'w': dims \[4, 3, 3, 3\] need 108 values \(432 bytes\), the file holds 400 bytes of raw data/);
  });
  it('external data', async () => {
    await rejects(buildOnnx({ ...conv(), initializers: { w: { dims: [4, 3, 3, 3], data: [], external: 'weights.bin' } } }), /initializer 'w': its data is in an external file \('weights.bin'\)/);
  });
  it('a cycle, and a value nothing defines', async () => {
    const cyclic: GraphSpec = {
      input: image(3, 4, 4),
      nodes: [
        { op: 'Add', inputs: ['x', 'b'], outputs: ['a'], name: 'first' },
        { op: 'Relu', inputs: ['a'], outputs: ['b'], name: 'second' },
      ],
      output: 'b',
    };
    await rejects(buildOnnx(cyclic), /the graph has a cycle \(2 nodes, e.g. ONNX node 'first' \(Add\), wait on each other\)/);
    await rejects(buildOnnx({ ...conv(), nodes: [{ op: 'Relu', inputs: ['nowhere'], outputs: ['y'], name: 'r' }] }), /ONNX node 'r' \(Relu\) reads 'nowhere', which no node, input or initializer defines/);
  });
  it('a symbolic height needs inputShape, which then gives it', async () => {
    const g = { ...conv(), input: { name: 'x', dims: ['batch', 3, 'h', 'w'] } };
    await rejects(buildOnnx(g), /dims \[\?, 3, \?, \?\] are symbolic beyond the batch; pass inputShape \[h, w, c\]/);
    const model = await importOnnx(buildOnnx(g), { engine, inputShape: [10, 12, 3] });
    expect(model.outputShape).toEqual([8, 10, 4]);
    model.dispose();
  });
  it('a flattened NCHW tensor as the model output', async () => {
    await rejects(buildOnnx({ input: image(2, 3, 3), ...chain([{ op: 'Flatten' }]) }), /output 'y' is a flattened \[c, h, w\] tensor in NCHW order/);
  });
});
