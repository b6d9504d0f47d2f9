// onnxruntime-web inference (wasm EP) in a dedicated module Worker, its files
// from node_modules; the ONNX models from ../.generated/ (written at bench
// time by browser-run.mjs with ../export_onnx.py). Same measurements as
// ../peer-ort.mjs.
import * as ort from '/node_modules/onnxruntime-web/dist/ort.wasm.min.mjs';
import { size, uniformInputs } from '/benches/peers/data.mjs';
import { config, measurer } from './worker-common.js';

const { threads, quick } = await config();
const measure = measurer(quick);
try {
  ort.env.wasm.numThreads = threads;
  ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
  ort.env.logLevel = 'error';
  const nets = [
    { name: 'mnist', input: [1, 28, 28], classes: 10 },
    { name: 'breakhis', input: [3, 224, 224], classes: 2 },
  ];
  const results = [];
  for (const net of nets) {
    const bytes = new Uint8Array(await (await fetch(`/benches/peers/.generated/${net.name}.onnx`)).arrayBuffer());
    const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const infer = (b) => {
      const x = new ort.Tensor('float32', uniformInputs(b * size(net.input)), [b, ...net.input]);
      return async () => {
        const out = await session.run({ x });
        if (out.y.data.length !== b * net.classes) throw new Error(`unexpected output ${out.y.dims}`);
      };
    };
    const r = { net: net.name };
    r.infer1 = await measure(`${net.name} b1`, infer(1));
    r.infer32 = await measure(`${net.name} b32`, infer(32));
    await session.release();
    results.push(r);
  }
  self.postMessage({ crossOriginIsolated: self.crossOriginIsolated, backend: 'wasm', version: ort.env.versions.web, threadsUsed: ort.env.wasm.numThreads, results });
} catch (e) {
  self.postMessage({ error: String((e && e.stack) || e) });
}
