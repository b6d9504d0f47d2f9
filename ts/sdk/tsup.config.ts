import { defineConfig } from 'tsup';

// Two entries: the public API, and the worker script that pool workers run
// (loaded by URL at run time, so it must be its own file next to index.js).
export default defineConfig({
  entry: { index: 'src/index.ts', worker: 'src/runtime/worker.ts' },
  format: ['esm'],
  dts: { entry: { index: 'src/index.ts' } },
  target: 'es2022',
  platform: 'neutral',
  sourcemap: true,
  clean: true,
  splitting: false,
  // node: builtins are imported dynamically, only when running in Node.
  external: [/^node:/],
});
