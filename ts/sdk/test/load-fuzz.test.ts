/**
 * A small, seeded fuzz suite of the model loader: 2,400 mutations of three
 * valid model files (byte flips, truncations, header numbers, metadata JSON
 * fields, duplicate keys, non-finite weights, huge shapes). Every load must end
 * in a model or a typed lite-cnn error (never a TypeError, RangeError or a
 * wasm trap), within 1 s, without growing memory by 300 MB; a model that does
 * load must predict finite values or throw a typed error. The seed makes a
 * failure reproducible: the failing case's index and operator are reported.
 */
import { describe, expect, it } from 'vitest';
import { Adam, Conv2D, decodeSafetensors, Dense, encodeSafetensors, Engine, Flatten, GlobalAveragePooling2D, LiteCnnError, Sequential, type SafetensorsEntry } from '@lite-cnn/sdk';
import { mnistNet } from './nets.js';
import { mulberry32 } from './seeded-random.js';

const SEED = 20261201;
const CASES = 2400;
const MAX_LOAD_MS = 1000;
const MAX_GROWTH_BYTES = 300 * 2 ** 20;


type Rand = () => number;
const int = (r: Rand, n: number) => Math.floor(r() * n);
const pick = <T>(r: Rand, items: readonly T[]): T => items[int(r, items.length)]!;

const EXTREME_NUMBERS = ['0', '-1', '1', '2', '3', '65537', '1000', '1e9', '9007199254740993', '1e308', '-0', '0.5', '1e-320'];
const EXTREME_VALUES: unknown[] = [null, -1, 0, 1, 2, 5, 1e6, 1e300, 0.5, '', 'x'.repeat(5000), [], {}, [1, 2], [[[]]], true, 'relu', 'Dense', { kind: 'none' }];

function headerOf(bytes: Uint8Array): { text: string; end: number } {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  return { text: new TextDecoder().decode(bytes.subarray(8, 8 + n)), end: 8 + n };
}

/** Bytes with the header replaced by `text` (the length field updated). */
function withHeader(bytes: Uint8Array, text: string): Uint8Array {
  const { end } = headerOf(bytes);
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.length + bytes.length - end);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(bytes.subarray(end), 8 + json.length);
  return out;
}

/** Sets a random leaf (or adds a key) somewhere inside a parsed JSON value. */
function mutateJson(r: Rand, value: unknown): unknown {
  if (Array.isArray(value) && value.length > 0 && r() < 0.8) {
    const i = int(r, value.length);
    value[i] = mutateJson(r, value[i]);
    return value;
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length > 0 && r() < 0.85) {
      const k = pick(r, keys);
      if (r() < 0.1) delete obj[k];
      else obj[k] = mutateJson(r, obj[k]);
    } else obj[pick(r, ['extra', 'kind', 'inputShape', 'units', '__proto__'])] = pick(r, EXTREME_VALUES);
    return obj;
  }
  return pick(r, EXTREME_VALUES);
}

type Mutation = (r: Rand, bytes: Uint8Array) => Uint8Array;

const MUTATIONS: Record<string, Mutation> = {
  flipBytes: (r, b) => {
    const out = b.slice();
    for (let k = 1 + int(r, 8); k > 0; k--) {
      const at = int(r, out.length);
      out[at] = out[at]! ^ (1 << int(r, 8));
    }
    return out;
  },
  flipHeaderBytes: (r, b) => {
    const out = b.slice();
    const { end } = headerOf(b);
    for (let k = 1 + int(r, 4); k > 0; k--) out[int(r, end)] = int(r, 256);
    return out;
  },
  truncate: (r, b) => b.slice(0, int(r, b.length)),
  append: (r, b) => {
    const out = new Uint8Array(b.length + 1 + int(r, 64));
    out.set(b);
    return out;
  },
  headerNumber: (r, b) => {
    const { text } = headerOf(b);
    const numbers = [...text.matchAll(/-?\d+(\.\d+)?(e-?\d+)?/g)];
    if (numbers.length === 0) return b;
    const m = pick(r, numbers);
    return withHeader(b, text.slice(0, m.index) + pick(r, EXTREME_NUMBERS) + text.slice(m.index! + m[0].length));
  },
  metadataField: (r, b) => {
    const file = decodeSafetensors(b);
    const key = pick(r, Object.keys(file.metadata));
    let value: unknown;
    try {
      value = JSON.parse(file.metadata[key]!);
    } catch {
      value = file.metadata[key];
    }
    const tensors = [...file.tensors].map(([name, t]) => ({ name, ...t }) as SafetensorsEntry);
    return encodeSafetensors(tensors, { ...file.metadata, [key]: JSON.stringify(mutateJson(r, value)) ?? 'null' });
  },
  duplicateKey: (r, b) => {
    const { text } = headerOf(b);
    const keys = [...text.matchAll(/\\?"([a-zA-Z_]+)\\?":/g)];
    const m = pick(r, keys);
    // Repeats a key (escaped inside the metadata strings) right after itself, with a value of the same kind.
    return withHeader(b, text.slice(0, m.index) + `${m[0]}0,` + text.slice(m.index!));
  },
  nonFiniteWeight: (r, b) => {
    const file = decodeSafetensors(b);
    const tensors = [...file.tensors].map(([name, t]) => ({ name, ...t }) as SafetensorsEntry);
    const t = pick(r, tensors.filter((e) => e.data.length > 0));
    (t.data as Float32Array)[int(r, t.data.length)] = pick(r, [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 3e38]);
    return encodeSafetensors(tensors, file.metadata);
  },
  hugeShape: (r, b) => {
    const file = decodeSafetensors(b);
    const topology = JSON.parse(file.metadata.topology!);
    const side = pick(r, [512, 1000, 4096, 65536, 2 ** 31]);
    topology.layers[0].inputShape = [side, side, pick(r, [1, 3, 1000])];
    const tensors = [...file.tensors].map(([name, t]) => ({ name, ...t }) as SafetensorsEntry);
    return encodeSafetensors(tensors, { ...file.metadata, topology: JSON.stringify(topology) });
  },
};

async function baseFiles(engine: Engine): Promise<Uint8Array[]> {
  const mnist = mnistNet({ seed: 4, engine });
  mnist.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy' });
  await mnist.build();
  mnist.metadata = { classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], preprocessing: { kind: 'minmax' }, threshold: null };
  const binary = new Sequential([new Flatten({ inputShape: [6, 6, 3] }), new Dense({ units: 8, activation: 'relu' }), new Dense({ units: 2, activation: 'softmax' })], { engine, name: 'binary' });
  await binary.build();
  binary.metadata = { classNames: ['benign', 'malignant'], preprocessing: { kind: 'standardize', mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2] }, threshold: { positiveClass: 1, value: 0.3 } };
  // Weights independent of the input size: a mutated input shape reaches the planned-memory limit.
  const pooled = new Sequential([new Conv2D({ filters: 4, kernelSize: 3, inputShape: [8, 8, 3] }), new GlobalAveragePooling2D(), new Dense({ units: 3, activation: 'softmax' })], { engine, name: 'pooled' });
  await pooled.build();
  const models = [mnist, binary, pooled];
  const files = [mnist.toBytes({ includeOptimizer: true }), binary.toBytes(), pooled.toBytes()];
  for (const m of models) m.dispose();
  return files;
}

describe('model loading fuzz (seeded)', () => {
  it(`${CASES} mutated model files: typed errors only, each load < ${MAX_LOAD_MS} ms and < 300 MB`, { timeout: 120_000 }, async () => {
    const engine = await Engine.create({ threads: 1 });
    try {
      const bases = await baseFiles(engine);
      const r = mulberry32(SEED);
      const names = Object.keys(MUTATIONS);
      const outcomes = new Map<string, number>();
      const untyped: string[] = [];
      const slow: string[] = [];
      const memoryBefore = engine.memoryBytes;
      const rssBefore = process.memoryUsage.rss();
      let maxMs = 0;
      let maxRssGrowth = 0;
      for (let i = 0; i < CASES; i++) {
        const op = names[i % names.length]!;
        const base = bases[int(r, bases.length)]!;
        const bytes = MUTATIONS[op]!(r, base);
        const label = `case ${i} (${op})`;
        const t0 = performance.now();
        let outcome: string;
        try {
          const model = await Sequential.fromBytes(bytes, { engine, name: label });
          try {
            const x = new Float32Array(model.inputSize).fill(0.5);
            await model.predict({ data: x, shape: [1, ...model.inputShape] });
            outcome = 'loaded';
          } finally {
            model.dispose();
          }
        } catch (err) {
          outcome = err instanceof LiteCnnError ? err.name : 'untyped';
          if (!(err instanceof LiteCnnError)) untyped.push(`${label}: ${String(err)}`);
          else if (err.message.length > 2100) untyped.push(`${label}: message of ${err.message.length} characters`);
        }
        const ms = performance.now() - t0;
        maxMs = Math.max(maxMs, ms);
        if (ms > MAX_LOAD_MS) slow.push(`${label}: ${ms.toFixed(0)} ms`);
        maxRssGrowth = Math.max(maxRssGrowth, process.memoryUsage.rss() - rssBefore);
        outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      }
      const growth = engine.memoryBytes - memoryBefore;
      console.log(
        `load fuzz: ${CASES} files (seed ${SEED}): ${[...outcomes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}; ` +
          `slowest load ${maxMs.toFixed(1)} ms, wasm growth ${(growth / 2 ** 20).toFixed(1)} MiB, peak RSS growth ${(maxRssGrowth / 2 ** 20).toFixed(1)} MiB`,
      );
      expect(untyped).toEqual([]);
      expect(slow).toEqual([]);
      expect(growth).toBeLessThan(MAX_GROWTH_BYTES);
      expect(maxRssGrowth).toBeLessThan(MAX_GROWTH_BYTES);
      // The suite exercises both sides: many files still load, most are refused.
      expect(outcomes.get('loaded') ?? 0).toBeGreaterThan(50);
      expect(outcomes.get('ModelFormatError') ?? 0).toBeGreaterThan(CASES / 2);
    } finally {
      await engine.shutdown();
    }
  });
});
