// The compute worker: ALL of the example's computation happens here, never on
// the page's main thread. It owns one lite-cnn Engine — the threaded wasm
// artifact (SIMD128 + a pool of wasm threads) when the page is cross-origin
// isolated, the single-threaded one otherwise — and on it:
//   - the classifier: load a .safetensors model, decode and preprocess images,
//     predict, Grad-CAM and feature maps, rendered to RGBA for the page;
//   - the MNIST trainer: fit on a bundled subset, progress events to the page.
//
// Messages in:  { type: 'loadModel', url } | { type: 'loadModel', file } | { type: 'classify', id, file }
//               { type: 'train', epochs, batchSize } | { type: 'stop' }
// Messages out: { type: 'engine' | 'engineError' | 'model' | 'modelError' | 'result' | 'classifyError'
//                       | 'trainStatus' | 'trainStart' | 'progress' | 'trainDone' | 'trainError', ... }
// Jobs run one at a time (a model load or classification waits for a training run to end); 'stop' is handled at once.
import {
  Adam, Engine, Sequential, Callback, ProgressLogger, WasmImageTransformer, mnistDataset, mnistNetLayers,
  featureMaps, featureMapGrid, gradCam, heatmapToRgba, readIdx, normalizeStains, predictWithTta, TTA_MODES,
} from './sdk/dist/index.browser.js';
import { rgbaToChannels } from './preprocess.js';

const params = new URLSearchParams(self.location.search);
const threadsParam = params.get('threads');
/** `?tta=flips|d4`: test-time augmentation of the classifier, as `lite-cnn predict --tta` (default none). */
const ttaParam = TTA_MODES.includes(params.get('tta')) ? params.get('tta') : 'none';

/** Largest side of the display copy of an image sent to the page. */
const DISPLAY_MAX = 448;
/** The worker awaits a macrotask every this many training batches, so that 'stop' (and other) messages arrive. */
const YIELD_EVERY = 4;

let engine;
let model; // the classifier
let trainer; // the MNIST model while training
let mnist; // the bundled subset, loaded on first use

const post = (msg, transfer = []) => self.postMessage(msg, transfer);
const errorText = (err) => (err && err.message ? `${err.name && err.name !== 'Error' ? err.name + ': ' : ''}${err.message}` : String(err));

// One job at a time on the engine: classification waits while a training run is in progress, and vice versa.
let queue = Promise.resolve();
function enqueue(job) {
  const run = queue.then(job);
  queue = run.catch(() => {});
  return run;
}

const ready = (async () => {
  const t0 = performance.now();
  engine = await Engine.create(threadsParam ? { threads: Number(threadsParam) } : {});
  post({
    type: 'engine',
    artifact: engine.artifact,
    threads: engine.threads,
    simd: engine.simd,
    relaxedSimd: engine.relaxedSimd,
    crossOriginIsolated: self.crossOriginIsolated === true,
    hardwareConcurrency: navigator.hardwareConcurrency,
    startMs: performance.now() - t0,
  });
})().catch((err) => post({ type: 'engineError', message: errorText(err) }));

self.onmessage = (e) => {
  const msg = e.data;
  if (msg.type === 'stop') {
    // Handled at once (not queued): fit checks stopTraining after every batch.
    if (trainer) trainer.stopTraining = true;
    return;
  }
  const handlers = { loadModel, classify, train };
  const handler = handlers[msg.type];
  if (!handler) return;
  enqueue(async () => {
    await ready;
    if (!engine) return;
    await handler(msg);
  });
};

// ---------------------------------------------------------------- classifier

async function loadModel(msg) {
  const source = msg.url ?? msg.file.name;
  let bytes;
  try {
    if (msg.url) {
      const res = await fetch(msg.url);
      if (!res.ok) {
        post({ type: 'modelError', source, missing: res.status === 404, status: res.status, message: `HTTP ${res.status} ${res.statusText}` });
        return;
      }
      bytes = new Uint8Array(await res.arrayBuffer());
    } else bytes = new Uint8Array(await msg.file.arrayBuffer());
  } catch (err) {
    post({ type: 'modelError', source, missing: false, message: errorText(err) });
    return;
  }
  try {
    const next = await Sequential.fromBytes(bytes, { engine, name: source });
    const [h, w, c] = next.inputShape;
    const out = next.outputShape[2];
    if (!(c === 1 || c === 3)) throw new Error(`the model takes ${c}-channel inputs; this page feeds images as 1 (grey) or 3 (RGB) channels`);
    if (next.outputShape[0] * next.outputShape[1] !== 1) throw new Error(`the model's output is not a class vector (shape [${next.outputShape}])`);
    model = next;
    const md = model.metadata;
    post({
      type: 'model',
      source,
      bytes: bytes.length,
      name: model.name,
      inputShape: [h, w, c],
      outputs: out,
      classNames: md.classNames ?? Array.from({ length: model.classes }, (_, i) => `class ${i}`),
      namedClasses: md.classNames !== null,
      preprocessing: md.preprocessing,
      threshold: md.threshold,
      calibration: md.calibration ?? null,
      params: model.countParams().trainable,
      layers: model.layers.map((l) => l.kind),
      blocks: convBlocks(model).map((b) => b.label),
    });
  } catch (err) {
    post({ type: 'modelError', source, missing: false, message: errorText(err) });
  }
}

/**
 * Feature-map blocks: each Conv2D plus the BatchNormalization / activation
 * layers right after it (the block's output is what the next layer sees).
 */
function convBlocks(m) {
  const follows = new Set(['BatchNormalization', 'ReLU', 'LeakyReLU', 'Activation', 'Dropout']);
  const blocks = [];
  const layers = m.layers;
  const shapes = m.plan().shapes;
  layers.forEach((l, i) => {
    if (l.kind !== 'Conv2D') return;
    let j = i;
    while (j + 1 < layers.length && follows.has(layers[j + 1].kind)) j++;
    const [h, w, c] = shapes[j];
    const tail = j > i ? ` → ${layers[j].name}` : '';
    blocks.push({ conv: l.name, index: j, label: `${l.name}${tail} · ${h}×${w}×${c}` });
  });
  return blocks;
}

/** Decodes an image file to `[h, w]` RGBA with the aspect policy 'squash' (resize ignoring the aspect ratio). */
async function decodeSquash(file, h, w) {
  // No colour-space conversion: the file's own 8-bit values, as the SDK's decoder (and Pillow) read them.
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bitmap, 0, 0, w, h);
  const rgba = ctx.getImageData(0, 0, w, h).data;
  // A display copy at the original aspect ratio (the heatmap is stretched back over it: the inverse of 'squash').
  const scale = Math.min(1, DISPLAY_MAX / Math.max(bitmap.width, bitmap.height));
  const display = await createImageBitmap(bitmap, {
    resizeWidth: Math.max(1, Math.round(bitmap.width * scale)),
    resizeHeight: Math.max(1, Math.round(bitmap.height * scale)),
    resizeQuality: 'high',
  });
  const original = [bitmap.width, bitmap.height];
  bitmap.close();
  return { rgba, display, original };
}

async function classify(msg) {
  if (!model) {
    post({ type: 'classifyError', id: msg.id, message: 'no model is loaded: choose a .safetensors model first' });
    return;
  }
  try {
    const [h, w, c] = model.inputShape;
    const t0 = performance.now();
    const { rgba, display, original } = await decodeSquash(msg.file, h, w);
    // The model's stored stain normalization and preprocessing, by the same wasm kernels that prepared its training data.
    const { images } = await normalizeStains(rgbaToChannels(rgba, c), [h, w, c], model.metadata.stainNormalization, { engine });
    const prep = new WasmImageTransformer(engine, { preprocessing: model.metadata.preprocessing, seed: 0 });
    const input = { data: prep.transform({ images, shape: [h, w, c] }), shape: [1, h, w, c] };
    prep.free();
    const t1 = performance.now();
    const probabilities = await predictWithTta(model, input, { tta: h === w || ttaParam !== 'd4' ? ttaParam : 'flips' });
    const t2 = performance.now();
    const cam = await gradCam(model, input);
    const t3 = performance.now();
    const map = cam.maps[0];
    const heatmap = heatmapToRgba(map.normalized, { colormap: 'jet' });
    const blocks = [];
    for (const b of convBlocks(model)) {
      const fm = await featureMaps(model, input, b.index);
      blocks.push({ label: b.label, ...featureGrid(fm.data, fm.shape[1], fm.shape[2], fm.shape[3]) });
    }
    const t4 = performance.now();
    const transfer = [display, heatmap.buffer, ...blocks.map((b) => b.rgba.buffer)];
    post(
      {
        type: 'result',
        id: msg.id,
        fileName: msg.file.name,
        original,
        inputSize: [h, w],
        probabilities: Array.from(probabilities),
        classIndex: map.classIndex,
        display,
        heatmap,
        heatmapSize: cam.heatmapSize,
        camLayer: `${cam.layer.name} (${cam.heatmapSize[0]}×${cam.heatmapSize[1]})`,
        camScore: cam.score,
        camMax: Math.max(...map.heatmap),
        blocks,
        timing: { decodeMs: t1 - t0, predictMs: t2 - t1, gradCamMs: t3 - t2, featureMapsMs: t4 - t3 },
      },
      transfer,
    );
  } catch (err) {
    post({ type: 'classifyError', id: msg.id, message: errorText(err) });
  }
}

/**
 * A layer's `[h, w, k]` activations as a grid of k tiles (one per channel,
 * each scaled to its own range and coloured with viridis), 1 px gaps.
 */
function featureGrid(data, h, w, k) {
  // The SDK's grid: per-channel min-max normalization, viridis, 1 px transparent gaps.
  const g = featureMapGrid(data, [h, w, k], { colormap: 'viridis' });
  return { rgba: g.rgba, width: g.width, height: g.height, channels: k, tile: [h, w] };
}

// ---------------------------------------------------------------- trainer

async function loadMnistSubset() {
  if (mnist) return mnist;
  const read = async (name) => {
    const res = await fetch(`./data/${name}`);
    if (!res.ok) throw new Error(`./data/${name}: HTTP ${res.status} (run \`npm run build\` at the repository root to extract the MNIST subset)`);
    return readIdx(new Uint8Array(await res.arrayBuffer()), { name });
  };
  const [xTrain, yTrain, xTest, yTest] = await Promise.all(
    ['mnist-train-images.idx.gz', 'mnist-train-labels.idx.gz', 'mnist-test-images.idx.gz', 'mnist-test-labels.idx.gz'].map(read),
  );
  // uint8 pixels; the wasm transformer applies the MNIST preset's minmax (x / 255) per batch.
  const split = (x, y) => ({ images: x.data, labels: y.data, count: x.shape[0] });
  mnist = {
    train: await mnistDataset(split(xTrain, yTrain), { engine }),
    test: await mnistDataset(split(xTest, yTest), { engine }),
  };
  return mnist;
}

/** Lets the worker's event loop run (so a 'stop' message is received) every `every` batches. */
class YieldToEventLoop extends Callback {
  constructor(every) {
    super();
    this.every = every;
    this.n = 0;
  }
  async onBatchEnd() {
    if (++this.n % this.every === 0) await macrotask();
  }
}

// A MessageChannel message is a task: awaiting it lets queued messages (like 'stop') run first, without setTimeout's 4 ms clamp.
const channel = new MessageChannel();
const waiting = [];
channel.port1.onmessage = () => waiting.shift()?.();
function macrotask() {
  return new Promise((resolve) => {
    waiting.push(resolve);
    channel.port2.postMessage(0);
  });
}

async function train(msg) {
  try {
    post({ type: 'trainStatus', text: 'loading the MNIST subset…' });
    const data = await loadMnistSubset();
    // The study's MNIST net: 28x28x1 → Conv(8, 3x3, s2, relu) → Conv(8, 3x3, s2, relu) → Flatten → Dense(10, softmax).
    trainer = new Sequential(mnistNetLayers(), { name: 'mnist', seed: msg.seed ?? 42, engine });
    trainer.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const epochs = msg.epochs ?? 3;
    const batchSize = msg.batchSize ?? 32;
    post({ type: 'trainStart', epochs, batchSize, trainSize: data.train.size, testSize: data.test.size, params: trainer.countParams().trainable });
    const history = await trainer.fit(data.train, {
      epochs,
      batchSize,
      callbacks: [
        // Events are plain data: posted to the page as they are. Batch events at most every 25 ms (the page draws at most once per frame).
        new ProgressLogger((event) => post({ type: 'progress', event }), { intervalMs: msg.intervalMs ?? 25 }),
        new YieldToEventLoop(YIELD_EVERY),
      ],
    });
    const stopped = trainer.stopTraining;
    const test = await trainer.evaluate(data.test, { batchSize: 100 });
    post({
      type: 'trainDone',
      stopped,
      epochsRun: history.epoch.length,
      steps: trainer.step,
      testLoss: test.loss,
      testAccuracy: test.accuracy,
      history: history.history,
    });
  } catch (err) {
    post({ type: 'trainError', message: errorText(err) });
  } finally {
    trainer = undefined;
  }
}
