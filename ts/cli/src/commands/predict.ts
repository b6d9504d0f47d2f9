/** `lite-cnn predict`: class probabilities of image files under a model file. */
import { Command, Option } from 'commander';
import { GROUP_AGGREGATIONS, poolGroups, predictWithTta, TTA_MODES, type GroupAggregation, type TtaMode } from '@lite-cnn/sdk';
import * as parse from '../args.js';
import { UsageError } from '../errors.js';
import { startEngine } from '../engine.js';
import { checkThresholdOption, loadClassifier, maxMemoryOption } from '../model/load.js';
import { imageFilesDataset } from '../data/image-files.js';
import { fileGroups } from '../data/groups.js';
import { decideGroups, type DecisionContext } from '../model/group-evaluation.js';
import { GROUP_BY_PATTERN_HELP, groupPatternRegExp } from '../data/options.js';
import { flag, percent } from '../ui/format.js';
import { makeOutput } from '../ui/output.js';
import { describeCalibration } from '../model/calibration.js';

interface PredictOptions {
  model: string;
  threshold?: number;
  threads?: number;
  maxMemory?: number;
  tta: TtaMode;
  groupBy?: string;
  manifest?: string;
  groupPattern?: string;
  aggregate?: GroupAggregation;
  json?: boolean;
}

/** Row `i` of `probs` `[n, k]` by class name (a single sigmoid unit: the positive class's probability). */
function probabilityRecord(probs: Float32Array, i: number, k: number, names: readonly string[]): Record<string, number> {
  return Object.fromEntries(Array.from(probs.subarray(i * k, (i + 1) * k)).map((p, j) => [k === 1 ? names[1] ?? '1' : (names[j] ?? String(j)), p]));
}

function formatProbabilities(record: Record<string, number>): string {
  return Object.entries(record).map(([n, p]) => `${n} ${percent(p, 1)}`).join(', ');
}

export function registerPredict(program: Command): void {
  program
    .command('predict')
    .description("predict the class of image files with a model file; with --group-by, also decide per group (e.g. per patient) from its images' pooled probabilities")
    .argument('<image...>', 'image files (png, jpg, tif, bmp)')
    .requiredOption('--model <file>', 'model file (.safetensors)')
    .option('--threshold <t>', 'binary models: decision threshold on the positive class (default: the stored one, else 0.5)', parse.ratio)
    .addOption(new Option('--tta <mode>', "test-time augmentation: average the probabilities over flips (4 views) or d4 (8: flips and quarter turns)").choices(TTA_MODES).default('none'))
    .option('--group-by <column>', 'also decide per value of this column of --manifest (e.g. patient), pooling the images of each value')
    .option('--manifest <file>', "with --group-by: a manifest.csv listing every image (a 'file' column, paths relative to the manifest's folder) and the column")
    .option('--group-pattern <regex>', GROUP_BY_PATTERN_HELP)
    .addOption(new Option('--aggregate <method>', "with --group-by: mean (default) or median probability, decided at the images' threshold, or vote (the share of image decisions, decided by majority)").choices(GROUP_AGGREGATIONS))
    .option('--threads <n>', 'compute threads (default: all cores)', parse.positiveInt)
    .addOption(maxMemoryOption())
    .option('--json', 'print JSON')
    .action(async (images: string[], opts: PredictOptions) => {
      if (opts.groupBy === undefined) {
        const needs = (['manifest', 'groupPattern', 'aggregate'] as const).filter((k) => opts[k] !== undefined).map(flag);
        if (needs.length) throw new UsageError(`${needs.join(', ')}: only with --group-by COLUMN, which pools the images per group`);
      } else if (opts.manifest === undefined) {
        throw new UsageError('--group-by reads a column of a manifest: add --manifest FILE (a manifest.csv listing the images)');
      }
      const groupPattern = opts.groupPattern === undefined ? null : groupPatternRegExp(opts.groupPattern);
      const out = makeOutput(opts);
      // The groups first: a missing row fails before the engine starts.
      const groups = opts.groupBy !== undefined ? await fileGroups(opts.manifest!, images, opts.groupBy, groupPattern) : null;
      const engine = await startEngine(opts.threads);
      const model = await loadClassifier(opts.model, engine, { maxMemory: opts.maxMemory, command: 'predict' });
      checkThresholdOption(model, opts.threshold, opts.model);
      const data = await imageFilesDataset(images, model);
      const probs = await predictWithTta(model, data, { tta: opts.tta });
      const classes = model.classesFromProbabilities(probs, opts.threshold !== undefined ? { threshold: opts.threshold } : {});
      await engine.shutdown();
      const k = model.outputShape[2];
      const names = model.metadata.classNames ?? Array.from({ length: model.classes }, (_, i) => String(i));
      const rows = images.map((file, i) => ({ file, class: names[classes[i]!] ?? String(classes[i]), probabilities: probabilityRecord(probs, i, k, names) }));
      // The decision predictClasses applied: the stored threshold, --threshold, or 0.5 / argmax.
      const stored = model.metadata.threshold;
      const threshold = opts.threshold ?? stored?.value;
      const positiveClass = k === 1 ? 1 : (stored?.positiveClass ?? 1);
      const decision =
        model.classes === 2
          ? { rule: 'threshold' as const, threshold: threshold ?? 0.5, positiveClass, positiveClassName: names[positiveClass] ?? String(positiveClass), source: opts.threshold !== undefined ? 'option' : stored ? 'stored' : 'default' }
          : { rule: 'argmax' as const };
      const ctx = { outputs: k, classes: model.classes, classNames: names, positiveClass };
      const grouped = groups ? groupRows(probs, groups, { method: opts.aggregate ?? 'mean', column: opts.groupBy!, names, ctx, ...(decision.rule === 'threshold' ? { threshold: decision.threshold } : {}) }) : null;
      if (opts.json) {
        out.result({ model: opts.model, decision, calibration: model.metadata.calibration ?? null, tta: opts.tta, predictions: rows, groups: grouped });
        return;
      }
      const calibration = model.metadata.calibration;
      if (calibration) out.line(`probabilities calibrated: ${describeCalibration(calibration)} (stored in the model file)`);
      if (decision.rule === 'threshold') out.line(`decision: '${decision.positiveClassName}' when its probability >= ${decision.threshold} (${decision.source === 'stored' ? 'stored in the model file' : decision.source === 'option' ? '--threshold' : 'default'})`);
      for (const r of rows) out.line(`${r.file}: ${r.class}  (${formatProbabilities(r.probabilities)})`);
      if (grouped) {
        out.line();
        out.line(`per ${grouped.column} (${grouped.method === 'vote' ? 'share of its images decided each class, by majority' : `${grouped.method} of its images' probabilities, at the same decision`}):`);
        for (const g of grouped.rows) out.line(`${g.group}: ${g.class}  (${formatProbabilities(g.probabilities)}; ${g.images} image${g.images === 1 ? '' : 's'})`);
      }
    });
}

/**
 * Each group's pooled probabilities (the SDK's `poolGroups`) and its class,
 * decided as `evaluate --group-by` decides (`decideGroups`).
 */
function groupRows(probs: Float32Array, groups: readonly string[], o: { method: GroupAggregation; column: string; names: readonly string[]; ctx: DecisionContext; threshold?: number }) {
  const k = o.ctx.outputs;
  const pooled = poolGroups(probs, k, groups, { method: o.method, positiveClass: o.ctx.positiveClass, ...(o.threshold !== undefined ? { threshold: o.threshold } : {}) });
  const decided = decideGroups(pooled.probs, o.ctx, o.method, o.threshold).classes;
  return {
    column: o.column,
    method: o.method,
    rows: pooled.groups.map((group, gi) => ({ group, images: pooled.sizes[gi]!, class: o.names[decided[gi]!] ?? String(decided[gi]), probabilities: probabilityRecord(pooled.probs, gi, k, o.names) })),
  };
}
