// TF.js 4.x inference with the wasm backend in a dedicated module Worker: the
// UMD bundles from node_modules (evaluated in the worker's global scope: a
// classic worker that import()s ES modules crashed this Chromium), the .wasm
// files from node_modules (setWasmPaths), threads via setThreadsCount (used
// when the page is cross-origin isolated). Same nets and measurements as
// ../peer-tfjs.mjs (predict on a tensor made once, dataSync, dispose).
import { config, measurer } from './worker-common.js';
import { TFJS_NETS } from '/benches/peers/nets-tfjs.mjs';
import { size, uniformInputs } from '/benches/peers/data.mjs';

for (const src of [
  '/node_modules/@tensorflow/tfjs-core/dist/tf-core.min.js',
  '/node_modules/@tensorflow/tfjs-layers/dist/tf-layers.min.js',
  '/node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js',
]) {
  console.log('tfjs worker: loading', src);
  (0, eval)(await (await fetch(src)).text());
}
const tf = self.tf;
{
  const { threads, quick } = await config();
  const measure = measurer(quick);
  console.log('tfjs worker: configured', threads);
  try {
    tf.wasm.setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
    console.log('tfjs worker: bundles loaded, tf', tf.version_core);
    tf.wasm.setThreadsCount(threads);
    tf.env().set('PROD', true);
    await tf.setBackend('wasm');
    await tf.ready();
    console.log('tfjs worker: ready', tf.getBackend(), tf.wasm.getThreadsCount());
    const results = [];
    for (const net of TFJS_NETS) {
      const model = net.build(tf);
      const r = { net: net.name, params: model.trainableWeights.reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0) };
      const x1 = tf.tensor4d(uniformInputs(size(net.input)), [1, ...net.input]);
      const x32 = tf.tensor4d(uniformInputs(32 * size(net.input)), [32, ...net.input]);
      const infer = (x) => () => {
        const p = model.predict(x);
        p.dataSync();
        p.dispose();
      };
      r.infer1 = await measure(`${net.name} b1`, infer(x1));
      r.infer32 = await measure(`${net.name} b32`, infer(x32));
      tf.dispose([x1, x32]);
      model.dispose();
      results.push(r);
    }
    self.postMessage({
      crossOriginIsolated: self.crossOriginIsolated,
      backend: tf.getBackend(),
      version: tf.version_core,
      threadsUsed: tf.wasm.getThreadsCount(),
      simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
      multithreadSupport: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
      results,
    });
  } catch (e) {
    self.postMessage({ error: String((e && e.stack) || e) });
  }
}
