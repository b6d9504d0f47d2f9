// TensorFlow.js 4.x on the two reference nets, one backend per process:
//   node benches/peers/peer-tfjs.mjs --backend cpu|wasm [--quick]
// Prints progress, then one JSON line (measure.mjs' emit) for run.mjs.
//   train   model.trainOnBatch(x, y) at batch 32: Adam (lr 1e-3, eps 1e-7),
//           sparse categorical cross-entropy; x and y are tensors made once.
//           The wasm backend has no Conv2DBackpropFilter/Input kernels: the
//           error is recorded, not fatal.
//   infer   model.predict(x) at batch 1 / 32 on a tensor made once, plus
//           dataSync() of the probabilities and dispose().
// The wasm backend's .wasm files come from node_modules (setWasmPaths): nothing
// is downloaded. tfjs-backend-wasm 4.x never uses threads in Node (its
// WASM_HAS_MULTITHREAD_SUPPORT flag is hard-wired to false there, tfjs#3830).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as core from '@tensorflow/tfjs-core';
import * as layers from '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import { BATCH, attempt, emit, osThreads, watched, quick } from './measure.mjs';
import { labels, size, uniformInputs } from './data.mjs';
import { TFJS_NETS, trainableParams } from './nets-tfjs.mjs';

const backend = process.argv[process.argv.indexOf('--backend') + 1];
if (backend !== 'cpu' && backend !== 'wasm') throw new Error(`--backend cpu|wasm, got ${backend}`);
const tf = { ...core, ...layers };
const require = createRequire(import.meta.url);
if (backend === 'wasm') wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + '/');
tf.env().set('PROD', true);
await tf.setBackend(backend);
await tf.ready();
if (tf.getBackend() !== backend) throw new Error(`tfjs backend ${backend} did not initialize (got ${tf.getBackend()})`);
const info = {
  library: 'tfjs',
  backend,
  versions: { 'tfjs-core': tf.version_core, 'tfjs-layers': layers.version_layers, [`tfjs-backend-${backend}`]: backend === 'wasm' ? wasm.version_wasm : (await import('@tensorflow/tfjs-backend-cpu')).version_cpu },
  threads: backend === 'wasm' ? wasm.getThreadsCount() : 1,
  simd: backend === 'wasm' ? await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT') : null,
  multithreadSupport: backend === 'wasm' ? await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT') : null,
  quick,
  results: [],
};
console.error(`tfjs ${backend}: threads ${info.threads}, simd ${info.simd}`);

function compiled(net) {
  const m = net.build(tf);
  m.compile({ optimizer: tf.train.adam(1e-3, 0.9, 0.999, 1e-7), loss: 'sparseCategoricalCrossentropy' });
  return m;
}

for (const net of TFJS_NETS) {
  const model = compiled(net);
  const r = { net: net.name, countParams: model.countParams(), trainable: trainableParams(model) };
  if (r.trainable !== net.params) throw new Error(`${net.name}: expected ${net.params} trainable parameters, got ${r.trainable}`);
  const x32 = tf.tensor4d(uniformInputs(BATCH * size(net.input)), [BATCH, ...net.input]);
  const x1 = tf.tensor4d(uniformInputs(size(net.input)), [1, ...net.input]);
  const y = tf.tensor1d(Array.from(labels(net.classes, BATCH)), 'float32');
  // A separate model for training, so a backend that fails half-way leaves the inference model clean.
  const trainer = compiled(net);
  r.train = await attempt(() => watched(() => trainer.trainOnBatch(x32, y)));
  console.error(`  ${net.name} train: ${JSON.stringify(r.train)}`);
  const infer = (x) => () => {
    const p = model.predict(x);
    p.dataSync();
    p.dispose();
  };
  r.infer1 = await attempt(() => watched(infer(x1)));
  r.infer32 = await attempt(() => watched(infer(x32)));
  console.error(`  ${net.name} infer b1 ${r.infer1.ms} b32 ${r.infer32.ms}`);
  info.osThreads = Math.max(info.osThreads ?? 0, osThreads() ?? 0);
  info.results.push(r);
  tf.dispose([x1, x32, y]);
  model.dispose();
  trainer.dispose();
}
emit(info);
