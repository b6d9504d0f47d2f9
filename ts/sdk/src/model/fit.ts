/**
 * The training loop (Keras' fit) and batched evaluation and prediction. Each
 * batch is written straight into the executor's input buffer and a whole
 * training step is one call into the wasm thread pool; with `prefetch` that
 * call also prepares the next batch's inputs (train-feed.ts).
 */
import { Callback, CallbackList } from '../callbacks/callback.js';
import { positiveInt } from '../checks.js';
import { ConfigError, DataError, RuntimeError } from '../errors.js';
import { permutation } from '../runtime/rng.js';
import { checkFiniteOutputs, nonFiniteLossError } from './finite-outputs.js';
import { ArrayDataset, isDataset, nonFiniteInputError, type Dataset, type LabelsLike, type TensorLike } from './data.js';
import { History, type Logs } from './history.js';
import type { Model } from './model.js';
import { PassMetrics } from './pass-metrics.js';
import { PrefetchBuffer, TrainFeed } from './train-feed.js';
import { checkMix, mixedBatches, type MixArgs } from '../data/mix.js';

export interface FitArgs {
  /** Default 1. */
  epochs?: number;
  /** Default 32. */
  batchSize?: number;
  /** Evaluated at the end of every epoch (and every `evaluateEvery` steps). */
  validationData?: [TensorLike, LabelsLike] | Dataset;
  /** Keras semantics: the last fraction of the samples, taken before shuffling. */
  validationSplit?: number;
  /** Shuffle the training samples each epoch (seeded). Default true. */
  shuffle?: boolean;
  /** 'balanced' (n / (classes · count_c), as scikit-learn) or a weight per class index. */
  classWeight?: 'balanced' | Record<number, number>;
  callbacks?: Callback[];
  /** Seed of shuffling and dropout; default the model's seed. */
  seed?: number;
  /** 0: silent (default); 1: one line per epoch on the console. */
  verbose?: 0 | 1;
  /** Epoch to start at (for resuming); default 0. */
  initialEpoch?: number;
  /** Also evaluate on the validation data every this many steps (the study logged 20 points per epoch). */
  evaluateEvery?: number;
  /**
   * Prepare the next batch's inputs (augmentation, preprocessing) during the
   * current training step, in the same engine call, so the pool's threads
   * that the step leaves idle do it: same results, bit for bit. Applies to
   * datasets whose batches can be staged (`ImageDataset` with the wasm
   * transformer); costs one more input buffer of a batch. Default: on when
   * the engine has more than one thread.
   */
  prefetch?: boolean;
  /**
   * MixUp or CutMix of every training batch (torchvision's and Keras'
   * `MixUp`/`CutMix`): each sample mixed with the one before it in the
   * shuffled batch by its own weight `λ ~ Beta(α, α)`, inputs (after
   * augmentation and preprocessing) and targets alike; seeded by `seed`, the
   * epoch and the sample's position. Validation data is not mixed. A
   * prefetched batch is mixed in the same call as its transform.
   */
  mix?: MixArgs;
}

export function classWeights(spec: FitArgs['classWeight'], labels: Uint32Array | undefined, classes: number): Float32Array | undefined {
  if (spec === undefined) return undefined;
  const w = new Float32Array(classes);
  if (spec === 'balanced') {
    if (!labels) throw new DataError("fit: classWeight 'balanced' needs the training labels");
    const counts = new Array<number>(classes).fill(0);
    for (const l of labels) counts[l] = counts[l]! + 1;
    counts.forEach((c, k) => {
      if (c === 0) throw new DataError(`fit: classWeight 'balanced': class ${k} has no training samples`);
      w[k] = labels.length / (classes * c);
    });
    return w;
  }
  w.fill(1);
  for (const [k, v] of Object.entries(spec)) {
    const i = Number(k);
    if (!Number.isInteger(i) || i < 0 || i >= classes) throw new ConfigError(`fit: classWeight has class ${k}; expected classes 0..${classes - 1}`);
    if (!(Number.isFinite(v) && v >= 0)) throw new ConfigError(`fit: classWeight for class ${k} must be finite and >= 0, got ${v}`);
    w[i] = v;
  }
  return w;
}

export async function runFit(model: Model, data: Dataset, args: FitArgs): Promise<History> {
  const epochs = positiveInt(args.epochs ?? 1, 'epochs', 'fit');
  const batchSize = positiveInt(args.batchSize ?? 32, 'batchSize', 'fit');
  const initialEpoch = args.initialEpoch ?? 0;
  if (!Number.isInteger(initialEpoch) || initialEpoch < 0 || initialEpoch > epochs) throw new ConfigError(`fit: initialEpoch must be in 0..${epochs}, got ${initialEpoch}`);
  const evaluateEvery = args.evaluateEvery === undefined ? 0 : positiveInt(args.evaluateEvery, 'evaluateEvery', 'fit');
  const seed = args.seed ?? model.seed;
  let train = data;
  let val: Dataset | undefined;
  if (args.validationSplit !== undefined) {
    if (!(args.validationSplit > 0 && args.validationSplit < 1)) throw new ConfigError(`fit: validationSplit must be in (0, 1), got ${args.validationSplit}`);
    if (!(data instanceof ArrayDataset)) throw new ConfigError('fit: validationSplit needs array inputs; pass validationData for a dataset');
    [train, val] = data.splitTail(args.validationSplit);
  }
  if (args.validationData) {
    val = isDataset(args.validationData) ? args.validationData : model.toDataset(args.validationData[0], args.validationData[1], 'fit validationData');
  }
  // Planned for exactly the batch trained: the activations and their
  // gradients are the largest buffers of a training step besides the weights.
  const compiled = await model.ensureCompiled(batchSize, { exact: true });
  const mixed = args.mix === undefined ? undefined : mixedBatches(train, { ...checkMix(args.mix, 'fit'), engine: compiled.engine, seed, targetWidth: model.outputShape[2] });
  if (mixed) train = mixed;
  // Sample weights of the loss: set once per fit (they do not reset the optimizer).
  model.configureExecutor(classWeights(args.classWeight, train.labels(), model.classes));

  const history = new History();
  const callbacks = new CallbackList(args.callbacks ?? []);
  callbacks.setModel(model);
  model.stopTraining = false;
  const batches = Math.ceil(train.size / batchSize);
  const prefetch = prefetchOption(args.prefetch, compiled.engine.threads);
  const buffer = prefetch ? new PrefetchBuffer(compiled.engine, batchSize, model.inputSize) : undefined;
  try {
    // A restored backup (BackupAndRestore) moves the start past the epochs it holds.
    const start = Math.min(epochs, Math.max(initialEpoch, await callbacks.trainRestore()));
    await callbacks.trainBegin({});
    for (let epoch = start; epoch < epochs && !model.stopTraining; epoch++) {
      await callbacks.epochBegin(epoch, {});
      const order = args.shuffle === false ? undefined : permutation(compiled.engine, train.size, seed, epoch);
      let seen = 0;
      let lossSum = 0;
      let correct = 0;
      let b = 0;
      const epochMetrics = PassMetrics.create(model.metricNames, model.outputShape[2]);
      const t0 = performance.now();
      const feed = new TrainFeed(compiled, train.batches({ batchSize, epoch, ...(order ? { order } : {}) }), buffer);
      try {
        for (let fed = await feed.next(); fed; fed = await feed.next()) {
          await callbacks.batchBegin(b, {});
          const step = model.step + 1;
          const lr = model.optimizer.learningRate;
          // An evaluation after this step takes the model's input view: the next batch is then prepared after it.
          const evaluates = evaluateEvery > 0 && val !== undefined && step % evaluateEvery === 0;
          const s = await feed.step(fed, { learningRate: lr, step, seed }, !evaluates);
          const loss = s.loss + s.penalty;
          if (!s.updated || !Number.isFinite(loss)) {
            // grad_norm tells TerminateOnNaN about overflowing gradients even when the loss is finite.
            const logs = { loss, accuracy: seen ? correct / seen : Number.NaN, lr, grad_norm: s.gradNorm };
            await callbacks.batchEnd(b, logs, progress(epoch, epochs, b, batches, step, seen, t0, lr, logs));
            if (model.stopTraining) break;
            throw new RuntimeError(
              `fit: the loss became ${loss} at epoch ${epoch + 1}, batch ${b + 1} (learning rate ${lr}); ` +
                'the weights from before this step are kept. Lower the learning rate, check the inputs, or add TerminateOnNaN to stop quietly.',
            );
          }
          model.advanceStep();
          seen += fed.batch.size;
          lossSum += loss * fed.batch.size;
          correct += s.correct;
          epochMetrics?.add(compiled.output(fed.batch.size), fed.batch.targets);
          const logs = { loss: lossSum / seen, accuracy: correct / seen, lr };
          await callbacks.batchEnd(b, logs, progress(epoch, epochs, b, batches, step, seen, t0, lr, logs));
          if (evaluates && val) {
            const point = { ...logs, ...prefixed(await evaluateDataset(model, val, batchSize), 'val_') };
            history.steps.push({ step, epoch, logs: point });
            await callbacks.evaluation(step, point);
          }
          b++;
          if (model.stopTraining) break;
        }
      } finally {
        await feed.close();
      }
      // An epoch stopped before its first completed step has no metrics: NaN, never a fake 0.
      const logs: Logs = { loss: seen ? lossSum / seen : Number.NaN, accuracy: seen ? correct / seen : Number.NaN, ...epochMetrics?.logs() };
      if (val) Object.assign(logs, prefixed(await evaluateDataset(model, val, batchSize), 'val_'));
      logs.lr = model.optimizer.learningRate;
      history.record(epoch, logs);
      if (args.verbose === 1) {
        const secs = ((performance.now() - t0) / 1000).toFixed(1);
        console.log(`Epoch ${epoch + 1}/${epochs} - ${secs}s - ${Object.entries(logs).map(([k, v]) => `${k}: ${v.toPrecision(4)}`).join(' - ')}`);
      }
      await callbacks.epochEnd(epoch, logs);
    }
  } finally {
    buffer?.dispose();
    mixed?.dispose();
  }
  await callbacks.trainEnd(history.epoch.length ? lastLogs(history) : {});
  return history;
}

function prefetchOption(v: FitArgs['prefetch'], threads: number): boolean {
  if (v === undefined) return threads > 1;
  if (typeof v !== 'boolean') throw new ConfigError(`fit: prefetch must be true or false, got ${String(v)}`);
  return v;
}

function prefixed(logs: Logs, prefix: string): Logs {
  return Object.fromEntries(Object.entries(logs).map(([k, v]) => [prefix + k, v]));
}

function lastLogs(h: History): Logs {
  return Object.fromEntries(Object.entries(h.history).map(([k, v]) => [k, v.at(-1)!]));
}

function progress(epoch: number, epochs: number, batch: number, batches: number, step: number, seen: number, t0: number, lr: number, logs: Logs) {
  const secs = (performance.now() - t0) / 1000;
  return { epoch, epochs, batch, batches, step, samplesPerSecond: secs > 0 ? seen / secs : 0, learningRate: lr, logs };
}

export async function evaluateDataset(model: Model, data: Dataset, batchSize: number): Promise<Record<string, number>> {
  const compiled = await model.ensureCompiled(batchSize);
  let seen = 0;
  let lossSum = 0;
  let correct = 0;
  const metrics = PassMetrics.create(model.metricNames, model.outputShape[2]);
  for await (const batch of data.batches({ batchSize })) {
    batch.fill(compiled.inputView(batch.size));
    const s = compiled.evaluateBatch({ batch: batch.size, targets: batch.targets });
    if (!Number.isFinite(s.loss)) throw nonFiniteLossError(model.name, compiled.output(batch.size), model.outputShape[2], seen, s.loss);
    seen += batch.size;
    // Unlike Keras, the evaluation loss is the data loss without the L2 penalty
    // (the executor reports the penalty separately): with Keras' l2(0.1) the
    // penalty is 10-40x the data loss and shrinks every epoch, so a val_loss
    // that included it would always pick the last epoch as "best" (measured:
    // patient-level 5-fold CV on BreakHis fell from 90.8% to 84.6% accuracy).
    // The training loss does include it: it is what the optimizer minimizes.
    lossSum += s.loss * batch.size;
    correct += s.correct;
    metrics?.add(compiled.output(batch.size), batch.targets);
  }
  if (seen === 0) throw new DataError('evaluate: the data has no samples');
  return { loss: lossSum / seen, accuracy: correct / seen, ...metrics?.logs() };
}

export async function predictDataset(model: Model, data: Dataset, batchSize: number): Promise<Float32Array> {
  // No larger plan than the data needs (a few images through a big network).
  const compiled = await model.ensureCompiled(Math.max(1, Math.min(batchSize, data.size)));
  const k = model.outputShape[2];
  const out = new Float32Array(data.size * k);
  const per = model.inputSize;
  let offset = 0;
  let sample = 0;
  for await (const batch of data.batches({ batchSize })) {
    const view = compiled.inputView(batch.size);
    batch.fill(view);
    const bad = compiled.firstNonFiniteInput(batch.size);
    if (bad >= 0) throw nonFiniteInputError('predict', view[bad]!, sample * per + bad, per);
    const outputs = compiled.forward(undefined, batch.size, { keep: false });
    checkFiniteOutputs(model.name, 'predict', outputs, k, sample);
    out.set(outputs, offset);
    offset += batch.size * k;
    sample += batch.size;
  }
  return out;
}
