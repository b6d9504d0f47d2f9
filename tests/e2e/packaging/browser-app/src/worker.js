// The app's worker: runs the README's example (example.js, compiled from the
// README by the test) on the SDK, as bundled by esbuild, webpack or Vite.
import { setWasmPaths } from '@lite-cnn/sdk';
import { runExample } from './example.js';

self.onmessage = ({ data }) => {
  if (data.assets) setWasmPaths(data.assets);
  runExample().then(
    (result) => self.postMessage(result),
    (err) => self.postMessage({ error: String(err && err.stack ? err.stack : err) }),
  );
};
