/** What fit returns: Keras' History (`history.loss`, `history.val_accuracy`, ...). */
export type Logs = Record<string, number>;

export class History {
  readonly epoch: number[] = [];
  readonly history: Record<string, number[]> = {};
  /** Evaluation points inside epochs (`evaluateEvery`): global step plus the logs. */
  readonly steps: { step: number; epoch: number; logs: Logs }[] = [];

  record(epoch: number, logs: Logs): void {
    this.epoch.push(epoch);
    for (const [k, v] of Object.entries(logs)) (this.history[k] ??= []).push(v);
  }
}
