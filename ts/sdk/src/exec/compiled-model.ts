/**
 * A model planned inside the wasm executor: the TypeScript handle on it.
 * Built once from a description (layer kinds and geometry); after that a
 * training step or an inference batch is one call into the thread pool.
 *
 * All buffers (parameters, gradients, optimizer state, activations, scratch)
 * live in wasm memory, owned by the executor; this object also owns a few
 * staging buffers (inputs, targets, call arguments). They are released when
 * the object is garbage-collected, or at once with `free()`.
 */
import { ConfigError, DataError, RuntimeError, ShapeError } from '../errors.js';
import type { StagedTransform } from '../data/transform.js';
import type { Engine } from '../runtime/engine.js';
import { splitSeed } from '../runtime/rng.js';
import { ErrorCode } from '../runtime/error-codes.js';
import {
  BufferCode,
  L2Code,
  LossCode,
  MODEL_DESC,
  MODEL_DESC_MAGIC,
  MODEL_DESC_VERSION,
  OptimizerCode,
  RngDist,
  RoleCode,
  STEP_ARGS,
  STEP_DESC,
  STEP_STATS,
  TENSOR_INFO,
  TRAIN_DESC,
  TargetsCode,
  readStruct,
  structBytes,
  writeStruct,
  type StepKind,
  type StructValues,
} from './abi.js';

/**
 * One executor step: its kind, its geometry fields, and the values it reads
 * (0 is the model input, `i + 1` the output of step `i`; default: the
 * previous step's output, so a list of steps without `inputs` is a chain).
 */
export type StepDescription = { kind: StepKind; inputs?: readonly number[] } & Partial<Omit<StructValues<typeof STEP_DESC>, 'kind' | 'firstInput' | 'nInputs'>>;

/** One executor step's time since profiling was turned on: summed over the passes, with how many ran it. */
export interface StepTime {
  forwardMs: number;
  forwardRuns: number;
  backwardMs: number;
  backwardRuns: number;
}

export interface ModelDescription {
  /** Per-sample input shape `[h, w, c]` (NHWC). */
  input: readonly [number, number, number];
  /** Largest batch any call will use. */
  maxBatch: number;
  /** In topological order; the last step's output is the model's output. */
  steps: readonly StepDescription[];
}

export type OptimizerDescription =
  | { kind: 'sgd'; momentum: number; nesterov: boolean }
  | { kind: 'adam'; beta1: number; beta2: number; epsilon: number }
  | { kind: 'adamw'; beta1: number; beta2: number; epsilon: number; weightDecay: number };

export interface TrainDescription {
  loss: 'softmaxCrossEntropy' | 'binaryCrossEntropy';
  labelSmoothing?: number;
  optimizer: OptimizerDescription;
  /** `keras`: `lambda·sum(W²)`; `study`: `lambda/(2·batch)·sum(W²)` (see ARCHITECTURE.md §7). */
  l2?: { form: 'keras' | 'study'; lambda: number };
  clipNorm?: number;
  classWeights?: Float32Array;
  /** One flag per step: frozen steps get no gradient or update (Keras' `trainable = false`). */
  frozen?: readonly boolean[];
}

export type TensorRole = 'kernel' | 'bias' | 'gamma' | 'beta' | 'movingMean' | 'movingVariance';

export interface TensorPlacement {
  /** The executor step that owns the tensor. */
  step: number;
  role: TensorRole;
  buffer: 'params' | 'state';
  offset: number;
  length: number;
}

export interface StepStats {
  loss: number;
  penalty: number;
  correct: number;
  gradNorm: number;
  /** False when the gradients were not finite and the weights were left unchanged. */
  updated: boolean;
}

export interface StepInput {
  batch: number;
  /** Inputs `[batch, h, w, c]`; omit when already written into `inputView(batch)`. */
  x?: Float32Array;
  /** Class labels, or dense targets `[batch, classes]`. */
  targets: Uint32Array | Float32Array;
  learningRate: number;
  /** 1-based step number (Adam bias correction, dropout masks). */
  step: number;
  /** Seed of this run's dropout masks. */
  seed: number;
  /** Address of inputs already written elsewhere in this engine's memory (fit's second input buffer); default `inputView`'s. */
  inputPtr?: number;
  /** A staged image transform (the next batch's inputs) to run in the same call, concurrently with the step. */
  prefetch?: StagedTransform;
}

const roles: Record<number, TensorRole> = {
  [RoleCode.KERNEL]: 'kernel',
  [RoleCode.BIAS]: 'bias',
  [RoleCode.GAMMA]: 'gamma',
  [RoleCode.BETA]: 'beta',
  [RoleCode.MOVING_MEAN]: 'movingMean',
  [RoleCode.MOVING_VARIANCE]: 'movingVariance',
};

interface Owned {
  engine: Engine;
  handle: number;
  blocks: [ptr: number, bytes: number][];
}

const registry = new FinalizationRegistry<Owned>((o) => release(o));

function release(o: Owned): void {
  try {
    o.engine.raw.lc_model_free(o.handle);
    for (const [ptr, bytes] of o.blocks) o.engine.memory.free(ptr, bytes, 16);
  } catch {
    // The engine was shut down: its memory is gone with it.
  }
}

export class CompiledModel {
  readonly inputShape: readonly [number, number, number];
  readonly outputShape: readonly [number, number, number];
  private readonly stepShapes: readonly (readonly [number, number, number])[];
  private planned: number;
  readonly stepCount: number;
  readonly tensors: readonly TensorPlacement[];
  private readonly owned: Owned;
  /** The staging blocks of the input and the targets, sized for `maxBatch` (re-planning moves them). */
  private xPtr: number;
  /** Bumped whenever the input block may be written or moved outside a step (see `inputGeneration`). */
  private inputChanges = 0;
  private targetsPtr: number;
  private readonly argsPtr: number;
  private readonly statsPtr: number;
  private readonly scanPtr: number;
  private readonly inputSize: number;
  private readonly outputSize: number;
  private classWeightsPtr = 0;
  private freed = false;

  private constructor(
    readonly engine: Engine,
    handle: number,
    description: ModelDescription,
  ) {
    const heap = engine.memory;
    this.planned = description.maxBatch;
    this.stepCount = description.steps.length;
    this.inputShape = description.input;
    this.inputSize = description.input[0] * description.input[1] * description.input[2];
    // Step shapes never change: read once here, not on every forward/activation call.
    const shapePtr = heap.alloc(16, 16);
    try {
      this.stepShapes = description.steps.map((_, step) => {
        engine.call('model: step shape', () => engine.raw.lc_model_step_shape(handle, step, shapePtr));
        const s = heap.u32(shapePtr, 3);
        return [s[0]!, s[1]!, s[2]!] as const;
      });
    } finally {
      heap.free(shapePtr, 16, 16);
    }
    this.outputShape = this.stepShapes[this.stepCount - 1]!;
    this.outputSize = this.outputShape[0] * this.outputShape[1] * this.outputShape[2];
    // [address, bytes]: what the finalizer frees.
    const block = (bytes: number): [number, number] => [heap.alloc(bytes), bytes];
    const blocks = [
      block(this.planned * this.inputSize * 4),
      block(this.planned * this.outputSize * 4),
      block(structBytes(STEP_ARGS)),
      block(structBytes(STEP_STATS)),
      block(4),
    ];
    [this.xPtr, this.targetsPtr, this.argsPtr, this.statsPtr, this.scanPtr] = blocks.map((b) => b[0]) as [number, number, number, number, number];
    this.owned = { engine, handle, blocks };
    registry.register(this, this.owned, this);
    this.tensors = this.readTensors();
  }

  /** Plans `description` in the engine's executor. */
  static create(engine: Engine, description: ModelDescription): CompiledModel {
    const { input, maxBatch, steps } = description;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new ConfigError(`model: maxBatch must be a positive integer, got ${maxBatch}`);
    if (input.some((d) => !Number.isInteger(d) || d < 1)) throw new ShapeError(`model: input shape must be positive integers [h, w, c], got [${input.join(', ')}]`);
    const inputIds = steps.flatMap((s, i) => s.inputs ?? [i]);
    const heap = engine.memory;
    const stepBytes = structBytes(STEP_DESC);
    const headBytes = structBytes(MODEL_DESC);
    const total = headBytes + steps.length * stepBytes + inputIds.length * 4;
    const descPtr = heap.alloc(total, 16);
    const stepsPtr = descPtr + headBytes;
    const inputsPtr = stepsPtr + steps.length * stepBytes;
    let handle = 0;
    try {
      const buf = heap.memory.buffer;
      writeStruct(buf, descPtr, MODEL_DESC, {
        magic: MODEL_DESC_MAGIC,
        version: MODEL_DESC_VERSION,
        maxBatch,
        inH: input[0],
        inW: input[1],
        inC: input[2],
        nSteps: steps.length,
        stepsPtr,
        inputsPtr,
        nInputs: inputIds.length,
      });
      let first = 0;
      steps.forEach((step, i) => {
        const { inputs, ...fields } = step;
        const n = inputs?.length ?? 1;
        writeStruct(buf, stepsPtr + i * stepBytes, STEP_DESC, {
          units: 0, sizeH: 0, sizeW: 0, strideH: 0, strideW: 0, padding: 0, padTop: 0, padBottom: 0, padLeft: 0, padRight: 0,
          useBias: 0, alpha: 0, maxValue: 0, momentum: 0, epsilon: 0, rate: 0, regularize: 0, ceilMode: 0, countIncludePad: 0,
          ...fields,
          firstInput: first,
          nInputs: n,
        });
        first += n;
      });
      heap.u32(inputsPtr, inputIds.length).set(inputIds);
      engine.call('model: plan', () => {
        handle = engine.raw.lc_model_new(descPtr);
        // 0: the kernel recorded why (a bad geometry, or a buffer it could not allocate).
        return handle === 0 ? engine.raw.lc_last_error_code() : ErrorCode.Ok;
      });
    } finally {
      heap.free(descPtr, total, 16);
    }
    return new CompiledModel(engine, handle, description);
  }

  /** The largest batch the executor's buffers are planned for. */
  get maxBatch(): number {
    return this.planned;
  }

  /**
   * Re-plans for batches of up to `maxBatch` (larger or smaller) in place:
   * the weights, moving statistics, training configuration and optimizer
   * state stay where they are, so memory never holds two copies of the
   * model; the buffers that grow with the batch are freed before the new
   * ones are taken. Views from `inputView` and activations of earlier passes
   * are invalid afterwards. Throws `OutOfMemoryError` when the new size does
   * not fit (the model then keeps its previous plan).
   */
  replan(maxBatch: number): void {
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new ConfigError(`model: maxBatch must be a positive integer, got ${maxBatch}`);
    if (maxBatch === this.planned) return;
    const handle = this.handle;
    this.engine.call('model: re-plan', () => this.engine.raw.lc_model_replan(handle, maxBatch));
    const heap = this.engine.memory;
    const staging = [maxBatch * this.inputSize * 4, maxBatch * this.outputSize * 4];
    staging.forEach((bytes, i) => {
      // Taken before the old block is freed, so the finalizer never sees a freed block.
      const next = heap.alloc(bytes);
      const [ptr, old] = this.owned.blocks[i]!;
      this.owned.blocks[i] = [next, bytes];
      heap.free(ptr, old, 16);
    });
    [this.xPtr, this.targetsPtr] = [this.owned.blocks[0]![0], this.owned.blocks[1]![0]];
    this.inputChanges++;
    this.planned = maxBatch;
  }

  private get handle(): number {
    if (this.freed) throw new RuntimeError('model: used after free()');
    return this.owned.handle;
  }

  private readTensors(): TensorPlacement[] {
    const ex = this.engine.raw;
    const count = ex.lc_model_tensor_count(this.handle);
    const out: TensorPlacement[] = [];
    const info = this.engine.memory.alloc(structBytes(TENSOR_INFO), 16);
    try {
      for (let i = 0; i < count; i++) {
        this.engine.call('model: tensor info', () => ex.lc_model_tensor_info(this.handle, i, info));
        const t = readStruct(this.engine.memory.memory.buffer, info, TENSOR_INFO);
        out.push({ step: t.step, role: roles[t.role]!, buffer: t.buffer === BufferCode.PARAMS ? 'params' : 'state', offset: t.offset, length: t.len });
      }
    } finally {
      this.engine.memory.free(info, structBytes(TENSOR_INFO), 16);
    }
    return out;
  }

  /** A live view of one flat buffer (re-fetch after anything that may allocate). */
  buffer(which: 'Params' | 'State' | 'Grads' | 'Slot1' | 'Slot2'): Float32Array {
    const ex = this.engine.raw;
    const code = BufferCode[which.toUpperCase() as keyof typeof BufferCode];
    const len = ex.lc_model_buffer_len(this.handle, code);
    if (len === 0) return new Float32Array(0);
    return this.engine.memory.f32(ex.lc_model_buffer_ptr(this.handle, code), len);
  }

  /**
   * Allocates the gradients and optimizer slots of the configured training
   * (zero-filled) if not yet done; a training step does it itself. Until
   * then `buffer('Grads' | 'Slot1' | 'Slot2')` is empty.
   */
  prepareTraining(): void {
    this.engine.call('model: prepare training', () => this.engine.raw.lc_model_prepare_training(this.handle));
  }

  /**
   * The runs of trainable parameters of the configured training: `offset`
   * and `length` in the parameter buffer, `at` where the run starts in the
   * compact gradient and slot buffers (which hold trainable parameters only).
   */
  trainableRuns(): { offset: number; length: number; at: number }[] {
    const ex = this.engine.raw;
    const count = ex.lc_model_trainable_runs(this.handle, 0, 0);
    if (count <= 0) return [];
    const heap = this.engine.memory;
    const ptr = heap.alloc(count * 12, 16);
    try {
      this.engine.call('model: trainable runs', () => (ex.lc_model_trainable_runs(this.handle, ptr, count) < 0 ? ErrorCode.InvalidValue : ErrorCode.Ok));
      const w = heap.u32(ptr, count * 3);
      return Array.from({ length: count }, (_, i) => ({ offset: w[3 * i]!, length: w[3 * i + 1]!, at: w[3 * i + 2]! }));
    } finally {
      heap.free(ptr, count * 12, 16);
    }
  }

  /**
   * The optimizer slots laid out like the parameters (one value per
   * parameter, 0 for frozen ones and for a slot the optimizer does not keep):
   * the checkpoint format, independent of which layers are trainable.
   */
  optimizerSlots(): { slot1: Float32Array; slot2: Float32Array } {
    const n = this.params().length;
    const out = { slot1: new Float32Array(n), slot2: new Float32Array(n) };
    const runs = this.trainableRuns();
    for (const [which, full] of [['Slot1', out.slot1], ['Slot2', out.slot2]] as const) {
      const compact = this.buffer(which);
      if (compact.length === 0) continue;
      for (const r of runs) full.set(compact.subarray(r.at, r.at + r.length), r.offset);
    }
    return out;
  }

  /** Restores what `optimizerSlots` returned (values of frozen parameters are not kept). */
  setOptimizerSlots(slot1: Float32Array, slot2: Float32Array): void {
    const n = this.params().length;
    if (slot1.length !== n || slot2.length !== n) throw new ShapeError(`optimizer state: expected ${n} values per slot, got ${slot1.length} and ${slot2.length}`);
    this.prepareTraining();
    const runs = this.trainableRuns();
    for (const [which, full] of [['Slot1', slot1], ['Slot2', slot2]] as const) {
      const compact = this.buffer(which);
      if (compact.length === 0) continue;
      for (const r of runs) compact.set(full.subarray(r.offset, r.offset + r.length), r.at);
    }
  }

  /** All trainable parameters, one flat buffer (live view). */
  params(): Float32Array {
    return this.buffer('Params');
  }

  /** Non-trained state (BatchNorm moving statistics), one flat buffer (live view). */
  state(): Float32Array {
    return this.buffer('State');
  }

  /** A live view of one tensor's values. */
  tensor(t: TensorPlacement): Float32Array {
    return (t.buffer === 'params' ? this.params() : this.state()).subarray(t.offset, t.offset + t.length);
  }

  /**
   * Fills one tensor from the library's seeded counter-based generator
   * (Philox), stream `stream`: uniform in [a, b), normal(a, b) or normal(a, b)
   * truncated at two standard deviations.
   */
  fillRandom(t: TensorPlacement, dist: 'uniform' | 'normal' | 'truncatedNormal', a: number, b: number, seed: number, stream: number): void {
    const base = this.engine.raw.lc_model_buffer_ptr(this.handle, t.buffer === 'params' ? BufferCode.PARAMS : BufferCode.STATE);
    const code = dist === 'uniform' ? RngDist.Uniform : dist === 'normal' ? RngDist.Normal : RngDist.TruncatedNormal;
    const [lo, hi] = splitSeed(seed);
    this.engine.call('rng fill', () => this.engine.raw.lc_rng_fill(base + t.offset * 4, t.length, lo, hi, stream, code, a, b));
  }

  /** Sets loss, optimizer, regularization and class weights (the optimizer state is kept). */
  configure(cfg: TrainDescription): void {
    const heap = this.engine.memory;
    if (this.classWeightsPtr) {
      heap.free(this.classWeightsPtr, this.outputSize * 4 + 8, 16);
      this.owned.blocks = this.owned.blocks.filter(([p]) => p !== this.classWeightsPtr);
      this.classWeightsPtr = 0;
    }
    const cw = cfg.classWeights;
    if (cw) {
      this.classWeightsPtr = heap.alloc(this.outputSize * 4 + 8, 16);
      this.owned.blocks.push([this.classWeightsPtr, this.outputSize * 4 + 8]);
      heap.f32(this.classWeightsPtr, cw.length).set(cw);
    }
    const frozen = cfg.frozen;
    if (frozen && frozen.length !== this.stepCount) throw new ConfigError(`model: expected ${this.stepCount} frozen flags (one per step), got ${frozen.length}`);
    const frozenBytes = (frozen?.length ?? 0) * 4;
    const frozenPtr = frozen?.some(Boolean) ? heap.alloc(frozenBytes, 16) : 0;
    if (frozenPtr) heap.u32(frozenPtr, frozen!.length).set(frozen!.map((f) => (f ? 1 : 0)));
    const o = cfg.optimizer;
    const ptr = heap.alloc(structBytes(TRAIN_DESC), 16);
    try {
      writeStruct(heap.memory.buffer, ptr, TRAIN_DESC, {
        loss: cfg.loss === 'softmaxCrossEntropy' ? LossCode.SOFTMAX_CROSS_ENTROPY : LossCode.BINARY_CROSS_ENTROPY,
        labelSmoothing: cfg.labelSmoothing ?? 0,
        optimizer: o.kind === 'sgd' ? OptimizerCode.SGD : o.kind === 'adam' ? OptimizerCode.ADAM : OptimizerCode.ADAMW,
        momentum: o.kind === 'sgd' ? o.momentum : 0,
        nesterov: o.kind === 'sgd' && o.nesterov ? 1 : 0,
        beta1: o.kind === 'sgd' ? 0 : o.beta1,
        beta2: o.kind === 'sgd' ? 0 : o.beta2,
        epsilon: o.kind === 'sgd' ? 0 : o.epsilon,
        weightDecay: o.kind === 'adamw' ? o.weightDecay : 0,
        l2Form: cfg.l2 ? (cfg.l2.form === 'keras' ? L2Code.KERAS : L2Code.STUDY) : L2Code.NONE,
        l2Lambda: cfg.l2?.lambda ?? 0,
        clipNorm: cfg.clipNorm ?? 0,
        classWeightsPtr: this.classWeightsPtr,
        classWeightsLen: cw?.length ?? 0,
        frozenPtr,
        frozenLen: frozenPtr ? frozen!.length : 0,
      });
      this.engine.call('model: configure', () => this.engine.raw.lc_model_configure(this.handle, ptr));
    } finally {
      heap.free(ptr, structBytes(TRAIN_DESC), 16);
      if (frozenPtr) heap.free(frozenPtr, frozenBytes, 16);
    }
  }

  /** Where to write a batch of inputs without a copy (live view). */
  inputView(batch: number): Float32Array {
    this.checkBatch(batch);
    this.inputChanges++;
    return this.engine.memory.f32(this.xPtr, batch * this.inputSize);
  }

  /**
   * Index of the first NaN or infinite value among the first `batch` inputs
   * in `inputView(batch)`, or -1 when all are finite (a SIMD scan on the pool:
   * a JavaScript loop over a large batch costs a fifth of the forward pass).
   */
  firstNonFiniteInput(batch: number): number {
    this.checkBatch(batch);
    this.engine.call('input check', () => this.engine.raw.lc_first_nonfinite(this.xPtr, batch * this.inputSize, this.scanPtr));
    return this.engine.memory.i32()[this.scanPtr >>> 2]!;
  }

  private checkBatch(batch: number): void {
    if (!Number.isInteger(batch) || batch < 1 || batch > this.maxBatch) {
      throw new ShapeError(`model: batch must be an integer in 1..${this.maxBatch}, got ${batch}`);
    }
  }

  private stageInput(x: Float32Array | undefined, batch: number): void {
    this.checkBatch(batch);
    if (x === undefined) return;
    const want = batch * this.inputSize;
    if (x.length !== want) throw new ShapeError(`model: expected ${want} input values for batch ${batch} of [${this.inputShape.join(', ')}], got ${x.length}`);
    this.inputView(batch).set(x);
  }

  /** One training step (forward, loss, backward, update) as one call. */
  trainStep(s: StepInput): StepStats {
    this.stageStep(s);
    const p = s.prefetch;
    if (p === undefined) {
      this.engine.call('train step', () => this.engine.raw.lc_model_train_step(this.handle, this.argsPtr, this.statsPtr));
    } else {
      if (p.engine !== this.engine) throw new RuntimeError("model: a prefetched transform must be staged in the model's engine");
      this.engine.call('train step', () => this.engine.raw.lc_model_train_step_prefetch(this.handle, this.argsPtr, this.statsPtr, p.argsPtr, p.mixArgsPtr ?? 0));
    }
    return this.readStats();
  }

  /**
   * Changes whenever the input block's contents may have changed outside a
   * step: each `inputView` taken, each re-plan (which moves the block). fit's
   * prefetch sees from it whether inputs it left there are still there.
   */
  get inputGeneration(): number {
    return this.inputChanges;
  }

  /** Loss and correct count of one batch in inference mode, without class weights or updates. */
  evaluateBatch(s: Pick<StepInput, 'batch' | 'x' | 'targets'>): StepStats {
    this.stageStep({ ...s, learningRate: 0, step: 1, seed: 0 });
    this.engine.call('evaluate', () => this.engine.raw.lc_model_evaluate(this.handle, this.argsPtr, this.statsPtr));
    return this.readStats();
  }

  private readStats(): StepStats {
    const r = readStruct(this.engine.memory.memory.buffer, this.statsPtr, STEP_STATS);
    return { loss: r.loss, penalty: r.penalty, correct: r.correct, gradNorm: r.gradNorm, updated: r.updated === 1 };
  }

  private stageStep(s: StepInput): void {
    if (s.x !== undefined && s.inputPtr !== undefined) throw new ConfigError('model: a step takes its inputs from x or from inputPtr, not both');
    this.stageInput(s.x, s.batch);
    const dense = s.targets instanceof Float32Array;
    const want = dense ? s.batch * this.outputSize : s.batch;
    if (s.targets.length !== want) {
      throw new DataError(`model: expected ${want} ${dense ? 'target values' : 'labels'} for batch ${s.batch}, got ${s.targets.length}`);
    }
    const heap = this.engine.memory;
    if (dense) heap.f32(this.targetsPtr, want).set(s.targets);
    else heap.u32(this.targetsPtr, want).set(s.targets);
    const [seedLo, seedHi] = splitSeed(s.seed);
    writeStruct(heap.memory.buffer, this.argsPtr, STEP_ARGS, {
      xPtr: s.inputPtr ?? this.xPtr,
      targetsKind: dense ? TargetsCode.DENSE : TargetsCode.LABELS,
      targetsPtr: this.targetsPtr,
      batch: s.batch,
      lr: s.learningRate,
      step: s.step,
      seedLo,
      seedHi,
    });
  }

  /**
   * Forward pass; `training` uses batch statistics for BatchNorm; `keep`
   * (default true) keeps every step's output readable through `activation`;
   * `keep: false` lets the executor reuse their memory (inference, where only
   * the output is read). Returns a copy of the output.
   */
  forward(x: Float32Array | undefined, batch: number, opts: { training?: boolean; keep?: boolean } = {}): Float32Array {
    this.stageInput(x, batch);
    const keep = opts.keep ?? true;
    this.engine.call('forward', () => this.engine.raw.lc_model_forward(this.handle, this.xPtr, batch, opts.training ? 1 : 0, keep ? 1 : 0));
    return this.output(batch);
  }

  /** A copy of the network's output from the last pass (forward, training step or evaluation) of `batch` samples. */
  output(batch: number): Float32Array {
    return this.activation(this.stepCount - 1, batch);
  }

  /** Per-sample output shape of step `step`. */
  stepShape(step: number): [number, number, number] {
    const s = this.stepShapes[step];
    if (!s) throw new DataError(`model: no step ${step}; the model has steps 0..${this.stepCount - 1}`);
    return [s[0], s[1], s[2]];
  }

  /** A copy of step `step`'s output from the last pass (`[batch, h, w, c]`; any step after a `keep` forward, else the last). */
  activation(step: number, batch: number): Float32Array {
    const [h, w, c] = this.stepShape(step);
    let ptr = 0;
    this.engine.call('model: activation', () => {
      ptr = this.engine.raw.lc_model_activation_ptr(this.handle, step);
      return ptr === 0 ? ErrorCode.InvalidValue : ErrorCode.Ok;
    });
    return this.engine.memory.f32(ptr, batch * h * w * c).slice();
  }

  /**
   * After `forward(x, batch, { keep: true })`: the gradient of `sum(dy ·
   * output of step from)` with respect to the output of step `stop` (a copy).
   */
  backwardFrom(batch: number, from: number, dy: Float32Array, stop: number, opts: { training?: boolean } = {}): Float32Array {
    this.checkBatch(batch);
    const heap = this.engine.memory;
    const [fh, fw, fc] = this.stepShape(from);
    if (dy.length !== batch * fh * fw * fc) throw new ShapeError(`model: dy for step ${from} needs ${batch * fh * fw * fc} values, got ${dy.length}`);
    const dyPtr = heap.alloc(dy.length * 4, 16);
    try {
      heap.f32(dyPtr, dy.length).set(dy);
      this.engine.call('backward', () => this.engine.raw.lc_model_backward_from(this.handle, this.xPtr, batch, from, dyPtr, stop, opts.training ? 1 : 0));
      const [h, w, c] = this.stepShape(stop);
      return heap.f32(this.engine.raw.lc_model_backward_result_ptr(this.handle), batch * h * w * c).slice();
    } finally {
      heap.free(dyPtr, dy.length * 4, 16);
    }
  }

  /**
   * Per-step timing (crates/kernels/src/exec/profile.rs): `true` starts it
   * from zero (again: restarts it), `false` stops it. While on, every pass
   * adds each step's time; off, the passes read no clock.
   */
  setProfiling(on: boolean): void {
    this.engine.call('model: profiling', () => this.engine.raw.lc_model_set_profiling(this.handle, on ? 1 : 0));
  }

  /** Each step's summed time and runs since profiling was turned on (see `setProfiling`). */
  stepTimes(): StepTime[] {
    const heap = this.engine.memory;
    const bytes = 32 * this.stepCount;
    const ptr = heap.alloc(bytes, 16);
    try {
      this.engine.call('model: step times', () => (this.engine.raw.lc_model_step_times(this.handle, ptr, this.stepCount) < 0 ? ErrorCode.InvalidValue : ErrorCode.Ok));
      const v = new Float64Array(heap.memory.buffer, ptr, 4 * this.stepCount);
      return Array.from({ length: this.stepCount }, (_, i) => ({ forwardMs: v[4 * i]!, forwardRuns: v[4 * i + 1]!, backwardMs: v[4 * i + 2]!, backwardRuns: v[4 * i + 3]! }));
    } finally {
      heap.free(ptr, bytes, 16);
    }
  }

  /** Releases the executor's buffers now instead of at garbage collection. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    registry.unregister(this);
    release(this.owned);
  }
}

