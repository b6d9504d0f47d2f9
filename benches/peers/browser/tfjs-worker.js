// TF.js 4.x inference with the wasm backend in a dedicated *classic* Worker.
// The UMD bundles from node_modules are loaded with importScripts: evaluating
// tf-backend-wasm.min.js inside a module Worker (fetch + indirect eval) never
// returns in Chromium 156 (and in a persistent headless context it took the
// whole browser down), while importScripts in a classic Worker works. The
// shared measuring code is imported as ES modules with import().
// Same nets and measurements as ../peer-tfjs.mjs (predict on a tensor made
// once, dataSync, dispose).

// The page posts { threads, quick } right away: listen before anything async
// so the message cannot be dispatched while no listener is attached.
const configured = new Promise((resolve) => {
  const on = (e) => {
    if (e.data && e.data.threads) {
      self.removeEventListener('message', on);
      resolve(e.data);
    }
  };
  self.addEventListener('message', on);
});

importScripts(
  '/node_modules/@tensorflow/tfjs-core/dist/tf-core.min.js',
  '/node_modules/@tensorflow/tfjs-layers/dist/tf-layers.min.js',
  '/node_modules/@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js',
);

/**
 * tfjs-backend-wasm sizes its XNNPACK pool as min(requested, hardwareConcurrency / 2)
 * (it assumes two hardware threads per core), so on a 2-core machine
 * setThreadsCount(2) still runs 1 thread. To measure it at the thread count the
 * other libraries get, this worker reports 2 x threads logical cores to TF.js;
 * the result records both the real and the reported value.
 */
function reportLogicalCores(n) {
  Object.defineProperty(self.navigator, 'hardwareConcurrency', { configurable: true, get: () => n });
}

(async () => {
  const { threads, quick } = await configured;
  const realCores = self.navigator.hardwareConcurrency;
  try {
    const [{ measurer }, { TFJS_NETS }, { size, uniformInputs }] = await Promise.all([
      import('./worker-common.js'),
      import('/benches/peers/nets-tfjs.mjs'),
      import('/benches/peers/data.mjs'),
    ]);
    const measure = measurer(quick);
    const tf = self.tf;
    if (threads > realCores / 2) reportLogicalCores(2 * threads);
    tf.wasm.setWasmPaths('/node_modules/@tensorflow/tfjs-backend-wasm/dist/');
    tf.wasm.setThreadsCount(threads);
    tf.env().set('PROD', true);
    await tf.setBackend('wasm');
    await tf.ready();
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
      logicalCores: { real: realCores, reportedToTfjs: self.navigator.hardwareConcurrency },
      simd: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
      multithreadSupport: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
      results,
    });
  } catch (e) {
    self.postMessage({ error: String((e && e.stack) || e) });
  }
})();
