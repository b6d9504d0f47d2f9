/**
 * summary.json (and `--json`): the outcome of a run for machines — status,
 * epochs, time, and the final validation and test metrics of the best model.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic, type CalibrationConfig, type SubtypeRecall } from '@lite-cnn/sdk';
import type { Output } from '../ui/output.js';
import { RUN_FILES, type RunDir } from './run-dir.js';

export interface Metrics {
  loss: number;
  accuracy: number;
}

export interface ClassScore {
  name: string;
  precision: number;
  recall: number;
  f1: number;
}

export interface RunSummary {
  status: 'completed' | 'interrupted';
  /** The signal that interrupted the run. */
  signal?: string;
  runDir: string;
  epochs: { planned: number; completed: number; stoppedEarly: boolean };
  steps: number;
  seconds: {
    training: number;
    total: number;
    /** Listing and decoding the images, before the first epoch (image folders). */
    decoding?: number | null;
    /** Each epoch of this invocation (a resumed run: the epochs after the resume). */
    perEpoch?: number[];
  };
  /** The epoch (1-based) model.safetensors comes from, when known. */
  bestEpoch?: number | null;
  /** --target-recall: the threshold stored in model.safetensors; `validation`: the images it was chosen on (the validation split, or the pooled out-of-fold images of --threshold-cv). */
  operatingPoint?: {
    positiveClass: number;
    className: string;
    targetRecall: number;
    threshold: number;
    validation: { samples: number; recall: number; precision: number };
  } | null;
  /** --calibrate: the calibration stored in model.safetensors, the held-out images it was fitted on and their NLL before and after. */
  calibration?: (CalibrationConfig & { samples: number; nll: { before: number; after: number }; atBound: boolean }) | null;
  /** Metrics of the best model (model.safetensors) at the end. */
  validation: Metrics | null;
  test: (Metrics & {
    auc?: number | null;
    samples?: number;
    /** The positive class at threshold 0.5 (binary models). */
    positive?: ClassScore | null;
    /** At the stored decision threshold. */
    atThreshold?: { threshold: number; accuracy: number; positive: ClassScore | null } | null;
    /** Patient level (mean probability of each test patient's images, at the applied decision), when patients are known. */
    patients?: { groups: number; accuracy: number; auc: number | null; positiveRecall: number | null } | null;
    /** Recall per subtype of the test images at the applied decision, when the manifest has subtypes. */
    subtypes?: SubtypeRecall[];
  }) | null;
  files: Record<string, string>;
  /** How to continue an interrupted run. */
  resume?: string;
}

export async function writeRunSummary(path: string, summary: RunSummary): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(summary, null, 2)}\n`);
}

export async function readRunStatus(path: string): Promise<RunSummary['status'] | undefined> {
  try {
    return (JSON.parse(await readFile(path, 'utf8')) as RunSummary).status;
  } catch {
    return undefined;
  }
}

/**
 * The end of a run a signal stopped (every kind of run): summary.json says
 * `interrupted`, with the signal and the --resume command; `lines` say what
 * was kept, then how to go on; the --json result is the same summary (with
 * `extra`).
 */
export async function endInterrupted(out: Output, runDir: RunDir, summary: RunSummary, signal: string | undefined, lines: readonly string[], extra: Record<string, unknown> = {}): Promise<void> {
  const resume = `lite-cnn train --resume ${runDir.path}`;
  const interrupted: RunSummary = { ...summary, status: 'interrupted', ...(signal === undefined ? {} : { signal }), resume };
  await writeRunSummary(runDir.file(RUN_FILES.summary), interrupted);
  for (const line of lines) out.line(line);
  out.line(`Continue with: ${resume}`);
  out.result({ ...interrupted, ...extra });
}
