#!/usr/bin/env node
// A PLACEHOLDER model for development and tests: the study's BreakHis
// architecture (319,106 parameters), trained for a couple of steps on random
// data. Its predictions mean nothing. The default model the page loads,
// public/models/breakhis.safetensors, is trained by the CLI on the real tiles
// and replaces this file's role once committed.
//
//   node examples/browser/scripts/make-placeholder-model.mjs [out.safetensors]
//
// Default output: examples/browser/public/models/placeholder-breakhis.safetensors
// (git-ignored). Deterministic: same bytes on every run (seeded).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Adam, BatchNormalization, Conv2D, Dense, Flatten, MaxPooling2D, ReLU, Sequential, l2 } from '@lite-cnn/sdk';

const here = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_PLACEHOLDER = resolve(here, '../public/models/placeholder-breakhis.safetensors');

/** The placeholder model's bytes (BreakHis topology, random-data training, minmax preprocessing, class names, a threshold). */
export async function makePlaceholderModel({ steps = 2, engine } = {}) {
  const reg = l2(0.1);
  const model = new Sequential(
    [
      new Conv2D({ filters: 16, kernelSize: 3, strides: 4, inputShape: [224, 224, 3], kernelRegularizer: reg }),
      new BatchNormalization(), new ReLU(),
      new Conv2D({ filters: 32, kernelSize: 3, strides: 2, kernelRegularizer: reg }),
      new BatchNormalization(), new ReLU(), new MaxPooling2D({ poolSize: 2 }),
      new Conv2D({ filters: 64, kernelSize: 3, strides: 2, kernelRegularizer: reg }),
      new BatchNormalization(), new ReLU(), new Flatten(),
      new Dense({ units: 128, activation: 'relu', kernelRegularizer: reg }),
      new Dense({ units: 2, activation: 'softmax', kernelRegularizer: reg }),
    ],
    { name: 'placeholder_breakhis', seed: 7, ...(engine ? { engine } : {}) },
  );
  model.compile({ optimizer: new Adam({ learningRate: 1e-3 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
  const batch = 8;
  const n = batch * steps;
  const per = 224 * 224 * 3;
  // Random pixels in [0, 1] (what minmax preprocessing yields), from a tiny LCG: no Math.random, same file every run.
  const x = new Float32Array(n * per);
  let s = 12345;
  for (let i = 0; i < x.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = (s >>> 8) / 16777216;
  }
  const y = Uint32Array.from({ length: n }, (_, i) => i % 2);
  await model.fit({ data: x, shape: [n, 224, 224, 3] }, y, { epochs: 1, batchSize: batch, shuffle: false });
  model.metadata = {
    classNames: ['benign', 'malignant'],
    preprocessing: { kind: 'minmax' },
    threshold: { positiveClass: 1, value: 0.5 },
  };
  return model.toBytes();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? DEFAULT_PLACEHOLDER);
  const bytes = await makePlaceholderModel();
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, bytes);
  console.log(`wrote a PLACEHOLDER model (BreakHis architecture, random-data weights) to ${out} (${bytes.length} bytes)`);
  process.exit(0);
}
