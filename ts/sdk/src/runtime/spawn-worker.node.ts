/**
 * Starting a pool worker in Node (worker_threads). The browser build replaces
 * this module with spawn-worker.browser.ts (see ts/sdk/build/host-twins.ts).
 */
import { Worker } from 'node:worker_threads';
import { configuredAsset } from './asset-paths.js';
import type { SpawnedWorker } from './pool-protocol.js';

/** The pool worker script's file name in dist/ (unique, so it never collides with an app's own worker.js). */
export const POOL_WORKER_FILE = 'lite-cnn-pool-worker.js';

/** Why a worker may fail to load here, for the error message. */
export const WORKER_LOAD_HINT = 'check the location given to workerUrl or setWasmPaths(), or whether the package is installed completely (dist/ holds the worker beside index.js)';

export function spawnPoolWorker(override: string | URL | undefined): SpawnedWorker {
  const location = override ?? configuredAsset('worker', POOL_WORKER_FILE) ?? new URL(`./${POOL_WORKER_FILE}`, import.meta.url);
  // The worker runs only this package's script: it needs none of the
  // parent's CLI flags (some, like --input-type or loaders, would break it).
  // V8 flags such as --no-liftoff are process-wide and still apply.
  const w = new Worker(location, { execArgv: [] });
  return {
    url: String(location),
    worker: {
      post: (msg) => w.postMessage(msg),
      onReport: (h) => w.on('message', h),
      onError: (h) => w.on('error', (err) => h(err instanceof Error ? err.message : String(err), err)),
      // A parked worker must not keep the process alive, so that a script that
      // used the SDK exits by itself even without shutdown(). Called after all
      // listeners are attached: attaching a listener refs the worker again.
      unref: () => w.unref(),
      terminate: async () => {
        await w.terminate();
      },
    },
  };
}
