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

export interface PooledOutputs {
  /** Group names, in order of first appearance. */
  groups: string[];
  /** `[groups, outputs]`: the aggregated outputs (for `vote`: class fractions, with the outputs' layout). */
  probs: Float32Array;
  /** Images per group. */
  sizes: number[];
  /** Each group's images (positions in `probs`' rows), in order. */
  members: number[][];
}

/**
 * Pools image outputs `probs` `[n, outputs]` into one row per group
 * (`groups[i]`: image i's group), whatever the images' classes: what
 * `predict --group-by` decides on for unlabelled images. Throws a `DataError`
 * when an image has no group.
 */
export function poolGroups(probs: Float32Array, outputs: number, groups: readonly (string | undefined)[], opts: GroupOutputsOptions): PooledOutputs {
  if (!GROUP_AGGREGATIONS.includes(opts.method)) throw new ConfigError(`group aggregation: method must be one of ${GROUP_AGGREGATIONS.join(', ')}, got ${JSON.stringify(opts.method)}`);
  const n = groups.length;
  if (probs.length !== n * outputs) throw new ShapeError(`group aggregation: expected ${n} × ${outputs} outputs (one row per image), got ${probs.length} values`);
  const byName = new Map<string, number[]>();
  for (let i = 0; i < n; i++) {
    const g = groups[i];
    if (g === undefined || g === '') throw new DataError(`group aggregation: image ${i} has no group`);
    (byName.get(g) ?? byName.set(g, []).get(g)!).push(i);
  }
  const names = [...byName.keys()];
  const members = names.map((g) => byName.get(g)!);
  const out = new Float32Array(names.length * outputs);
  const voted = opts.method === 'vote' ? decideClasses(probs, outputs, opts) : null;
  members.forEach((idx, gi) => {
    for (let k = 0; k < outputs; k++) {
      let v: number;
      if (voted) v = idx.filter((i) => (outputs === 1 ? voted[i] === 1 : voted[i] === k)).length / idx.length;
      else if (opts.method === 'median') v = median(idx.map((i) => probs[i * outputs + k]!));
      else v = idx.reduce((a, i) => a + probs[i * outputs + k]!, 0) / idx.length;
      out[gi * outputs + k] = v;
    }
  });
  return { groups: names, probs: out, sizes: members.map((m) => m.length), members };
}

/**
 * Pools image outputs `probs` `[n, outputs]` with class `labels` `[n]` into
 * one row per group (`poolGroups`) and gives each group its class. Throws a
 * `DataError` when an image has no group or a group mixes classes.
 */
export function groupOutputs(probs: Float32Array, outputs: number, labels: ArrayLike<number>, groups: readonly (string | undefined)[], opts: GroupOutputsOptions): GroupedOutputs {
  if (groups.length !== labels.length) throw new ShapeError(`group aggregation: expected ${labels.length} groups (one per image), got ${groups.length}`);
  const pooled = poolGroups(probs, outputs, groups, opts);
  const groupLabels = new Uint32Array(pooled.groups.length);
  pooled.members.forEach((idx, gi) => {
    const classes = new Set(idx.map((i) => labels[i]!));
    if (classes.size > 1) throw new DataError(`group aggregation: group '${pooled.groups[gi]}' has images of ${classes.size} classes (${[...classes].join(', ')}); a group must have one class`);
    groupLabels[gi] = labels[idx[0]!]!;
  });
  return { groups: pooled.groups, probs: pooled.probs, labels: groupLabels, sizes: pooled.sizes };
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
