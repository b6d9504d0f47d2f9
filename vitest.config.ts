import { defineConfig } from 'vitest/config';

// Three projects: `sdk` (the SDK's own tests, against the built package so the
// wasm artifacts and worker script are the ones users get), `cli` (the CLI's
// own modules, importing the built SDK) and `e2e`
// (cross-package: browser via Playwright + Debian's chromium).
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'sdk', include: ['ts/sdk/test/**/*.test.ts'], testTimeout: 60_000 } },
      { test: { name: 'cli', include: ['ts/cli/test/**/*.test.ts'], testTimeout: 60_000 } },
      { test: { name: 'e2e', include: ['tests/e2e/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000 } },
    ],
  },
});
