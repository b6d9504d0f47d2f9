/**
 * A torchvision network with seeded random weights, as torch computed it
 * (tests/torchvision/export_reference.py, Debian's python3-torch and
 * python3-torchvision; nothing is downloaded), loaded into the lite-cnn
 * application of the same structure through `torchvisionKeys`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { applications, decodeSafetensors, type Engine, type Model } from '@lite-cnn/sdk';
import { PYTHON } from './export-oracles.js';

const SCRIPT = fileURLToPath(new URL('../../../tests/torchvision/export_reference.py', import.meta.url));

export interface TorchvisionReference {
  /** The lite-cnn model holding torchvision's weights (logits: no softmax). */
  model: Model;
  /** The 2 images torch ran, NHWC `[2, size, size, 3]`. */
  input: Float32Array;
  /** torch's logits `[2, 10]`. */
  logits: Float32Array;
}

export async function torchvisionReference(
  arch: string,
  make: (a: applications.ApplicationArgs) => Model,
  size: number,
  engine: Engine,
  dir: string,
): Promise<TorchvisionReference> {
  const out = join(dir, `${arch}-${size}.safetensors`);
  const r = spawnSync(PYTHON, [SCRIPT, arch, String(size), out], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const ref = decodeSafetensors(readFileSync(out));
  const model = make({ inputShape: [size, size, 3], classes: 10, classifierActivation: 'linear', engine });
  await model.build({ batchSize: 2 });
  const weights = new Map<string, Float32Array>();
  for (const { tensor, key } of applications.torchvisionKeys(model)) {
    const t = ref.tensors.get(`param:${key}`);
    if (!t) throw new Error(`${arch}: torchvision has no '${key}' (for ${tensor})`);
    weights.set(tensor, t.data as Float32Array);
  }
  const torchKeys = [...ref.tensors.keys()].filter((k) => k.startsWith('param:')).length;
  expect(weights.size, 'every torchvision tensor has its place').toBe(torchKeys);
  model.setWeights(weights);
  return { model, input: ref.tensors.get('input')!.data as Float32Array, logits: ref.tensors.get('logits')!.data as Float32Array };
}
