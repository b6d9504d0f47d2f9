/**
 * lite-cnn → ONNX → lite-cnn: every row of the exporter table and the
 * reference networks, exported (NHWC and `nchw` input) and imported back,
 * give the same predictions as the original model, with the same parameter
 * counts and the model's metadata (preprocessing, class names, threshold)
 * restored. The exporter's layout conversions (Transpose to and from NCHW,
 * Unsqueeze of flat features) are what the importer must read here; files
 * from PyTorch are covered by onnx-import-torch.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { importOnnx, ModelFormatError, ONNX_INPUT_LAYOUT_KEY, ONNX_METADATA_KEY, type Model, type OnnxExportOptions } from '@lite-cnn/sdk';
import { LAYER_CASES, NET_CASES, type ExportCase } from './export-cases.js';
import { expectClose, exportFixture, randomInput, randomizeWeights } from './export-oracles.js';

const { engine } = exportFixture('onnx-reimport');
const ONNX_INPUT_LAYOUT = ONNX_INPUT_LAYOUT_KEY;

async function predictions(model: Model, seed: number): Promise<Float32Array> {
  const [h, w, c] = model.inputShape;
  return model.predict({ data: randomInput(3 * h * w * c, seed), shape: [3, h, w, c] });
}

async function roundTrip(c: ExportCase, options: OnnxExportOptions = {}): Promise<void> {
  const model = c.build(engine());
  await model.build({ batchSize: 3 });
  randomizeWeights(model, 11);
  const back = await importOnnx(model.toOnnx(options), { engine: engine(), name: `${c.name}.onnx` });
  try {
    expect(back.inputShape).toEqual(model.inputShape);
    expect(back.countParams().total).toBe(model.countParams().total);
    // The same kernels on the same weights: only the order of a few sums may differ.
    expectClose(await predictions(back, 5), await predictions(model, 5), `${c.name}${options.nchw ? ' (nchw)' : ''}`, 1e-5);
  } finally {
    back.dispose();
    model.dispose();
  }
}

describe('ONNX round trip: each row of the export table', () => {
  for (const c of LAYER_CASES) it(c.name, () => roundTrip(c));
});

describe('ONNX round trip: networks', () => {
  for (const c of NET_CASES) it(c.name, () => roundTrip(c), 120_000);
  for (const name of ['mnist', 'graph-net', 'resnet18']) {
    it(`${name} with nchw input`, () => roundTrip(NET_CASES.find((c) => c.name === name)!, { nchw: true }), 120_000);
  }
});

describe('ONNX round trip: metadata', () => {
  it("restores the model's preprocessing, class names and decision threshold", async () => {
    const model = NET_CASES.find((c) => c.name === 'breakhis')!.build(engine());
    await model.build();
    model.metadata = {
      classNames: ['benign', 'malignant'],
      preprocessing: { kind: 'standardize', mean: [0.7, 0.6, 0.75], std: [0.15, 0.2, 0.12] },
      stainNormalization: { kind: 'reinhard', mean: [70, 12, -8], std: [12, 6, 5] },
      threshold: { positiveClass: 1, value: 0.37 },
    };
    const back = await importOnnx(model.toOnnx(), { engine: engine() });
    expect(back.metadata).toEqual(model.metadata);
    back.dispose();
    model.dispose();
  });
});

describe('ONNX round trip: metadata_props from an untrusted file', () => {
  async function withProps(edit: (props: { key: string; value: string }[]) => void): Promise<Uint8Array> {
    const { onnx } = await import('onnx-proto');
    const model = NET_CASES.find((c) => c.name === 'mnist')!.build(engine());
    await model.build();
    const proto = onnx.ModelProto.decode(model.toOnnx());
    model.dispose();
    const props = proto.metadataProps.map((p) => ({ key: p.key ?? '', value: p.value ?? '' }));
    edit(props);
    proto.metadataProps = props.map((p) => onnx.StringStringEntryProto.create(p));
    return onnx.ModelProto.encode(proto).finish();
  }
  const rejects = async (bytes: Uint8Array, message: RegExp) => {
    const err = await importOnnx(bytes, { engine: engine(), name: 'm.onnx' }).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect((err as Error).message).toMatch(message);
  };

  it('refuses an unknown input layout, a layout that contradicts the dims, and a key given twice', async () => {
    await rejects(await withProps((p) => (p.find((e) => e.key === ONNX_INPUT_LAYOUT)!.value = 'hwcn')), /m\.onnx: metadata_props 'lite_cnn\.input_layout' is "hwcn"; expected one of nhwc, nchw, flat/);
    await rejects(await withProps((p) => (p.find((e) => e.key === ONNX_INPUT_LAYOUT)!.value = 'flat')), /m\.onnx: input 'input': dims \[\?, 28, 28, 1\] disagree with the input layout 'flat' in metadata_props/);
    await rejects(await withProps((p) => p.push({ key: ONNX_METADATA_KEY, value: '{}' })), /m\.onnx: metadata_props has 2 'lite_cnn\.metadata' entries; expected one/);
  });

  it('refuses metadata that is not valid, has duplicate keys, or a threshold for a 10-class model', async () => {
    const setMetadata = (value: string) => withProps((p) => (p.find((e) => e.key === ONNX_METADATA_KEY)!.value = value));
    await rejects(await setMetadata('{"classNames": null,'), /m\.onnx: metadata_props 'lite_cnn\.metadata' is not valid JSON/);
    await rejects(await setMetadata('{"classNames": null, "classNames": ["a"], "preprocessing": {"kind": "none"}, "threshold": null}'), /m\.onnx: duplicate key "classNames" in metadata_props 'lite_cnn\.metadata'/);
    await rejects(await setMetadata('{"classNames": null, "preprocessing": {"kind": "none"}, "threshold": {"positiveClass": 1, "value": 0.4}}'), /m\.onnx: invalid metadata: a decision threshold applies to binary models; this one has 10 classes/);
    await rejects(await setMetadata('{"classNames": null, "preprocessing": {"kind": "sepia"}, "threshold": null}'), /m\.onnx: metadata_props 'lite_cnn\.metadata': invalid metadata: preprocessing\.kind must be one of/);
  });

  it('a file without them (from elsewhere) imports with the default metadata', async () => {
    const back = await importOnnx(await withProps((p) => p.splice(0)), { engine: engine() });
    expect(back.metadata).toEqual({ classNames: null, preprocessing: { kind: 'none' }, threshold: null });
    back.dispose();
  });
});
