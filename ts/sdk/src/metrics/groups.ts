/**
 * Group-level (e.g. patient-level) decisions from image-level outputs: each
 * group's images are pooled into one row of outputs, so the usual metrics
 * (classificationReport, rocAuc, ...) then score groups instead of images.
 *
 * - `mean`: the mean of each output over the group's images;
 * - `median`: the median of each output (robust to a few odd tiles);
 * - `vote`: the fraction of the group's images whose decision (arg-max, or
 *   the binary threshold on the positive class) is each class; decide on it
 *   at 0.5 (a majority), not at the image threshold.
 */
import { ConfigError, DataError, ShapeError } from '../errors.js';
import { argmaxRows } from './probs.js';

export type GroupAggregation = 'mean' | 'median' | 'vote';
export const GROUP_AGGREGATIONS: readonly GroupAggregation[] = ['mean', 'median', 'vote'];

export interface GroupOutputsOptions {
  method: GroupAggregation;
  /** `vote` on a binary model: the positive class's decision threshold (default 0.5). */
  threshold?: number;
  /** `vote` on a binary model with two outputs: the positive class (default 1). */
  positiveClass?: number;
}

export interface GroupedOutputs {
  /** Group names, in order of first appearance. */
  groups: string[];
  /** `[groups, outputs]`: the aggregated outputs (for `vote`: class fractions, with the outputs' layout). */
  probs: Float32Array;
  /** Each group's class (every image of a group must share it). */
  labels: Uint32Array;
  /** Images per group. */
  sizes: number[];
}

function median(values: number[]): number {
  const s = values.slice().sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * Each row's decided class from outputs `[n, outputs]`: arg-max, or for a
 * binary model (one sigmoid unit, or two outputs with a `threshold`) the
 * threshold on the positive class's probability (default 0.5).
 */
export function decideClasses(probs: Float32Array, outputs: number, opts: { threshold?: number; positiveClass?: number } = {}): Int32Array {
  const t = opts.threshold ?? 0.5;
  if (outputs === 1) return Int32Array.from(probs, (p) => (p >= t ? 1 : 0));
  if (outputs === 2 && opts.threshold !== undefined) {
    const pos = opts.positiveClass ?? 1;
    const n = probs.length / 2;
    return Int32Array.from({ length: n }, (_, i) => (probs[i * 2 + pos]! >= t ? pos : 1 - pos));
  }
  return argmaxRows(probs, outputs);
}

/**
 * Pools image outputs `probs` `[n, outputs]` with class `labels` `[n]` into
 * one row per group (`groups[i]`: image i's group). Throws a `DataError` when
 * an image has no group or a group mixes classes.
 */
export function groupOutputs(probs: Float32Array, outputs: number, labels: ArrayLike<number>, groups: readonly (string | undefined)[], opts: GroupOutputsOptions): GroupedOutputs {
  if (!GROUP_AGGREGATIONS.includes(opts.method)) throw new ConfigError(`group aggregation: method must be one of ${GROUP_AGGREGATIONS.join(', ')}, got ${JSON.stringify(opts.method)}`);
  const n = labels.length;
  if (probs.length !== n * outputs) throw new ShapeError(`group aggregation: expected ${n} × ${outputs} outputs (one row per label), got ${probs.length} values`);
  if (groups.length !== n) throw new ShapeError(`group aggregation: expected ${n} groups (one per image), got ${groups.length}`);
  const members = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const g = groups[i];
    if (g === undefined || g === '') throw new DataError(`group aggregation: image ${i} has no group`);
    (members.get(g) ?? members.set(g, []).get(g)!).push(i);
  }
  const names = [...members.keys()];
  const out = new Float32Array(names.length * outputs);
  const groupLabels = new Uint32Array(names.length);
  const voted = opts.method === 'vote' ? decideClasses(probs, outputs, opts) : null;
  names.forEach((name, gi) => {
    const idx = members.get(name)!;
    const classes = new Set(idx.map((i) => labels[i]!));
    if (classes.size > 1) throw new DataError(`group aggregation: group '${name}' has images of ${classes.size} classes (${[...classes].join(', ')}); a group must have one class`);
    groupLabels[gi] = labels[idx[0]!]!;
    for (let k = 0; k < outputs; k++) {
      let v: number;
      if (voted) v = idx.filter((i) => (outputs === 1 ? voted[i] === 1 : voted[i] === k)).length / idx.length;
      else if (opts.method === 'median') v = median(idx.map((i) => probs[i * outputs + k]!));
      else v = idx.reduce((a, i) => a + probs[i * outputs + k]!, 0) / idx.length;
      out[gi * outputs + k] = v;
    }
  });
  return { groups: names, probs: out, labels: groupLabels, sizes: names.map((g) => members.get(g)!.length) };
}

export interface SubtypeRecall {
  subtype: string;
  /** The class of the subtype's images. */
  label: number;
  images: number;
  /** Images of the subtype predicted as their class. */
  correct: number;
  recall: number;
}

/**
 * Recall per subtype (e.g. BreakHis' ductal, lobular, mucinous, papillary
 * carcinomas): the fraction of each subtype's images whose predicted class is
 * their class. Images without a subtype are left out; sorted by subtype.
 */
export function subtypeRecall(labels: ArrayLike<number>, predicted: ArrayLike<number>, subtypes: readonly (string | undefined)[]): SubtypeRecall[] {
  if (predicted.length !== labels.length || subtypes.length !== labels.length) {
    throw new ShapeError(`subtypeRecall: expected labels, predictions and subtypes of one length, got ${labels.length}, ${predicted.length}, ${subtypes.length}`);
  }
  const rows = new Map<string, SubtypeRecall>();
  for (let i = 0; i < labels.length; i++) {
    const s = subtypes[i];
    if (s === undefined || s === '') continue;
    const row = rows.get(s) ?? rows.set(s, { subtype: s, label: labels[i]!, images: 0, correct: 0, recall: 0 }).get(s)!;
    row.images++;
    if (predicted[i] === labels[i]) row.correct++;
  }
  return [...rows.values()].map((r) => ({ ...r, recall: r.correct / r.images })).sort((a, b) => (a.subtype < b.subtype ? -1 : a.subtype > b.subtype ? 1 : 0));
}
