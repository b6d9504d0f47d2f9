/** Versions recorded in config.json and printed by `--version`. */
import { createRequire } from 'node:module';

const req = createRequire(import.meta.url);

function versionOf(spec: string): string {
  try {
    return (req(spec) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** dist/main.js sits one level below the package root. */
export const cliVersion = versionOf('../package.json');
export const sdkVersion = versionOf('@lite-cnn/sdk/package.json');
