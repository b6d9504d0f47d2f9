/**
 * Probability calibration: the maps against float64 references, the fits
 * against their optimality conditions and a brute-force search, the
 * calibration metrics on hand-computed values, and the stored calibration
 * through Model.predict, predictClasses, save and load.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  calibrateProbabilities,
  calibrationMetrics,
  carryThreshold,
  ConfigError,
  DataError,
  Dense,
  fitCalibration,
  fitPlatt,
  fitTemperature,
  Flatten,
  MAX_TEMPERATURE,
  MIN_TEMPERATURE,
  Model,
  ModelFormatError,
  predictWithTta,
  Sequential,
} from '@lite-cnn/sdk';
import { mnistNet } from './nets.js';
import { mulberry32 } from './seeded-random.js';

const softmax = (z: number[]): number[] => {
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Standard normal draws from a seeded uniform (Box-Muller). */
function normals(seed: number): () => number {
  const u = mulberry32(seed);
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/**
 * `n` rows of `classes` logits with their softmax as the network's output,
 * and labels drawn from `softmax(logits / trueTemperature)`: a network that
 * is over-confident by that temperature.
 */
function overconfident(n: number, classes: number, trueTemperature: number, seed: number) {
  const z = normals(seed);
  const u = mulberry32(seed + 1);
  const probs = new Float32Array(n * classes);
  const labels = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const logits = Array.from({ length: classes }, (_, c) => 3 * z() + (c === i % classes ? 2 : 0));
    probs.set(softmax(logits), i * classes);
    const truth = softmax(logits.map((v) => v / trueTemperature));
    let r = u();
    let y = 0;
    while (y < classes - 1 && r >= truth[y]!) r -= truth[y++]!;
    labels[i] = y;
  }
  return { probs, labels };
}

/**
 * The mean cross-entropy of `calibrateProbabilities(probs, classes, temperature T)`
 * against Platt's smoothed targets: (N + 1) / (N + 2) on a sample's class
 * (N: the samples of that class), the rest spread over the others.
 */
function smoothedLoss(probs: Float32Array, labels: Uint32Array, classes: number, T: number): number {
  const q = calibrateProbabilities(probs, classes, { kind: 'temperature', temperature: T });
  const perClass = new Array<number>(classes).fill(0);
  labels.forEach((y) => perClass[y]!++);
  let s = 0;
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    const hit = (perClass[y]! + 1) / (perClass[y]! + 2);
    for (let c = 0; c < classes; c++) s -= (c === y ? hit : (1 - hit) / (classes - 1)) * Math.log(q[i * classes + c]!);
  }
  return s / labels.length;
}

/** The mean NLL of `labels` under `calibrateProbabilities(probs, outputs, config)`, in float64 from the float32 result. */
function nllOf(probs: Float32Array, labels: Uint32Array, outputs: number, config: Parameters<typeof calibrateProbabilities>[2]): number {
  const q = calibrateProbabilities(probs, outputs, config);
  let s = 0;
  for (let i = 0; i < labels.length; i++) s -= Math.log(outputs === 1 ? (labels[i] === 1 ? q[i]! : 1 - q[i]!) : q[i * outputs + labels[i]!]!);
  return s / labels.length;
}

describe('calibrateProbabilities', () => {
  it('temperature divides the logits: softmax(z / T) from softmax(z), for any class count', () => {
    const rows = [
      [2, -1, 0.5],
      [-30, 4, 4.5],
      [0, 0, 0],
    ];
    const probs = Float32Array.from(rows.flatMap((z) => softmax(z)));
    for (const T of [0.5, 1, 2.5]) {
      const got = calibrateProbabilities(probs, 3, { kind: 'temperature', temperature: T });
      const want = rows.flatMap((z) => softmax(z.map((v) => v / T)));
      // Relative: the float32 inputs' rounding, scaled by 1/T.
      got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThanOrEqual(4e-7 * Math.max(1, 1 / T) * Math.max(want[i]!, 1e-30) + 1e-12));
    }
  });

  it('a sigmoid unit is calibrated as the two classes it stands for', () => {
    const p1 = Float32Array.from([0.01, 0.3, 0.5, 0.97, 0.999999]);
    const two = Float32Array.from(Array.from(p1).flatMap((p) => [1 - p, p]));
    for (const c of [{ kind: 'temperature', temperature: 1.7 } as const, { kind: 'platt', slope: 0.6, intercept: -0.4 } as const]) {
      const one = calibrateProbabilities(p1, 1, c);
      const both = calibrateProbabilities(two, 2, c);
      // 1 - p in float32 differs from the exact complement by its rounding, up to 6e-8 relative at 0.999999.
      one.forEach((v, i) => expect(v).toBeCloseTo(both[2 * i + 1]!, 5));
    }
  });

  it('Platt maps class 1 to sigmoid(slope * logit + intercept) and keeps small probabilities precise', () => {
    const logits = [-40, -3, 0, 2, 25];
    const probs = Float32Array.from(logits.flatMap((s) => [sigmoid(-s), sigmoid(s)]));
    const q = calibrateProbabilities(probs, 2, { kind: 'platt', slope: 0.5, intercept: 1 });
    logits.forEach((s, i) => {
      // The float32 probabilities' logit is exact to about 1e-7 relative in each of p0 and p1.
      const want = sigmoid(0.5 * s + 1);
      expect(Math.abs(q[2 * i + 1]! - want) / want).toBeLessThan(1e-6);
      expect(Math.abs(q[2 * i]! - (1 - want)) / Math.max(1 - want, 1e-30)).toBeLessThan(5e-6);
    });
    // Slope 1 and intercept 0 is the identity.
    const same = calibrateProbabilities(probs, 2, { kind: 'platt', slope: 1, intercept: 0 });
    same.forEach((v, i) => expect(Math.abs(v - probs[i]!)).toBeLessThanOrEqual(2 ** -24 * Math.max(probs[i]!, 2 ** -126)));
  });

  it('outputs of exactly 0 (float32 underflow) stay finite', () => {
    const q = calibrateProbabilities(Float32Array.from([0, 1, 1, 0]), 2, { kind: 'temperature', temperature: 3 });
    expect(Array.from(q).every(Number.isFinite)).toBe(true);
    expect(q[1]! + q[0]!).toBeCloseTo(1, 6);
    expect(q[1]!).toBeGreaterThan(0.99);
  });

  it('rejects what it cannot calibrate', () => {
    expect(() => calibrateProbabilities(new Float32Array(6), 3, { kind: 'platt', slope: 1, intercept: 0 })).toThrow(/binary models.*3 outputs/);
    expect(() => calibrateProbabilities(Float32Array.from([0.2, 1.5]), 2, { kind: 'temperature', temperature: 1 })).toThrow(/probs\[1\]: expected a probability in \[0, 1\], got 1.5/);
    expect(() => calibrateProbabilities(new Float32Array(5), 2, { kind: 'temperature', temperature: 1 })).toThrow(DataError);
  });
});

describe('fitTemperature', () => {
  it('finds the minimum of its smoothed-target loss (a brute-force search agrees) and recovers the over-confidence', () => {
    const { probs, labels } = overconfident(20_000, 4, 2, 11);
    const fit = fitTemperature(probs, labels, 4);
    expect(fit.config.kind).toBe('temperature');
    const T = (fit.config as { temperature: number }).temperature;
    expect(fit.atBound).toBe(false);
    expect(fit.samples).toBe(20_000);
    // Golden-section search on ln T over the whole range, in float64.
    let [a, b] = [Math.log(MIN_TEMPERATURE), Math.log(MAX_TEMPERATURE)];
    const f = (lt: number) => smoothedLoss(probs, labels, 4, Math.exp(lt));
    const r = (Math.sqrt(5) - 1) / 2;
    for (let it = 0; it < 80; it++) {
      const [c, d] = [b - r * (b - a), a + r * (b - a)];
      if (f(c) < f(d)) b = d;
      else a = c;
    }
    expect(Math.abs(Math.log(T) - (a + b) / 2)).toBeLessThan(2e-3);
    expect(f(Math.log(T))).toBeLessThanOrEqual(f((a + b) / 2) + 1e-9);
    expect(fit.nll.after).toBeCloseTo(nllOf(probs, labels, 4, fit.config), 6);
    expect(fit.nll.after).toBeLessThan(fit.nll.before);
    // The labels were drawn at T = 2: 20,000 of them pin it to a few percent.
    expect(T).toBeGreaterThan(1.85);
    expect(T).toBeLessThan(2.15);
    // A network already calibrated keeps T near 1.
    const fair = overconfident(20_000, 3, 1, 12);
    expect((fitTemperature(fair.probs, fair.labels, 3).config as { temperature: number }).temperature).toBeCloseTo(1, 1);
  });

  it('stays finite on separated predictions (the smoothed targets), keeps 1 on uniform ones', () => {
    // One sample per class, both right: targets 2/3 on the right class. The labels' own likelihood would
    // sharpen without end; the fit instead puts each right class's probability near 2/3.
    const separatedProbs = Float32Array.from([0.9, 0.1, 0.2, 0.8]);
    const separated = fitTemperature(separatedProbs, [0, 1], 2);
    const Ts = (separated.config as { temperature: number }).temperature;
    expect(separated.atBound).toBe(false);
    expect(Ts).toBeGreaterThan(1);
    for (const k of [0.999, 1.001]) expect(smoothedLoss(separatedProbs, Uint32Array.from([0, 1]), 2, Ts * k)).toBeGreaterThan(smoothedLoss(separatedProbs, Uint32Array.from([0, 1]), 2, Ts));
    const uniform = fitTemperature(Float32Array.from([0.5, 0.5, 0.5, 0.5]), [0, 1], 2);
    expect(uniform.config).toEqual({ kind: 'temperature', temperature: 1 });
    expect(uniform.atBound).toBe(false);
    // Every prediction confidently wrong: the softest allowed.
    const wrong = fitTemperature(Float32Array.from([0.9, 0.1, 0.2, 0.8]), [1, 0], 2);
    expect(wrong.config).toEqual({ kind: 'temperature', temperature: MAX_TEMPERATURE });
  });

  it('checks its inputs', () => {
    expect(() => fitTemperature(new Float32Array(4), [0], 2)).toThrow(/one label per row of probabilities \(2\), got 1/);
    expect(() => fitTemperature(Float32Array.from([0.5, 0.5]), [2], 2)).toThrow(/labels\[0\]: expected 0 or 1, got 2/);
    expect(() => fitTemperature(new Float32Array(0), [], 2)).toThrow(/at least 1 sample/);
    expect(() => fitCalibration('isotonic' as 'platt', new Float32Array(2), [0], 2)).toThrow(ConfigError);
  });
});

describe('fitPlatt', () => {
  /** Binary outputs whose class-1 logit is `s`, labels drawn from sigmoid(a0 s + b0). */
  function binary(n: number, a0: number, b0: number, seed: number) {
    const z = normals(seed);
    const u = mulberry32(seed + 1);
    const s = Float64Array.from({ length: n }, () => 4 * z());
    const probs = Float32Array.from(Array.from(s).flatMap((v) => [sigmoid(-v), sigmoid(v)]));
    const labels = Uint32Array.from(s, (v) => (u() < sigmoid(a0 * v + b0) ? 1 : 0));
    return { s, probs, labels };
  }

  it('meets the optimality conditions of its smoothed-target objective and recovers slope and intercept', () => {
    const { probs, labels } = binary(20_000, 0.4, -0.7, 21);
    const fit = fitPlatt(probs, labels, 2);
    const { slope, intercept } = fit.config as { slope: number; intercept: number };
    // The objective is convex: a zero gradient (from the float32 outputs' own logits) is its minimum.
    const pos = labels.reduce((a, b) => a + b, 0);
    const neg = labels.length - pos;
    let ga = 0;
    let gb = 0;
    for (let i = 0; i < labels.length; i++) {
      const si = Math.log(probs[2 * i + 1]!) - Math.log(probs[2 * i]!);
      const t = labels[i] === 1 ? (pos + 1) / (pos + 2) : 1 / (neg + 2);
      const d = sigmoid(slope * si + intercept) - t;
      ga += d * si;
      gb += d;
    }
    expect(Math.abs(ga) / labels.length).toBeLessThan(1e-8);
    expect(Math.abs(gb) / labels.length).toBeLessThan(1e-8);
    expect(slope).toBeGreaterThan(0.36);
    expect(slope).toBeLessThan(0.44);
    expect(intercept).toBeGreaterThan(-0.8);
    expect(intercept).toBeLessThan(-0.6);
    expect(fit.nll.after).toBeLessThan(fit.nll.before);
    expect(fit.nll.after).toBeCloseTo(nllOf(probs, labels, 2, fit.config), 6);
    // A sigmoid unit gives the same fit.
    const one = fitPlatt(Float32Array.from({ length: labels.length }, (_, i) => probs[2 * i + 1]!), labels, 1);
    expect((one.config as { slope: number }).slope).toBeCloseTo(slope, 4);
  });

  it('stays finite on separable data (the smoothed targets) and needs both classes', () => {
    const fit = fitPlatt(Float32Array.from([0.9, 0.1, 0.7, 0.3, 0.2, 0.8, 0.4, 0.6]), [0, 0, 1, 1], 2);
    const { slope, intercept } = fit.config as { slope: number; intercept: number };
    expect(Number.isFinite(slope) && Number.isFinite(intercept)).toBe(true);
    // Two samples per class: targets 0.75 and 0.25, so the map softens these outputs (slope in (0, 1))
    // and its probabilities average the targets' mean, 0.5 (the intercept's zero gradient).
    expect(slope).toBeGreaterThan(0);
    expect(slope).toBeLessThan(1);
    const q = calibrateProbabilities(Float32Array.from([0.9, 0.1, 0.7, 0.3, 0.2, 0.8, 0.4, 0.6]), 2, fit.config);
    expect((q[1]! + q[3]! + q[5]! + q[7]!) / 4).toBeCloseTo(0.5, 6); // float32 outputs
    expect(() => fitPlatt(Float32Array.from([0.9, 0.1, 0.7, 0.3]), [0, 0], 2)).toThrow(/both classes, got 0 of class 1 and 2 of class 0/);
    expect(() => fitPlatt(new Float32Array(6), [0, 1], 3)).toThrow(ConfigError);
  });
});

describe('carryThreshold', () => {
  it('keeps every decision across a change of calibration, for either positive class', () => {
    const u = mulberry32(41);
    const n = 2000;
    const rows = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const p1 = sigmoid(12 * (u() - 0.5));
      rows.set([1 - p1, p1], 2 * i);
    }
    const maps = [null, { kind: 'temperature', temperature: 2.5 } as const, { kind: 'platt', slope: 0.7, intercept: -1.2 } as const, { kind: 'platt', slope: 1.6, intercept: 0.4 } as const];
    const under = (c: (typeof maps)[number]) => (c ? calibrateProbabilities(rows, 2, c) : rows);
    let checked = 0;
    for (const from of maps) {
      for (const to of maps) {
        for (const pos of [0, 1]) {
          for (const t of [0.2, 0.5, 0.9]) {
            const carried = carryThreshold(t, pos, from, to);
            const [a, b] = [under(from), under(to)];
            for (let i = 0; i < n; i++) {
              // A probability within rounding of the threshold may fall on either side.
              if (Math.abs(a[2 * i + pos]! - t) < 1e-6) continue;
              expect(b[2 * i + pos]! >= carried, `from ${JSON.stringify(from)} to ${JSON.stringify(to)}, class ${pos}, t ${t}`).toBe(a[2 * i + pos]! >= t);
              checked++;
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(0.99 * maps.length ** 2 * 2 * 3 * n);
    expect(carryThreshold(0.5, 1, null, { kind: 'temperature', temperature: 3 })).toBe(0.5);
    expect(carryThreshold(1, 1, null, { kind: 'platt', slope: 2, intercept: 1 })).toBe(1);
    expect(() => carryThreshold(0.5, 1, null, { kind: 'platt', slope: -1, intercept: 0 })).toThrow(/reverses the order/);
    expect(() => carryThreshold(1.5, 1, null, null)).toThrow(ConfigError);
  });
});

describe('calibrationMetrics', () => {
  it('ECE, MCE, Brier and NLL on hand-computed values', () => {
    // Top-label confidences 0.9 (right), 0.8 (wrong), 0.6 (right), 0.7 (right), in 2 bins: (0, 0.5], (0.5, 1] all in the second.
    const probs = [0.9, 0.1, 0.2, 0.8, 0.6, 0.4, 0.3, 0.7];
    const labels = [0, 0, 0, 1];
    const m = calibrationMetrics(labels, probs, { outputs: 2, bins: 2 });
    expect(m.reliability[0]!.samples).toBe(0);
    expect(m.reliability[1]).toMatchObject({ lower: 0.5, upper: 1, samples: 4 });
    expect(m.reliability[1]!.confidence).toBeCloseTo(0.75, 12);
    expect(m.reliability[1]!.accuracy).toBeCloseTo(0.75, 12);
    expect(m.ece).toBeCloseTo(0, 12);
    // 10 bins: 0.9 alone (acc 1), 0.8 alone (acc 0), 0.6 and 0.7 alone (acc 1).
    const ten = calibrationMetrics(labels, probs, { outputs: 2, bins: 10 });
    expect(ten.ece).toBeCloseTo((0.1 + 0.8 + 0.4 + 0.3) / 4, 6);
    expect(ten.mce).toBeCloseTo(0.8, 6);
    expect(ten.brier).toBeCloseTo((2 * 0.01 + 2 * 0.64 + 2 * 0.16 + 2 * 0.09) / 4, 6);
    expect(ten.nll).toBeCloseTo(-(Math.log(0.9) + Math.log(0.2) + Math.log(0.6) + Math.log(0.7)) / 4, 6);
    // A sigmoid unit's outputs give the same numbers as the two columns they stand for.
    const one = calibrationMetrics(labels, [0.1, 0.8, 0.4, 0.7], { outputs: 1, bins: 10 });
    expect(one.ece).toBeCloseTo(ten.ece, 6);
    expect(one.brier).toBeCloseTo(ten.brier, 6);
    expect(() => calibrationMetrics(labels, probs, { outputs: 2, bins: 0 })).toThrow(DataError);
  });

  it('temperature scaling lowers the ECE of over-confident outputs', () => {
    const { probs, labels } = overconfident(5000, 3, 2.5, 31);
    const fit = fitTemperature(probs, labels, 3);
    const before = calibrationMetrics(labels, probs, { outputs: 3 });
    const after = calibrationMetrics(labels, calibrateProbabilities(probs, 3, fit.config), { outputs: 3 });
    expect(before.ece).toBeGreaterThan(0.1);
    expect(after.ece).toBeLessThan(0.03);
    expect(after.nll).toBeCloseTo(fit.nll.after, 5);
  });
});

describe('a stored calibration', () => {
  const x = { data: Float32Array.from({ length: 6 * 16 }, (_, i) => Math.sin(i * 0.7)), shape: [6, 4, 4, 1] };
  const binaryNet = () => new Sequential([new Flatten({ inputShape: [4, 4, 1] }), new Dense({ units: 2, activation: 'softmax' })], { seed: 3 });

  it('predict applies it (calibrated: false does not), predictClasses decides on it, and it survives save and load', async () => {
    const m = binaryNet();
    const raw = await m.predict(x);
    const platt = { kind: 'platt', slope: 0.5, intercept: 3 } as const;
    m.metadata = { ...m.metadata, calibration: platt };
    const calibrated = await m.predict(x);
    expect(Array.from(calibrated)).toEqual(Array.from(calibrateProbabilities(raw, 2, platt)));
    expect(Array.from(await m.predict(x, { calibrated: false }))).toEqual(Array.from(raw));
    // An intercept of 3 moves every decision to class 1, as the calibrated probabilities say.
    expect(Array.from(await m.predictClasses(x))).toEqual([1, 1, 1, 1, 1, 1]);
    // Test-time augmentation calibrates the views' mean once.
    const views = await predictWithTta(m, x, { tta: 'flips', calibrated: false });
    expect(Array.from(await predictWithTta(m, x, { tta: 'flips' }))).toEqual(Array.from(calibrateProbabilities(views, 2, platt)));
    const path = join(mkdtempSync(join(tmpdir(), 'lite-cnn-calibration-')), 'm.safetensors');
    await m.save(path);
    const loaded = await Model.load(path);
    expect(loaded.metadata.calibration).toEqual(platt);
    expect(Array.from(await loaded.predict(x))).toEqual(Array.from(calibrated));
    m.dispose();
    loaded.dispose();
  });

  it('is checked when a file is read', async () => {
    const m = mnistNet({ seed: 2 });
    await m.build();
    m.metadata = { ...m.metadata, calibration: { kind: 'platt', slope: 1, intercept: 0 } };
    await expect(Sequential.fromBytes(m.toBytes())).rejects.toThrow(/Platt calibration applies to binary models; this one has 10 classes/);
    m.metadata = { ...m.metadata, calibration: { kind: 'temperature', temperature: -1 } };
    await expect(Sequential.fromBytes(m.toBytes())).rejects.toThrow(ModelFormatError);
    m.metadata = { ...m.metadata, calibration: { kind: 'temperature', temperature: 1.5 } };
    const loaded = await Sequential.fromBytes(m.toBytes());
    expect(loaded.metadata.calibration).toEqual({ kind: 'temperature', temperature: 1.5 });
    m.dispose();
    loaded.dispose();
  });
});
