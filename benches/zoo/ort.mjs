// onnxruntime-web (wasm) inference on the zoo nets exported by torch_zoo.py:
//   node benches/zoo/ort.mjs --threads 1|2 --models DIR [--quick]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { BATCH, attempt, emit, watched } from '../peers/measure.mjs';
import { uniformInputs } from '../peers/data.mjs';
import { NETS, SIZE } from './nets.mjs';

const arg = (name) => process.argv[process.argv.indexOf(name) + 1];
const threads = Number(arg('--threads'));
ort.env.wasm.numThreads = threads;
ort.env.logLevel = 'error';
const info = { library: 'onnxruntime-web', threads, version: ort.env.versions.web, results: [] };
for (const net of NETS) {
  const session = await ort.InferenceSession.create(readFileSync(join(arg('--models'), `${net.name}.onnx`)), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  const infer = (b) => {
    const x = new ort.Tensor('float32', uniformInputs(b * 3 * SIZE * SIZE), [b, 3, SIZE, SIZE]);
    return async () => void (await session.run({ x }));
  };
  const r = { net: net.name };
  r.infer1 = await attempt(() => watched(infer(1)));
  r.infer32 = await attempt(() => watched(infer(BATCH)));
  console.error(`ort ${threads}t ${net.name}: b1 ${r.infer1.ms} b32 ${r.infer32.ms}`);
  await session.release();
  info.results.push(r);
}
emit(info);
