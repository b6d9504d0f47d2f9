/** Several datasets read one after the other as one (e.g. `--split all`). */
import type { BatchOptions, DataBatch, Dataset } from '@lite-cnn/sdk';

export class ConcatDataset implements Dataset {
  readonly size: number;
  readonly sampleShape: Dataset['sampleShape'];
  readonly denseTargets: boolean;

  constructor(private readonly parts: readonly Dataset[]) {
    const first = parts[0];
    if (!first) throw new Error('ConcatDataset: expected at least one dataset');
    this.size = parts.reduce((n, p) => n + p.size, 0);
    this.sampleShape = first.sampleShape;
    this.denseTargets = first.denseTargets;
  }

  labels(): Uint32Array | undefined {
    const all = this.parts.map((p) => p.labels());
    if (all.some((l) => l === undefined)) return undefined;
    const out = new Uint32Array(this.size);
    let at = 0;
    for (const l of all) {
      out.set(l!, at);
      at += l!.length;
    }
    return out;
  }

  /** Unshuffled only: evaluation and prediction read in order. */
  async *batches(opts: BatchOptions): AsyncIterable<DataBatch> {
    for (const p of this.parts) yield* p.batches({ batchSize: opts.batchSize });
  }
}
