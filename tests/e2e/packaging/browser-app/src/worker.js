// The app's worker: runs the README's example (example.js, compiled from the
// README by the test) on the SDK as bundled by esbuild, webpack or Vite.
// Query parameters of the page: `assets` (JSON for setWasmPaths, for bundlers
// that emit no assets, or to point at a wrong place on purpose); `probe` and
// `shape` (JSON): an image to decode with the SDK's browser decoder.
import { decodeImage, setWasmPaths } from '@lite-cnn/sdk';
import { runExample } from './example.js';

self.onmessage = async ({ data }) => {
  try {
    if (data.assets) setWasmPaths(JSON.parse(data.assets));
    const result = await runExample();
    const probe = data.probe ? Array.from(await decodeImage(data.probe, { shape: JSON.parse(data.shape) })) : undefined;
    self.postMessage({ ...result, probe });
  } catch (err) {
    self.postMessage({ error: String(err && err.stack ? err.stack : err) });
  }
};
