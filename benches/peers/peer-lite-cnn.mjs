// lite-cnn on the two reference nets, one pool size per process:
//   node benches/peers/peer-lite-cnn.mjs --threads 1|2 [--quick]
// The nets are built with the public SDK exactly as ts/sdk/test/nets.ts does
// (Sequential, Conv2D/BatchNormalization/ReLU/MaxPooling2D/Flatten/Dense,
// compile with Adam and sparse categorical cross-entropy), then timed the way
// benches/step.mjs times them, on the model's executor:
//   train   one trainStep at batch 32 (forward, fused softmax cross-entropy,
//           backward, Adam update: one call into wasm), inputs written once
//           into inputView(32) before timing;
//   infer   forward(undefined, batch) in inference mode, including the copy
//           of the probabilities to JS.
// Plus the public API: `await model.predict({ data, shape })` at batch 1 / 32,
// which also copies the input into wasm memory on every call.
// Prints progress, then one JSON line.
import { Adam, breakhisNetLayers, Engine, mnistNetLayers, Sequential } from '@lite-cnn/sdk';
import { createRequire } from 'node:module';
import { BATCH, attempt, emit, osThreads, watched, quick } from './measure.mjs';
import { labels, size, uniformInputs } from './data.mjs';

const threads = Number(process.argv[process.argv.indexOf('--threads') + 1]);
const engine = await Engine.create({ threads });

const NETS = [
  {
    name: 'mnist',
    input: [28, 28, 1],
    classes: 10,
    params: 3554,
    build: () => new Sequential(mnistNetLayers(), { name: 'mnist', seed: 7, engine }),
  },
  {
    name: 'breakhis',
    input: [224, 224, 3],
    classes: 2,
    params: 319106,
    build: () => new Sequential(breakhisNetLayers(), { name: 'breakhis', seed: 7, engine }),
  },
];

const sdkVersion = createRequire(import.meta.url)('@lite-cnn/sdk/package.json').version;
const info = { library: 'lite-cnn', backend: engine.artifact, versions: { '@lite-cnn/sdk': sdkVersion }, threads: engine.threads, simd: engine.simd, quick, results: [] };
for (const net of NETS) {
  const model = net.build();
  const counts = model.countParams();
  model.compile({ optimizer: new Adam({ learningRate: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }), loss: 'sparseCategoricalCrossentropy' });
  await model.build({ batchSize: BATCH });
  const r = { net: net.name, counts };
  const exec = model.executor;
  exec.inputView(BATCH).set(uniformInputs(BATCH * size(net.input)));
  const targets = labels(net.classes, BATCH);
  let step = 0;
  r.train = await attempt(() => watched(() => exec.trainStep({ batch: BATCH, targets, learningRate: 1e-3, step: ++step, seed: 1 })));
  r.infer1 = await attempt(() => watched(() => exec.forward(undefined, 1)));
  r.infer32 = await attempt(() => watched(() => exec.forward(undefined, BATCH)));
  const x1 = { data: uniformInputs(size(net.input)), shape: [1, ...net.input] };
  const x32 = { data: uniformInputs(BATCH * size(net.input)), shape: [BATCH, ...net.input] };
  r.predict1 = await attempt(() => watched(() => model.predict(x1, { batchSize: 1 })));
  r.predict32 = await attempt(() => watched(() => model.predict(x32, { batchSize: BATCH })));
  console.error(`lite-cnn ${threads}t ${net.name}: params ${JSON.stringify(counts)} train ${r.train.ms} b1 ${r.infer1.ms} b32 ${r.infer32.ms} predict b1 ${r.predict1.ms} b32 ${r.predict32.ms}`);
  info.osThreads = Math.max(info.osThreads ?? 0, osThreads() ?? 0);
  info.results.push(r);
}
await engine.shutdown();
emit(info);
