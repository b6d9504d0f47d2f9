/**
 * `lite-cnn train`: builds (or, with --resume, reloads) the model, loads the
 * data, trains with the run's callbacks, and finishes with the best model's
 * validation and test evaluation, the report and summary.json.
 */
import { ConfigError, ProgressLogger, Model, type Callback, type Engine, type ProgressEvent } from '@lite-cnn/sdk';
import { loadTrainingData, type TrainingData } from '../data/training-data.js';
import { RunError } from '../errors.js';
import { count } from '../ui/format.js';
import type { Output } from '../ui/output.js';
import { makeProgressView } from '../ui/progress-view.js';
import { bestCheckpoint, LastCheckpoint, readLastCheckpoint, type RunState } from './checkpoints.js';
import { ResumableEarlyStopping } from './early-stopping.js';
import { finishRun, positiveIndex } from './finish-run.js';
import { historyBefore, HistoryCsv, readHistory, type HistoryRow } from './history-csv.js';
import { describeSignal, Interrupt } from './interrupt.js';
import { describeModelSource, recipeText, type TrainOptions } from './options.js';
import { dataOptionsFor, modelInput, runStart } from './run-model.js';
import { LARGE_MODEL_LIMITS } from '../model/load.js';
import { bestEpochRule, compileModel, fitSettings, lrScheduler } from './recipe.js';
import { newRunConfig, recordResume, writeRunConfig, type RunConfig } from './run-config.js';
import { exists, RUN_FILES, type RunDir } from './run-dir.js';
import { endInterrupted, type RunSummary } from './summary.js';

export interface TrainContext {
  out: Output;
  engine: Engine;
  /** fit's prefetch: false with --no-prefetch, else undefined (the SDK's default: on with 2+ threads). */
  prefetch: boolean | undefined;
  runDir: RunDir;
  argv: string[];
  startedAt: number;
}

interface Prepared {
  model: Model;
  data: TrainingData;
  config: RunConfig;
  start: RunState;
  history: HistoryRow[];
}

/** A new run: model, data, config.json. */
export async function prepareNewRun(o: TrainOptions, ctx: TrainContext): Promise<Prepared> {
  const start = await runStart(o, ctx.engine);
  const data = await loadTrainingData(dataOptionsFor(o, start.input));
  const model = await start.forClasses(data.classNames.length);
  model.metadata = { classNames: data.classNames, preprocessing: data.preprocessing, threshold: null, stainNormalization: data.stainNormalization ?? null };
  // Checked before anything is written: a wrong --positive must not leave a half-made run.
  positiveIndex(o, model, data.classNames);
  if (o.operatingPoint && !data.val) throw new ConfigError('--target-recall chooses the threshold on the validation split, but this data has none');
  if (o.calibration && !data.val) throw new ConfigError('--calibrate fits on the validation split, but this data has none');
  compileModel(model, o);
  const config = newRunConfig({
    argv: ctx.argv,
    engine: ctx.engine,
    options: o,
    data: { description: data.description, source: data.source, classNames: data.classNames, preprocessing: data.preprocessing },
    model,
  });
  await writeRunConfig(ctx.runDir.file(RUN_FILES.config), config);
  await data.writeSplit?.(ctx.runDir.file(RUN_FILES.split));
  return { model, data, config, start: { epochsCompleted: 0, step: 0, best: null, earlyStopping: null }, history: [] };
}

/** An interrupted single run (`config`, from `readResumableConfig`): last.safetensors and history.csv from its directory. */
export async function prepareResume(config: RunConfig, ctx: TrainContext): Promise<Prepared> {
  const dir = ctx.runDir;
  const o = config.options;
  if (!(await exists(dir.file(RUN_FILES.last)))) {
    throw new RunError(
      `--resume ${dir.path}: the run stopped before its first checkpoint (no ${RUN_FILES.last}), so there is nothing to continue; ` +
        `start it again with the same options and --out ${dir.path} (a folder without a checkpoint is reused)`,
    );
  }
  const { model, state } = await readLastCheckpoint(dir.file(RUN_FILES.last), ctx.engine);
  if (state.epochsCompleted >= o.epochs) throw new RunError(`${dir.path}: all ${o.epochs} epochs are already completed; nothing to resume`);
  const data = await loadTrainingData(dataOptionsFor(o, modelInput(model)));
  const history = historyBefore(await readHistory(dir.file(RUN_FILES.history)).catch(() => []), state.epochsCompleted);
  await recordResume(dir.path, config, ctx, { epoch: state.epochsCompleted });
  return { model, data, config, start: state, history };
}

export async function runTraining(p: Prepared, ctx: TrainContext): Promise<number> {
  const { model, data, config, start } = p;
  const o = config.options;
  const { out, runDir } = ctx;
  const file = (k: keyof typeof RUN_FILES) => runDir.file(RUN_FILES[k]);
  const counts = model.countParams();
  out.line(`lite-cnn train: ${describeModelSource(o)} (${count(counts.total)} parameters)${start.epochsCompleted ? `, resuming at epoch ${start.epochsCompleted + 1}/${o.epochs}` : ''}`);
  out.line(`data:   ${data.description}`);
  out.line(`recipe: ${recipeText(o, config.model.regularizer)}`);
  out.line(`engine: ${config.engine.artifact}, ${ctx.engine.threads} thread${ctx.engine.threads === 1 ? '' : 's'}${ctx.engine.simd ? ', SIMD128' : ''}`);
  out.line(`run:    ${runDir.path}`);

  const view = makeProgressView(out);
  let trainSeconds = 0;
  let epochsRun = 0;
  const interrupt = new Interrupt((sig) => view.notice(`\n${describeSignal(sig)}: stopping after this step (press Ctrl-C again to quit at once)...`));
  const history = new HistoryCsv(file('history'), interrupt, p.history);
  const { monitor, startFrom } = bestEpochRule(o, data.val !== null);
  let bestEpoch: number | null = null;
  const best = bestCheckpoint(file('best'), monitor, interrupt, start.best ?? undefined, startFrom, (e) => (bestEpoch = e));
  const early = o.patience === null ? null : new ResumableEarlyStopping(o.patience, start.earlyStopping, startFrom);
  const epochSeconds: number[] = [];
  const last = new LastCheckpoint(file('last'), interrupt, start, () => ({
    best: Number.isFinite(best.best) ? best.best : null,
    earlyStopping: early?.snapshot() ?? null,
  }));
  const schedule = lrScheduler(o);
  const progress = new ProgressLogger((e: ProgressEvent) => {
    if (e.type === 'end') {
      trainSeconds = e.seconds;
      epochsRun = e.epochs;
    }
    if (e.type === 'epoch') epochSeconds.push(e.seconds);
    view.onEvent(e);
  });
  // Order matters at epoch end: the best checkpoint and early stopping update their state before last.safetensors records it.
  const callbacks: Callback[] = [...(schedule ? [schedule] : []), interrupt, history, best, ...(early ? [early] : []), last, progress];

  interrupt.listen();
  try {
    await model.fit(data.train, { ...fitSettings(o, data.val, ctx.prefetch), initialEpoch: start.epochsCompleted, callbacks });
  } catch (err) {
    view.close();
    // Nothing to keep when no epoch completed: last.safetensors holds the initial state only, and leaving it would make
    // the folder "hold a run", refusing the retry (say with a lower --lr) into the same --out.
    if ((last.epochsWritten ?? start.epochsCompleted) === 0) {
      await runDir.discardRunFiles();
      out.line(`No epoch completed: ${runDir.path} keeps none of this run's files.`);
    }
    throw err;
  } finally {
    view.close();
  }
  await history.flush();
  const epochsCompleted = interrupt.partialEpoch === undefined ? start.epochsCompleted + epochsRun : start.epochsCompleted + epochsRun - 1;
  // Name -> path of every file this run wrote.
  const files: Record<string, string> = {};
  for (const k of ['config', 'last', 'history'] as const) files[RUN_FILES[k]] = file(k);
  if (data.writeSplit) files[RUN_FILES.split] = file('split');
  const summary: RunSummary = {
    status: 'completed',
    runDir: runDir.path,
    epochs: { planned: o.epochs, completed: epochsCompleted, stoppedEarly: early !== null && early.stoppedEpoch > 0 },
    steps: model.step,
    seconds: { training: trainSeconds, total: (performance.now() - ctx.startedAt) / 1000, decoding: data.decodeSeconds ?? null, perEpoch: epochSeconds },
    bestEpoch: null,
    operatingPoint: null,
    validation: null,
    test: null,
    files,
  };

  if (interrupt.signal !== undefined) {
    interrupt.dispose();
    await endInterrupted(out, runDir, summary, interrupt.signal, [
      `Interrupted (${interrupt.signal}) after ${epochsCompleted} complete epoch${epochsCompleted === 1 ? '' : 's'}; last.safetensors holds the state at that epoch boundary.`,
      ...(interrupt.partialEpoch !== undefined ? [`The cut-short epoch ${interrupt.partialEpoch + 1} will be redone from its start.`] : []),
    ]);
    return interrupt.exitCode;
  }

  // The final numbers are those of the best model (Keras' restoreBestWeights), read back from its file.
  // The run wrote it: a fine-tuned ResNet50 must not fall back to the last model on the load limit's estimate.
  const bestModel = await Model.load(file('best'), { engine: ctx.engine, limits: LARGE_MODEL_LIMITS }).catch(() => model);
  if (bestModel !== model) files[RUN_FILES.best] = file('best');
  summary.bestEpoch = bestEpoch === null ? null : bestEpoch + 1;
  return finishRun(ctx, {
    o,
    data,
    model: bestModel,
    saveModel: false,
    summary,
    files,
    interrupt,
    bestLine: summary.bestEpoch !== null ? `epoch ${summary.bestEpoch} (lowest ${monitor}${startFrom ? ` from epoch ${startFrom + 1} on` : ''})` : null,
    epochsText: `${epochsCompleted} of ${o.epochs}${summary.bestEpoch !== null ? ` (best: epoch ${summary.bestEpoch})` : ''}`,
    trainSeconds,
    imagesTrained: data.train.size * epochsRun,
    historyRows: history.rows,
  });
}
