/** `lite-cnn evaluate`: a model file on labelled data — accuracy, per-class report, confusion matrix, AUC, speed. */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { Command, Option } from 'commander';
import { Sequential, formatClassificationReport } from '@lite-cnn/sdk';
import * as parse from '../args.js';
import { UsageError } from '../errors.js';
import { startEngine } from '../engine.js';
import { ConcatDataset } from '../data/concat.js';
import { loadEvaluationData } from '../data/training-data.js';
import { evaluateModel } from '../model/evaluation.js';
import { bytes, count, fixed, percent } from '../ui/format.js';
import { makeOutput } from '../ui/output.js';

interface EvaluateOptions {
  model: string;
  data?: string;
  mnist?: boolean;
  split: 'test' | 'all';
  threshold?: number;
  batchSize: number;
  limit?: number;
  threads?: number;
  seed?: number;
  json?: boolean;
}

export function registerEvaluate(program: Command): void {
  program
    .command('evaluate')
    .description('evaluate a model file on labelled data: accuracy, per-class precision/recall/F1, confusion matrix, ROC AUC, speed')
    .requiredOption('--model <file>', 'model file (.safetensors), e.g. RUN_DIR/model.safetensors')
    .option('--data <dir>', 'image folder (its test split, made as at training time)')
    .option('--mnist', 'the bundled MNIST test set')
    .addOption(new Option('--split <which>', 'test split, or all images').choices(['test', 'all']).default('test'))
    .option('--threshold <t>', 'binary models: decision threshold on the positive class (default: the stored one, else 0.5)', parse.ratio)
    .option('--batch-size <n>', 'images per inference batch', parse.positiveInt, 64)
    .option('--limit <n>', 'at most N images per split', parse.positiveInt)
    .option('--seed <n>', 'split seed for --data (default: 0, as train)', parse.seed)
    .option('--threads <n>', 'compute threads (default: all cores)', parse.positiveInt)
    .option('--json', 'print JSON')
    .action(async (opts: EvaluateOptions) => {
      if (opts.data !== undefined && opts.mnist) throw new UsageError('give either --data DIR or --mnist, not both');
      if (opts.data === undefined && !opts.mnist) throw new UsageError('which data? give --data DIR (an image folder) or --mnist (the bundled MNIST test set)');
      const out = makeOutput(opts);
      const engine = await startEngine(opts.threads);
      const model = await Sequential.load(opts.model, { engine });
      const source = opts.data !== undefined ? { kind: 'folder' as const, dir: path.resolve(opts.data) } : { kind: 'mnist' as const };
      const data = await loadEvaluationData({
        source,
        split: opts.split,
        limit: opts.limit ?? null,
        inputShape: model.inputShape,
        preprocessing: model.metadata.preprocessing,
        classNames: model.metadata.classNames,
        seed: opts.seed ?? 0,
      });
      const dataset = data.sets.length === 1 ? data.sets[0]!.data : new ConcatDataset(data.sets.map((s) => s.data));
      const classNames = model.metadata.classNames ?? data.classNames;
      const ev = await evaluateModel(model, dataset, { batchSize: opts.batchSize, classNames, ...(opts.threshold !== undefined ? { threshold: opts.threshold } : {}) });
      const size = (await stat(opts.model)).size;
      await engine.shutdown();
      if (opts.json) {
        out.result({
          model: opts.model,
          modelBytes: size,
          data: data.description,
          samples: ev.samples,
          loss: ev.loss,
          accuracy: ev.accuracy,
          auc: ev.auc,
          msPerImage: ev.msPerImage,
          decision: ev.report.decision,
          perClass: ev.report.perClass,
          macroAvg: ev.report.macroAvg,
          weightedAvg: ev.report.weightedAvg,
          confusionMatrix: ev.report.confusionMatrix,
        });
        return;
      }
      out.line(`model:    ${opts.model} (${bytes(size)})`);
      out.line(`data:     ${data.description}, ${count(ev.samples)} images`);
      out.line(`accuracy: ${percent(ev.accuracy)}${ev.loss !== null ? `   loss ${fixed(ev.loss)}` : ''}${ev.auc !== null ? `   ROC AUC ${fixed(ev.auc)}` : ''}`);
      out.line(`speed:    ${fixed(ev.msPerImage, 3)} ms per image`);
      out.line();
      out.line(formatClassificationReport(ev.report, { digits: 4 }));
      out.line();
      out.line('confusion matrix (rows: true class, columns: predicted):');
      const names = ev.report.perClass.map((c) => c.name);
      const w = Math.max(...names.map((n) => n.length), ...ev.report.confusionMatrix.flat().map((v) => String(v).length)) + 1;
      out.line(`${''.padStart(w)} ${names.map((n) => n.padStart(w)).join('')}`);
      ev.report.confusionMatrix.forEach((row, i) => out.line(`${names[i]!.padStart(w)} ${row.map((v) => String(v).padStart(w)).join('')}`));
    });
}
