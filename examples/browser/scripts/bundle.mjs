#!/usr/bin/env node
// A self-contained copy of the example for any static host:
//
//   examples/browser/dist/            <- public/ (page, worker, CSS, models, MNIST subset)
//   examples/browser/dist/sdk/dist/   <- ts/sdk/dist/: the browser build, its pool worker (+ source maps)
//                                        and the wasm artifacts lite_cnn_{threaded,single}{,_relaxed}.wasm
//
// Run `npm run build` at the repository root first. Serve the folder with the
// COOP/COEP/CORP headers (README.md), e.g. `node server.mjs --root dist`.
import { cpSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildData } from './build-data.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const example = resolve(here, '..');
const sdk = resolve(example, '../../ts/sdk');
const out = join(example, 'dist');

const sdkFiles = [
  'dist/index.browser.js',
  'dist/index.browser.js.map',
  'dist/lite-cnn-pool-worker.browser.js',
  'dist/lite-cnn-pool-worker.browser.js.map',
  'dist/lite_cnn_threaded.wasm',
  'dist/lite_cnn_single.wasm',
  'dist/lite_cnn_threaded_relaxed.wasm',
  'dist/lite_cnn_single_relaxed.wasm',
];
for (const f of sdkFiles) {
  if (!existsSync(join(sdk, f)) && !f.endsWith('.map')) {
    console.error(`bundle: ts/sdk/${f} is missing: run \`npm run build\` at the repository root first`);
    process.exit(1);
  }
}
buildData({ log: () => {} });
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
cpSync(join(example, 'public'), out, {
  recursive: true,
  // Type declarations are for TypeScript users, not the page; the placeholder model is for development.
  filter: (src) => !src.endsWith('.d.ts') && !/placeholder-.*\.safetensors$/.test(src),
});
for (const f of sdkFiles) {
  if (!existsSync(join(sdk, f))) continue;
  mkdirSync(dirname(join(out, 'sdk', f)), { recursive: true });
  cpSync(join(sdk, f), join(out, 'sdk', f));
}
console.log(`bundled the browser example into ${out} (serve it with COOP/COEP/CORP headers: see README.md)`);
