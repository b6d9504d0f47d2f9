/**
 * Starting a pool worker in a browser (a module Worker). The browser build
 * uses this module in place of spawn-worker.node.ts.
 */
import { configuredAsset } from './asset-paths.js';
import type { SpawnedWorker } from './pool-protocol.js';
import type * as NodeTwin from './spawn-worker.node.js';

export const POOL_WORKER_FILE = 'lite-cnn-pool-worker.browser.js';

export const WORKER_LOAD_HINT =
  'likely causes: the file is not served at that URL (a bundler that does not emit workers, such as esbuild: ' +
  "serve the SDK's dist/ folder and call setWasmPaths()), it is served with a non-JavaScript MIME type, it is on " +
  'another origin (worker scripts must be same-origin), or the page is cross-origin isolated and the script ' +
  'lacks the Cross-Origin-Embedder-Policy / Cross-Origin-Resource-Policy headers';

export function spawnPoolWorker(override: string | URL | undefined): SpawnedWorker {
  const location = override ?? configuredAsset('worker', POOL_WORKER_FILE);
  // The default is written as `new Worker(new URL('<literal>', import.meta.url), {…})`
  // on purpose: that exact form is what webpack and Vite recognise, so they
  // bundle the worker and rewrite its URL with no configuration.
  const w =
    location === undefined
      ? new Worker(new URL('./lite-cnn-pool-worker.browser.js', import.meta.url), { type: 'module', name: 'lite-cnn-pool' })
      : new Worker(location, { type: 'module', name: 'lite-cnn-pool' });
  return {
    // The default's final URL is the bundler's choice and cannot be read back
    // from the Worker (nor computed here: webpack evaluates any
    // new URL(<constant>, import.meta.url) as a module request).
    url: location === undefined ? `${POOL_WORKER_FILE} beside the SDK's bundle (the default location)` : String(location),
    worker: {
      post: (msg) => w.postMessage(msg),
      onReport: (h) => w.addEventListener('message', (e: MessageEvent) => h(e.data)),
      // A script that fails to load fires a plain Event with no message.
      onError: (h) => w.addEventListener('error', (e) => h(e instanceof ErrorEvent && e.message ? e.message : undefined, e)),
      unref: () => {},
      terminate: async () => w.terminate(),
    },
  };
}

// The two builds must offer the same API: checked here, at compile time.
spawnPoolWorker satisfies typeof NodeTwin.spawnPoolWorker;
