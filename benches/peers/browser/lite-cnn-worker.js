// lite-cnn inference in a dedicated Worker, the SDK served from ts/sdk/dist:
// the same nets and the same measurements as ../peer-lite-cnn.mjs (executor
// forward with inputs already in wasm memory, and the public predict()).
import { BatchNormalization, Conv2D, Dense, Engine, Flatten, MaxPooling2D, ReLU, Sequential } from '/ts/sdk/dist/index.browser.js';
import { size, uniformInputs } from '/benches/peers/data.mjs';
import { config, measurer } from './worker-common.js';

const { threads, quick } = await config();
const measure = measurer(quick);
try {
  const engine = await Engine.create({ threads });
  const nets = [
    {
      name: 'mnist',
      input: [28, 28, 1],
      layers: () => [
        new Conv2D({ filters: 8, kernelSize: 3, strides: 2, activation: 'relu', inputShape: [28, 28, 1] }),
        new Conv2D({ filters: 8, kernelSize: 3, strides: 2, activation: 'relu' }),
        new Flatten(),
        new Dense({ units: 10, activation: 'softmax' }),
      ],
    },
    {
      name: 'breakhis',
      input: [224, 224, 3],
      layers: () => [
        new Conv2D({ filters: 16, kernelSize: 3, strides: 4, inputShape: [224, 224, 3] }),
        new BatchNormalization(), new ReLU(),
        new Conv2D({ filters: 32, kernelSize: 3, strides: 2 }),
        new BatchNormalization(), new ReLU(),
        new MaxPooling2D({ poolSize: 2 }),
        new Conv2D({ filters: 64, kernelSize: 3, strides: 2 }),
        new BatchNormalization(), new ReLU(),
        new Flatten(),
        new Dense({ units: 128, activation: 'relu' }),
        new Dense({ units: 2, activation: 'softmax' }),
      ],
    },
  ];
  const results = [];
  for (const net of nets) {
    const model = new Sequential(net.layers(), { name: net.name, seed: 7, engine });
    await model.build({ batchSize: 32 });
    const exec = model.executor;
    exec.inputView(32).set(uniformInputs(32 * size(net.input)));
    const r = { net: net.name, params: model.countParams().trainable };
    r.infer1 = await measure(`${net.name} b1`, () => exec.forward(undefined, 1));
    r.infer32 = await measure(`${net.name} b32`, () => exec.forward(undefined, 32));
    const x1 = { data: uniformInputs(size(net.input)), shape: [1, ...net.input] };
    const x32 = { data: uniformInputs(32 * size(net.input)), shape: [32, ...net.input] };
    r.predict1 = await measure(`${net.name} predict b1`, () => model.predict(x1, { batchSize: 1 }));
    r.predict32 = await measure(`${net.name} predict b32`, () => model.predict(x32, { batchSize: 32 }));
    results.push(r);
  }
  self.postMessage({ crossOriginIsolated: self.crossOriginIsolated, backend: engine.artifact, threadsUsed: engine.threads, simd: engine.simd, results });
  await engine.shutdown();
} catch (e) {
  self.postMessage({ error: String((e && e.stack) || e) });
}
