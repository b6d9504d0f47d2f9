/**
 * Non-finite results are errors, never outputs: a model file with NaN weights
 * is refused on load (unless asked), predict/evaluate/predictClasses on such a
 * model throw NonFiniteOutputError naming the model and the first bad output,
 * and stored decision metadata must fit the model's class count.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ArrayDataset,
  DataError,
  decodeSafetensors,
  Dense,
  encodeSafetensors,
  Engine,
  Flatten,
  ModelFormatError,
  NonFiniteOutputError,
  RuntimeError,
  Sequential,
  type SafetensorsEntry,
} from '@lite-cnn/sdk';

function tinyModel(engine: Engine, units = 3): Sequential {
  return new Sequential([new Flatten({ inputShape: [2, 2, 1] }), new Dense({ units, activation: 'softmax' })], { engine, seed: 2, name: 'tiny' });
}

/** The model's file with `layers.1.kernel[index]` set to `value`. */
function poisoned(bytes: Uint8Array, index: number, value: number): Uint8Array {
  const file = decodeSafetensors(bytes);
  const tensors = [...file.tensors].map(([name, t]) => ({ name, ...t }) as SafetensorsEntry);
  (tensors.find((t) => t.name === 'layers.1.kernel')!.data as Float32Array)[index] = value;
  return encodeSafetensors(tensors, file.metadata);
}

function withMetadata(bytes: Uint8Array, metadata: object): Uint8Array {
  const file = decodeSafetensors(bytes);
  const tensors = [...file.tensors].map(([name, t]) => ({ name, ...t }) as SafetensorsEntry);
  return encodeSafetensors(tensors, { ...file.metadata, metadata: JSON.stringify(metadata) });
}

const x = { data: new Float32Array([0.1, 0.2, 0.3, 0.4, 1, 0, 0, 1]), shape: [2, 2, 2, 1] };

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create({ threads: 1 });
});
afterAll(async () => {
  await engine.shutdown();
});

describe('non-finite weights and outputs', () => {
  it('loading refuses NaN/Infinity weights, naming the tensor and index; allowNonFinite loads them', async () => {
    const model = tinyModel(engine);
    await model.build();
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
      const bytes = poisoned(model.toBytes(), 5, bad);
      const err = await Sequential.fromBytes(bytes, { engine, name: 'nan.safetensors' }).catch((e: unknown) => e as Error);
      expect(err).toBeInstanceOf(ModelFormatError);
      expect((err as Error).message).toBe(`nan.safetensors: tensor 'layers.1.kernel' holds ${bad} at index 5; expected finite values (load with allowNonFinite: true to inspect such a file)`);
    }
    const loaded = await Sequential.fromBytes(poisoned(model.toBytes(), 5, Number.NaN), { engine, allowNonFinite: true });
    expect(Number.isNaN(loaded.getWeights().get('layers.1.kernel')![5])).toBe(true);
  });

  it('predict, predictClasses and evaluate throw NonFiniteOutputError naming the model and the first bad output', async () => {
    const model = tinyModel(engine);
    await model.build();
    const nan = await Sequential.fromBytes(poisoned(model.toBytes(), 0, Number.NaN), { engine, allowNonFinite: true, name: 'nan.safetensors' });
    nan.compile({ optimizer: 'sgd', loss: 'sparseCategoricalCrossentropy' });
    const err = (await nan.predict(x).catch((e: unknown) => e)) as NonFiniteOutputError;
    expect(err).toBeInstanceOf(NonFiniteOutputError);
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.message).toBe("predict: model 'tiny' output NaN for sample 0 (output unit 0); its weights are not finite or overflow, so no result is returned");
    expect([err.sample, err.output]).toEqual([0, 0]);
    await expect(nan.predictClasses(x)).rejects.toThrow(NonFiniteOutputError);
    await expect(nan.evaluate(x, [0, 1])).rejects.toThrow(/evaluate: model 'tiny' output NaN for sample 0/);
    // A finite weight that overflows: 3e38 x 10 is Infinity in float32, so only sample 2's outputs are NaN;
    // batches after the first name the sample in the whole input.
    const huge = await Sequential.fromBytes(poisoned(model.toBytes(), 0, 3e38), { engine });
    const later = { data: new Float32Array([0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0]), shape: [3, 2, 2, 1] };
    await expect(huge.predict(later, { batchSize: 1 })).rejects.toThrow(/predict: model 'tiny' output NaN for sample 2 \(output unit 0\)/);
  });

  it('classesFromProbabilities refuses NaN instead of returning class 4294967295, and uses the first maximum on ties', async () => {
    const model = tinyModel(engine);
    await model.build();
    expect(() => model.classesFromProbabilities(new Float32Array([0.2, Number.NaN, 0.3]))).toThrow(DataError);
    expect(() => model.classesFromProbabilities(new Float32Array([0.2, Number.NaN, 0.3]))).toThrow(/probs\[1\]: expected a finite number, got NaN/);
    expect([...model.classesFromProbabilities(new Float32Array([0.4, 0.4, 0.2, 0.1, 0.2, 0.7]))]).toEqual([0, 2]);
    // Dense targets' labels use the same arg-max.
    const ds = new ArrayDataset(new Float32Array(8), [2, 2, 1], new Float32Array([0.5, 0.5, 0, 0, 0.2, 0.8]), 3);
    expect([...ds.labels()!]).toEqual([0, 2]);
  });

  it('a stored decision threshold must fit the class count', async () => {
    const binary = tinyModel(engine, 2);
    await binary.build();
    const bytes = binary.toBytes();
    const load = (md: object) => Sequential.fromBytes(withMetadata(bytes, md), { engine, name: 'b.safetensors' });
    const base = { classNames: null, preprocessing: { kind: 'none' } };
    await expect(load({ ...base, threshold: { positiveClass: 5, value: 0.3 } })).rejects.toThrow(/b\.safetensors: invalid metadata: threshold\.positiveClass must be 0 or 1 for a binary model, got 5/);
    await expect(load({ ...base, threshold: { positiveClass: -1, value: 0.3 } })).rejects.toThrow(ModelFormatError);
    // Errors of the metadata itself name the file and its entry too.
    await expect(load({ ...base, preprocessing: { kind: 'sepia' }, threshold: null })).rejects.toThrow(
      /b\.safetensors: __metadata__ metadata: invalid metadata: preprocessing\.kind must be one of none, minmax, caffe, standardize/,
    );
    const ok = await load({ ...base, classNames: ['benign', 'malignant'], threshold: { positiveClass: 0, value: 0.3 } });
    expect([...ok.classesFromProbabilities(new Float32Array([0.35, 0.65, 0.2, 0.8]))]).toEqual([0, 1]);

    const three = tinyModel(engine, 3);
    await three.build();
    await expect(Sequential.fromBytes(withMetadata(three.toBytes(), { ...base, threshold: { positiveClass: 1, value: 0.5 } }), { engine })).rejects.toThrow(
      /a decision threshold applies to binary models; this one has 3 classes/,
    );
  });
});
