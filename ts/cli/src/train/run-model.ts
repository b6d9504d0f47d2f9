/**
 * The model a training run starts from: a preset, an arch.json, or a
 * pretrained model (`--from`, ONNX or lite-cnn) — and its fit to the data
 * once the classes are known (`runStart`): a classifier head for them
 * (presets and --from), and --trainable-last freezing.
 */
import { ConfigError, ensembleMemberIssue, freezeAllButLast, withNewHead, type Engine, type Model, type ModelMetadata, type Shape3 } from '@lite-cnn/sdk';
import { architectureOf, buildModel, readArchitecture, regularizer, withKernelRegularizer } from '../model/architecture.js';
import { imageShape, openFolder, type OpenedFolder } from '../data/folder-source.js';
import { loadPretrained } from '../model/load.js';
import { PRESETS } from '../model/presets.js';
import type { DataOptions } from '../data/options.js';
import { PRETRAINED_PREPROCESSING, type TrainOptions } from './options.js';

function presetModel(o: TrainOptions & { preset: NonNullable<TrainOptions['preset']> }, engine: Engine, classes: number): Model {
  const preset = PRESETS[o.preset];
  const arch = withKernelRegularizer(architectureOf(preset.name, preset.layers(classes)), regularizer(o.l2));
  return buildModel(arch, { seed: o.seed, engine, where: `preset ${preset.name}` });
}

/** What decoding the data needs from the model a run starts from, before the data's classes are known. */
export interface ModelInput {
  inputShape: Shape3;
  /** The preprocessing the model's file stored (null: the model is not made yet, a preset's). */
  storedPreprocessing: ModelMetadata['preprocessing'] | null;
}

/**
 * A run's model before the data's classes are known: what the data needs
 * (`input`), and `forClasses`, the model for the data's classes. A preset's
 * network is built once, by `forClasses`, for those classes (its input shape
 * is the recipe's); a pretrained model or an arch.json's network is made
 * first, since only it knows its input.
 */
export interface RunStart {
  input: ModelInput;
  /**
   * The model for data with `classes` classes: with --from, a new classifier
   * head (the pretrained one is for its own task); with a preset, the network
   * built for that many classes; an arch.json's network must already have
   * them. Then all but the last --trainable-last layers frozen. Call once.
   */
  forClasses(classes: number): Promise<Model>;
}

/** A made model's input, and the preprocessing its file stored. */
export function modelInput(model: Model): ModelInput {
  return { inputShape: model.inputShape, storedPreprocessing: model.metadata.preprocessing };
}

export async function runStart(o: TrainOptions, engine: Engine): Promise<RunStart> {
  if (o.preset !== null) {
    const withPreset = { ...o, preset: o.preset };
    return {
      input: { inputShape: PRESETS[o.preset].recipe.inputShape, storedPreprocessing: null },
      forClasses: async (classes) => asAsked(presetModel(withPreset, engine, classes), o),
    };
  }
  if (o.from) {
    const model = await loadPretrained(o.from, engine);
    return {
      input: modelInput(model),
      forClasses: async (classes) => asAsked(await withNewHead(model, { classes, seed: o.seed, engine, disposeSource: true }), o),
    };
  }
  const arch = await readArchitecture(o.architecture!);
  const model = buildModel(o.l2 ? withKernelRegularizer(arch, regularizer(o.l2)) : arch, { seed: o.seed, engine, where: o.architecture! });
  return {
    input: modelInput(model),
    forClasses: async (classes) => {
      if (model.classes !== classes) {
        model.dispose();
        // Caught here rather than by the loss kernel's label range check at the first step.
        throw new ConfigError(
          `${o.architecture}: the network's output has ${model.outputShape[2]} unit(s) (${model.classes} classes, layer '${model.layers.at(-1)?.name}'), but the data has ${classes} classes: make its last Dense layer ${classes === 2 ? '2 units (softmax) or 1 (sigmoid)' : `${classes} units`}`,
        );
      }
      return asAsked(model, o);
    },
  };
}

/** `model` as the options ask: --trainable-last's freezing, and with --ensemble, checked to be a member. */
function asAsked(model: Model, o: TrainOptions): Model {
  if (o.trainableLast) freezeAllButLast(model, o.trainableLast);
  // Caught before any member trains: members that could not be combined would be wasted work.
  const issue = o.ensemble ? ensembleMemberIssue(model) : null;
  if (issue) {
    model.dispose();
    throw new ConfigError(`--ensemble ${o.ensemble!.members} averages the members' softmax probabilities, but this network cannot be a member: ${issue}`);
  }
  return model;
}

/** A fresh model for data with `classes` classes (each fold or inner fold of a cross-validation starts from one). */
export async function modelForClasses(o: TrainOptions, engine: Engine, classes: number): Promise<Model> {
  return (await runStart(o, engine)).forClasses(classes);
}

/**
 * The image folder a cross-validation reads (opened once, every fold and
 * inner fold samples it) and the run's template model fitted to its classes:
 * the network's input shape decides how images are decoded, the folder's
 * classes decide the head.
 */
export async function openFolderWithModel(o: TrainOptions, engine: Engine): Promise<{ opened: OpenedFolder; classNames: OpenedFolder['listing']['classNames']; template: Model; dataOptions: DataOptions }> {
  const f = o.data.folder!;
  const start = await runStart(o, engine);
  const opened = await openFolder((o.data.source as { dir: string }).dir, f, imageShape(f, start.input.inputShape));
  const classNames = opened.listing.classNames;
  const template = await start.forClasses(classNames.length);
  return { opened, classNames, template, dataOptions: dataOptionsFor(o, start.input) };
}

/**
 * The run's data options for the model's `input`: its input shape, and with
 * `--from` a lite-cnn model file and no --preprocess, the preprocessing that
 * model was trained with (stored in its file): its weights expect that input
 * scaling.
 */
export function dataOptionsFor(o: TrainOptions, input: ModelInput): DataOptions {
  const { preprocess, ...rest } = o.data;
  if (preprocess !== PRETRAINED_PREPROCESSING) return { ...rest, preprocess, inputShape: input.inputShape };
  if (input.storedPreprocessing === null) throw new Error('dataOptionsFor: the stored preprocessing of a model not made yet (a preset has no file)');
  return { ...rest, preprocess: input.storedPreprocessing, inputShape: input.inputShape };
}
