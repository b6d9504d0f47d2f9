// onnxruntime-web (wasm execution provider) inference on the two reference
// nets, one thread count per process (its wasm thread pool is sized once):
//   node benches/peers/peer-ort.mjs --threads 1|2 --models DIR [--quick]
// DIR holds mnist.onnx and breakhis.onnx written by export_onnx.py (run.mjs
// does that into a temporary directory). Prints progress, then one JSON line.
//   infer   session.run({ x }) at batch 1 / 32 on an ort.Tensor made once
//           (NCHW; onnxruntime copies it into its wasm heap on every run) and
//           the probabilities returned as a Float32Array.
// Sessions use graphOptimizationLevel 'all'. onnxruntime-web loads its .wasm
// from its own package directory in node_modules: nothing is downloaded.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';
import { BATCH, attempt, emit, osThreads, watched, quick } from './measure.mjs';
import { size, uniformInputs } from './data.mjs';

const arg = (name) => process.argv[process.argv.indexOf(name) + 1];
const threads = Number(arg('--threads'));
const dir = arg('--models');
ort.env.wasm.numThreads = threads;
ort.env.logLevel = 'error';

const NETS = [
  { name: 'mnist', input: [1, 28, 28] },
  { name: 'breakhis', input: [3, 224, 224] },
];
const info = { library: 'onnxruntime-web', backend: 'wasm', versions: { 'onnxruntime-web': ort.env.versions.web }, threads, quick, results: [] };
for (const net of NETS) {
  const r = { net: net.name };
  const session = await ort.InferenceSession.create(readFileSync(join(dir, `${net.name}.onnx`)), { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  info.osThreads = Math.max(info.osThreads ?? 0, osThreads() ?? 0);
  const infer = (b) => {
    const x = new ort.Tensor('float32', uniformInputs(b * size(net.input)), [b, ...net.input]);
    return async () => {
      const out = await session.run({ x });
      if (out.y.data.length !== b * (net.name === 'mnist' ? 10 : 2)) throw new Error(`unexpected output ${out.y.dims}`);
    };
  };
  r.infer1 = await attempt(() => watched(infer(1)));
  r.infer32 = await attempt(() => watched(infer(BATCH)));
  r.train = { error: 'not measured: onnxruntime-web is an inference runtime (training needs onnxruntime-web/training artifacts)' };
  console.error(`ort ${threads}t ${net.name}: b1 ${r.infer1.ms} b32 ${r.infer32.ms}`);
  await session.release();
  info.results.push(r);
}
info.threadsUsed = ort.env.wasm.numThreads;
info.simd = ort.env.wasm.simd ?? null;
emit(info);
