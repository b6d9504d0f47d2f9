/**
 * config.json: everything needed to reproduce a run — the resolved options
 * (every default filled in), the seed, versions, engine, data source and the
 * model topology — and what `--resume` reads back.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { writeFileAtomic, type Engine, type LayerConfig, type ParamCounts, type PreprocessingConfig, type Model } from '@lite-cnn/sdk';
import { describeEngine } from '../engine.js';
import { cliVersion, sdkVersion } from '../versions.js';
import { describeRegularizer } from './describe.js';
import { lossFor } from './recipe.js';
import { RunError } from '../errors.js';
import type { TrainOptions } from './options.js';
import { RUN_FILES } from './run-dir.js';
import { readRunStatus } from './summary.js';

export const RUN_CONFIG_FORMAT = 'lite-cnn-run';
export const RUN_CONFIG_VERSION = 1;

export interface RunConfig {
  format: typeof RUN_CONFIG_FORMAT;
  version: typeof RUN_CONFIG_VERSION;
  createdAt: string;
  /** The command line as typed (after `lite-cnn`). */
  argv: string[];
  versions: { cli: string; sdk: string; node: string };
  engine: { artifact: string; threads: number; simd128: boolean };
  seed: number;
  options: TrainOptions;
  /** `preprocessing`: null in a cross-validation with per-fold statistics (each fold's model file holds its own). */
  data: { description: string; source: Record<string, unknown>; classNames: string[]; preprocessing: PreprocessingConfig | null };
  model: { name: string; inputShape: number[]; layers: LayerConfig[]; params: ParamCounts; loss: string; regularizer: string | null };
  /** Every `--resume` of this run: when, where it went on, with which engine. */
  resumes: ({ at: string; argv: string[]; engine: { artifact: string; threads: number } } & ResumePoint)[];
}

/**
 * Where a resumed run went on: a single run at an epoch boundary (0-based:
 * the epochs completed); --cv and --ensemble runs after their completed folds
 * or members (the others are trained from their start).
 */
export type ResumePoint = { epoch: number } | { completedFolds: number } | { completedMembers: number } | { completedInnerFolds: number };

/** The config.json of a new run (plain training or cross-validation): what it needs to be reproduced. */
export function newRunConfig(args: { argv: string[]; engine: Engine; options: TrainOptions; data: RunConfig['data']; model: Model }): RunConfig {
  const { model } = args;
  const reg = model.plan().regularizer;
  return {
    format: RUN_CONFIG_FORMAT,
    version: RUN_CONFIG_VERSION,
    createdAt: new Date().toISOString(),
    argv: args.argv,
    versions: { cli: cliVersion, sdk: sdkVersion, node: process.version },
    engine: describeEngine(args.engine),
    seed: args.options.seed,
    options: args.options,
    data: args.data,
    model: {
      name: model.name,
      inputShape: [...model.inputShape],
      layers: model.layers.map((l) => l.getConfig()),
      params: model.countParams(),
      loss: lossFor(model),
      regularizer: reg ? describeRegularizer(reg) : null,
    },
    resumes: [],
  };
}

export async function writeRunConfig(path: string, config: RunConfig): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(config, null, 2)}\n`);
}

export async function readRunConfig(path: string): Promise<RunConfig> {
  let config: RunConfig;
  try {
    config = JSON.parse(await readFile(path, 'utf8')) as RunConfig;
  } catch (cause) {
    throw new RunError(`cannot read the run configuration ${path}: ${(cause as Error).message}`, { cause });
  }
  if (config?.format !== RUN_CONFIG_FORMAT || config.version !== RUN_CONFIG_VERSION || typeof config.options !== 'object') {
    throw new RunError(`${path}: not a lite-cnn run configuration (expected format '${RUN_CONFIG_FORMAT}' version ${RUN_CONFIG_VERSION})`);
  }
  // Runs made before --threshold-rule chose with the 'recall' rule.
  const op = config.options.operatingPoint;
  if (op && op.rule === undefined) config.options.operatingPoint = { ...op, rule: 'recall' };
  return config;
}

/** config.json of the run in `dir` for --resume; a run that completed is refused. */
export async function readResumableConfig(dir: string): Promise<RunConfig> {
  const config = await readRunConfig(path.join(dir, RUN_FILES.config));
  if ((await readRunStatus(path.join(dir, RUN_FILES.summary))) === 'completed') throw new RunError(`${dir}: this run has already completed; nothing to resume`);
  return config;
}

/** Adds this --resume to `config` and rewrites config.json. */
export async function recordResume(dir: string, config: RunConfig, args: { argv: string[]; engine: Engine }, point: ResumePoint): Promise<void> {
  config.resumes.push({ at: new Date().toISOString(), argv: args.argv, engine: describeEngine(args.engine), ...point });
  await writeRunConfig(path.join(dir, RUN_FILES.config), config);
}
