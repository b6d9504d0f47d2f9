/**
 * `Model`: a graph of layers (Keras' functional API) with Keras' workflow —
 * build, summary, compile, fit, evaluate, predict, weights by name, save and
 * load. `Sequential` is its chain-building front. The model is planned into
 * the wasm executor on first use; nothing needs disposing.
 */
import { CompiledModel, type TrainDescription } from '../exec/compiled-model.js';
import { writeFileAtomic } from '../io/atomic-write.js';
import { checkPlanBudget, resolveLoadLimits } from '../io/load-limits.js';
import { decodeModelFile, encodeModelFile, type DecodeModelOptions, type Topology } from '../io/model-file.js';
import { layerFromConfig } from '../layers/config.js';
import { ConfigError, ModelFormatError, ShapeError } from '../errors.js';
import type { AnyLayer, LayerConfig } from '../layers/config.js';
import { fillFor } from '../layers/initializers.js';
import type { Shape3 } from '../layers/shape.js';
import { shapeSize } from '../layers/shape.js';
import { defaultEngine } from '../runtime/default-engine.js';
import type { Engine } from '../runtime/engine.js';
import type { TrainingModel } from '../callbacks/callback.js';
import { ArrayDataset, checkInputs, checkLabels, isDataset, type Dataset, type LabelsLike, type TensorLike } from './data.js';
import { evaluateDataset, predictDataset, runFit, type FitArgs } from './fit.js';
import type { History } from './history.js';
import { resolveLoss, targetsAreDense, type LossArg, type LossConfig } from './losses.js';
import { classesFromOutputs } from './decision.js';
import { checkMetadataForClasses, defaultMetadata, type ModelMetadata } from './metadata.js';
import { calibrateProbabilities } from '../calibration/apply.js';
import { optimizerFromConfig, resolveOptimizer, type Optimizer, type OptimizerName } from './optimizers.js';
import { planModel, type ModelGraph, type ModelPlan } from './plan.js';
import { graphFromTensors } from './graph.js';
import { input, type SymbolicTensor } from '../layers/symbolic.js';
import { countParams, renderSummary, type ParamCounts } from './summary.js';
import { modelToOnnx, type OnnxExportOptions } from '../interop/onnx/export/index.js';
import { profileModel, type ModelProfile, type ProfileArgs } from './profile.js';
import { resolveMetrics, type MetricName } from './pass-metrics.js';

export interface ModelOptions {
  name?: string;
  /** Seeds initialization, shuffling, dropout and augmentation. Default 0. */
  seed?: number;
  /** The compute engine (default: a shared engine on all cores). */
  engine?: Engine;
}

export interface CompileArgs {
  optimizer: OptimizerName | Optimizer;
  loss: LossArg;
  /**
   * Metrics reported by fit (as `name` and `val_name`) and evaluate besides
   * the loss: 'accuracy' (always reported; computed in the step), 'auc',
   * 'precision', 'recall' (over each epoch's or evaluation's outputs; see
   * model/pass-metrics.ts for binary and multi-class semantics).
   */
  metrics?: MetricName[];
}

export interface CompiledConfig {
  optimizer: Optimizer;
  loss: LossConfig;
  /** One flag per executor step, from the layers' `trainable` at compile time (Keras semantics). */
  frozen: boolean[];
  metrics: MetricName[];
}

/**
 * The smallest batch an inference plan is made for (build, load, predict), so
 * small calls do not re-plan one after another; training plans exactly the
 * batch it trains (see `ensureCompiled`), and any call needing more re-plans.
 */
const MIN_PLANNED_BATCH = 32;

export interface ModelArgs extends ModelOptions {
  /** The model's input, from `input({ shape })` (one input). */
  inputs: SymbolicTensor | readonly SymbolicTensor[];
  /** The model's output, from a layer's `apply` (one output). */
  outputs: SymbolicTensor | readonly SymbolicTensor[];
}

export class Model implements TrainingModel {
  readonly name: string;
  readonly seed: number;
  stopTraining = false;
  /** Class names, preprocessing and decision threshold, saved with the model. */
  metadata: ModelMetadata = defaultMetadata();
  /** The functional graph (undefined for a Sequential, which builds its chain on demand). */
  private readonly fixedGraph: ModelGraph | undefined;
  private engineRef: Engine | undefined;
  private compiled: CompiledModel | undefined;
  private compileConfig: CompiledConfig | undefined;
  /** Optimizer steps taken so far (Adam's t; the next step is `steps + 1`). */
  private steps = 0;
  private cachedPlan: ModelPlan | undefined;
  private disposed = false;

  /**
   * The functional API: `new Model({ inputs, outputs })` with tensors from
   * `input()` and layers' `apply()`; every layer between them becomes part of
   * the model, in topological order. Unnamed layers are named `<kind>_<n>`.
   */
  constructor(args: ModelArgs);
  /** @internal `Sequential`'s constructor: options only, the chain comes later. */
  constructor(args: ModelOptions, chain: 'sequential');
  constructor(args: ModelArgs | ModelOptions, chain?: 'sequential') {
    const kind = chain ? 'Sequential' : 'Model';
    this.name = args.name ?? (chain ? 'sequential' : 'model');
    const seed = args.seed ?? 0;
    if (!Number.isSafeInteger(seed) || seed < 0) throw new ConfigError(`${kind}: seed must be a non-negative safe integer, got ${seed}`);
    this.seed = seed;
    this.engineRef = args.engine;
    if (chain) {
      this.fixedGraph = undefined;
    } else {
      const a = args as ModelArgs;
      this.fixedGraph = graphFromTensors(a.inputs, a.outputs, `Model '${this.name}'`);
    }
  }

  /** `Model 'name'` or `Sequential 'name'`: how errors name the model. */
  protected describeSelf(): string {
    return `${this.fixedGraph ? 'Model' : 'Sequential'} '${this.name}'`;
  }

  /** The model's graph: layers in topological order and what each reads. */
  protected graph(): ModelGraph {
    if (!this.fixedGraph) throw new ConfigError(`${this.describeSelf()}: no graph`);
    return this.fixedGraph;
  }

  /** Layers in topological order (a Sequential's in the order added). */
  get layers(): readonly AnyLayer[] {
    return this.graph().nodes.map((n) => n.layer);
  }

  /** The layer named `name` (or at position `index`), like Keras' `get_layer`. */
  getLayer(name: string): AnyLayer;
  getLayer(index: number): AnyLayer;
  getLayer(ref: string | number): AnyLayer {
    const layers = this.layers;
    const found = typeof ref === 'number' ? layers[ref] : layers.find((l) => l.name === ref);
    if (!found) {
      throw new ConfigError(`${this.describeSelf()}: no layer ${typeof ref === 'number' ? `at index ${ref} (it has ${layers.length})` : `named '${ref}' (it has ${layers.map((l) => l.name).join(', ')})`}`);
    }
    return found;
  }

  /** Per-sample input shape. */
  get inputShape(): Shape3 {
    return this.graph().input;
  }

  /** Shapes, steps and tensors (validates the whole model). */
  plan(): ModelPlan {
    this.cachedPlan ??= planModel(this.graph());
    return this.cachedPlan;
  }

  /** @internal forgets the plan (a Sequential that grew). */
  protected invalidatePlan(): void {
    this.cachedPlan = undefined;
  }

  get outputShape(): Shape3 {
    return this.plan().shapes.at(-1)!;
  }

  /** Number of classes the output encodes (2 for a single sigmoid unit). */
  get classes(): number {
    const c = this.outputShape[2];
    return c === 1 ? 2 : c;
  }

  /** Trainable (of layers with `trainable` set), non-trainable and total parameter counts. */
  countParams(): ParamCounts {
    return countParams(this.plan(), this.layers);
  }

  /** The Keras-style summary table; printed with `print` (default console.log) and returned. */
  summary(print: ((line: string) => void) | null = console.log): string {
    const text = renderSummary(this.name, this.layers, this.plan());
    print?.(text);
    return text;
  }

  get optimizer(): Optimizer {
    if (!this.compileConfig) throw new ConfigError(`${this.describeSelf()}: compile() the model first`);
    return this.compileConfig.optimizer;
  }

  get lossConfig(): LossConfig | undefined {
    return this.compileConfig?.loss;
  }

  /** The metrics named at compile (empty before compile). */
  get metricNames(): readonly MetricName[] {
    return this.compileConfig?.metrics ?? [];
  }

  /** Optimizer steps taken so far. */
  get step(): number {
    return this.steps;
  }

  compile(args: CompileArgs): void {
    const optimizer = resolveOptimizer(args.optimizer);
    const loss = resolveLoss(args.loss);
    const out = this.outputShape[2];
    if (loss.name === 'binaryCrossentropy' && out !== 1) {
      throw new ConfigError(`compile: binaryCrossentropy needs a model with 1 output unit; this one outputs ${out} (use sparseCategoricalCrossentropy)`);
    }
    if (loss.name !== 'binaryCrossentropy' && out < 2) {
      throw new ConfigError(`compile: ${loss.name} needs >= 2 output units; this one outputs ${out} (use binaryCrossentropy)`);
    }
    const metrics = resolveMetrics(args.metrics);
    const plan = this.plan();
    const layers = this.layers;
    this.compileConfig = { optimizer, loss, frozen: plan.stepOwner.map((owner) => !layers[owner]!.trainable), metrics };
    if (this.compiled) {
      this.configureExecutor(undefined);
      this.compiled.buffer('Slot1').fill(0);
      this.compiled.buffer('Slot2').fill(0);
      this.steps = 0;
    }
  }

  /**
   * Plans the model in the engine and initializes its weights (done by
   * fit/predict when needed). With `batchSize`, for exactly that many samples
   * per call (default: at least 32); a later call that needs more re-plans in place.
   */
  async build(opts: { batchSize?: number } = {}): Promise<this> {
    await this.ensureCompiled(opts.batchSize ?? MIN_PLANNED_BATCH, { exact: opts.batchSize !== undefined });
    return this;
  }

  get built(): boolean {
    return this.compiled !== undefined;
  }

  /**
   * @internal the executor model, planned for at least `batch` samples per
   * call; with `exact`, for exactly `batch` (training plans the batch it
   * trains, so activation memory follows the batch size, not a default).
   * An existing plan is changed in place (`CompiledModel.replan`): the
   * weights and optimizer state are never copied.
   */
  async ensureCompiled(batch: number, opts: { exact?: boolean } = {}): Promise<CompiledModel> {
    this.assertNotDisposed();
    if (!Number.isInteger(batch) || batch < 1) throw new ConfigError(`batchSize must be a positive integer, got ${batch}`);
    const current = this.compiled;
    if (current) {
      if (opts.exact ? current.maxBatch !== batch : current.maxBatch < batch) current.replan(batch);
      return current;
    }
    this.engineRef ??= await defaultEngine();
    const plan = this.plan();
    const next = CompiledModel.create(this.engineRef, { input: plan.input, maxBatch: opts.exact ? batch : Math.max(batch, MIN_PLANNED_BATCH), steps: plan.steps });
    this.checkPlacement(next, plan);
    this.initialize(next, plan);
    this.compiled = next;
    if (this.compileConfig) this.configureExecutor(undefined);
    return next;
  }

  /** The executor must place tensors exactly as the TypeScript plan says. */
  private checkPlacement(model: CompiledModel, plan: ModelPlan): void {
    const placed = model.tensors.map((t) => ({ owner: plan.stepOwner[t.step], role: t.role, length: t.length }));
    const want = plan.tensors.map((t) => ({ owner: t.layer, role: t.role, length: t.size }));
    if (JSON.stringify(placed) !== JSON.stringify(want)) {
      throw new ShapeError(`${this.describeSelf()}: the executor's tensors ${JSON.stringify(placed)} disagree with the model's ${JSON.stringify(want)}`);
    }
  }

  private initialize(model: CompiledModel, plan: ModelPlan): void {
    plan.tensors.forEach((spec, i) => {
      const t = model.tensors[i]!;
      const fill = fillFor(spec.initializer, spec.fanIn, spec.fanOut);
      if (fill.dist === 'constant') model.tensor(t).fill(fill.value);
      else model.fillRandom(t, fill.dist, fill.a, fill.b, this.seed, i);
    });
  }

  /** @internal sends loss, optimizer, regularization and class weights to the executor. */
  configureExecutor(classWeights: Float32Array | undefined): void {
    const cc = this.compileConfig;
    if (!cc || !this.compiled) return;
    const reg = this.plan().regularizer;
    const desc: TrainDescription = {
      loss: cc.loss.name === 'binaryCrossentropy' ? 'binaryCrossEntropy' : 'softmaxCrossEntropy',
      labelSmoothing: cc.loss.labelSmoothing,
      optimizer: cc.optimizer.describe(),
      ...(reg ? { l2: { form: reg.form, lambda: reg.lambda } } : {}),
      ...(cc.optimizer.globalClipnorm !== null ? { clipNorm: cc.optimizer.globalClipnorm } : {}),
      ...(classWeights ? { classWeights } : {}),
      ...(cc.frozen.some(Boolean) ? { frozen: cc.frozen } : {}),
    };
    this.compiled.configure(desc);
  }

  /**
   * Releases the model's wasm memory (weights, optimizer state, activations)
   * now instead of when the model is garbage-collected. Optional — nothing
   * needs disposing — but a loop that builds many large models (e.g.
   * cross-validation folds) should not wait for a collection V8 does not know
   * it needs. The model cannot be used afterwards.
   */
  dispose(): void {
    this.disposed = true;
    this.compiled?.free();
    this.compiled = undefined;
  }

  private assertNotDisposed(): void {
    if (this.disposed) throw new ConfigError(`${this.describeSelf()}: used after dispose()`);
  }

  private requireCompiled(): CompiledModel {
    this.assertNotDisposed();
    if (!this.compiled) throw new ConfigError(`${this.describeSelf()}: the model is not built yet (await model.build() or fit/predict first)`);
    return this.compiled;
  }

  /** A copy of every weight and state tensor, by name (`layers.0.kernel`, ...). */
  getWeights(): Map<string, Float32Array> {
    const model = this.requireCompiled();
    const plan = this.plan();
    return new Map(plan.tensors.map((spec, i) => [spec.name, model.tensor(model.tensors[i]!).slice()]));
  }

  /** Sets tensors by name; every name must exist and every length match. Missing names keep their values. */
  setWeights(weights: Map<string, Float32Array> | Record<string, Float32Array>): void {
    const model = this.requireCompiled();
    const plan = this.plan();
    const entries = weights instanceof Map ? [...weights.entries()] : Object.entries(weights);
    const index = new Map(plan.tensors.map((t, i) => [t.name, i]));
    for (const [name, data] of entries) {
      const i = index.get(name);
      if (i === undefined) throw new ShapeError(`setWeights: the model has no tensor '${name}' (it has ${[...index.keys()].join(', ')})`);
      const spec = plan.tensors[i]!;
      if (data.length !== spec.size) throw new ShapeError(`setWeights: '${name}' has shape [${spec.shape.join(', ')}] (${spec.size} values), got ${data.length} values`);
    }
    for (const [name, data] of entries) model.tensor(model.tensors[index.get(name)!]!).set(data);
  }

  /** The optimizer state of checkpoints and BackupAndRestore: moments and step count. */
  optimizerState(): { slot1: Float32Array; slot2: Float32Array; step: number } {
    return { ...this.requireCompiled().optimizerSlots(), step: this.steps };
  }

  /** Restores what `optimizerState` returned (allocates the training buffers). */
  setOptimizerState(s: { slot1: Float32Array; slot2: Float32Array; step: number }): void {
    this.requireCompiled().setOptimizerSlots(s.slot1, s.slot2);
    this.steps = s.step;
  }

  /** @internal used by the training loop. */
  advanceStep(): number {
    return ++this.steps;
  }

  /** Wraps arrays as a dataset, validating shapes, values and labels. */
  toDataset(x: TensorLike, y: LabelsLike | undefined, where: string, scanValues = true): ArrayDataset {
    const n = checkInputs(x, this.inputShape, where, scanValues);
    const dense = this.compileConfig ? targetsAreDense(this.compileConfig.loss) : false;
    let targets: Uint32Array | Float32Array | undefined;
    if (y !== undefined) {
      targets = checkLabels(y, n, this.outputShape[2] === 1 ? 2 : this.outputShape[2], where);
      if (dense && !(targets instanceof Float32Array)) throw new ShapeError(`${where}: categoricalCrossentropy needs one-hot targets [n, classes]; use sparseCategoricalCrossentropy for class indices`);
      if (!dense && targets instanceof Float32Array && this.compileConfig) throw new ShapeError(`${where}: ${this.compileConfig.loss.name} needs class indices, got [n, classes] targets`);
    }
    return new ArrayDataset(x.data, this.inputShape, targets, this.outputShape[2]);
  }

  /** Trains the model (Keras semantics). Returns the History. */
  async fit(x: TensorLike, y: LabelsLike, args?: FitArgs): Promise<History>;
  async fit(data: Dataset, args?: FitArgs): Promise<History>;
  async fit(a: TensorLike | Dataset, b?: LabelsLike | FitArgs, c?: FitArgs): Promise<History> {
    if (!this.compileConfig) throw new ConfigError(`${this.describeSelf()}: compile() the model before fit()`);
    const [data, args] = isDataset(a) ? [a, (b as FitArgs | undefined) ?? {}] : [this.toDataset(a, b as LabelsLike, 'fit'), c ?? {}];
    return runFit(this, data, args);
  }

  /** Loss, accuracy and the compiled metrics in inference mode: `{ loss, accuracy, auc?, precision?, recall? }`. */
  async evaluate(x: TensorLike, y: LabelsLike, args?: { batchSize?: number }): Promise<Record<string, number>>;
  async evaluate(data: Dataset, args?: { batchSize?: number }): Promise<Record<string, number>>;
  async evaluate(a: TensorLike | Dataset, b?: LabelsLike | { batchSize?: number }, c?: { batchSize?: number }): Promise<Record<string, number>> {
    if (!this.compileConfig) throw new ConfigError(`${this.describeSelf()}: compile() the model before evaluate()`);
    const [data, args] = isDataset(a) ? [a, (b as { batchSize?: number } | undefined) ?? {}] : [this.toDataset(a, b as LabelsLike, 'evaluate'), c ?? {}];
    return evaluateDataset(this, data, args.batchSize ?? 32);
  }

  /**
   * Output probabilities `[n, outputs]` for inputs `[n, h, w, c]`: the
   * network's outputs, calibrated by the stored calibration when the model
   * has one (`metadata.calibration`; `calibrated: false` returns the network's own).
   */
  async predict(x: TensorLike | Dataset, args: { batchSize?: number; calibrated?: boolean } = {}): Promise<Float32Array> {
    // Values are checked batch by batch in the engine (predictDataset), not by a JS loop here.
    const data = isDataset(x) ? x : this.toDataset(x, undefined, 'predict', false);
    const outputs = await predictDataset(this, data, args.batchSize ?? 32);
    return args.calibrated === false ? outputs : this.calibrateOutputs(outputs);
  }

  /**
   * The stored calibration (`metadata.calibration`) applied to the network's
   * outputs `[n, outputs]`; the same array when the model has none.
   */
  calibrateOutputs(outputs: Float32Array): Float32Array {
    const c = this.metadata.calibration;
    return c ? calibrateProbabilities(outputs, this.outputShape[2], c) : outputs;
  }

  /**
   * Predicted class per sample: arg-max, or for a binary model the stored
   * decision threshold on the positive class (0.5 when none; `threshold` overrides),
   * of the (calibrated) probabilities `predict` returns.
   */
  async predictClasses(x: TensorLike | Dataset, args: { batchSize?: number; threshold?: number } = {}): Promise<Uint32Array> {
    return this.classesFromProbabilities(await this.predict(x, args), args);
  }

  /**
   * `predictClasses`' decision applied to outputs already computed
   * (`[n, outputs]` as `predict` returns them: calibrated when the model
   * stores a calibration, the scale its threshold is on), so a caller that
   * needs both the probabilities and the classes runs the model once.
   */
  classesFromProbabilities(probs: Float32Array, args: { threshold?: number } = {}): Uint32Array {
    return classesFromOutputs(probs, this.outputShape[2], this.metadata.threshold, args);
  }

  /**
   * Where a pass's time goes, layer by layer: `runs` timed inference passes
   * (the fused pass `predict` runs) or, with `training`, training steps whose
   * changes are undone afterwards. `formatProfile` prints the result as a table.
   */
  async profile(args: ProfileArgs = {}): Promise<ModelProfile> {
    return profileModel(this, args);
  }

  /** @internal */
  get executor(): CompiledModel {
    return this.requireCompiled();
  }

  /** Per-sample input size (h·w·c). */
  get inputSize(): number {
    return shapeSize(this.inputShape);
  }

  /**
   * The model as one `.safetensors` file: topology, weights, metadata
   * (class names, preprocessing, threshold), the compile configuration, and
   * with `includeOptimizer` the optimizer state to resume training.
   */
  toBytes(opts: { includeOptimizer?: boolean } = {}): Uint8Array {
    const plan = this.plan();
    const weights = this.getWeights();
    const cc = this.compileConfig;
    return encodeModelFile({
      topology: this.topology(),
      metadata: this.metadata,
      weights: plan.tensors.map((t) => ({ name: t.name, shape: t.shape, data: weights.get(t.name)! })),
      training: cc ? { optimizer: cc.optimizer.getConfig(), loss: cc.loss, state: opts.includeOptimizer ? this.optimizerState() : null } : null,
    });
  }

  /** Writes `toBytes()` to `path` atomically (temp file + rename): an interrupted save never leaves a broken model (Node). */
  async save(path: string, opts: { includeOptimizer?: boolean } = {}): Promise<void> {
    await writeFileAtomic(path, this.toBytes(opts));
  }

  /**
   * The model as an ONNX file (opset 17; input `input`, NHWC or with `nchw`
   * NCHW, dynamic batch; output `output`); the metadata (preprocessing, class
   * names, threshold) rides along as JSON. See docs/scaling.md.
   */
  toOnnx(options: OnnxExportOptions = {}): Uint8Array {
    return modelToOnnx(this, options);
  }

  /** Rebuilds a model from `toBytes()` output (any lite-cnn model file), validating every part of the file. */
  static async fromBytes(bytes: Uint8Array, opts: { engine?: Engine; name?: string } & DecodeModelOptions = {}): Promise<Model> {
    return Model.restore(bytes, opts, (layers, topology, options) => Model.fromLayers(layers, topology, options));
  }

  /**
   * The model's configuration (Keras' `get_config`): layer configs in
   * topological order, what each reads (`inbound`, -1 for the input), the
   * input shape and the trainable flags. `Model.fromConfig` rebuilds it.
   */
  getConfig(): Topology {
    return this.topology();
  }

  /** A model from `getConfig()` output or an architecture file (weights freshly initialized); a missing `inbound` is a chain. */
  static fromConfig(config: Topology, options: ModelOptions = {}): Model {
    const layers = layersOf(config, (i, c, cause) => new ConfigError(`layer ${i} (${c.kind}): ${cause.message}`, { cause }));
    return Model.fromLayers(layers, config, { name: config.name, seed: config.seed, ...options });
  }

  /** Applies `layers` as `topology.inbound` says (a chain when absent) to a new input. */
  private static fromLayers(layers: AnyLayer[], topology: Pick<Topology, 'inbound' | 'inputShape'>, options: ModelOptions): Model {
    const shape = topology.inputShape ?? layers[0]?.getConfig().inputShape;
    if (!shape) throw new ShapeError('the model needs an input shape (inputShape, or on its first layer)');
    const x = input({ shape });
    const inbound = topology.inbound ?? layers.map((_, i) => [i - 1]);
    if (inbound.length !== layers.length) throw new ConfigError(`inbound lists ${inbound.length} layers, the model has ${layers.length}`);
    const outs: SymbolicTensor[] = [];
    layers.forEach((layer, i) => {
      const reads = inbound[i]!;
      if (reads.some((j) => !Number.isInteger(j) || j < -1 || j >= i)) throw new ConfigError(`${layer.describe(i)}: inbound ${JSON.stringify(reads)} must name earlier layers or the input (-1)`);
      outs.push(layer.apply(reads.map((j) => (j < 0 ? x : outs[j]!))));
    });
    return new Model({ inputs: x, outputs: outs.at(-1)!, ...options });
  }

  /** The topology as saved: layer configs, what each reads, the input shape and the trainable flags. */
  protected topology(): Topology {
    const g = this.graph();
    return {
      name: this.name,
      seed: this.seed,
      layers: g.nodes.map((n) => n.layer.getConfig()),
      inbound: g.nodes.map((n) => n.inputs),
      inputShape: [g.input[0], g.input[1], g.input[2]],
      trainable: g.nodes.map((n) => n.layer.trainable),
    };
  }

  /**
   * Decodes and validates a model file, builds the model with `build` (a
   * functional Model or a Sequential), then checks every tensor against the
   * topology before anything is allocated in the engine.
   */
  protected static async restore<M extends Model>(
    bytes: Uint8Array,
    opts: { engine?: Engine; name?: string } & DecodeModelOptions,
    build: (layers: AnyLayer[], topology: Topology, options: ModelOptions) => M,
  ): Promise<M> {
    const where = opts.name ?? 'model file';
    const file = decodeModelFile(bytes, where, opts);
    const topology = file.topology;
    const layers = layersOf(topology, (i, _, cause) => new ModelFormatError(`${where}: layer ${i}: ${cause.message}`, { cause }));
    let model: M;
    let plan: ModelPlan;
    try {
      model = build(layers, topology, { name: topology.name, seed: topology.seed, ...(opts.engine ? { engine: opts.engine } : {}) });
      plan = model.plan();
      const order = model.layers;
      if (order.length !== layers.length || order.some((l, i) => l !== layers[i])) throw new ConfigError('the layers are not in topological order');
    } catch (cause) {
      throw new ModelFormatError(`${where}: invalid topology: ${(cause as Error).message}`, { cause });
    }
    const saved = new Map(file.weights.map((w) => [w.name, w]));
    for (const t of plan.tensors) {
      const w = saved.get(t.name);
      if (!w) throw new ModelFormatError(`${where}: missing tensor '${t.name}' (shape [${t.shape.join(', ')}])`);
      if (w.shape.length !== t.shape.length || w.shape.some((d, i) => d !== t.shape[i])) {
        throw new ModelFormatError(`${where}: tensor '${t.name}' has shape [${w.shape.join(', ')}], the topology needs [${t.shape.join(', ')}]`);
      }
      saved.delete(t.name);
    }
    if (saved.size > 0) throw new ModelFormatError(`${where}: tensors not in the topology: ${[...saved.keys()].join(', ')}`);
    checkPlanBudget(plan, MIN_PLANNED_BATCH, resolveLoadLimits(opts.limits), where);
    model.metadata = file.metadata;
    checkMetadataForClasses(file.metadata, model.classes, where);
    if (file.training) {
      try {
        model.compile({ optimizer: optimizerFromConfig(file.training.optimizer), loss: { name: file.training.loss.name, labelSmoothing: file.training.loss.labelSmoothing } });
      } catch (cause) {
        throw new ModelFormatError(`${where}: invalid training configuration: ${(cause as Error).message}`, { cause });
      }
    }
    // Planned for one sample: the first call needing more re-plans in place, so
    // a loaded network holds no activations for a batch it may never run
    // (ImageNet-sized ones need that memory for their fine-tuning).
    await model.build({ batchSize: 1 });
    model.setWeights(new Map(file.weights.map((w) => [w.name, w.data])));
    if (file.training?.state) {
      try {
        model.setOptimizerState(file.training.state);
      } catch (cause) {
        throw new ModelFormatError(`${where}: ${(cause as Error).message}`, { cause });
      }
    }
    return model;
  }

  /** The bytes of a model file (Node), with a typed error naming the path. */
  protected static async readModelFile(path: string): Promise<Uint8Array> {
    const fs = await import('node:fs/promises');
    try {
      return await fs.readFile(path);
    } catch (cause) {
      throw new ModelFormatError(`cannot read model file ${path}: ${(cause as Error).message}`, { cause });
    }
  }

  /** Loads any lite-cnn model file (functional or Sequential; Node). */
  static async load(path: string, opts: { engine?: Engine } & DecodeModelOptions = {}): Promise<Model> {
    return Model.fromBytes(await Model.readModelFile(path), { ...opts, name: path });
  }
}

/** The layers of a topology with their trainable flags; `fail` turns an invalid layer config into the caller's error. */
function layersOf(topology: Topology, fail: (index: number, config: LayerConfig, cause: Error) => Error): AnyLayer[] {
  return topology.layers.map((config, i) => {
    try {
      const layer = layerFromConfig(config);
      layer.trainable = topology.trainable?.[i] ?? true;
      return layer;
    } catch (cause) {
      throw fail(i, config, cause as Error);
    }
  });
}
