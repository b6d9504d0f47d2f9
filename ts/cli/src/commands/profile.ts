/** `lite-cnn profile`: where a model's inference pass or training step spends its time, layer by layer. */
import { Command, Option } from 'commander';
import { formatProfile } from '@lite-cnn/sdk';
import * as parse from '../args.js';
import { presetOrFile, presetOrFileModel } from '../model/preset-or-file.js';
import { PRESET_NAMES, type PresetName } from '../model/presets.js';
import { lossFor } from '../train/recipe.js';
import { makeOutput } from '../ui/output.js';
import { describeEngine, startEngine } from '../engine.js';

interface ProfileOptions {
  preset?: PresetName;
  model?: string;
  batchSize?: number;
  runs: number;
  warmup: number;
  training?: boolean;
  threads?: number;
  json?: boolean;
}

export function registerProfile(program: Command): void {
  program
    .command('profile')
    .description("time a model's inference pass (or training step) layer by layer")
    .addOption(new Option('--preset <name>', 'a preset network (random weights: timing does not depend on them)').choices(PRESET_NAMES))
    .option('--model <file>', 'a model file (.safetensors) or an architecture file (.json)')
    .option('--batch-size <n>', 'samples per pass (default: 1 for inference, 32 for --training)', parse.positiveInt)
    .option('--runs <n>', 'timed passes', parse.positiveInt, 10)
    .option('--warmup <n>', 'untimed passes first', parse.nonNegativeInt, 2)
    .option('--training', "profile training steps (forward, backward, update; the model's weights are left as they were)")
    .option('--threads <n>', 'compute threads (default: all cores)', parse.positiveInt)
    .option('--json', 'print JSON')
    .action(async (opts: ProfileOptions) => {
      const source = presetOrFile(opts);
      const out = makeOutput(opts);
      const engine = await startEngine(opts.threads);
      const model = await presetOrFileModel(source, engine);
      // A file without a training configuration trains with Adam, the presets' optimizer.
      if (opts.training && !model.lossConfig) model.compile({ optimizer: 'adam', loss: lossFor(model) });
      const profile = await model.profile({ ...(opts.batchSize === undefined ? {} : { batchSize: opts.batchSize }), runs: opts.runs, warmup: opts.warmup, training: opts.training ?? false });
      if (opts.json) out.result({ model: model.name, engine: describeEngine(engine), ...profile });
      else out.line(formatProfile(profile));
      await engine.shutdown();
    });
}
