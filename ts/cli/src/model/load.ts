/** Reads `--model`: a model file (.safetensors), or an architecture (.json) built untrained. */
import { Model, Sequential, type Engine } from '@lite-cnn/sdk';
import { UsageError } from '../errors.js';
import { buildModel, readArchitecture } from './architecture.js';

export function isArchitecturePath(p: string): boolean {
  return p.toLowerCase().endsWith('.json');
}

export async function loadModel(p: string, engine: Engine): Promise<Model> {
  if (isArchitecturePath(p)) return buildModel(await readArchitecture(p), { seed: 0, engine, where: p });
  return Model.load(p, { engine });
}

/** `--threshold` moves a binary model's decision; other models have none to move. */
export function checkThresholdOption(model: Model, threshold: number | undefined, modelPath: string): void {
  if (threshold !== undefined && model.classes !== 2) throw new UsageError(`--threshold applies to binary models; ${modelPath} has ${model.classes} classes`);
}
