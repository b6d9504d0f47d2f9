/** `lite-cnn summary`: the Keras-style table of a preset, an architecture file or a model file. */
import { Command, Option } from 'commander';
import type { Model, Sequential } from '@lite-cnn/sdk';
import { UsageError } from '../errors.js';
import { architectureOf, buildModel, regularizer, withKernelRegularizer } from '../model/architecture.js';
import { loadModel } from '../model/load.js';
import { PRESET_NAMES, PRESETS, type PresetName } from '../model/presets.js';
import { makeOutput } from '../ui/output.js';
import { startEngine } from '../engine.js';
import { describeCalibration } from '../model/calibration.js';

interface SummaryOptions {
  preset?: PresetName;
  model?: string;
  json?: boolean;
}

export function registerSummary(program: Command): void {
  program
    .command('summary')
    .description('print the layers, output shapes and parameter counts of a model')
    .addOption(new Option('--preset <name>', "a preset network (with its recipe's regularizer)").choices(PRESET_NAMES))
    .option('--model <file>', 'a model file (.safetensors) or an architecture file (.json)')
    .option('--json', 'print JSON (layer configs, shapes, parameter counts)')
    .action(async (opts: SummaryOptions) => {
      if ((opts.preset === undefined) === (opts.model === undefined)) throw new UsageError('give exactly one of --preset NAME or --model FILE');
      const out = makeOutput(opts);
      const engine = await startEngine(1);
      let model: Model;
      if (opts.preset !== undefined) {
        const p = PRESETS[opts.preset];
        model = buildModel(withKernelRegularizer(architectureOf(p.name, p.layers()), regularizer(p.recipe.l2)), { seed: 0, engine, where: `preset ${p.name}` });
      } else {
        model = await loadModel(opts.model!, engine);
      }
      if (opts.json) {
        const plan = model.plan();
        out.result({
          name: model.name,
          inputShape: model.inputShape,
          layers: model.layers.map((l, i) => ({ ...l.getConfig(), outputShape: plan.shapes[i] })),
          params: model.countParams(),
          metadata: model.metadata,
        });
      } else {
        model.summary((text) => out.line(text));
        const md = model.metadata;
        if (md.classNames) out.line(`Classes: ${md.classNames.join(', ')}`);
        if (md.preprocessing.kind !== 'none') out.line(`Preprocessing: ${md.preprocessing.kind}`);
        if (md.calibration) out.line(`Probability calibration: ${describeCalibration(md.calibration)}`);
        if (md.threshold) out.line(`Decision threshold: ${md.threshold.value} on class ${md.threshold.positiveClass}`);
      }
      await engine.shutdown();
    });
}
