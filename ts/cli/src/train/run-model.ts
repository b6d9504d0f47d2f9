/**
 * The model a training run starts from: a preset, an arch.json, or a
 * pretrained model (`--from`, ONNX or lite-cnn) — and its fit to the data
 * once the classes are known: a classifier head for them (presets
 * and --from), and --trainable-last freezing.
 */
import { ConfigError, freezeAllButLast, withNewHead, type Engine, type Model } from '@lite-cnn/sdk';
import { architectureOf, buildModel, readArchitecture, regularizer, withKernelRegularizer } from '../model/architecture.js';
import { imageShape, openFolder, type OpenedFolder } from '../data/folder-source.js';
import { loadPretrained } from '../model/load.js';
import { PRESETS } from '../model/presets.js';
import type { DataOptions } from '../data/options.js';
import { PRETRAINED_PREPROCESSING, type TrainOptions } from './options.js';

function presetModel(o: TrainOptions & { preset: NonNullable<TrainOptions['preset']> }, engine: Engine, classes?: number): Model {
  const preset = PRESETS[o.preset];
  const arch = withKernelRegularizer(architectureOf(preset.name, preset.layers(classes)), regularizer(o.l2));
  return buildModel(arch, { seed: o.seed, engine, where: `preset ${preset.name}` });
}

/** The model a run starts from; its classifier head may not fit the data yet (`fitToClasses`). */
export async function modelFor(o: TrainOptions, engine: Engine): Promise<Model> {
  if (o.from) return loadPretrained(o.from, engine);
  if (o.preset !== null) return presetModel({ ...o, preset: o.preset }, engine);
  const arch = await readArchitecture(o.architecture!);
  return buildModel(o.l2 ? withKernelRegularizer(arch, regularizer(o.l2)) : arch, { seed: o.seed, engine, where: o.architecture! });
}

/**
 * `model` ready for data with `classes` classes: with --from, a new
 * classifier head (the pretrained one is for its own task); with a preset,
 * the network built for that many classes; an arch.json's network must
 * already have them. Then all but the last --trainable-last layers frozen.
 */
export async function fitToClasses(model: Model, o: TrainOptions, classes: number, engine: Engine): Promise<Model> {
  let fitted = model;
  if (o.from) {
    fitted = await withNewHead(model, { classes, seed: o.seed, engine, disposeSource: true });
  } else if (o.preset !== null && model.classes !== classes) {
    model.dispose();
    fitted = presetModel({ ...o, preset: o.preset }, engine, classes);
  } else if (model.classes !== classes) {
    // Caught here rather than by the loss kernel's label range check at the first step.
    throw new ConfigError(
      `${o.architecture}: the network's output has ${model.outputShape[2]} unit(s) (${model.classes} classes, layer '${model.layers.at(-1)?.name}'), but the data has ${classes} classes: make its last Dense layer ${classes === 2 ? '2 units (softmax) or 1 (sigmoid)' : `${classes} units`}`,
    );
  }
  if (o.trainableLast) freezeAllButLast(fitted, o.trainableLast);
  return fitted;
}

/** A fresh model for data with `classes` classes (each fold or inner fold of a cross-validation starts from one). */
export async function modelForClasses(o: TrainOptions, engine: Engine, classes: number): Promise<Model> {
  return fitToClasses(await modelFor(o, engine), o, classes, engine);
}

/**
 * The image folder a cross-validation reads (opened once, every fold and
 * inner fold samples it) and the run's template model fitted to its classes:
 * the network's input shape decides how images are decoded, the folder's
 * classes decide the head.
 */
export async function openFolderWithModel(o: TrainOptions, engine: Engine): Promise<{ opened: OpenedFolder; classNames: OpenedFolder['listing']['classNames']; template: Model; dataOptions: DataOptions }> {
  const f = o.data.folder!;
  const base = await modelFor(o, engine);
  const opened = await openFolder((o.data.source as { dir: string }).dir, f, imageShape(f, base.inputShape));
  const classNames = opened.listing.classNames;
  const template = await fitToClasses(base, o, classNames.length, engine);
  return { opened, classNames, template, dataOptions: dataOptionsFor(o, template) };
}

/**
 * The run's data options for `model`: its input shape, and with `--from` a
 * lite-cnn model file and no --preprocess, the preprocessing that model was
 * trained with (stored in its file): its weights expect that input scaling.
 */
export function dataOptionsFor(o: TrainOptions, model: Model): DataOptions {
  const { preprocess, ...rest } = o.data;
  if (preprocess !== PRETRAINED_PREPROCESSING) return { ...rest, preprocess, inputShape: model.inputShape };
  return { ...rest, preprocess: model.metadata.preprocessing, inputShape: model.inputShape };
}
