/**
 * `Model.profile`: where a pass's time goes, layer by layer (like
 * onnxruntime's per-node profiling or the PyTorch profiler's per-module
 * table). The executor times each of its steps while profiling is on
 * (crates/kernels/src/exec/profile.rs); this module runs the passes, sums
 * the steps of each layer and formats the table.
 *
 * Inference profiles the pass `predict` runs (fused: a BatchNormalization
 * folded into its convolution and a ReLU in its epilogue have no step of
 * their own, and their time is the convolution's). Training profiles whole
 * training steps (forward, loss, backward, optimizer) on the batch given or
 * a synthetic one, and restores the weights, moving statistics and optimizer
 * state afterwards, so profiling never changes the model.
 */
import { ConfigError } from '../errors.js';
import type { StepTime } from '../exec/compiled-model.js';
import type { Shape3 } from '../layers/shape.js';
import { checkInputs, type TensorLike } from './data.js';
import { targetsAreDense } from './losses.js';
import type { Model } from './model.js';

export interface ProfileArgs {
  /** Samples per pass (default 1 for inference, 32 for training). */
  batchSize?: number;
  /** Timed passes (default 10). */
  runs?: number;
  /** Untimed passes first (default 2): the first passes allocate and fold weights. */
  warmup?: number;
  /** Profile training steps instead of inference (the model must be compiled). */
  training?: boolean;
  /** Inputs `[batchSize, h, w, c]` (default: a fixed ramp of values in [0, 1)); timing does not depend on them. */
  x?: TensorLike;
}

export interface LayerProfile {
  name: string;
  className: string;
  outputShape: Shape3;
  /** Forward milliseconds per pass (the layer's executor steps summed). */
  forwardMs: number;
  /** Backward milliseconds per pass (training only; 0 for inference and for layers below the trainable ones). */
  backwardMs: number;
  /** Share of all the steps' time (forward and backward). */
  share: number;
  /**
   * Executor steps of this layer run per pass: 0 when it has none of its own
   * (folded into the step before it, as a BatchNormalization into its
   * convolution for inference, or a view such as Flatten).
   */
  stepsRun: number;
}

export interface ModelProfile {
  mode: 'inference' | 'training';
  batchSize: number;
  runs: number;
  threads: number;
  artifact: string;
  /** Wall-clock milliseconds per pass, measured around the whole call. */
  passMs: number;
  /** The steps' milliseconds per pass; `passMs` minus this is the call's own cost (entering the pool, loss, optimizer update). */
  stepsMs: number;
  layers: LayerProfile[];
}

/** Runs `args.runs` timed passes of `model` (after `args.warmup` untimed ones) and reports each layer's share. */
export async function profileModel(model: Model, args: ProfileArgs = {}): Promise<ModelProfile> {
  const training = args.training ?? false;
  const batchSize = count(args.batchSize ?? (training ? 32 : 1), 'batchSize', 1);
  const runs = count(args.runs ?? 10, 'runs', 1);
  const warmup = count(args.warmup ?? 2, 'warmup', 0);
  if (training && !model.lossConfig) throw new ConfigError(`${model.name}.profile: training profiles need a compiled model (compile() it first)`);
  const compiled = await model.ensureCompiled(batchSize);
  const view = compiled.inputView(batchSize);
  if (args.x) {
    checkInputs(args.x, model.inputShape, `${model.name}.profile`);
    if (args.x.shape[0] !== batchSize) throw new ConfigError(`${model.name}.profile: x holds ${args.x.shape[0]} samples, batchSize is ${batchSize}`);
    view.set(args.x.data);
  } else {
    // Timing does not depend on the values; a fixed ramp keeps runs repeatable.
    for (let i = 0; i < view.length; i++) view[i] = (i % 251) / 251;
  }
  const pass = training ? trainingPass(model, batchSize) : () => void compiled.forward(undefined, batchSize, { keep: false });
  const restore = training ? snapshot(model) : () => {};
  let times: StepTime[];
  let passMs: number;
  try {
    for (let i = 0; i < warmup; i++) pass();
    compiled.setProfiling(true);
    const t0 = performance.now();
    for (let i = 0; i < runs; i++) pass();
    passMs = (performance.now() - t0) / runs;
    times = compiled.stepTimes();
  } finally {
    compiled.setProfiling(false);
    restore();
  }
  const plan = model.plan();
  const layers: LayerProfile[] = model.layers.map((layer, i) => ({
    name: layer.name,
    className: layer.kind,
    outputShape: plan.shapes[i]!,
    forwardMs: 0,
    backwardMs: 0,
    share: 0,
    stepsRun: 0,
  }));
  times.forEach((t, step) => {
    const row = layers[plan.stepOwner[step]!]!;
    row.forwardMs += t.forwardMs / runs;
    row.backwardMs += t.backwardMs / runs;
    row.stepsRun += t.forwardRuns / runs;
  });
  const stepsMs = layers.reduce((sum, l) => sum + l.forwardMs + l.backwardMs, 0);
  for (const l of layers) l.share = stepsMs > 0 ? (l.forwardMs + l.backwardMs) / stepsMs : 0;
  const engine = compiled.engine;
  return { mode: training ? 'training' : 'inference', batchSize, runs, threads: engine.threads, artifact: engine.artifact, passMs, stepsMs, layers };
}

/** One training step on the inputs already staged, with synthetic targets (class `i mod classes`). */
function trainingPass(model: Model, batch: number): () => void {
  const compiled = model.executor;
  const classes = model.classes; // 2 for a single sigmoid unit, whose labels are 0 and 1
  let targets: Uint32Array | Float32Array;
  if (targetsAreDense(model.lossConfig!)) {
    targets = new Float32Array(batch * classes);
    for (let i = 0; i < batch; i++) targets[i * classes + (i % classes)] = 1;
  } else {
    targets = Uint32Array.from({ length: batch }, (_, i) => i % classes);
  }
  const step = model.step + 1;
  return () => void compiled.trainStep({ batch, targets, learningRate: model.optimizer.learningRate, step, seed: 0 });
}

/** Copies of everything a training step changes, and a function that puts them back. */
function snapshot(model: Model): () => void {
  const compiled = model.executor;
  const params = compiled.buffer('Params').slice();
  const state = compiled.buffer('State').slice();
  const slots = model.optimizerState();
  return () => {
    compiled.buffer('Params').set(params);
    compiled.buffer('State').set(state);
    model.setOptimizerState(slots);
  };
}

function count(v: number, what: string, min: number): number {
  if (!Number.isInteger(v) || v < min) throw new ConfigError(`profile: ${what} must be an integer >= ${min}, got ${v}`);
  return v;
}

/** The profile as a text table, one row per layer, the way `summary()` prints layers. */
export function formatProfile(p: ModelProfile): string {
  const training = p.mode === 'training';
  const head = ['Layer (type)', 'Output shape', training ? 'Forward ms' : 'ms / pass', ...(training ? ['Backward ms'] : []), 'Share'];
  const rows = p.layers.map((l) => {
    const own = l.stepsRun > 0 || l.backwardMs > 0;
    return [
      `${l.name} (${l.className})`,
      `[${l.outputShape.join(', ')}]`,
      own ? l.forwardMs.toFixed(3) : 'no step of its own',
      ...(training ? [l.backwardMs > 0 ? l.backwardMs.toFixed(3) : '-'] : []),
      own ? `${(100 * l.share).toFixed(1)}%` : '',
    ];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (cells: string[]) => cells.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd();
  const rule = '-'.repeat(widths.reduce((a, w) => a + w + 2, -2));
  return [
    `Profile: ${p.mode}, batch ${p.batchSize}, ${p.runs} timed pass(es), ${p.threads} thread(s), ${p.artifact} artifact`,
    rule,
    line(head),
    rule,
    ...rows.map(line),
    rule,
    `Per pass: ${p.passMs.toFixed(3)} ms; in the layers' steps ${p.stepsMs.toFixed(3)} ms` +
      (training ? ' (the rest: loss, optimizer update, entering the pool)' : ' (the rest: entering the pool, input and output checks)'),
  ].join('\n');
}
