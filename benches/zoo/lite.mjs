// lite-cnn on the zoo nets, one thread count per process:
//   node benches/zoo/lite.mjs --threads 1|2 [--quick]
// infer1/infer32: inference (executor forward without kept activations) at
// batch 1 / 32; forward32: the training-mode forward at batch 32; tune32: one
// fine-tuning step at batch 32 (forward, loss, backward into the trainable
// last stage, Adam) with every layer before it frozen; with --stages, also
// ResNet-18's inference time per stage (Model.profile). Prints one JSON line.
import { Adam, applications, Engine } from '@lite-cnn/sdk';
import { BATCH, attempt, emit, watched, time } from '../peers/measure.mjs';
import { uniformInputs, labels } from '../peers/data.mjs';
import { CLASSES, NETS, resnetStage, SIZE, stages } from './nets.mjs';

const threads = Number(process.argv[process.argv.indexOf('--threads') + 1]);
const engine = await Engine.create({ threads });
const info = { library: 'lite-cnn', artifact: engine.artifact, threads: engine.threads, results: [] };
for (const net of NETS) {
  const model = applications[net.app]({ inputShape: [SIZE, SIZE, 3], classes: CLASSES, engine, seed: 1 });
  let trainable = false;
  for (const layer of model.layers) {
    trainable ||= layer.name.startsWith(net.trainFrom);
    layer.trainable = trainable;
  }
  model.compile({ optimizer: new Adam({ learningRate: 1e-3 }), loss: 'sparseCategoricalCrossentropy' });
  await model.build({ batchSize: BATCH });
  const exec = model.executor;
  exec.inputView(BATCH).set(uniformInputs(BATCH * SIZE * SIZE * 3));
  const targets = labels(CLASSES, BATCH);
  let step = 0;
  const r = { net: net.name, params: model.countParams() };
  r.infer1 = await attempt(() => watched(() => exec.forward(undefined, 1, { keep: false })));
  r.infer32 = await attempt(() => watched(() => exec.forward(undefined, BATCH, { keep: false })));
  r.forward32 = await attempt(() => watched(() => exec.forward(undefined, BATCH, { training: true, keep: false })));
  r.tune32 = await attempt(() => watched(() => exec.trainStep({ batch: BATCH, targets, learningRate: 1e-3, step: ++step, seed: 1 })));
  if (stages && net.name === 'resnet18') r.stages = { infer1: await stageMs(model, 1), infer32: await stageMs(model, BATCH) };
  console.error(`lite-cnn ${threads}t ${net.name}: b1 ${r.infer1.ms} b32 ${r.infer32.ms} fwd ${r.forward32.ms} tune ${r.tune32.ms}`);
  model.dispose();
  info.results.push(r);
}
void time;
emit(info);

/** Inference milliseconds per ResNet-18 stage (`Model.profile`: the fused pass, its steps' own time). */
async function stageMs(model, batch) {
  const p = await model.profile({ batchSize: batch, runs: batch === 1 ? 10 : 2, warmup: 1 });
  const out = {};
  for (const l of p.layers) out[resnetStage(l.name)] = (out[resnetStage(l.name)] ?? 0) + l.forwardMs;
  return out;
}
