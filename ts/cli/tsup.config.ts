import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { main: 'src/main.ts' },
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  sourcemap: true,
  clean: true,
  banner: { js: '#!/usr/bin/env node' },
  // The SDK is a runtime dependency: its wasm and worker files must stay beside it.
  external: ['@lite-cnn/sdk'],
});
