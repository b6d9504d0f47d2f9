/**
 * BackupAndRestore in a real fit: a training stopped part-way through an
 * epoch (or killed: the next fit is a new model object) resumes from the last
 * completed epoch's backup and ends bit-identical to an uninterrupted one;
 * the backup is deleted at the end; storage hooks stand in for the file
 * system; a backup of another model is refused.
 */
import { mkdtemp, readdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Adam, BACKUP_FILE, BackupAndRestore, Callback, ConfigError, Conv2D, Dense, Dropout, Engine, Flatten, Sequential, type BackupStorage, type Logs, type TrainingProgress } from '@lite-cnn/sdk';

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.create({ threads: 2 });
});
afterAll(async () => {
  await engine.shutdown();
});

/** A conv net with dropout and Adam: resuming needs the weights, both moments, the step (dropout's seed) and the epoch (the shuffle's). */
function makeModel(units = 3): Sequential {
  const m = new Sequential(
    [new Conv2D({ filters: 4, kernelSize: 3, activation: 'relu', inputShape: [8, 8, 2] }), new Flatten(), new Dropout({ rate: 0.3 }), new Dense({ units, activation: 'softmax' })],
    { seed: 11, engine },
  );
  m.compile({ optimizer: new Adam({ learningRate: 0.01 }), loss: 'sparseCategoricalCrossentropy' });
  return m;
}

/** 40 samples, deterministic, labels from the sign pattern of the inputs. */
function data(): { x: { data: Float32Array; shape: number[] }; y: number[] } {
  const x = new Float32Array(40 * 8 * 8 * 2);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 12.9898) * 0.5;
  const y = Array.from({ length: 40 }, (_, i) => (x[i * 128]! > 0 ? 1 : 0) + (x[i * 128 + 1]! > 0 ? 1 : 0));
  return { x: { data: x, shape: [40, 8, 8, 2] }, y };
}

/** Stops training at batch `batch` of epoch `epoch` (0-based), as a Ctrl-C handler would. */
class StopAt extends Callback {
  constructor(private readonly epoch: number, private readonly batch: number) {
    super();
  }
  override onBatchEnd(batch: number, _logs: Logs, p: TrainingProgress): void {
    if (p.epoch === this.epoch && batch === this.batch) this.model.stopTraining = true;
  }
}

const FIT = { epochs: 4, batchSize: 8 } as const;

async function uninterrupted(): Promise<Map<string, Float32Array>> {
  const m = makeModel();
  const { x, y } = data();
  await m.fit(x, y, FIT);
  const w = m.getWeights();
  m.dispose();
  return w;
}

function expectSameWeights(a: Map<string, Float32Array>, b: Map<string, Float32Array>): void {
  expect([...b.keys()]).toEqual([...a.keys()]);
  for (const [k, v] of a) expect(Buffer.from(b.get(k)!.buffer).equals(Buffer.from(v.buffer)), k).toBe(true);
}

describe('BackupAndRestore', () => {
  it('a fit stopped in epoch 3 resumes from the epoch-2 backup in a new model object and ends bit-identical; the backup is then deleted', async () => {
    const straight = await uninterrupted();
    const dir = join(await mkdtemp(join(tmpdir(), 'lite-cnn-backup-')), 'backups');
    const { x, y } = data();

    const first = makeModel();
    const h1 = await first.fit(x, y, { ...FIT, callbacks: [new BackupAndRestore({ backupDir: dir }), new StopAt(2, 1)] });
    expect(h1.epoch).toEqual([0, 1, 2]);
    // The cut-short epoch 3 is not backed up, and the backup is kept.
    expect(existsSync(join(dir, BACKUP_FILE))).toBe(true);
    first.dispose();

    const second = makeModel();
    const backup = new BackupAndRestore({ backupDir: dir });
    const h2 = await second.fit(x, y, { ...FIT, callbacks: [backup] });
    expect(backup.restoredEpochs).toBe(2);
    expect(h2.epoch).toEqual([2, 3]);
    expect(second.step).toBe(4 * 5);
    expectSameWeights(straight, second.getWeights());
    expect(await readdir(dir)).toEqual([]);
    second.dispose();
  });

  it('storage hooks stand in for files (browsers); deleteCheckpoint: false keeps the last backup', async () => {
    let stored: Uint8Array | null = null;
    const saves: number[] = [];
    const storage: BackupStorage = {
      load: async () => stored,
      save: async (bytes) => {
        stored = bytes;
        saves.push(bytes.length);
      },
      remove: async () => {
        stored = null;
      },
    };
    const { x, y } = data();
    const first = makeModel();
    await first.fit(x, y, { ...FIT, callbacks: [new BackupAndRestore({ storage }), new StopAt(1, 0)] });
    expect(saves).toHaveLength(1);
    first.dispose();
    const second = makeModel();
    await second.fit(x, y, { ...FIT, callbacks: [new BackupAndRestore({ storage, deleteCheckpoint: false })] });
    expect(saves).toHaveLength(4);
    expect(stored).not.toBeNull();
    expectSameWeights(await uninterrupted(), second.getWeights());
    second.dispose();
  });

  it('refuses a backup of another model, and bad arguments, with ConfigError', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lite-cnn-backup-other-'));
    const { x, y } = data();
    const a = makeModel(3);
    await a.fit(x, y, { ...FIT, callbacks: [new BackupAndRestore({ backupDir: dir }), new StopAt(1, 0)] });
    a.dispose();
    const b = makeModel(4);
    await expect(b.fit(x, y, { ...FIT, callbacks: [new BackupAndRestore({ backupDir: dir })] })).rejects.toThrow(
      /BackupAndRestore \(.*\): the backup is of another model \(setWeights: 'layers\.3\.kernel' has shape \[144, 4\] \(576 values\), got 432 values\); delete it, or give this training its own backup/,
    );
    b.dispose();
    expect(() => new BackupAndRestore({})).toThrow(ConfigError);
    expect(() => new BackupAndRestore({ backupDir: dir, storage: { load: async () => null, save: async () => {}, remove: async () => {} } })).toThrow(/exactly one of backupDir .* or storage .*, got both/);
  });
});
