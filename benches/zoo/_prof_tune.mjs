import { Adam, applications, Engine } from '@lite-cnn/sdk';
const threads = Number(process.env.T ?? 1), B = 32, N = Number(process.env.N ?? 6), MODE = process.env.MODE ?? 'tune';
const engine = await Engine.create({ threads });
const model = applications.resnet18({ inputShape: [224, 224, 3], classes: 2, engine, seed: 1 });
let trainable = false;
for (const layer of model.layers) { trainable ||= layer.name.startsWith('layer4.'); layer.trainable = trainable; }
model.compile({ optimizer: new Adam({ learningRate: 1e-3 }), loss: 'sparseCategoricalCrossentropy' });
await model.build({ batchSize: B });
const exec = model.executor;
const x = exec.inputView(B); for (let i = 0; i < x.length; i++) x[i] = Math.sin(i);
const targets = new Int32Array(B).map((_, i) => i % 2);
let step = 0;
const run = MODE === 'tune' ? () => exec.trainStep({ batch: B, targets, learningRate: 1e-3, step: ++step, seed: 1 }) : () => exec.forward(undefined, B, { training: true, keep: false });
for (let i = 0; i < 2; i++) run();
const ts = [];
for (let i = 0; i < N; i++) { const t = performance.now(); run(); ts.push(performance.now() - t); }
ts.sort((a, b) => a - b); console.log(MODE, threads, 'median ms', ts[N >> 1].toFixed(1), 'min', ts[0].toFixed(1));
