// lite-cnn's side, one thread count per process (a separate Engine each, as
// benches/step.mjs and benches/zoo do):
//   node benches/augment/lite.mjs --threads 1|2 --data DIR [--quick]
// DIR holds tiles.npy and spec.json (written by run.mjs). Each configuration
// is timed the way training produces an input batch: an ImageDataset over the
// tiles with augment on and a WasmImageTransformer (preprocessing minmax)
// fills a float batch of 32 in wasm memory, `batch.fill(view)` as fit does
// (the gather of the 32 uint8 images into wasm memory, then one
// lc_image_transform call: augmentation and /255; a mixed configuration then
// mixes the batch in place, lc_mix_batch, and reads its mixed target rows).
// Prints one JSON line:
// ms per batch of 32 (median of the timed batches after warm-up) and the CPU
// that other processes used meanwhile.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine, ImageDataset, WasmImageTransformer, mixedBatches } from '@lite-cnn/sdk';
import { attempt, emit, S, watched } from '../peers/measure.mjs';
import { augmentationOf } from './configs.mjs';
import { readNpyU8 } from './tiles.mjs';

const arg = (name) => process.argv[process.argv.indexOf(name) + 1];
const threads = Number(arg('--threads'));
const dir = arg('--data');
const spec = JSON.parse(readFileSync(join(dir, 'spec.json'), 'utf8'));
const { data: images, shape: [count, ...shape] } = readNpyU8(join(dir, 'tiles.npy'));
const per = shape[0] * shape[1] * shape[2];

/** Batches of `dataset` without end, one epoch after another (each epoch draws new augmentations). */
async function* endless(dataset, batchSize) {
  for (let epoch = 0; ; epoch++) yield* dataset.batches({ batchSize, epoch });
}

const engine = await Engine.create({ threads });
const info = { library: 'lite-cnn', artifact: engine.artifact, threads: engine.threads, runs: S.RUNS, warmup: S.WARMUP, results: [] };
const target = engine.allocF32(spec.batch * per);
for (const c of spec.configs) {
  const r = { config: c.name };
  Object.assign(
    r,
    await attempt(async () => {
      const transformer = new WasmImageTransformer(engine, { preprocessing: { kind: 'minmax' }, augmentation: augmentationOf(spec, c), seed: 1 });
      const tiles = new ImageDataset({ images, shape, labels: Uint32Array.from({ length: count }, (_, i) => i % 2), classNames: ['a', 'b'], transformer, augment: true, engine });
      // A mixed configuration mixes each filled batch in wasm and builds its mixed target rows, as fit does.
      const dataset = c.mix ? mixedBatches(tiles, { ...c.mix, engine, seed: 1, targetWidth: 2 }) : tiles;
      const batches = endless(dataset, spec.batch);
      // The generator's step (a few index checks) is timed with the fill: microseconds against ~100 ms.
      const w = await watched(async () => {
        const batch = (await batches.next()).value;
        batch.fill(target.view());
        if (c.mix) void batch.targets;
      });
      dataset.dispose?.();
      transformer.free();
      return w;
    }),
  );
  console.error(`lite-cnn ${threads}t ${c.name}: ${r.ms?.toFixed(1) ?? r.error} ms per batch of ${spec.batch} (other load ${r.foreign?.toFixed(2) ?? '?'} cores)`);
  info.results.push(r);
}
target.free();
await engine.shutdown();
emit(info);
