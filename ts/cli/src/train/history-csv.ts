/**
 * history.csv: one row per epoch and per evaluation point (`--eval-every`),
 * columns step, epoch, loss, accuracy, lr, val_loss, val_accuracy. `step` is
 * the global optimizer step, `epoch` is 1-based (as printed). A row per
 * evaluation point carries the running training means of its epoch so far.
 * The file is rewritten atomically at every row, so it is always complete.
 */
import { readFile } from 'node:fs/promises';
import { Callback, writeFileAtomic, type Logs, type TrainingProgress } from '@lite-cnn/sdk';
import type { Interrupt } from './interrupt.js';

export const HISTORY_COLUMNS = ['step', 'epoch', 'loss', 'accuracy', 'lr', 'val_loss', 'val_accuracy'] as const;
export type HistoryRow = Record<(typeof HISTORY_COLUMNS)[number], number | undefined>;

function cell(v: number | undefined): string {
  return v === undefined ? '' : String(v);
}

export function formatHistory(rows: readonly HistoryRow[]): string {
  return [HISTORY_COLUMNS.join(','), ...rows.map((r) => HISTORY_COLUMNS.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}

export function parseHistory(text: string, where: string): HistoryRow[] {
  const lines = text.split(/\r?\n/).filter((l) => l !== '');
  if (lines[0] !== HISTORY_COLUMNS.join(',')) throw new Error(`${where}: unexpected header '${lines[0] ?? ''}', expected '${HISTORY_COLUMNS.join(',')}'`);
  return lines.slice(1).map((line) => {
    const cells = line.split(',');
    return Object.fromEntries(HISTORY_COLUMNS.map((c, i) => [c, cells[i] === undefined || cells[i] === '' ? undefined : Number(cells[i])])) as HistoryRow;
  });
}

export async function readHistory(path: string): Promise<HistoryRow[]> {
  return parseHistory(await readFile(path, 'utf8'), path);
}

/** Rows of completed epochs (1-based epoch <= `epochs`), as a resumed run continues from them. */
export function historyBefore(rows: readonly HistoryRow[], epochs: number): HistoryRow[] {
  return rows.filter((r) => r.epoch !== undefined && r.epoch <= epochs);
}

export class HistoryCsv extends Callback {
  readonly rows: HistoryRow[];
  private epoch = 0;
  private step = 0;

  constructor(
    private readonly path: string,
    private readonly interrupt: Interrupt,
    previous: readonly HistoryRow[] = [],
  ) {
    super();
    this.rows = [...previous];
    this.step = previous.at(-1)?.step ?? 0;
  }

  override onEpochBegin(epoch: number): void {
    this.epoch = epoch;
  }

  override onBatchEnd(_batch: number, _logs: Logs, progress: TrainingProgress): void {
    this.step = progress.step;
  }

  override async onEvaluation(step: number, logs: Logs): Promise<void> {
    await this.add(step, this.epoch, logs);
  }

  override async onEpochEnd(epoch: number, logs: Logs): Promise<void> {
    if (this.interrupt.completed(epoch)) await this.add(this.step, epoch, logs);
  }

  /** Writes the rows so far (also after an interruption). */
  async flush(): Promise<void> {
    await writeFileAtomic(this.path, formatHistory(this.rows));
  }

  private async add(step: number, epoch: number, logs: Logs): Promise<void> {
    this.rows.push({ step, epoch: epoch + 1, loss: logs.loss, accuracy: logs.accuracy, lr: logs.lr, val_loss: logs.val_loss, val_accuracy: logs.val_accuracy });
    await this.flush();
  }
}
