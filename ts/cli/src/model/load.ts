/** Reads `--model`/`--from`: a model file (.safetensors), an ONNX file (.onnx, imported), or an architecture (.json) built untrained. */
import { readFile } from 'node:fs/promises';
import { Option } from 'commander';
import { Model, ModelFormatError, readOnnx, type Engine, type OnnxImport } from '@lite-cnn/sdk';
import * as parse from '../args.js';
import { UsageError } from '../errors.js';
import { buildModel, readArchitecture } from './architecture.js';

export function isArchitecturePath(p: string): boolean {
  return p.toLowerCase().endsWith('.json');
}

export function isOnnxPath(p: string): boolean {
  return p.toLowerCase().endsWith('.onnx');
}

/** An ONNX file imported as a lite-cnn model, with what it held (opset, ops). */
export async function importOnnxFile(p: string, engine: Engine): Promise<OnnxImport> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(p);
  } catch (cause) {
    throw new ModelFormatError(`cannot read ONNX file ${p}: ${(cause as Error).message}`, { cause });
  }
  return readOnnx(bytes, { engine, name: p });
}

export async function loadModel(p: string, engine: Engine): Promise<Model> {
  if (isArchitecturePath(p)) return buildModel(await readArchitecture(p), { seed: 0, engine, where: p });
  if (isOnnxPath(p)) return (await importOnnxFile(p, engine)).model;
  return Model.load(p, { engine });
}

/**
 * Planned-memory bound for `train --from`: the load limit's estimate counts
 * every activation of a training step at batch 32, which overstates a
 * pretrained network with a frozen backbone many times (ResNet50 at 224x224
 * with its last 20 layers trainable: estimated 5.3 GiB, planned 0.95 GiB).
 * The user names the file to fine-tune; the engine still refuses what does
 * not fit in wasm's 4 GiB, and the input-size limit stays.
 */
const PRETRAINED_PLANNED_BYTES = 16 * 2 ** 30;

/** Load limits for files the user named to fine-tune, and for the files a run writes itself (best, last). */
export const LARGE_MODEL_LIMITS = { maxPlannedBytes: PRETRAINED_PLANNED_BYTES } as const;

/** The model `train --from` starts from: an ONNX file (imported) or a lite-cnn model file, however large. */
export async function loadPretrained(p: string, engine: Engine): Promise<Model> {
  if (isOnnxPath(p)) return (await importOnnxFile(p, engine)).model;
  return Model.load(p, { engine, limits: LARGE_MODEL_LIMITS });
}

/** `--threshold` moves a binary model's decision; other models have none to move. */
export function checkThresholdOption(model: Model, threshold: number | undefined, modelPath: string): void {
  if (threshold !== undefined && model.classes !== 2) throw new UsageError(`--threshold applies to binary models; ${modelPath} has ${model.classes} classes`);
}

/** `--max-memory <MiB>` of the commands that run a model file (predict, evaluate, explain). */
export function maxMemoryOption(): Option {
  return new Option('--max-memory <MiB>', 'engine memory the model file may plan, MiB (load limit maxPlannedBytes; default 512: raise it for large pretrained networks such as ResNet50)').argParser(parse.positiveInt);
}

/**
 * The model file a command classifies with: loaded under `--max-memory`, and
 * refused when its output is a feature map rather than class scores (a
 * backbone imported without its head), whose values predict, evaluate and
 * explain would otherwise misread as probabilities.
 */
export async function loadClassifier(p: string, engine: Engine, opts: { maxMemory?: number | undefined; command: string }): Promise<Model> {
  const model = await Model.load(p, { engine, ...(opts.maxMemory !== undefined ? { limits: { maxPlannedBytes: opts.maxMemory * 2 ** 20 } } : {}) });
  const [h, w, c] = model.outputShape;
  if (h !== 1 || w !== 1) {
    model.dispose();
    throw new UsageError(
      `${opts.command} needs class scores, but ${p} outputs a [${h}, ${w}, ${c}] feature map (a network without its classifier head); ` +
        'give it a head for your classes with `lite-cnn train --from FILE --data DIR`, or read raw outputs with the SDK (model.predict)',
    );
  }
  return model;
}
