/**
 * The labelled images a command runs a model file on (`evaluate`,
 * `calibrate`): the bundled MNIST, or an image folder's split as the run
 * that trained the model made it, decoded at the model's input size with its
 * preprocessing and stain normalization.
 */
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Dataset, Model } from '@lite-cnn/sdk';
import type { RunConfig } from '../train/run-config.js';
import { ConcatDataset } from './concat.js';
import type { EvaluationSplit, EvaluationSplitName } from './folder-source.js';
import { DEFAULT_SPLIT_RATIO, splitSeedOf } from './options.js';
import { loadEvaluationData, type EvaluationData } from './training-data.js';

export interface ModelDataOptions {
  model: string;
  data?: string;
  mnist?: boolean;
  split: EvaluationSplitName;
  limit?: number;
  seed?: number;
  splitCsv?: string;
  onBadImage?: 'skip' | 'fail';
  followSymlinks?: boolean;
}

const splitWord = (split: EvaluationSplitName) => (split === 'val' ? 'validation' : 'test');

/**
 * Which images `--split test` (or `val`) reads: --split-csv, else the split.csv of the
 * run directory the model sits in (the exact split of training), else the
 * split re-made from the run's config.json (ratios, --split-by, seed), else
 * train's defaults (80/10/10, by patient when known, --seed).
 */
async function splitSource(opts: ModelDataOptions): Promise<{ from: EvaluationSplit; aspect: 'squash' | 'center-crop'; note: string | null }> {
  const runDir = path.dirname(path.resolve(opts.model));
  const config = await readFile(path.join(runDir, 'config.json'), 'utf8')
    .then((t) => JSON.parse(t) as Partial<RunConfig>)
    .catch(() => null);
  const folder = config?.options?.data?.folder ?? null;
  const aspect = folder?.aspect ?? 'squash';
  if (opts.splitCsv !== undefined) return { from: { kind: 'csv', path: path.resolve(opts.splitCsv) }, aspect, note: null };
  const csv = path.join(runDir, 'split.csv');
  if (await access(csv).then(() => true, () => false)) return { from: { kind: 'csv', path: csv }, aspect, note: null };
  if (folder && config?.options) {
    const seed = opts.seed ?? splitSeedOf(folder, config.options.seed ?? 0);
    return { from: { kind: 'resplit', splitBy: folder.splitBy, groupPattern: folder.groupPattern ?? null, valRatio: folder.valRatio, testRatio: folder.testRatio, seed }, aspect, note: `no split.csv beside the model: the ${splitWord(opts.split)} split is re-made from ${path.join(runDir, 'config.json')}` };
  }
  const seed = opts.seed ?? 0;
  return {
    from: { kind: 'resplit', splitBy: 'auto', valRatio: DEFAULT_SPLIT_RATIO, testRatio: DEFAULT_SPLIT_RATIO, seed },
    aspect,
    note: `no split.csv or config.json beside the model: the ${splitWord(opts.split)} split is re-made with train's defaults (10%, by patient when known, seed ${seed}); give --split-csv RUN_DIR/split.csv to use a run's split`,
  };
}

/** The images of `opts` for `model` (notes on how the split was found go to `warn`), and the class names to report. */
export async function loadModelData(model: Model, opts: ModelDataOptions, warn: (line: string) => void): Promise<{ data: EvaluationData; dataset: Dataset; classNames: string[] | null; source: { kind: 'folder'; dir: string } | { kind: 'mnist' } }> {
  const source = opts.data !== undefined ? { kind: 'folder' as const, dir: path.resolve(opts.data) } : { kind: 'mnist' as const };
  const where = opts.data !== undefined && opts.split !== 'all' ? await splitSource(opts) : null;
  if (where?.note) warn(where.note);
  const data = await loadEvaluationData({
    source,
    split: opts.split,
    limit: opts.limit ?? null,
    inputShape: model.inputShape,
    preprocessing: model.metadata.preprocessing,
    stainNormalization: model.metadata.stainNormalization ?? null,
    classNames: model.metadata.classNames,
    seed: opts.seed ?? 0,
    ...(where ? { from: where.from, aspect: where.aspect } : {}),
    ...(opts.onBadImage ? { onBadImage: opts.onBadImage } : {}),
    ...(opts.followSymlinks ? { followSymlinks: true } : {}),
  });
  const dataset = data.sets.length === 1 ? data.sets[0]!.data : new ConcatDataset(data.sets.map((s) => s.data));
  return { data, dataset, classNames: model.metadata.classNames ?? data.classNames, source };
}
