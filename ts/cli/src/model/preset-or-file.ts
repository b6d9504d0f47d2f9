/** The model a `--preset NAME` or `--model FILE` option names (summary, profile): exactly one of them. */
import type { Engine, Model } from '@lite-cnn/sdk';
import { UsageError } from '../errors.js';
import { architectureOf, buildModel, regularizer, withKernelRegularizer } from './architecture.js';
import { loadModel } from './load.js';
import { PRESETS, type PresetName } from './presets.js';

export type PresetOrFile = { preset: PresetName } | { file: string };

/** Which of `--preset` and `--model` was given; a usage error (before any engine starts) unless exactly one. */
export function presetOrFile(opts: { preset?: PresetName; model?: string }): PresetOrFile {
  if ((opts.preset === undefined) === (opts.model === undefined)) throw new UsageError('give exactly one of --preset NAME or --model FILE');
  return opts.preset !== undefined ? { preset: opts.preset } : { file: opts.model! };
}

/** A preset's network (random weights, with its recipe's regularizer) or a model / architecture file. */
export async function presetOrFileModel(source: PresetOrFile, engine: Engine): Promise<Model> {
  if ('file' in source) return loadModel(source.file, engine);
  const p = PRESETS[source.preset];
  return buildModel(withKernelRegularizer(architectureOf(p.name, p.layers()), regularizer(p.recipe.l2)), { seed: 0, engine, where: `preset ${p.name}` });
}
