/**
 * `lite-cnn train --ensemble N` (one split, not --cv): N members trained
 * alike on the same patient-level split (member m with seed `seed + m`:
 * initialization, shuffling, dropout and augmentation), each into
 * member-(m+1)/ (its best model by validation loss and its history.csv);
 * model.safetensors averages their softmax probabilities, with the
 * calibration and --target-recall threshold chosen on the ensemble's
 * validation predictions; then the test split is evaluated once. On MNIST (a
 * fixed split, no augmentation) the members differ in initialization and
 * order only. Ctrl-C keeps the completed members (done.json in their
 * folders); --resume trains the others (a cut-short member from its start).
 */
import { ConfigError, type Engine, type Model, type SplitAssignment } from '@lite-cnn/sdk';
import { folderDatasets, split } from '../data/folder-source.js';
import { splitSeedOf } from '../data/options.js';
import { count } from '../ui/format.js';
import { fitEnsemble, folderMemberData } from './ensemble.js';
import { finishRun, positiveIndex } from './finish-run.js';
import { describeSignal, Interrupt } from './interrupt.js';
import { describeModelSource, recipeText, seedText, type TrainOptions } from './options.js';
import { compileModel } from './recipe.js';
import { newRunConfig, recordResume, writeRunConfig, type RunConfig } from './run-config.js';
import { checkRecordedSplit, countDone } from './completed-unit.js';
import { RUN_FILES } from './run-dir.js';
import { dataOptionsFor, openFolderWithModel, runStart } from './run-model.js';
import { loadTrainingData, type TrainingData } from '../data/training-data.js';
import type { TrainContext } from './run-training.js';
import { endInterrupted, type RunSummary } from './summary.js';

/** `resumed`: the config.json of the interrupted run that --resume continues, else null (a new run). */
export async function runEnsembleTraining(o: TrainOptions, ctx: TrainContext, resumed: RunConfig | null): Promise<number> {
  const { out, runDir, engine } = ctx;
  const members = o.ensemble!.members;
  const { data, memberData, template, decodeSeconds, assignments } = o.data.folder ? await folderMembers(o, engine) : await fixedDataMembers(o, engine);
  const classNames = data.classNames;
  const memberDir = (m: number) => runDir.file(`member-${m + 1}`);
  // Checked before anything is written, as a single run does.
  positiveIndex(o, template, classNames);
  if (o.operatingPoint && !data.val) throw new ConfigError('--target-recall chooses the threshold on the validation split, but this data has none');
  if (o.calibration && !data.val) throw new ConfigError('--calibrate fits on the validation split, but this data has none');
  compileModel(template, o);
  let config: RunConfig;
  let completed = 0;
  if (resumed) {
    config = resumed;
    if (assignments && o.data.source.kind === 'folder') await checkRecordedSplit(runDir.file(RUN_FILES.split), assignments, o.data.source.dir);
    completed = await countDone(Array.from({ length: members }, (_, m) => memberDir(m)));
    await recordResume(runDir.path, config, ctx, { completedMembers: completed });
  } else {
    config = newRunConfig({ argv: ctx.argv, engine, options: o, data: { description: data.description, source: data.source, classNames, preprocessing: data.preprocessing }, model: template });
    await writeRunConfig(runDir.file(RUN_FILES.config), config);
    await data.writeSplit?.(runDir.file(RUN_FILES.split));
  }
  const parameters = template.countParams().total;
  template.dispose();
  out.line(`lite-cnn train --ensemble ${members}: ${describeModelSource(o)} (${count(parameters)} parameters per member, ${count(parameters * members)} in all)${resumed ? `, resuming with ${completed} of ${members} members completed` : ''}`);
  out.line(`data:   ${data.description}`);
  out.line(`recipe: ${recipeText(o, config.model.regularizer)}`);
  out.line(`run:    ${runDir.path}`);

  const interrupt = new Interrupt((sig) => out.line(`\n${describeSignal(sig)}: stopping after this step; completed members are kept (press Ctrl-C again to quit at once)...`));
  interrupt.listen();
  const t0 = performance.now();
  let fitted;
  try {
    fitted = await fitEnsemble(
      {
        o,
        engine,
        prefetch: ctx.prefetch,
        interrupt,
        out,
        classNames,
        memberData,
        dirOf: memberDir,
        resuming: resumed !== null,
      },
      members,
    );
  } catch (err) {
    interrupt.dispose();
    throw err;
  }
  const trainSeconds = (performance.now() - t0) / 1000;
  const files: Record<string, string> = { [RUN_FILES.config]: runDir.file(RUN_FILES.config) };
  if (data.writeSplit) files[RUN_FILES.split] = runDir.file(RUN_FILES.split);
  const summary: RunSummary = {
    status: 'completed',
    runDir: runDir.path,
    epochs: { planned: o.epochs * members, completed: fitted?.epochSeconds.length ?? 0, stoppedEarly: fitted !== null && fitted.epochSeconds.length < o.epochs * members },
    steps: 0,
    seconds: { training: trainSeconds, total: 0, decoding: decodeSeconds, perEpoch: fitted?.epochSeconds ?? [] },
    bestEpoch: fitted?.bestEpoch ?? null,
    operatingPoint: null,
    validation: null,
    test: null,
    files,
  };
  if (!fitted) {
    interrupt.dispose();
    summary.seconds.total = (performance.now() - ctx.startedAt) / 1000;
    await endInterrupted(out, runDir, summary, interrupt.signal, [
      `Interrupted (${interrupt.signal}); the completed members are kept in ${runDir.file('member-*')} (done.json), a cut-short one will be trained again from its start.`,
    ]);
    return interrupt.exitCode;
  }
  compileModel(fitted.model, o);
  for (let m = 0; m < members; m++) files[`member-${m + 1}/`] = memberDir(m);
  try {
    return await finishRun(ctx, {
      o,
      data,
      model: fitted.model,
      saveModel: true,
      summary,
      files,
      interrupt,
      bestLine: `an ensemble of ${members} (each member's best epoch by validation loss, in member-*/)`,
      epochsText: `${o.epochs} per member, ${members} members (${seedText(o)})`,
      trainSeconds,
      imagesTrained: data.train.size * fitted.epochSeconds.length,
      historyRows: [],
    });
  } finally {
    fitted.model.dispose();
  }
}

/** The run's data, each member's, and the template model (the network for the data's classes, not trained). */
interface MemberData {
  data: TrainingData;
  memberData: (m: number) => Promise<TrainingData>;
  template: Model;
  decodeSeconds: number | null;
  /** An image folder's split (what split.csv records); null for a fixed split. */
  assignments: readonly SplitAssignment[] | null;
}

/** An image folder, decoded once and split once: member m's datasets augment with its seed. */
async function folderMembers(o: TrainOptions, engine: Engine): Promise<MemberData> {
  const f = o.data.folder!;
  const { opened, template, dataOptions } = await openFolderWithModel(o, engine);
  const assignments = split(opened.listing.samples, f, splitSeedOf(f, o.seed));
  const data = await folderDatasets(opened, assignments, dataOptions);
  return { data, memberData: folderMemberData(o, opened, assignments, dataOptions, data), template, decodeSeconds: opened.decodeSeconds, assignments };
}

/** MNIST: a fixed split and no augmentation, so every member reads the same datasets (they differ in initialization and order). */
async function fixedDataMembers(o: TrainOptions, engine: Engine): Promise<MemberData> {
  const start = await runStart(o, engine);
  const data = await loadTrainingData(dataOptionsFor(o, start.input));
  const template = await start.forClasses(data.classNames.length);
  return { data, memberData: async () => data, template, decodeSeconds: data.decodeSeconds ?? null, assignments: null };
}
