/**
 * Fused inference (crates/kernels/src/exec/fusion.rs): an inference forward
 * (`keep: false`, as predict runs it) folds each BatchNorm into the preceding
 * convolution or Dense layer and runs the following ReLU in the GEMM epilogue;
 * a kept forward (feature maps, Grad-CAM) runs every layer as written. Both
 * must agree within the stated tolerance, and the fused pass must be
 * bit-identical on 1 and 2 threads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applications, Engine, type Model, type Sequential } from '@lite-cnn/sdk';
import { graphNet } from './graph-net.js';
import { breakhisNet } from './nets.js';
import { mulberry32 } from './seeded-random.js';

/** `|fused - unfused| <= FUSED_RTOL · max(1, max|unfused|)` over the logits. */
const FUSED_RTOL = 1e-5;

type Net = { name: string; make: (engine: Engine) => Model | Sequential; shape: [number, number, number] };
const NETS: Net[] = [
  { name: 'BreakHis net (96x96)', make: (engine) => breakhisNet({ seed: 1, engine, size: 96 }), shape: [96, 96, 3] },
  { name: 'graph net', make: (engine) => graphNet({ seed: 2, engine, activation: 'linear' }), shape: [12, 12, 3] },
  { name: 'ResNet-18 (32x32)', make: (engine) => applications.resnet18({ classes: 5, inputShape: [32, 32, 3], classifierActivation: 'linear', engine, seed: 3 }), shape: [32, 32, 3] },
];

/** BatchNorm statistics and affine parameters far from their initial identity, so a wrong fold shows. */
function perturbBatchNorms(m: Model | Sequential, seed: number): void {
  const next = mulberry32(seed);
  const weights = m.getWeights();
  for (const [name, w] of weights) {
    if (/moving_?variance|running_var/i.test(name)) w.forEach((_, i) => (w[i] = 0.5 + next()));
    else if (/moving_?mean|running_mean|beta/i.test(name)) w.forEach((_, i) => (w[i] = 0.4 * (next() - 0.5)));
    else if (/gamma/i.test(name)) w.forEach((_, i) => (w[i] = 0.7 + 0.6 * next()));
  }
  m.setWeights(weights);
}

function images(n: number, shape: [number, number, number], seed: number): Float32Array {
  const next = mulberry32(seed);
  return Float32Array.from({ length: n * shape[0] * shape[1] * shape[2] }, () => next());
}

describe('fused inference', () => {
  let e1: Engine;
  let e2: Engine;
  beforeAll(async () => {
    e1 = await Engine.create({ threads: 1 });
    e2 = await Engine.create({ threads: 2 });
  });
  afterAll(async () => {
    await e1.shutdown();
    await e2.shutdown();
  });

  for (const net of NETS) {
    it(`${net.name}: fused within ${FUSED_RTOL} of unfused, bit-identical on 1 and 2 threads`, async () => {
      const batch = 3;
      const x = images(batch, net.shape, 5);
      const outs = [];
      for (const engine of [e1, e2]) {
        const m = net.make(engine);
        await m.build({ batchSize: batch });
        perturbBatchNorms(m, 4);
        const compiled = await m.ensureCompiled(batch);
        const fused = compiled.forward(x, batch, { keep: false });
        const unfused = compiled.forward(x, batch, { keep: true });
        outs.push({ fused, unfused });
        m.dispose();
      }
      const [a, b] = outs as [{ fused: Float32Array; unfused: Float32Array }, { fused: Float32Array; unfused: Float32Array }];
      expect(Buffer.from(a.fused.buffer).equals(Buffer.from(b.fused.buffer))).toBe(true);
      let scale = 1;
      let worst = 0;
      a.unfused.forEach((v, i) => {
        scale = Math.max(scale, Math.abs(v));
        worst = Math.max(worst, Math.abs(a.fused[i]! - v));
      });
      expect(worst / scale).toBeLessThanOrEqual(FUSED_RTOL);
      // Not bit-identical everywhere: the BatchNorms really were folded.
      expect(worst).toBeGreaterThan(0);
    });
  }
});
