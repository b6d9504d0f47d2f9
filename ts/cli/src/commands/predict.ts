/** `lite-cnn predict`: class probabilities of image files under a model file. */
import { Command, Option } from 'commander';
import { predictWithTta, TTA_MODES, type TtaMode } from '@lite-cnn/sdk';
import * as parse from '../args.js';
import { startEngine } from '../engine.js';
import { checkThresholdOption, loadClassifier, maxMemoryOption } from '../model/load.js';
import { imageFilesDataset } from '../data/image-files.js';
import { percent } from '../ui/format.js';
import { makeOutput } from '../ui/output.js';

interface PredictOptions {
  model: string;
  threshold?: number;
  threads?: number;
  maxMemory?: number;
  tta: TtaMode;
  json?: boolean;
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description('predict the class of image files with a model file')
    .argument('<image...>', 'image files (png, jpg, tif, bmp)')
    .requiredOption('--model <file>', 'model file (.safetensors)')
    .option('--threshold <t>', 'binary models: decision threshold on the positive class (default: the stored one, else 0.5)', parse.ratio)
    .addOption(new Option('--tta <mode>', "test-time augmentation: average the probabilities over flips (4 views) or d4 (8: flips and quarter turns)").choices(TTA_MODES).default('none'))
    .option('--threads <n>', 'compute threads (default: all cores)', parse.positiveInt)
    .addOption(maxMemoryOption())
    .option('--json', 'print JSON')
    .action(async (images: string[], opts: PredictOptions) => {
      const out = makeOutput(opts);
      const engine = await startEngine(opts.threads);
      const model = await loadClassifier(opts.model, engine, { maxMemory: opts.maxMemory, command: 'predict' });
      checkThresholdOption(model, opts.threshold, opts.model);
      const data = await imageFilesDataset(images, model);
      const probs = await predictWithTta(model, data, { tta: opts.tta });
      const classes = model.classesFromProbabilities(probs, opts.threshold !== undefined ? { threshold: opts.threshold } : {});
      await engine.shutdown();
      const k = model.outputShape[2];
      const names = model.metadata.classNames ?? Array.from({ length: model.classes }, (_, i) => String(i));
      const rows = images.map((file, i) => ({
        file,
        class: names[classes[i]!] ?? String(classes[i]),
        probabilities: Object.fromEntries(Array.from(probs.subarray(i * k, (i + 1) * k)).map((p, j) => [k === 1 ? names[1] ?? '1' : (names[j] ?? String(j)), p])),
      }));
      // The decision predictClasses applied: the stored threshold, --threshold, or 0.5 / argmax.
      const stored = model.metadata.threshold;
      const threshold = opts.threshold ?? stored?.value;
      const positiveClass = k === 1 ? 1 : (stored?.positiveClass ?? 1);
      const decision =
        model.classes === 2
          ? { rule: 'threshold' as const, threshold: threshold ?? 0.5, positiveClass, positiveClassName: names[positiveClass] ?? String(positiveClass), source: opts.threshold !== undefined ? 'option' : stored ? 'stored' : 'default' }
          : { rule: 'argmax' as const };
      if (opts.json) out.result({ model: opts.model, decision, tta: opts.tta, predictions: rows });
      else {
        if (decision.rule === 'threshold') out.line(`decision: '${decision.positiveClassName}' when its probability >= ${decision.threshold} (${decision.source === 'stored' ? 'stored in the model file' : decision.source === 'option' ? '--threshold' : 'default'})`);
        for (const r of rows) out.line(`${r.file}: ${r.class}  (${Object.entries(r.probabilities).map(([n, p]) => `${n} ${percent(p, 1)}`).join(', ')})`);
      }
    });
}
