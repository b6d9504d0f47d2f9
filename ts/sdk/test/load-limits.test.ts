/**
 * Bounded model loading: every limit fails with a ModelFormatError naming the
 * limit before the work it bounds (no wasm growth for a model whose planned
 * memory is over budget), error messages stay short whatever the file holds,
 * and JSON nested in `__metadata__` is checked for duplicate keys.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeSafetensors,
  DEFAULT_LOAD_LIMITS,
  Dense,
  encodeSafetensors,
  Engine,
  Conv2D,
  GlobalAveragePooling2D,
  MAX_ERROR_MESSAGE,
  ModelFormatError,
  plannedBytes,
  Sequential,
  type SafetensorsEntry,
} from '@lite-cnn/sdk';

/**
 * A tiny valid model file whose weights do not depend on the input size, so a
 * file can declare any input with the same tensors: [4, 4, 1] -> Conv2D(2, 3x3)
 * -> GlobalAveragePooling2D -> Dense(2, softmax).
 */
async function tinyModelBytes(engine: Engine): Promise<Uint8Array> {
  const layers = [new Conv2D({ filters: 2, kernelSize: 3, inputShape: [4, 4, 1] }), new GlobalAveragePooling2D(), new Dense({ units: 2, activation: 'softmax' })];
  const model = new Sequential(layers, { engine, seed: 1 });
  await model.build();
  return model.toBytes();
}

/** The file's tensors and metadata, with `edit` applied to the metadata, encoded again. */
function rewrite(bytes: Uint8Array, edit: (meta: Record<string, string>) => Record<string, string>, extra: SafetensorsEntry[] = []): Uint8Array {
  const file = decodeSafetensors(bytes);
  const tensors = [...file.tensors].map(([name, t]) => ({ name, ...t }) as SafetensorsEntry);
  return encodeSafetensors([...tensors, ...extra], edit({ ...file.metadata }));
}

function topologyWithInput(bytes: Uint8Array, inputShape: number[]): Uint8Array {
  return rewrite(bytes, (meta) => {
    const topology = JSON.parse(meta.topology!);
    topology.layers[0].inputShape = inputShape;
    return { ...meta, topology: JSON.stringify(topology) };
  });
}

async function loadError(bytes: Uint8Array, engine: Engine, opts: Parameters<typeof Sequential.fromBytes>[1] = {}): Promise<Error> {
  try {
    await Sequential.fromBytes(bytes, { engine, name: 'm.safetensors', ...opts });
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the load to fail');
}

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create({ threads: 1 });
});
afterAll(async () => {
  await engine.shutdown();
});

describe('bounded model loading', () => {
  it('plannedBytes: weights x4 (grads, two slots) plus batch x (input, every layer output, three gradient buffers)', () => {
    const plan = { input: [4, 4, 1] as [number, number, number], shapes: [[1, 1, 16], [1, 1, 2]] as [number, number, number][], tensors: [{ size: 32 }, { size: 2 }] };
    // 4 bytes x (4 x 34 weights + 8 x (16 + 16 + 2 + 3 x 16)).
    expect(plannedBytes(plan, 8)).toBe(4 * (4 * 34 + 8 * (16 + 16 + 2 + 48)));
  });

  it('a 1000x1000 input is refused before the engine grows its memory', async () => {
    const bytes = topologyWithInput(await tinyModelBytes(engine), [1000, 1000, 1]);
    const before = engine.memoryBytes;
    const err = await loadError(bytes, engine);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err.message).toMatch(/m\.safetensors: the model needs at least \d+ MiB of engine memory at batch 32, above the limit of 512 MiB \(load limit maxPlannedBytes\)/);
    expect(engine.memoryBytes).toBe(before);
    const input = await loadError(bytes, engine, { limits: { maxInputValues: 100_000 } });
    expect(input.message).toMatch(/input shape \[1000, 1000, 1\] has 1000000 values per sample, above the limit of 100000 \(load limit maxInputValues\)/);
    // The limit is the caller's to raise; a raise still below the need fails the same way.
    const raised = await loadError(bytes, engine, { limits: { maxPlannedBytes: 1024 * 2 ** 20 } });
    expect(raised.message).toMatch(/needs at least 1095 MiB .* above the limit of 1024 MiB/);
    expect(engine.memoryBytes).toBe(before);
  });

  it('header size, metadata entries and tensor count are limited before any tensor is decoded', async () => {
    const bytes = await tinyModelBytes(engine);
    const manyKeys = rewrite(bytes, (meta) => ({ ...meta, ...Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, ''])) }));
    const keys = await loadError(manyKeys, engine);
    expect(keys).toBeInstanceOf(ModelFormatError);
    expect(keys.message).toMatch(/2004 __metadata__ entries, above the limit of 1024 \(maxMetadataKeys\)/);

    const empty = Array.from({ length: 5000 }, (_, i) => ({ name: `zero.${i}`, dtype: 'F32', shape: [0], data: new Float32Array(0) }) as SafetensorsEntry);
    const manyTensors = await loadError(rewrite(bytes, (m) => m, empty), engine);
    expect(manyTensors.message).toMatch(/5004 tensors, above the limit of 4096 \(maxTensors\)/);

    const header = await loadError(bytes, engine, { limits: { maxHeaderBytes: 64 } });
    expect(header.message).toMatch(/header length \d+ bytes exceeds the limit of 64 \(maxHeaderBytes\)/);
    expect(DEFAULT_LOAD_LIMITS.maxHeaderBytes).toBe(4 * 1024 * 1024);
  });

  it('error messages are capped, whatever the file names', async () => {
    const bytes = await tinyModelBytes(engine);
    const stray = Array.from({ length: 3000 }, (_, i) => ({ name: `stray.tensor.with.a.long.name.${i}`, dtype: 'F32', shape: [0], data: new Float32Array(0) }) as SafetensorsEntry);
    const err = await loadError(rewrite(bytes, (m) => m, stray), engine);
    expect(err.message).toMatch(/tensors not in the topology: stray\.tensor/);
    expect(err.message.length).toBeLessThanOrEqual(MAX_ERROR_MESSAGE + 60);
    expect(err.message).toMatch(/more characters cut\)$/);
  });

  it('duplicate keys inside the JSON strings of __metadata__ are rejected (JSON.parse would keep the last)', async () => {
    const bytes = await tinyModelBytes(engine);
    const twice = rewrite(bytes, (meta) => ({ ...meta, metadata: meta.metadata!.replace('{', '{"threshold":{"positiveClass":1,"value":0.9},') }));
    const err = await loadError(twice, engine);
    expect(err).toBeInstanceOf(ModelFormatError);
    expect(err.message).toMatch(/m\.safetensors: duplicate key "threshold" in __metadata__ metadata; expected each key once/);
    const nested = rewrite(bytes, (meta) => ({ ...meta, topology: meta.topology!.replace('"kind":"GlobalAveragePooling2D"', '"kind":"GlobalAveragePooling2D","name":"a","name":"b"') }));
    expect((await loadError(nested, engine)).message).toMatch(/duplicate key "name" in __metadata__ topology > layers > \[\]/);
  });
});
