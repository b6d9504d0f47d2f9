/** `lite-cnn summary`: the Keras-style table of a preset, an architecture file or a model file. */
import { Command, Option } from 'commander';
import { presetOrFile, presetOrFileModel } from '../model/preset-or-file.js';
import { PRESET_NAMES, type PresetName } from '../model/presets.js';
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
      const source = presetOrFile(opts);
      const out = makeOutput(opts);
      const engine = await startEngine(1);
      const model = await presetOrFileModel(source, engine);
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
