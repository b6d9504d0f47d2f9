#!/usr/bin/env node
// The `lite-cnn` command. A source file, not a build output: npm links a
// package's bins when it installs, and in a fresh checkout that happens
// before `npm run build` has made dist/ (so `npx lite-cnn` works after
// `npm start`). It runs the built CLI, or says how to build it.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/main.js', import.meta.url);
if (existsSync(main)) {
  import(main.href).catch((err) => {
    process.stderr.write(`lite-cnn: ${err?.stack ?? err}\n`);
    process.exitCode = 1;
  });
} else {
  process.stderr.write(`lite-cnn: ${fileURLToPath(main)} is missing: run \`npm run build\` at the repository root first\n`);
  process.exitCode = 1;
}
