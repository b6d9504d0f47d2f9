/**
 * The applications against torchvision itself: the same seeded random
 * weights (tests/torchvision/export_reference.py, run here with Debian's
 * python3-torch and python3-torchvision; nothing is downloaded), mapped by
 * `torchvisionKeys`, give the same logits in inference mode. Skipped, with
 * the reason printed, where torch is not installed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { applications, decodeSafetensors, Engine, type Model } from '@lite-cnn/sdk';

const PYTHON = '/usr/bin/python3';
const script = fileURLToPath(new URL('../../../tests/torchvision/export_reference.py', import.meta.url));
const probe = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
const skipReason = probe.error ? `${PYTHON} not found` : probe.status !== 0 ? 'python3-torch / python3-torchvision are not installed' : undefined;
if (skipReason !== undefined) console.warn(`torchvision-crosscheck.test.ts skipped: ${skipReason}`);

const dir = mkdtempSync(join(tmpdir(), 'lite-cnn-torchvision-'));
let engine: Engine | undefined;
afterAll(async () => {
  await engine?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

async function crossCheck(arch: string, make: (a: applications.ApplicationArgs) => Model, size: number) {
  const out = join(dir, `${arch}.safetensors`);
  const r = spawnSync(PYTHON, [script, arch, String(size), out], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const ref = decodeSafetensors(readFileSync(out));
  engine ??= await Engine.create({ threads: 2 });
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
  const x = ref.tensors.get('input')!.data as Float32Array;
  const logits = await model.predict({ data: x, shape: [2, size, size, 3] });
  const want = ref.tensors.get('logits')!.data as Float32Array;
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  // float32 on both sides, summed in different orders through ~20-50 layers:
  // agreement to 1e-4 of the logits' range.
  for (let i = 0; i < want.length; i++) expect(Math.abs(logits[i]! - want[i]!), `${arch} logit ${i}: ${logits[i]} vs ${want[i]}`).toBeLessThanOrEqual(1e-4 * scale);
  model.dispose();
}

describe.skipIf(skipReason !== undefined)('applications vs torchvision (same weights)', () => {
  it('resnet18 gives torchvision’s logits', async () => crossCheck('resnet18', applications.resnet18, 64), 120_000);
  it('mobilenet_v2 gives torchvision’s logits', async () => crossCheck('mobilenet_v2', applications.mobilenetV2, 64), 120_000);
});
