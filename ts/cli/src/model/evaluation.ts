/**
 * Evaluates a model on labelled data with the SDK's metrics: loss and
 * accuracy, the per-class report with its confusion matrix, ROC AUC, and the
 * mean inference time per image.
 */
import { classificationReport, classScores, rocAuc, rocAucOvr, rocCurve, type ClassificationReport, type Dataset, type Sequential } from '@lite-cnn/sdk';

export interface Evaluation {
  samples: number;
  loss: number | null;
  accuracy: number;
  report: ClassificationReport;
  /** Binary: AUC of the positive class; multi-class: one-vs-rest macro AUC; null when undefined (a class missing). */
  auc: number | null;
  /** Binary problems: the ROC curve of the positive class. */
  roc: { fpr: number[]; tpr: number[]; auc: number } | null;
  msPerImage: number;
}

export async function evaluateModel(model: Sequential, data: Dataset, opts: { batchSize: number; classNames: readonly string[] | null; threshold?: number }): Promise<Evaluation> {
  const labels = data.labels();
  if (!labels) throw new Error('evaluate: the data has no labels');
  const t0 = performance.now();
  const probs = await model.predict(data, { batchSize: opts.batchSize });
  const ms = (performance.now() - t0) / data.size;
  const k = model.outputShape[2];
  const classes = model.classes;
  // A single sigmoid unit: the SDK's metrics take one column per class.
  const rows = k === 1 ? twoColumns(probs) : probs;
  const stored = model.metadata.threshold;
  const threshold = opts.threshold ?? stored?.value;
  const report = classificationReport(labels, rows, {
    classes,
    ...(opts.classNames && opts.classNames.length === classes ? { classNames: opts.classNames } : {}),
    ...(classes === 2 && threshold !== undefined ? { threshold, positiveClass: stored?.positiveClass ?? 1 } : {}),
  });
  const loss = model.lossConfig ? ((await model.evaluate(data, { batchSize: opts.batchSize })).loss ?? null) : null;
  let auc: number | null = null;
  let roc: Evaluation['roc'] = null;
  try {
    if (classes === 2) {
      const scores = classScores(rows, 2, stored?.positiveClass ?? 1);
      const pos = stored?.positiveClass ?? 1;
      const binary = Uint32Array.from(labels, (l) => (l === pos ? 1 : 0));
      const curve = rocCurve(binary, scores);
      auc = rocAuc(binary, scores);
      roc = { fpr: curve.fpr, tpr: curve.tpr, auc };
    } else auc = rocAucOvr(labels, rows, classes);
  } catch {
    auc = null; // a class absent from the data: AUC is undefined, the rest of the report still holds
  }
  return { samples: data.size, loss, accuracy: report.accuracy, report, auc, roc, msPerImage: ms };
}

/** `[p]` per sample -> `[1 - p, p]`: the layout of a two-class softmax. */
function twoColumns(p: Float32Array): Float32Array {
  const out = new Float32Array(p.length * 2);
  p.forEach((v, i) => {
    out[2 * i] = 1 - v;
    out[2 * i + 1] = v;
  });
  return out;
}
