/** `model.fit` with a progress view (bar or log lines), for the runs that train several models (--cv, --threshold-cv). */
import { ProgressLogger, type Callback, type Dataset, type FitArgs, type Model, type ProgressEvent } from '@lite-cnn/sdk';
import type { Output } from '../ui/output.js';
import { makeProgressView } from '../ui/progress-view.js';

/** Fits with `callbacks` (in order) and then the progress view; returns each completed epoch's seconds. */
export async function fitWithProgress(model: Model, train: Dataset, args: FitArgs, out: Output, callbacks: Callback[]): Promise<number[]> {
  const view = makeProgressView(out);
  const epochSeconds: number[] = [];
  const progress = new ProgressLogger((e: ProgressEvent) => {
    if (e.type === 'epoch') epochSeconds.push(e.seconds);
    view.onEvent(e);
  });
  try {
    await model.fit(train, { ...args, callbacks: [...callbacks, progress] });
  } finally {
    view.close();
  }
  return epochSeconds;
}
