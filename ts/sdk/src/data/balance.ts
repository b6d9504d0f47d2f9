/**
 * Class balance for training: counts per class, and minority oversampling as
 * an epoch order — every class drawn as often as the largest one, each
 * minority image repeated ⌊M/n⌋ or ⌈M/n⌉ times (the extra copies a seeded
 * choice that changes each epoch), then the whole list shuffled. Oversampling
 * by index keeps the decoded images in memory once.
 */
import { DataError } from '../errors.js';
import { STREAM_OVERSAMPLE, shuffleInPlace } from './seeded-shuffle.js';

/** Number of samples per class; `classes` defaults to the largest label + 1. */
export function classCounts(labels: ArrayLike<number>, classes?: number): number[] {
  let k = classes ?? 0;
  if (classes === undefined) for (let i = 0; i < labels.length; i++) k = Math.max(k, labels[i]! + 1);
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (!Number.isInteger(l) || l < 0 || l >= k) throw new DataError(`classCounts: label ${l} at sample ${i} is out of range; expected an integer in [0, ${k - 1}]`);
    counts[l]!++;
  }
  return counts;
}

/**
 * Indices into `labels` for one epoch in which every present class appears
 * exactly as often as the largest class (classes with no samples stay absent).
 * Deterministic in `(labels, seed, epoch)`; length = classesPresent × largest count.
 */
export function oversampledOrder(labels: ArrayLike<number>, seed: number, epoch: number): Uint32Array {
  if (!Number.isInteger(epoch) || epoch < 0) throw new DataError(`oversampledOrder: epoch must be an integer >= 0, got ${epoch}`);
  const counts = classCounts(labels);
  const largest = Math.max(0, ...counts);
  const byClass: number[][] = counts.map(() => []);
  for (let i = 0; i < labels.length; i++) byClass[labels[i]!]!.push(i);
  const present = byClass.filter((m) => m.length > 0).length;
  const out = new Uint32Array(present * largest);
  let o = 0;
  byClass.forEach((members, c) => {
    if (members.length === 0) return;
    const whole = Math.floor(largest / members.length);
    for (let r = 0; r < whole; r++) for (const i of members) out[o++] = i;
    const rest = largest - whole * members.length;
    if (rest > 0) {
      // Which members get one copy more: a seeded draw per (epoch, class).
      const pick = members.slice();
      shuffleInPlace(pick, seed, epoch, (STREAM_OVERSAMPLE + 1 + c) >>> 0);
      for (let r = 0; r < rest; r++) out[o++] = pick[r]!;
    }
  });
  shuffleInPlace(out, seed, epoch, STREAM_OVERSAMPLE);
  return out;
}
