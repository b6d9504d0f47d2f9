/**
 * summary.json (and `--json`): the outcome of a run for machines — status,
 * epochs, time, and the final validation and test metrics of the best model.
 */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '@lite-cnn/sdk';

export interface Metrics {
  loss: number;
  accuracy: number;
}

export interface RunSummary {
  status: 'completed' | 'interrupted';
  /** The signal that interrupted the run. */
  signal?: string;
  runDir: string;
  epochs: { planned: number; completed: number; stoppedEarly: boolean };
  steps: number;
  seconds: { training: number; total: number };
  /** Metrics of the best model (model.safetensors) at the end. */
  validation: Metrics | null;
  test: Metrics | null;
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
