// The page (main thread): UI only. Every computation — engine, model, image
// decoding, Grad-CAM, training — runs in ./worker.js; the page sends it
// messages and draws what comes back, so it never blocks.
const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
export const DEFAULT_MODEL = './models/breakhis.safetensors';
const modelUrl = params.get('model') ?? DEFAULT_MODEL;

// State the tests read (window.__app); also handy in the devtools console.
const app = {
  pageCrossOriginIsolated: self.crossOriginIsolated === true,
  engine: null,
  engineError: null,
  model: null,
  modelError: null,
  results: [],
  lastResult: null,
  classifyError: null,
  training: { running: false, events: [], done: null, error: null },
  ticks: 0,
};
window.__app = app;

// A page-side timer: proves the main thread stays responsive while the worker computes.
// While training, it also records the longest gap between two ticks (the tests check it stays small).
let lastTick = performance.now();
setInterval(() => {
  const now = performance.now();
  if (app.training.running) app.training.maxTickGapMs = Math.max(app.training.maxTickGapMs ?? 0, now - lastTick);
  lastTick = now;
  app.ticks++;
  $('ticks').textContent = String(app.ticks);
}, 50);

const workerUrl = new URL('./worker.js', import.meta.url);
// The worker reads its settings from its own URL: pass on the page's (?tta= was lost before).
for (const key of ['threads', 'tta']) if (params.get(key)) workerUrl.searchParams.set(key, params.get(key));
const worker = new Worker(workerUrl, { type: 'module' });
worker.onerror = (e) => {
  app.engineError = e.message || 'the worker failed to start';
  setEngineStatus('error', `worker error: ${app.engineError}`);
};

const handlers = {
  engine: onEngine,
  engineError: (m) => {
    app.engineError = m.message;
    setEngineStatus('error', `engine failed: ${m.message}`);
  },
  model: onModel,
  modelError: onModelError,
  result: onResult,
  classifyError: (m) => {
    app.classifyError = m.message;
    $('prediction').innerHTML = `<span class="error">Could not classify: ${escapeHtml(m.message)}</span>`;
  },
  trainStatus: (m) => ($('train-status').textContent = m.text),
  trainStart: onTrainStart,
  progress: onProgress,
  trainDone: onTrainDone,
  trainError: (m) => {
    app.training.running = false;
    app.training.error = m.message;
    $('train-status').innerHTML = `<span class="error">${escapeHtml(m.message)}</span>`;
    setTrainingButtons(false);
  },
};
worker.onmessage = (e) => handlers[e.data.type]?.(e.data);

// ---------------------------------------------------------------- engine

function setEngineStatus(state, text) {
  const el = $('engine-status');
  el.dataset.state = state;
  $('engine-text').textContent = text;
}

function onEngine(m) {
  app.engine = m;
  const el = $('engine-status');
  el.dataset.artifact = m.artifact;
  el.dataset.threads = String(m.threads);
  const simd = `${m.simd ? 'SIMD128' : 'no SIMD'}${m.relaxedSimd ? ' (relaxed)' : ''}`;
  if (m.artifact.startsWith('threaded')) {
    setEngineStatus('threaded', `threaded wasm artifact · ${m.threads} thread${m.threads === 1 ? '' : 's'} · ${simd} · cross-origin isolated`);
  } else {
    setEngineStatus(
      'single',
      `single-threaded wasm artifact · 1 thread · ${simd} · ${m.crossOriginIsolated ? 'isolated' : 'not cross-origin isolated (no COOP/COEP headers): fallback'}`,
    );
  }
  el.title = `engine started in ${m.startMs.toFixed(0)} ms; navigator.hardwareConcurrency = ${m.hardwareConcurrency}`;
}

// ---------------------------------------------------------------- model

function loadModelFromUrl(url) {
  $('model-info').textContent = `loading ${url}…`;
  worker.postMessage({ type: 'loadModel', url });
}

function onModel(m) {
  app.model = m;
  app.modelError = null;
  $('model-message').hidden = true;
  const [h, w, c] = m.inputShape;
  const pre = m.preprocessing.kind;
  const name = m.source.split('/').pop();
  $('model-info').innerHTML =
    `<b>${escapeHtml(name)}</b> <span class="muted">(${escapeHtml(m.name)}, ${m.params.toLocaleString('en-US')} parameters, ` +
    `input ${h}×${w}×${c}, ${m.classNames.length} classes: ${m.classNames.map(escapeHtml).join(', ')}; preprocessing ${pre})</span>`;
  $('drop').classList.remove('disabled');
  if (pendingImage) classify(pendingImage);
}

function onModelError(m) {
  app.modelError = m;
  const box = $('model-message');
  box.hidden = false;
  if (m.missing && m.source === DEFAULT_MODEL) {
    box.innerHTML =
      `<b>The default model is missing.</b> <code>examples/browser/public/models/breakhis.safetensors</code> is not on this server (HTTP 404). ` +
      `Load a <code>.safetensors</code> model with <i>Load model…</i> — e.g. one trained with the CLI, or a placeholder made by ` +
      `<code>npm run placeholder-model -w @lite-cnn/example-browser</code> (random weights: its predictions mean nothing).`;
    $('model-info').textContent = 'no model loaded';
  } else {
    box.innerHTML = `<b>Could not load ${escapeHtml(m.source)}:</b> ${escapeHtml(m.message)}`;
    if (!app.model) $('model-info').textContent = 'no model loaded';
  }
}

$('model-file').addEventListener('change', (e) => {
  const file = e.target.files?.[0];
  if (!file) return;
  $('model-info').textContent = `loading ${file.name}…`;
  worker.postMessage({ type: 'loadModel', file });
  e.target.value = '';
});

// ---------------------------------------------------------------- images

let nextId = 1;
let pendingImage = null;

function classify(file) {
  if (!app.model) {
    pendingImage = file;
    $('prediction').textContent = 'Waiting for a model…';
    return;
  }
  pendingImage = null;
  const id = nextId++;
  app.pendingId = id;
  $('prediction').innerHTML = `<span class="muted">Classifying ${escapeHtml(file.name)}…</span>`;
  worker.postMessage({ type: 'classify', id, file });
}

$('image-file').addEventListener('change', (e) => {
  const file = e.target.files?.[0];
  if (file) classify(file);
  e.target.value = '';
});
const drop = $('drop');
drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  drop.classList.add('over');
});
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault();
  drop.classList.remove('over');
  const file = [...(e.dataTransfer?.files ?? [])].find((f) => f.type.startsWith('image/') || /\.(png|jpe?g|webp|bmp|gif)$/i.test(f.name));
  if (file) classify(file);
});
drop.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' || e.key === ' ') $('image-file').click();
});

// The latest result's pictures, kept to redraw the overlay when the slider moves.
let shown = null;

function onResult(m) {
  const probs = m.probabilities;
  const classNames = app.model.classNames;
  const result = {
    id: m.id,
    fileName: m.fileName,
    probabilities: probs,
    classIndex: m.classIndex,
    className: classNames[m.classIndex] ?? `class ${m.classIndex}`,
    timing: m.timing,
    camMax: m.camMax,
  };
  app.results.push(result);
  app.lastResult = result;
  app.classifyError = null;

  // Pictures: the heatmap as a canvas (224x224 for BreakHis), stretched over the display image.
  const [h, w] = m.inputSize;
  const heat = $('heatmap');
  heat.width = w;
  heat.height = h;
  heat.getContext('2d').putImageData(new ImageData(m.heatmap, w, h), 0, 0);
  shown?.display.close();
  shown = { display: m.display };
  $('drop-hint').hidden = true;
  const overlay = $('overlay');
  overlay.hidden = false;
  overlay.width = m.display.width;
  overlay.height = m.display.height;
  drawOverlay();

  // Prediction and bars.
  const p = (v) => `${(v * 100).toFixed(1)}%`;
  const binary = probs.length === 1;
  const shownProbs = binary ? [1 - probs[0], probs[0]] : probs;
  $('prediction').innerHTML =
    `<span class="label">${escapeHtml(result.className)}</span> <span class="muted">${escapeHtml(m.fileName)} · ${m.original[0]}×${m.original[1]} px</span>`;
  const t = app.model.threshold;
  $('probs').innerHTML = shownProbs
    .map((v, i) => {
      const mark = t && t.positiveClass === i ? `<span class="threshold" style="left:${t.value * 100}%" title="decision threshold ${p(t.value)}"></span>` : '';
      return (
        `<div class="bar-row${i === m.classIndex ? ' best' : ''}" data-class="${i}">` +
        `<span class="bar-name">${escapeHtml(classNames[i] ?? `class ${i}`)}</span>` +
        `<span class="bar"><span class="fill" style="width:${(v * 100).toFixed(2)}%"></span>${mark}</span>` +
        `<span class="bar-value">${p(v)}</span></div>`
      );
    })
    .join('');
  const note = $('threshold-note');
  const cal = app.model.calibration;
  const notes = [
    t ? `Decision rule stored with the model: ${classNames[t.positiveClass]} when its probability ≥ ${p(t.value)} (the marker on its bar), else ${classNames[1 - t.positiveClass] ?? 'the other class'}.` : '',
    // The worker's predict applied it: the bars are the calibrated probabilities.
    cal ? `Probabilities calibrated by the model's stored ${cal.kind === 'temperature' ? `temperature ${cal.temperature.toFixed(3)}` : `Platt scaling (slope ${cal.slope.toFixed(3)}, intercept ${cal.intercept.toFixed(3)})`}.` : '',
  ].filter(Boolean);
  note.hidden = notes.length === 0;
  note.textContent = notes.join(' ');
  const ms = (v) => `${v.toFixed(v < 10 ? 1 : 0)} ms`;
  $('timing').innerHTML =
    `<dt>Inference</dt><dd id="inference-ms">${ms(m.timing.predictMs)}</dd>` +
    `<dt>Grad-CAM</dt><dd>${ms(m.timing.gradCamMs)}</dd>` +
    `<dt>Decode + preprocess</dt><dd>${ms(m.timing.decodeMs)}</dd>` +
    `<dt>Feature maps</dt><dd>${ms(m.timing.featureMapsMs)}</dd>` +
    `<dt>Engine</dt><dd>${app.engine ? `${app.engine.artifact}, ${app.engine.threads} thread${app.engine.threads === 1 ? '' : 's'}` : '?'}</dd>`;
  $('cam-caption').textContent =
    `Grad-CAM for “${result.className}” on ${m.camLayer}, from the class ${m.camScore === 'logit' ? 'logit' : 'output'}; red = most evidence.` +
    (m.camMax > 0 ? '' : ' (The map is zero everywhere: no positive evidence at this layer.)');

  // Feature maps.
  const fm = $('feature-maps');
  fm.innerHTML = '';
  for (const b of m.blocks) {
    const fig = document.createElement('figure');
    const c = document.createElement('canvas');
    c.width = b.width;
    c.height = b.height;
    c.getContext('2d').putImageData(new ImageData(b.rgba, b.width, b.height), 0, 0);
    const scale = Math.max(1, Math.floor(240 / b.width));
    c.style.width = `${b.width * scale}px`;
    const cap = document.createElement('figcaption');
    cap.textContent = `${b.label} (${b.channels} channels)`;
    fig.append(c, cap);
    fm.append(fig);
  }
}

function drawOverlay() {
  if (!shown) return;
  const alpha = Number($('opacity').value) / 100;
  const c = $('overlay');
  const ctx = c.getContext('2d');
  ctx.globalAlpha = 1;
  ctx.drawImage(shown.display, 0, 0);
  // (1 − α)·image + α·colour, the heatmap stretched back to the image's aspect ratio.
  ctx.globalAlpha = alpha;
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage($('heatmap'), 0, 0, c.width, c.height);
  ctx.globalAlpha = 1;
}

$('opacity').addEventListener('input', () => {
  $('opacity-value').textContent = `${$('opacity').value}%`;
  drawOverlay();
});

// ---------------------------------------------------------------- training

const chart = { points: [], epochs: 0, batches: 0, epochMarks: [] };

function setTrainingButtons(running) {
  $('train-start').disabled = running;
  $('train-stop').disabled = !running;
}

$('train-start').addEventListener('click', () => {
  const epochs = Math.max(1, Math.min(100, Number($('epochs').value) || 1));
  const batchSize = Math.max(1, Math.min(512, Number($('batch-size').value) || 32));
  app.training = { running: true, events: [], done: null, error: null, stopRequested: false, maxTickGapMs: 0, ticksAtStart: app.ticks };
  chart.points = [];
  chart.epochMarks = [];
  $('train-result').textContent = '';
  $('train-status').textContent = 'starting…';
  setTrainingButtons(true);
  drawChart();
  worker.postMessage({ type: 'train', epochs, batchSize });
});

$('train-stop').addEventListener('click', () => {
  app.training.stopRequested = true;
  $('train-status').textContent = 'stopping…';
  worker.postMessage({ type: 'stop' });
});

function onTrainStart(m) {
  chart.epochs = m.epochs;
  chart.batches = Math.ceil(m.trainSize / m.batchSize);
  app.training.plan = m;
  $('train-status').textContent = `training: ${m.trainSize.toLocaleString('en-US')} images, ${m.epochs} epoch${m.epochs === 1 ? '' : 's'}, batch ${m.batchSize}, ${m.params} parameters`;
}

let chartQueued = false;
function onProgress({ event }) {
  app.training.events.push(event);
  if (event.type === 'batch') {
    chart.points.push({ step: event.step, loss: event.logs.loss, accuracy: event.logs.accuracy });
    const sps = Math.round(event.samplesPerSecond).toLocaleString('en-US');
    $('train-status').textContent =
      `epoch ${event.epoch + 1}/${event.epochs} · batch ${event.batch + 1}/${event.batches} · loss ${event.logs.loss.toFixed(4)} · accuracy ${(event.logs.accuracy * 100).toFixed(1)}% · ${sps} images/s`;
  } else if (event.type === 'epoch') {
    chart.epochMarks.push(chart.points.at(-1)?.step ?? 0);
  }
  // Draw at most once per frame.
  if (!chartQueued) {
    chartQueued = true;
    requestAnimationFrame(() => {
      chartQueued = false;
      drawChart();
    });
  }
}

function onTrainDone(m) {
  app.training.running = false;
  app.training.ticksAtEnd = app.ticks;
  app.training.done = m;
  setTrainingButtons(false);
  const acc = `${(m.testAccuracy * 100).toFixed(2)}%`;
  $('train-status').textContent = m.stopped ? `stopped after ${m.steps} steps` : `done: ${m.epochsRun} epoch${m.epochsRun === 1 ? '' : 's'}, ${m.steps} steps`;
  $('train-result').innerHTML = `Test accuracy on 1,000 held-out images: <b id="test-accuracy">${acc}</b> <span class="muted">(test loss ${m.testLoss.toFixed(4)})</span>`;
  drawChart();
}

function drawChart() {
  const c = $('train-chart');
  const dpr = window.devicePixelRatio || 1;
  const cssW = c.clientWidth || c.width;
  const cssH = c.clientHeight || c.height;
  if (c.width !== Math.round(cssW * dpr)) {
    c.width = Math.round(cssW * dpr);
    c.height = Math.round(cssH * dpr);
  }
  const ctx = c.getContext('2d');
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssW, cssH);
  const pad = { l: 48, r: 48, t: 12, b: 28 };
  const W = cssW - pad.l - pad.r;
  const H = cssH - pad.t - pad.b;
  const pts = chart.points;
  const maxStep = Math.max(chart.epochs * chart.batches, pts.at(-1)?.step ?? 1, 1);
  const maxLoss = Math.max(0.5, ...pts.map((p) => (Number.isFinite(p.loss) ? p.loss : 0))) * 1.05;
  const x = (s) => pad.l + (s / maxStep) * W;
  const yLoss = (v) => pad.t + H - (v / maxLoss) * H;
  const yAcc = (v) => pad.t + H - v * H;
  ctx.font = '11px system-ui, sans-serif';
  ctx.strokeStyle = '#e3e7ee';
  ctx.fillStyle = '#6b7280';
  ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const y = pad.t + (H * i) / 4;
    ctx.beginPath();
    ctx.moveTo(pad.l, y);
    ctx.lineTo(pad.l + W, y);
    ctx.stroke();
    ctx.textAlign = 'right';
    ctx.fillText((maxLoss * (1 - i / 4)).toFixed(2), pad.l - 6, y + 4);
    ctx.textAlign = 'left';
    ctx.fillText(`${100 - i * 25}%`, pad.l + W + 6, y + 4);
  }
  ctx.textAlign = 'center';
  ctx.fillText('optimizer step', pad.l + W / 2, cssH - 6);
  ctx.strokeStyle = '#cbd2dc';
  ctx.setLineDash([3, 3]);
  for (const s of chart.epochMarks) {
    ctx.beginPath();
    ctx.moveTo(x(s), pad.t);
    ctx.lineTo(x(s), pad.t + H);
    ctx.stroke();
  }
  ctx.setLineDash([]);
  const line = (key, y, colour) => {
    ctx.strokeStyle = colour;
    ctx.lineWidth = 2;
    ctx.beginPath();
    pts.forEach((p, i) => (i === 0 ? ctx.moveTo(x(p.step), y(p[key])) : ctx.lineTo(x(p.step), y(p[key]))));
    ctx.stroke();
  };
  if (pts.length) {
    line('accuracy', yAcc, '#16a34a');
    line('loss', yLoss, '#2563eb');
  } else {
    ctx.fillStyle = '#9aa3af';
    ctx.fillText('Press Train: the loss and accuracy appear here as the worker trains.', pad.l + W / 2, pad.t + H / 2);
  }
}
drawChart();
window.addEventListener('resize', drawChart);

// ---------------------------------------------------------------- start

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]);
}

loadModelFromUrl(modelUrl);
