/**
 * Where the engine finds its assets: the four wasm artifacts (threaded and
 * single, each exact and relaxed-SIMD) and the pool worker script. By default they sit beside the SDK's own bundle
 * (`new URL('./…', import.meta.url)` in assets*.ts, which webpack, Vite and
 * Rollup follow and emit). `setWasmPaths` overrides that for every engine
 * created afterwards: for a CDN, a host that serves the files elsewhere, or a
 * bundler that does not emit assets (esbuild). `Engine.create({ wasm,
 * workerUrl })` still wins over it for one engine.
 *
 * This is deliberately process-wide state (the one place in the runtime):
 * asset locations are a property of how the app is deployed, set once at
 * start-up, like onnxruntime-web's `env.wasm.wasmPaths`.
 */
import { ConfigError } from '../errors.js';

export type AssetName = 'threaded' | 'single' | 'threaded-relaxed' | 'single-relaxed' | 'worker';

const ASSET_NAMES: readonly AssetName[] = ['threaded', 'single', 'threaded-relaxed', 'single-relaxed', 'worker'];

/** One location per asset; any left out keeps its default. */
export type AssetLocations = Partial<Record<AssetName, string | URL>>;

type Configured =
  | { kind: 'default' }
  | { kind: 'folder'; folder: string }
  | { kind: 'each'; locations: AssetLocations };

let configured: Configured = { kind: 'default' };

/**
 * Sets where the wasm artifacts and the pool worker are loaded from.
 * - a string or URL ending in `/`: a folder holding the SDK's `dist/` files
 *   (`lite_cnn_threaded.wasm`, `lite_cnn_single.wasm`,
 *   `lite_cnn_threaded_relaxed.wasm`, `lite_cnn_single_relaxed.wasm` and the
 *   pool worker);
 * - an object: a location per asset (`threaded`, `single`,
 *   `'threaded-relaxed'`, `'single-relaxed'`, `worker`); an object naming an
 *   exact artifact but not its relaxed twin makes 'auto' load the exact one;
 * - `undefined`: back to the defaults.
 * Relative locations resolve like any fetch or Worker URL: against the page
 * or worker that creates the engine (in Node: against the working directory).
 */
export function setWasmPaths(paths: string | URL | AssetLocations | undefined): void {
  if (paths === undefined) {
    configured = { kind: 'default' };
  } else if (typeof paths === 'string' || paths instanceof URL) {
    const folder = String(paths);
    if (!folder.endsWith('/')) {
      throw new ConfigError(`setWasmPaths: expected a folder ending in '/' (or an object with the keys ${ASSET_NAMES.join(', ')}), got '${folder}'`);
    }
    configured = { kind: 'folder', folder };
  } else {
    const unknown = Object.keys(paths).filter((k) => !(ASSET_NAMES as readonly string[]).includes(k));
    if (unknown.length > 0) {
      throw new ConfigError(`setWasmPaths: expected only the keys ${ASSET_NAMES.join(', ')}, got '${unknown.join("', '")}'`);
    }
    configured = { kind: 'each', locations: { ...paths } };
  }
}

/** The configured location of one asset, or undefined for its default; `file` is its name inside a folder. */
export function configuredAsset(name: AssetName, file: string): string | URL | undefined {
  switch (configured.kind) {
    case 'default':
      return undefined;
    case 'folder':
      return configured.folder + file;
    case 'each':
      return configured.locations[name];
  }
}

/** Whether setWasmPaths gave this asset a location by name (not just a folder holding all of them). */
export function assetNamed(name: AssetName): boolean {
  return configured.kind === 'each' && configured.locations[name] !== undefined;
}
