/**
 * The applications against torchvision itself: the same seeded random
 * weights (torchvision-reference.ts), mapped by `torchvisionKeys`, give the
 * same logits in inference mode. Skipped, with the reason printed, where
 * torch is not installed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { applications, Engine, type Model } from '@lite-cnn/sdk';
import { expectClose, pythonSkipReason } from './export-oracles.js';
import { torchvisionReference } from './torchvision-reference.js';

const skipReason = pythonSkipReason('torchvision-crosscheck.test.ts', ['torch', 'torchvision'], 'python3-torch / python3-torchvision');
const dir = mkdtempSync(join(tmpdir(), 'lite-cnn-torchvision-'));
let engine: Engine | undefined;
afterAll(async () => {
  await engine?.shutdown();
  rmSync(dir, { recursive: true, force: true });
});

async function crossCheck(arch: string, make: (a: applications.ApplicationArgs) => Model, size: number) {
  engine ??= await Engine.create({ threads: 2 });
  const { model, input, logits } = await torchvisionReference(arch, make, size, engine, dir);
  // float32 on both sides, summed in different orders through ~20-50 layers:
  // agreement to 1e-4 of the logits' range.
  expectClose(await model.predict({ data: input, shape: [2, size, size, 3] }), logits, `${arch} logits`);
  model.dispose();
}

describe.skipIf(skipReason !== undefined)('applications vs torchvision (same weights)', () => {
  it('resnet18 gives torchvision’s logits', async () => crossCheck('resnet18', applications.resnet18, 64), 120_000);
  it('mobilenet_v2 gives torchvision’s logits', async () => crossCheck('mobilenet_v2', applications.mobilenetV2, 64), 120_000);
});
