import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  Callback,
  ConfigError,
  cosineDecay,
  CSVLogger,
  Dense,
  EarlyStopping,
  Engine,
  exponentialDecay,
  Flatten,
  LearningRateScheduler,
  LiteCnnError,
  ModelCheckpoint,
  ProgressLogger,
  ReduceLROnPlateau,
  Sequential,
  SGD,
  stepDecay,
  TerminateOnNaN,
  writeFileAtomic,
  type Logs,
  type ProgressEvent,
  type TrainingModel,
  type TrainingProgress,
} from '@lite-cnn/sdk';

/** Stands in for a Sequential: one weight that the test sets per epoch, and toBytes that names it. */
class FakeModel implements TrainingModel {
  stopTraining = false;
  readonly optimizer = new SGD({ learningRate: 0.1 });
  private w = new Map<string, Float32Array>([['w', new Float32Array([0])]]);
  getWeights(): Map<string, Float32Array> {
    return new Map([...this.w].map(([k, v]) => [k, v.slice()]));
  }
  setWeights(weights: Map<string, Float32Array>): void {
    for (const [k, v] of weights) this.w.set(k, v.slice());
  }
  set weight(v: number) {
    this.w.set('w', new Float32Array([v]));
  }
  get weight(): number {
    return this.w.get('w')![0]!;
  }
  toBytes(opts?: { includeOptimizer?: boolean }): Uint8Array {
    return new TextEncoder().encode(`w=${this.weight} optimizer=${opts?.includeOptimizer ?? false}`);
  }
  optimizerState() {
    return { slot1: new Float32Array(1), slot2: new Float32Array(1), step: 0 };
  }
  setOptimizerState(): void {}
}

/**
 * Drives callbacks the way fit does, one epoch per entry of `epochLogs`: the
 * fake weight is set to the epoch number before the epoch ends, so a restored
 * weight names the epoch it came from. Stops when a callback asks to.
 */
async function drive(callbacks: Callback[], model: FakeModel, epochLogs: Logs[]): Promise<number> {
  for (const c of callbacks) c.model = model;
  model.stopTraining = false;
  for (const c of callbacks) await c.onTrainBegin?.({});
  let run = 0;
  for (let epoch = 0; epoch < epochLogs.length && !model.stopTraining; epoch++) {
    for (const c of callbacks) await c.onEpochBegin?.(epoch, {});
    model.weight = epoch;
    const logs = { ...epochLogs[epoch]!, lr: model.optimizer.learningRate };
    for (const c of callbacks) await c.onEpochEnd?.(epoch, logs);
    run++;
  }
  for (const c of callbacks) await c.onTrainEnd?.({});
  return run;
}

const vl = (...values: number[]): Logs[] => values.map((v) => ({ loss: 1, val_loss: v }));

function progress(epoch: number, batch: number, batches: number, epochs = 2): TrainingProgress {
  return { epoch, epochs, batch, batches, step: epoch * batches + batch + 1, samplesPerSecond: 100, learningRate: 0.1, logs: { loss: 1 } };
}

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'lite-cnn-callbacks-'));
}

describe('EarlyStopping', () => {
  it('stops after `patience` epochs without improvement and restores the best weights', async () => {
    const m = new FakeModel();
    const es = new EarlyStopping({ patience: 2, restoreBestWeights: true });
    const run = await drive([es], m, vl(1, 0.9, 0.95, 0.92, 0.91, 0.5));
    expect(run).toBe(4); // epochs 0..3: best at 1, no improvement at 2 and 3
    expect(es.stoppedEpoch).toBe(3);
    expect(es.bestEpoch).toBe(1);
    expect(es.best).toBe(0.9);
    expect(m.weight).toBe(1);
  });

  it('counts a change smaller than minDelta as no improvement, and never stops after the first epoch', async () => {
    const es = new EarlyStopping({ minDelta: 0.1, patience: 1 });
    expect(await drive([es], new FakeModel(), vl(1, 0.95, 0.8))).toBe(2);
    expect(es.stoppedEpoch).toBe(1);
    const zero = new EarlyStopping({ patience: 0 });
    expect(await drive([zero], new FakeModel(), vl(1, 2, 3))).toBe(2); // epoch 0 cannot stop; epoch 1 does
  });

  it("infers 'max' for accuracy, AUC, precision and recall names, and honours an explicit mode", async () => {
    expect(new EarlyStopping({ monitor: 'val_accuracy' }).mode).toBe('max');
    expect(new EarlyStopping({ monitor: 'val_auc' }).mode).toBe('max');
    expect(new EarlyStopping({ monitor: 'val_precision' }).mode).toBe('max');
    expect(new EarlyStopping({ monitor: 'recall' }).mode).toBe('max');
    expect(new EarlyStopping().mode).toBe('min');
    expect(new EarlyStopping({ monitor: 'val_loss', mode: 'max' }).mode).toBe('max');
    const es = new EarlyStopping({ monitor: 'val_accuracy', patience: 1 });
    const logs = [0.5, 0.6, 0.55].map((a) => ({ val_accuracy: a }));
    expect(await drive([es], new FakeModel(), logs)).toBe(3);
    expect(es.stoppedEpoch).toBe(2);
  });

  it('keeps counting while the baseline is not beaten (Keras 3)', async () => {
    const logs = [0.5, 0.55, 0.52, 0.51].map((a) => ({ val_accuracy: a }));
    const withBaseline = new EarlyStopping({ monitor: 'val_accuracy', patience: 2, baseline: 0.9 });
    expect(await drive([withBaseline], new FakeModel(), logs)).toBe(3);
    expect(withBaseline.stoppedEpoch).toBe(2);
    const without = new EarlyStopping({ monitor: 'val_accuracy', patience: 2 });
    expect(await drive([without], new FakeModel(), logs)).toBe(4);
    expect(without.stoppedEpoch).toBe(3);
  });

  it('ignores the epochs before startFromEpoch', async () => {
    const es = new EarlyStopping({ startFromEpoch: 2, restoreBestWeights: true });
    expect(await drive([es], new FakeModel(), vl(1, 2, 3, 4, 5))).toBe(4);
    expect(es.stoppedEpoch).toBe(3);
    expect(es.bestEpoch).toBe(2);
  });

  it('restores the best weights when training ends without stopping early', async () => {
    const m = new FakeModel();
    const es = new EarlyStopping({ patience: 5, restoreBestWeights: true });
    expect(await drive([es], m, vl(1, 0.5, 0.7))).toBe(3);
    expect(es.stoppedEpoch).toBe(0);
    expect(m.weight).toBe(1);
    // And leaves them alone without restoreBestWeights.
    const m2 = new FakeModel();
    await drive([new EarlyStopping({ patience: 5 })], m2, vl(1, 0.5, 0.7));
    expect(m2.weight).toBe(2);
  });

  it('warns once, listing the available keys, when the monitored key is missing', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const es = new EarlyStopping({ patience: 0 });
      expect(await drive([es], new FakeModel(), [{ loss: 1 }, { loss: 2 }, { loss: 3 }])).toBe(3);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(String(warn.mock.calls[0]![0])).toMatch(/EarlyStopping is conditioned on 'val_loss', which is not in the logs; available keys: loss, lr/);
    } finally {
      warn.mockRestore();
    }
  });

  it('rejects bad options with ConfigError', () => {
    expect(() => new EarlyStopping({ patience: -1 })).toThrow(ConfigError);
    expect(() => new EarlyStopping({ patience: 1.5 })).toThrow(/EarlyStopping: patience must be an integer >= 0, got 1.5/);
    expect(() => new EarlyStopping({ mode: 'up' as 'min' })).toThrow(/mode must be 'auto', 'min' or 'max', got 'up'/);
    expect(() => new EarlyStopping({ minDelta: -0.1 })).toThrow(/minDelta must be finite and >= 0, got -0.1/);
    expect(() => new EarlyStopping({ baseline: Number.NaN })).toThrow(/baseline must be a finite number, got NaN/);
  });
});

describe('ModelCheckpoint', () => {
  it('saveBestOnly writes only on improvement, with Keras-formatted names, and leaves no temp files', async () => {
    const dir = await tempDir();
    try {
      const m = new FakeModel();
      const ck = new ModelCheckpoint({ filepath: join(dir, 'ckpt', 'model-{epoch:02d}-{val_loss:.4f}.lcnn'), saveBestOnly: true, includeOptimizer: true });
      await drive([ck], m, vl(0.9, 0.8, 0.85, 0.7, 0.75));
      const files = (await readdir(join(dir, 'ckpt'))).sort();
      expect(files).toEqual(['model-01-0.9000.lcnn', 'model-02-0.8000.lcnn', 'model-04-0.7000.lcnn']);
      expect(await readFile(join(dir, 'ckpt', 'model-04-0.7000.lcnn'), 'utf8')).toBe('w=3 optimizer=true');
      expect(ck.best).toBe(0.7);
      expect(ck.lastSaved).toBe(join(dir, 'ckpt', 'model-04-0.7000.lcnn'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('overwrites one fixed path with the best model, and saves every epoch without saveBestOnly', async () => {
    const dir = await tempDir();
    try {
      const m = new FakeModel();
      await drive([new ModelCheckpoint({ filepath: join(dir, 'best.lcnn'), monitor: 'val_accuracy', saveBestOnly: true })], m, [0.5, 0.7, 0.6].map((a) => ({ val_accuracy: a })));
      expect(await readFile(join(dir, 'best.lcnn'), 'utf8')).toBe('w=1 optimizer=false');
      await drive([new ModelCheckpoint({ filepath: join(dir, 'every-{epoch}.lcnn') })], m, vl(3, 2, 1));
      expect((await readdir(dir)).sort()).toEqual(['best.lcnn', 'every-1.lcnn', 'every-2.lcnn', 'every-3.lcnn']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('saves every saveFreq batches across epochs, and hands bytes to onSave instead of a file', async () => {
    const saved: { text: string; epoch: number; filepath: string | undefined; batch: number | undefined }[] = [];
    const ck = new ModelCheckpoint({
      filepath: 'ckpt-{epoch}-{batch}',
      saveFreq: 3,
      onSave: (bytes, epoch, info) => void saved.push({ text: new TextDecoder().decode(bytes), epoch, filepath: info.filepath, batch: info.batch }),
    });
    const m = new FakeModel();
    ck.model = m;
    for (let epoch = 0; epoch < 2; epoch++) {
      ck.onEpochBegin(epoch);
      for (let b = 0; b < 5; b++) await ck.onBatchEnd(b, { loss: 1 });
      await ck.onEpochEnd(epoch, { loss: 1 });
    }
    expect(saved.map((s) => s.filepath)).toEqual(['ckpt-1-3', 'ckpt-2-1', 'ckpt-2-4']);
    expect(saved.map((s) => [s.epoch, s.batch])).toEqual([[0, 2], [1, 0], [1, 3]]);
  });

  it('formats placeholders like Python and rejects bad ones', async () => {
    const names: string[] = [];
    const ck = new ModelCheckpoint({ filepath: 'm{{x}}-{epoch:03d}-{loss:.2e}-{val_loss}-{acc:6.2f}', onSave: (_b, _e, i) => void names.push(i.filepath!) });
    ck.model = new FakeModel();
    await ck.onEpochEnd(6, { loss: 0.000123, val_loss: 0.5, acc: 0.5 });
    expect(names).toEqual(['m{x}-007-1.23e-04-0.5-  0.50']);
    expect(() => new ModelCheckpoint({ filepath: 'm-{epoch:>3}', onSave: () => {} })).toThrow(/placeholder '\{epoch:>3\}' is not supported/);
    expect(() => new ModelCheckpoint({ filepath: 'm-{epoch', onSave: () => {} })).toThrow(/unclosed '\{'/);
    const bad = new ModelCheckpoint({ filepath: 'm-{val_auc:.3f}', onSave: () => {} });
    bad.model = new FakeModel();
    await expect(bad.onEpochEnd(0, { loss: 1 })).rejects.toThrow(/uses '\{val_auc\}', which is not available; available keys: loss, epoch/);
    expect(() => new ModelCheckpoint({})).toThrow(/expected a filepath or an onSave\(bytes, epoch\) hook, got neither/);
    expect(() => new ModelCheckpoint({ filepath: 'x', saveFreq: 0 })).toThrow(/saveFreq must be 'epoch' or a positive integer \(batches\), got 0/);
  });
});

describe('writeFileAtomic', () => {
  it('replaces a file and leaves no temporary file', async () => {
    const dir = await tempDir();
    try {
      const p = join(dir, 'model.lcnn');
      await writeFileAtomic(p, new Uint8Array([1, 2, 3]));
      await writeFileAtomic(p, new Uint8Array([4, 5]));
      expect([...(await readFile(p))]).toEqual([4, 5]);
      expect(await readdir(dir)).toEqual(['model.lcnn']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('removes its temporary file and leaves the target alone when the rename fails (target is a directory)', async () => {
    const dir = await tempDir();
    try {
      const target = join(dir, 'model.lcnn');
      await mkdir(target);
      await writeFile(join(target, 'keep'), 'old');
      await expect(writeFileAtomic(target, new Uint8Array(1000))).rejects.toThrow(LiteCnnError);
      await expect(writeFileAtomic(target, new Uint8Array(1000))).rejects.toThrow(/could not write '.*model\.lcnn' \(.*\); the previous file, if any, is unchanged/);
      expect(await readdir(dir)).toEqual(['model.lcnn']);
      expect(await readFile(join(target, 'keep'), 'utf8')).toBe('old');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('keeps the old file intact when the write itself fails part-way (file size limit, EFBIG)', async () => {
    const dir = await tempDir();
    try {
      const target = join(dir, 'model.lcnn');
      await writeFile(target, 'old checkpoint');
      // A child whose file-size limit (8 KiB) is below what it writes: the temporary
      // file is created and partly written, then write() fails. SIGXFSZ is ignored so
      // the failure arrives as EFBIG instead of killing the process.
      const script = `import { writeFileAtomic } from '@lite-cnn/sdk';
        try { await writeFileAtomic(${JSON.stringify(target)}, new Uint8Array(1 << 20)); console.log('written'); }
        catch (e) { console.log(e.message); }`;
      const { stdout } = await promisify(execFile)('bash', ['-c', `trap '' XFSZ; ulimit -f 8; exec node --input-type=module -e "$0"`, script], { cwd: process.cwd() });
      expect(stdout).toMatch(/could not write .*EFBIG.*the previous file, if any, is unchanged/);
      expect(await readFile(target, 'utf8')).toBe('old checkpoint');
      expect(await readdir(dir)).toEqual(['model.lcnn']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(process.getuid?.() === 0)('keeps the old file when the directory is read-only', async () => {
    const dir = await tempDir();
    const { chmod } = await import('node:fs/promises');
    try {
      const target = join(dir, 'model.lcnn');
      await writeFile(target, 'old');
      await chmod(dir, 0o555);
      await expect(writeFileAtomic(target, new Uint8Array(10))).rejects.toThrow(/EACCES/);
      expect(await readFile(target, 'utf8')).toBe('old');
      expect(await readdir(dir)).toEqual(['model.lcnn']);
    } finally {
      await chmod(dir, 0o755);
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('learning-rate schedules', () => {
  it('stepDecay: initial · factor^floor(epoch / dropEvery)', () => {
    const s = stepDecay({ initial: 0.1, dropEvery: 3, factor: 0.5 });
    expect([0, 2, 3, 5, 6, 9].map(s)).toEqual([0.1, 0.1, 0.05, 0.05, 0.025, 0.0125]);
    expect(() => stepDecay({ initial: 0.1, dropEvery: 0, factor: 0.5 })).toThrow(/dropEvery must be a positive integer, got 0/);
    expect(() => stepDecay({ initial: 0.1, dropEvery: 2, factor: 1.5 })).toThrow(/factor must be in \(0, 1\], got 1.5/);
  });

  it('exponentialDecay: initial · rate^(epoch / decaySteps), optionally in whole steps', () => {
    const s = exponentialDecay({ initial: 1, decayRate: 0.5, decaySteps: 2 });
    expect(s(0)).toBe(1);
    expect(s(1)).toBeCloseTo(Math.SQRT1_2, 12);
    expect(s(2)).toBe(0.5);
    expect(s(4)).toBe(0.25);
    const stair = exponentialDecay({ initial: 1, decayRate: 0.5, decaySteps: 2, staircase: true });
    expect([0, 1, 2, 3, 4].map(stair)).toEqual([1, 1, 0.5, 0.5, 0.25]);
    expect(exponentialDecay({ initial: 0.2, decayRate: 0.9 })(2)).toBeCloseTo(0.162, 12);
  });

  it('cosineDecay: linear warm-up, then half a cosine down to minLr', () => {
    const s = cosineDecay({ initial: 1, epochs: 6, minLr: 0.1, warmupEpochs: 2 });
    const expected = [1 / 3, 2 / 3, 1, 0.1 + 0.9 * ((1 + Math.SQRT1_2) / 2), 0.55, 0.1 + 0.9 * ((1 - Math.SQRT1_2) / 2), 0.1, 0.1];
    expected.forEach((v, e) => expect(s(e), `epoch ${e}`).toBeCloseTo(v, 12));
    expect(s(3)).toBeCloseTo(0.868198, 6);
    const plain = cosineDecay({ initial: 0.01, epochs: 4 });
    expect([0, 1, 2, 3].map(plain).map((v) => +v.toFixed(10))).toEqual([0.01, 0.0085355339, 0.005, 0.0014644661]);
    expect(() => cosineDecay({ initial: 1, epochs: 3, warmupEpochs: 3 })).toThrow(/warmupEpochs must be an integer in \[0, epochs\) = \[0, 3\), got 3/);
    expect(() => cosineDecay({ initial: 0.1, epochs: 3, minLr: 0.2 })).toThrow(/minLr must be <= initial \(0.1\), got 0.2/);
  });

  it('LearningRateScheduler sets the rate each epoch and rejects a bad returned value', async () => {
    const m = new FakeModel();
    const seen: number[] = [];
    await drive([new LearningRateScheduler(stepDecay({ initial: 1, dropEvery: 1, factor: 0.5 })), new LearningRateScheduler((_e, lr) => (seen.push(lr), lr))], m, vl(1, 1, 1));
    expect(seen).toEqual([1, 0.5, 0.25]);
    const bad = new LearningRateScheduler((e) => (e === 1 ? Number.NaN : 0.1));
    await expect(drive([bad], new FakeModel(), vl(1, 1, 1))).rejects.toThrow(/LearningRateScheduler: schedule\(epoch 1, lr 0.1\) returned NaN; expected a finite number >= 0/);
    await expect(drive([new LearningRateScheduler(() => -1)], new FakeModel(), vl(1))).rejects.toThrow(ConfigError);
  });
});

describe('ReduceLROnPlateau', () => {
  it('reduces after patience, waits out the cooldown, and never goes below minLr', async () => {
    const m = new FakeModel();
    const r = new ReduceLROnPlateau({ factor: 0.5, patience: 1, cooldown: 2, minDelta: 0, minLr: 0.01 });
    const lrs: number[] = [];
    const record = new (class extends Callback {
      override onEpochEnd() {
        lrs.push(this.model.optimizer.learningRate);
      }
    })();
    await drive([r, record], m, vl(1, 1, 1, 1, 1, 0.5, 0.6, 0.6, 0.6, 0.6, 0.6));
    const expected = [0.1, 0.05, 0.05, 0.025, 0.025, 0.025, 0.0125, 0.0125, 0.01, 0.01, 0.01];
    expected.forEach((v, e) => expect(lrs[e], `epoch ${e}`).toBeCloseTo(v, 12));
  });

  it('uses minDelta and mode, and rejects factor >= 1', async () => {
    const m = new FakeModel();
    // 0.99995 is within the default minDelta (1e-4) of 1: no improvement, so patience 1 reduces.
    await drive([new ReduceLROnPlateau({ patience: 1 })], m, vl(1, 0.99995));
    expect(m.optimizer.learningRate).toBeCloseTo(0.01, 12);
    const m2 = new FakeModel();
    await drive([new ReduceLROnPlateau({ monitor: 'val_accuracy', patience: 1 })], m2, [0.5, 0.6, 0.7].map((a) => ({ val_accuracy: a })));
    expect(m2.optimizer.learningRate).toBe(0.1);
    expect(() => new ReduceLROnPlateau({ factor: 1 })).toThrow(/ReduceLROnPlateau: factor must be in \(0, 1\), got 1/);
    expect(() => new ReduceLROnPlateau({ cooldown: -1 })).toThrow(ConfigError);
  });
});

describe('CSVLogger', () => {
  it('writes a header and one row per epoch with sorted keys; append adds rows without a second header', async () => {
    const dir = await tempDir();
    try {
      const file = join(dir, 'log.csv');
      const rows: Logs[] = [
        { loss: 0.5, accuracy: 0.75, val_loss: 0.625 },
        { loss: 0.25, accuracy: 0.875 },
      ];
      await drive([new CSVLogger(file)], new FakeModel(), rows);
      expect(await readFile(file, 'utf8')).toBe('epoch,accuracy,loss,lr,val_loss\n0,0.75,0.5,0.1,0.625\n1,0.875,0.25,0.1,NA\n');
      await drive([new CSVLogger(file, { append: true })], new FakeModel(), rows.slice(0, 1));
      expect(await readFile(file, 'utf8')).toBe('epoch,accuracy,loss,lr,val_loss\n0,0.75,0.5,0.1,0.625\n1,0.875,0.25,0.1,NA\n0,0.75,0.5,0.1,0.625\n');
      await expect(drive([new CSVLogger(file, { append: true })], new FakeModel(), [{ loss: 1 }])).rejects.toThrow(/has the header 'epoch,accuracy,loss,lr,val_loss' but this run logs 'epoch,loss,lr'/);
      await drive([new CSVLogger(file, { separator: ';' })], new FakeModel(), [{ loss: 1.5 }]);
      expect(await readFile(file, 'utf8')).toBe('epoch;loss;lr\n0;1.5;0.1\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('sends lines to onRow, and rejects a key that appears after the first epoch', async () => {
    const lines: string[] = [];
    const csv = new CSVLogger({ onRow: (l) => void lines.push(l) });
    await expect(drive([csv], new FakeModel(), [{ loss: 1 }, { loss: 0.5, val_loss: 2 }])).rejects.toThrow(
      /CSVLogger: epoch 1 logs 'val_loss', not in the header fixed at the first epoch \(epoch, loss, lr\)/,
    );
    expect(lines).toEqual(['epoch,loss,lr', '0,1,0.1']);
    expect(() => new CSVLogger('x.csv', { separator: '' })).toThrow(/separator must be a non-empty string without quotes or newlines, got ""/);
  });
});

describe('TerminateOnNaN and ProgressLogger (hooks)', () => {
  it('TerminateOnNaN stops on a NaN or infinite batch loss (or gradient norm) only', () => {
    const t = new TerminateOnNaN();
    const m = new FakeModel();
    t.model = m;
    t.onTrainBegin();
    t.onEpochBegin(2);
    t.onBatchEnd(0, { loss: 1 });
    expect(m.stopTraining).toBe(false);
    t.onBatchEnd(1, { loss: Number.POSITIVE_INFINITY });
    expect(m.stopTraining).toBe(true);
    expect(t.stoppedAt).toEqual({ epoch: 2, batch: 1, loss: Number.POSITIVE_INFINITY });
    // A skipped step (finite loss, overflowing gradients) stops too.
    m.stopTraining = false;
    t.onBatchEnd(2, { loss: 0.5, grad_norm: Number.NaN });
    expect(m.stopTraining).toBe(true);
    expect(t.stoppedAt).toEqual({ epoch: 2, batch: 2, loss: 0.5 });
  });

  it('ProgressLogger throttles batch events but always sends the last batch of an epoch', async () => {
    let now = 0;
    const events: ProgressEvent[] = [];
    const p = new ProgressLogger((e) => void events.push(e), { intervalMs: 100, now: () => now });
    p.model = new FakeModel();
    p.onTrainBegin();
    for (let epoch = 0; epoch < 2; epoch++) {
      p.onEpochBegin(epoch);
      for (let b = 0; b < 10; b++) {
        await p.onBatchEnd(b, { loss: 1 / (b + 1) }, progress(epoch, b, 10));
        now += 30;
      }
      if (epoch === 0) await p.onEvaluation(10, { loss: 0.1, val_loss: 0.2 });
      await p.onEpochEnd(epoch, { loss: 0.1 });
    }
    await p.onTrainEnd({ loss: 0.1 });
    // Batches end at t = 0, 30, ..., 570 ms (epoch 1 starts at 300): sent at 0, 120, 240 (b 8), 270 (last, b 9),
    // then 390 (e1 b3), 510 (e1 b7), 570 (e1 b9, last).
    const batches = events.filter((e) => e.type === 'batch').map((e) => (e.type === 'batch' ? `${e.epoch}:${e.batch}` : ''));
    expect(batches).toEqual(['0:0', '0:4', '0:8', '0:9', '1:3', '1:7', '1:9']);
    expect(events.filter((e) => e.type !== 'batch')).toEqual([
      { type: 'evaluation', epoch: 0, step: 10, logs: { loss: 0.1, val_loss: 0.2 } },
      { type: 'epoch', epoch: 0, epochs: 2, batches: 10, seconds: 0.3, logs: { loss: 0.1 } },
      { type: 'epoch', epoch: 1, epochs: 2, batches: 10, seconds: 0.3, logs: { loss: 0.1 } },
      { type: 'end', epochs: 2, seconds: 0.6, logs: { loss: 0.1 } },
    ]);
    const first = events[0]!;
    expect(first).toEqual({ type: 'batch', ...progress(0, 0, 10), logs: { loss: 1 } });
    // Plain data: a web page can postMessage it.
    expect(structuredClone(events)).toEqual(events);
  });
});

// ---- End to end with a real model and fit ----------------------------------

/** 4×4×1 inputs; label 1 when the first pixel is above 0.5 (learnable by a linear model). */
function tinyData(n: number, seed: number, flip = false) {
  const x = new Float32Array(n * 16);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < x.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2 ** 32;
  }
  const y = Array.from({ length: n }, (_, i) => (x[i * 16]! > 0.5 ? 1 : 0) ^ (flip ? 1 : 0));
  return { x: { data: x, shape: [n, 4, 4, 1] }, y };
}

describe('callbacks in a real fit', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.create({ threads: 1 });
  });
  afterAll(async () => {
    await engine.shutdown();
  });

  const tinyModel = (lr: number) => {
    const m = new Sequential([new Flatten({ inputShape: [4, 4, 1] }), new Dense({ units: 2, activation: 'softmax' })], { seed: 3, engine });
    m.compile({ optimizer: new SGD({ learningRate: lr }), loss: 'sparseCategoricalCrossentropy' });
    return m;
  };

  /** Copies the weights at every epoch end, to compare with what EarlyStopping restores. */
  class WeightRecorder extends Callback {
    readonly weights: Map<string, Float32Array>[] = [];
    override onEpochEnd() {
      this.weights.push(this.model.getWeights());
    }
  }

  it('EarlyStopping stops at the right epoch and restores the best weights', async () => {
    // Validation labels are the training labels flipped: the better the model learns, the worse val_loss gets,
    // so the best epoch is the first and patience 2 stops at epoch 2.
    const train = tinyData(64, 7);
    const val = tinyData(32, 8, true);
    const m = tinyModel(0.1);
    const rec = new WeightRecorder();
    const es = new EarlyStopping({ patience: 2, restoreBestWeights: true });
    const h = await m.fit(train.x, train.y, { epochs: 10, batchSize: 16, validationData: [val.x, val.y], callbacks: [rec, es] });
    const vals = h.history.val_loss!;
    expect(vals[1]! > vals[0]! && vals[2]! > vals[0]!).toBe(true);
    expect(h.epoch).toEqual([0, 1, 2]);
    expect(es.stoppedEpoch).toBe(2);
    expect(es.bestEpoch).toBe(0);
    expect(m.getWeights()).toEqual(rec.weights[0]);
    expect(m.getWeights()).not.toEqual(rec.weights[2]);
  });

  it('EarlyStopping restores the best weights at the final epoch too', async () => {
    const train = tinyData(64, 7);
    const val = tinyData(32, 8, true);
    const m = tinyModel(0.1);
    const rec = new WeightRecorder();
    const h = await m.fit(train.x, train.y, { epochs: 3, batchSize: 16, validationData: [val.x, val.y], callbacks: [rec, new EarlyStopping({ patience: 10, restoreBestWeights: true })] });
    expect(h.epoch).toEqual([0, 1, 2]);
    expect(m.getWeights()).toEqual(rec.weights[0]);
  });

  it('LearningRateScheduler and ReduceLROnPlateau drive the optimizer (History.lr)', async () => {
    const train = tinyData(32, 9);
    const m = tinyModel(0.1);
    const h = await m.fit(train.x, train.y, { epochs: 4, batchSize: 16, callbacks: [new LearningRateScheduler(stepDecay({ initial: 0.2, dropEvery: 2, factor: 0.5 }))] });
    expect(h.history.lr).toEqual([0.2, 0.2, 0.1, 0.1]);
    // Monitoring 'loss' in 'max' mode: a falling loss never improves, so every epoch past patience reduces.
    const m2 = tinyModel(0.1);
    const h2 = await m2.fit(train.x, train.y, { epochs: 3, batchSize: 16, callbacks: [new ReduceLROnPlateau({ monitor: 'loss', mode: 'max', patience: 1, factor: 0.5 })] });
    expect(h2.history.lr).toEqual([0.1, 0.1, 0.05]);
    expect(m2.optimizer.learningRate).toBe(0.025);
  });

  it('TerminateOnNaN stops fit quietly when the loss becomes non-finite, keeping finite weights', async () => {
    // As in sequential.test.ts: a linear model with an absurd learning rate overflows within a few steps.
    const linear = () => {
      const m = new Sequential([new Flatten({ inputShape: [4, 4, 1] }), new Dense({ units: 2, activation: 'softmax' })], { seed: 1, engine });
      m.compile({ optimizer: new SGD({ learningRate: 1e38 }), loss: 'sparseCategoricalCrossentropy' });
      return m;
    };
    const d = tinyData(64, 3);
    // Without the callback the same run throws...
    await expect(linear().fit(d.x, d.y, { epochs: 3, batchSize: 8 })).rejects.toThrow(/fit: the loss became (NaN|Infinity)/);
    // ...with it, fit returns after the epoch in which the loss went bad.
    const m = linear();
    const t = new TerminateOnNaN();
    const h = await m.fit(d.x, d.y, { epochs: 3, batchSize: 8, callbacks: [t] });
    expect(t.stoppedAt).toBeDefined();
    expect(Number.isFinite(t.stoppedAt!.loss)).toBe(false);
    expect(h.epoch).toEqual([0]);
    expect(m.stopTraining).toBe(true);
    for (const v of m.getWeights().values()) expect(v.every(Number.isFinite)).toBe(true);
  });

  it('ProgressLogger reports batches, epochs and the end of a real fit', async () => {
    const train = tinyData(64, 4);
    const m = tinyModel(0.1);
    const all: ProgressEvent[] = [];
    const few: ProgressEvent[] = [];
    await m.fit(train.x, train.y, { epochs: 2, batchSize: 16, callbacks: [new ProgressLogger((e) => void all.push(e), { intervalMs: 0 }), new ProgressLogger((e) => void few.push(e), { intervalMs: 1e9 })] });
    expect(all.map((e) => e.type)).toEqual(['batch', 'batch', 'batch', 'batch', 'epoch', 'batch', 'batch', 'batch', 'batch', 'epoch', 'end']);
    // Throttled: the first batch, then only each epoch's last batch.
    expect(few.map((e) => (e.type === 'batch' ? `b${e.epoch}:${e.batch}` : e.type))).toEqual(['b0:0', 'b0:3', 'epoch', 'b1:3', 'epoch', 'end']);
    const last = all[3]!;
    expect(last.type === 'batch' && last.batches === 4 && last.step === 4 && last.epochs === 2).toBe(true);
  });

  it('ModelCheckpoint writes real model files on improvement only, loadable with the best weights', async () => {
    const dir = await tempDir();
    try {
      const train = tinyData(64, 7);
      const val = tinyData(32, 8, true);
      const m = tinyModel(0.1);
      const rec = new WeightRecorder();
      const ck = new ModelCheckpoint({ filepath: join(dir, 'm-{epoch:02d}-{val_loss:.3f}.lcnn'), saveBestOnly: true, includeOptimizer: true });
      const h = await m.fit(train.x, train.y, { epochs: 3, batchSize: 16, validationData: [val.x, val.y], callbacks: [rec, ck] });
      // val_loss is best at the first epoch only (see the EarlyStopping test).
      expect(await readdir(dir)).toEqual([`m-01-${h.history.val_loss![0]!.toFixed(3)}.lcnn`]);
      const back = await Sequential.fromBytes(await readFile(ck.lastSaved!), { engine });
      expect(back.getWeights()).toEqual(rec.weights[0]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
