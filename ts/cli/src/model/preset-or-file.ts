/** The model a `--preset NAME` or `--model FILE` option names (summary, profile): exactly one of them. */
import type { Engine, Model } from '@lite-cnn/sdk';
import { UsageError } from '../errors.js';
import { architectureOf, buildModel, regularizer, withKernelRegularizer } from './architecture.js';
import { loadModel } from './load.js';
import { PRESETS, type PresetName } from './presets.js';

/** A preset's network (random weights, with its recipe's regularizer) or a model / architecture file. */
export async function presetOrFileModel(opts: { preset?: PresetName; model?: string }, engine: Engine): Promise<Model> {
  if ((opts.preset === undefined) === (opts.model === undefined)) throw new UsageError('give exactly one of --preset NAME or --model FILE');
  if (opts.preset !== undefined) {
    const p = PRESETS[opts.preset];
    return buildModel(withKernelRegularizer(architectureOf(p.name, p.layers()), regularizer(p.recipe.l2)), { seed: 0, engine, where: `preset ${p.name}` });
  }
  return loadModel(opts.model!, engine);
}
